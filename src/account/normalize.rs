//! The login-ID normaliser: is a typed login ID a plausible mistyping of an
//! account name, and which mistakes explain it?
//!
//! Users mistype their login ID in a few recurring ways: full-width letters from
//! a Japanese IME left on (`ｃａｒｏｌ`), capital letters (`Carol`), look-alike
//! characters (`caro1`, `aIice`, `b0b`), stray spaces or invisible characters
//! from copy and paste (` carol `), or one wrong, missing or swapped key
//! (`alcie`). [`link`] recognises these so that an `unknown_user` attempt can be
//! tied to the real account it was aimed at, and names the [`Mistake`]s so an
//! admin can tell the user what went wrong.
//!
//! Everything here is pure and total: the typed string is chosen by whoever sits
//! at the login prompt, so no input (control characters, bidi overrides, huge
//! strings, unassigned code points, the empty string) may panic, and work per
//! call is bounded by [`MAX_LINK_CHARS`].

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

/// Strings longer than this many chars are never linked: no real login ID is
/// that long, and the bound keeps the cost of an attacker-chosen name small.
pub const MAX_LINK_CHARS: usize = 256;

/// Account names shorter than this never link by one edit: among short names one
/// edit turns most into another real name (`bob` / `rob`), so the link would be
/// a guess rather than evidence.
const MIN_EDIT_CHARS: usize = 4;

/// One way in which a typed login ID differs from the account it was meant for.
///
/// [`link`] reports mistakes in the order of this declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mistake {
    /// Whitespace before or after the ID.
    Spaces,
    /// Full-width characters (U+FF01..U+FF5E, or the ideographic space U+3000)
    /// that the account name does not have.
    FullWidth,
    /// Letters that match only once lower-cased.
    Case,
    /// Characters that match only once look-alikes are folded (`0`/`o`,
    /// `1`/`l`/`I`, `|`/`l`).
    LookAlike,
    /// One character inserted, deleted, replaced, or two adjacent ones swapped.
    OneEdit,
    /// Zero-width or bidi control characters that the account name does not have.
    Invisible,
}

impl Mistake {
    /// The stable snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Mistake::Spaces => "spaces",
            Mistake::FullWidth => "full_width",
            Mistake::Case => "case",
            Mistake::LookAlike => "look_alike",
            Mistake::OneEdit => "one_edit",
            Mistake::Invisible => "invisible",
        }
    }

    /// A short English phrase an admin can read out to the user.
    pub fn describe_en(self) -> &'static str {
        match self {
            Mistake::Spaces => "spaces before or after the login ID (often from copy and paste)",
            Mistake::FullWidth => "full-width characters (the Japanese input mode was on)",
            Mistake::Case => "capital letters",
            Mistake::LookAlike => "look-alike characters such as 0 and O, or 1, l and I",
            Mistake::OneEdit => "one character wrong, missing or swapped",
            Mistake::Invisible => "invisible characters pasted with the ID",
        }
    }

    /// A short Japanese phrase an admin can read out to the user.
    pub fn describe_ja(self) -> &'static str {
        match self {
            Mistake::Spaces => "ログインIDの前後の空白（コピー＆ペーストで入りがちです）",
            Mistake::FullWidth => "全角文字（日本語入力がオンのまま）",
            Mistake::Case => "大文字",
            Mistake::LookAlike => {
                "0（ゼロ）とO（オー）、1（イチ）とl（エル）とI（アイ）などの似た文字"
            }
            Mistake::OneEdit => "1文字の打ち間違い・抜け・入れ替わり",
            Mistake::Invisible => "IDと一緒に貼り付けられた見えない文字",
        }
    }
}

/// The comparable form of a login ID: NFKC, invisible characters removed,
/// surrounding whitespace trimmed, lower-cased.
///
/// NFKC turns full-width letters, `＠` and the ideographic space into their
/// ASCII forms. Lower-casing uses `str::to_lowercase` rather than full case
/// folding: the two differ only for a handful of characters (`ß`/`ss`, some
/// Cherokee and Greek forms; ligatures such as `ﬁ` are already expanded by
/// NFKC), and since both sides of a comparison go through the same function, the
/// difference can only cost a link, never make a wrong one.
pub fn fold(name: &str) -> String {
    prepare(name).to_lowercase()
}

/// [`fold`] with look-alike characters folded too: capital `I` becomes `l`
/// (before lower-casing, so `Ivan` gives `lvan` while `ivan` stays `ivan`), and
/// `0` becomes `o`, `1` and `|` become `l`.
pub fn skeleton(name: &str) -> String {
    look_alike(&prepare(name)).to_lowercase()
}

/// Whether `a` and `b` are at most one edit apart in optimal string alignment
/// distance over chars: one insertion, deletion or substitution, or one swap of
/// two adjacent chars. Equal strings are within one edit.
///
/// Strings longer than [`MAX_LINK_CHARS`] chars are never within one edit. Runs
/// in linear time without allocating.
pub fn within_one_edit(a: &str, b: &str) -> bool {
    if too_long(a) || too_long(b) {
        return false;
    }
    // After the longest common prefix and then the longest common suffix of what
    // is left are cut off, one edit leaves exactly one of these middles: nothing
    // and nothing (equal), one char and nothing (insertion or deletion), one char
    // and one char (substitution), `xy` and `yx` (swap).
    let p = common_prefix_bytes(a, b);
    let (a, b) = (&a[p..], &b[p..]);
    let s = common_suffix_bytes(a, b);
    let (a, b) = (&a[..a.len() - s], &b[..b.len() - s]);
    match (a.chars().take(3).count(), b.chars().take(3).count()) {
        (0, 0) | (0, 1) | (1, 0) | (1, 1) => true,
        (2, 2) => {
            let (mut x, mut y) = (a.chars(), b.chars());
            let (x0, x1, y0, y1) = (x.next(), x.next(), y.next(), y.next());
            x0 == y1 && x1 == y0
        }
        _ => false,
    }
}

