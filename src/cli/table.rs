//! Table cells padded by the width text takes on a terminal.
//!
//! `format!("{:<24}")` pads by `char` count, which misaligns every column after
//! a name in full-width or CJK characters (two terminal columns each), and
//! [`Escaped`] ignores format widths altogether. The CLI's tables escape each
//! cell first (so `\u{1b}` counts as the six columns it is shown as) and pad it
//! here by its display width.

use unicode_width::UnicodeWidthStr;

use loginwatch::escape::Escaped;

/// `s` as shown: attacker-controlled text escaped.
pub fn cell(s: &str) -> String {
    Escaped(s).to_string()
}

/// Terminal columns `s` takes.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// `s` followed by spaces up to `w` terminal columns (a longer `s` is kept whole).
pub fn left(s: &str, w: usize) -> String {
    let mut out = String::with_capacity(s.len() + w);
    out.push_str(s);
    out.extend(std::iter::repeat_n(' ', w.saturating_sub(width(s))));
    out
}

/// Spaces up to `w` terminal columns, then `s` (numbers).
pub fn right(s: &str, w: usize) -> String {
    let mut out: String = std::iter::repeat_n(' ', w.saturating_sub(width(s))).collect();
    out.push_str(s);
    out
}

/// The widest of `cells`, at least `min` (a column sized to its contents).
pub fn column_width<'a>(cells: impl IntoIterator<Item = &'a str>, min: usize) -> usize {
    cells.into_iter().map(width).fold(min, usize::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_text_is_padded_by_the_columns_it_takes() {
        assert_eq!(width("ａｌｉｃｅ"), 10);
        assert_eq!(width("山田"), 4);
        assert_eq!(left("山田", 6), "山田  ");
        assert_eq!(left("alice", 6), "alice ");
        assert_eq!(right("7", 3), "  7");
        assert_eq!(left("toolong", 3), "toolong");
        assert_eq!(column_width(["ａｌｉｃｅ", "bob"], 4), 10);
    }

    #[test]
    fn escaped_cells_count_as_shown() {
        let c = cell("a\u{1b}b");
        assert_eq!(c, "a\\u{1b}b");
        assert_eq!(left(&c, 10), "a\\u{1b}b  ");
    }
}
