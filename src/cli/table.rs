//! Table cells padded by the width text takes on a terminal.
//!
//! `format!("{:<24}")` pads by `char` count, which misaligns every column after
//! a name in full-width or CJK characters (two terminal columns each), and
//! [`Escaped`] ignores format widths altogether. The CLI's tables escape each
//! cell first (so `\u{1b}` counts as the six columns it is shown as) and pad it
//! here by its display width.
//!
//! Tables fit the terminal: [`max_width`] is `COLUMNS` when set, else the
//! terminal's width when standard output is one, else unlimited (piped output
//! stays whole for `grep` and `awk`). A table shrinks its widest, free-text
//! column first ([`flex_width`], cut with `…` by [`truncate`]), and [`fit`]
//! cuts what still overflows, so a line never wraps into the next.

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

/// Terminal columns a table may take (see the module header); `None`: no limit.
pub fn max_width() -> Option<usize> {
    static WIDTH: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *WIDTH.get_or_init(read_width)
}

fn read_width() -> Option<usize> {
    use std::io::IsTerminal as _;
    let terminal = std::io::stdout()
        .is_terminal()
        .then(terminal_size::terminal_size)
        .flatten()
        .map(|(w, _)| usize::from(w.0));
    width_from(std::env::var("COLUMNS").ok().as_deref(), terminal)
}

/// [`max_width`] from `COLUMNS` and the terminal's width: an explicit,
/// sensible `COLUMNS` wins (it is what the user asked for, piped or not).
fn width_from(columns: Option<&str>, terminal: Option<usize>) -> Option<usize> {
    match columns.and_then(|c| c.trim().parse::<usize>().ok()) {
        Some(c) if c >= 20 => Some(c),
        _ => terminal.filter(|w| *w > 0),
    }
}

/// `s` in at most `w` terminal columns, ending in `…` when it was cut.
pub fn truncate(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    if w > 0 {
        out.push('…');
    }
    out
}

/// `line` cut to `max` terminal columns (whole when `max` is `None`).
pub fn fit(line: &str, max: Option<usize>) -> String {
    match max {
        Some(m) => truncate(line.trim_end(), m),
        None => line.to_owned(),
    }
}

/// The width of a column whose cells take `natural` columns at most, in a
/// row whose other cells take `fixed`: all of it when the row fits in `max`,
/// else what is left, never below `min`.
pub fn flex_width(natural: usize, fixed: usize, max: Option<usize>, min: usize) -> usize {
    match max {
        Some(m) if fixed + natural > m => m.saturating_sub(fixed).max(min).min(natural),
        _ => natural,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_wins_then_the_terminal_then_no_limit() {
        assert_eq!(width_from(Some("60"), Some(200)), Some(60));
        assert_eq!(width_from(Some("nonsense"), Some(200)), Some(200));
        assert_eq!(width_from(Some("3"), None), None);
        assert_eq!(width_from(None, None), None);
        assert_eq!(width_from(None, Some(0)), None);
    }

    #[test]
    fn cells_are_cut_by_display_width_with_an_ellipsis() {
        assert_eq!(truncate("alice", 5), "alice");
        assert_eq!(truncate("alice", 4), "ali…");
        assert_eq!(truncate("山田太郎", 5), "山田…");
        assert_eq!(width(&truncate("山田太郎", 5)), 5);
        assert_eq!(fit("abcdef  ", Some(4)), "abc…");
        assert_eq!(fit("abcdef", None), "abcdef");
        assert_eq!(flex_width(40, 50, Some(60), 8), 10);
        assert_eq!(flex_width(40, 50, Some(55), 8), 8);
        assert_eq!(flex_width(5, 50, Some(60), 8), 5);
        assert_eq!(flex_width(40, 50, None, 8), 40);
    }

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