/// Whether `typed` is a plausible mistyping of `account`, and if so the mistakes
/// that explain it, in the declaration order of [`Mistake`].
///
/// `None` when the two are identical (that is no mistyping), when either folds to
/// nothing, when either is longer than [`MAX_LINK_CHARS`] chars, or when they
/// match in none of these ways: equal after [`fold`]; equal after [`skeleton`];
/// skeletons [`within_one_edit`] of each other, for an account name of at least
/// four chars (after [`fold`]).
///
/// The list can be empty: the two may differ only in Unicode form (`é` typed as
/// `e` plus a combining accent) or by characters in the account name itself, with
/// nothing the user did wrong.
pub fn link(typed: &str, account: &str) -> Option<Vec<Mistake>> {
    if typed == account || too_long(typed) || too_long(account) {
        return None;
    }
    let (pt, pa) = (prepare(typed), prepare(account));
    let (ft, fa) = (pt.to_lowercase(), pa.to_lowercase());
    if ft.is_empty() || fa.is_empty() {
        return None;
    }
    let (ct, ca) = (look_alike(&pt), look_alike(&pa));
    let (st, sa) = (ct.to_lowercase(), ca.to_lowercase());
    let how = if ft == fa {
        How::Fold
    } else if st == sa {
        How::Skeleton
    } else if fa.chars().count() >= MIN_EDIT_CHARS && within_one_edit(&st, &sa) {
        How::OneEdit
    } else {
        return None;
    };

    // Case: the test that matched would have failed without lower-casing.
    let matches_cased = match how {
        How::Fold => pt == pa,
        How::Skeleton => ct == ca,
        How::OneEdit => within_one_edit(&ct, &ca),
    };
    // A one-edit match may also have needed look-alikes folded (`b0bbyy`).
    let look_alike_needed = match how {
        How::Fold => false,
        How::Skeleton => true,
        How::OneEdit => !within_one_edit(&ft, &fa),
    };
    // Characters that the account name has itself are not the user's mistake.
    let typed_has = |f: fn(char) -> bool| typed.chars().any(|c| f(c) && !account.contains(c));

    let mut found = Vec::new();
    if has_edge_space(typed) {
        found.push(Mistake::Spaces);
    }
    if typed_has(is_full_width) {
        found.push(Mistake::FullWidth);
    }
    if !matches_cased {
        found.push(Mistake::Case);
    }
    if look_alike_needed {
        found.push(Mistake::LookAlike);
    }
    if how == How::OneEdit {
        found.push(Mistake::OneEdit);
    }
    if typed_has(is_invisible) {
        found.push(Mistake::Invisible);
    }
    Some(found)
}

/// Which test of [`link`] matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Fold,
    Skeleton,
    OneEdit,
}

/// [`fold`] before lower-casing, which [`link`] needs to tell case apart.
fn prepare(name: &str) -> String {
    // Invisible characters go before NFKC as well as after: left in place, one
    // between a letter and its combining accent would keep the two from composing.
    let s: String = name
        .chars()
        .filter(|&c| !is_invisible(c))
        .nfkc()
        .filter(|&c| !is_invisible(c))
        .map(ascii_at)
        .collect();
    let t = s.trim();
    if t.len() == s.len() { s } else { t.to_owned() }
}

/// `＠` to `@`. NFKC already does this; kept so that an e-mail-style login ID
/// does not depend on a detail of the normalisation tables.
fn ascii_at(c: char) -> char {
    if c == '＠' { '@' } else { c }
}

/// Look-alikes folded, case kept: `I`, `1` and `|` to `l`, `0` to `o`. Mapping
/// the digits before rather than after lower-casing gives the same result, since
/// lower-casing neither produces nor changes them.
fn look_alike(prepared: &str) -> String {
    prepared
        .chars()
        .map(|c| match c {
            'I' | '1' | '|' => 'l',
            '0' => 'o',
            c => c,
        })
        .collect()
}

/// Zero-width characters, the word joiner, the BOM, and every bidi control
/// (Unicode's Bidi_Control set, which includes the RTL override U+202E).
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// The full-width ASCII block and the ideographic space: what a Japanese IME
/// produces when left on while typing Latin letters.
fn is_full_width(c: char) -> bool {
    matches!(c, '\u{FF01}'..='\u{FF5E}' | '\u{3000}')
}

/// Whitespace at either end, looking through invisible characters.
fn has_edge_space(s: &str) -> bool {
    let mut visible = s.chars().filter(|&c| !is_invisible(c));
    let first = visible.next();
    let last = visible.next_back().or(first);
    first.is_some_and(char::is_whitespace) || last.is_some_and(char::is_whitespace)
}

/// More than [`MAX_LINK_CHARS`] chars; a char is at most four bytes, so a long
/// enough byte length decides without counting.
fn too_long(s: &str) -> bool {
    s.len() > 4 * MAX_LINK_CHARS || s.chars().count() > MAX_LINK_CHARS
}

/// Bytes of the longest common char prefix (equal chars have equal encodings,
/// so the count is valid in both strings).
fn common_prefix_bytes(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|&((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i)
}

/// Bytes of the longest common char suffix.
fn common_suffix_bytes(a: &str, b: &str) -> usize {
    a.chars()
        .rev()
        .zip(b.chars().rev())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum()
}

#[cfg(test)]
mod tests;
