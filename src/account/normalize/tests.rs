//! The normaliser against the mistypings of issue 10 and against hostile input:
//! control characters, bidi overrides, huge and empty strings must neither panic
//! nor link.

use proptest::prelude::*;

use super::Mistake::*;
use super::*;

fn mistakes(typed: &str, account: &str) -> Option<Vec<Mistake>> {
    link(typed, account)
}

#[test]
fn fold_undoes_width_case_spaces_and_invisibles() {
    assert_eq!(fold("ｃａｒｏｌ"), "carol");
    assert_eq!(fold("ＣＡＲＯＬ"), "carol");
    assert_eq!(fold("Carol"), "carol");
    assert_eq!(fold(" carol "), "carol");
    assert_eq!(fold("\tcarol\n"), "carol");
    assert_eq!(fold("carol\u{3000}"), "carol");
    assert_eq!(fold("\u{3000}ｃａｒｏｌ\u{3000}"), "carol");
    assert_eq!(fold("carol＠example.com"), "carol@example.com");
    assert_eq!(fold("ca\u{200B}rol\u{202E}"), "carol");
    assert_eq!(fold("\u{FEFF}carol\u{2066}"), "carol");
    // Spaces hidden behind an invisible character are still at the edge.
    assert_eq!(fold("\u{200B} carol \u{200D}"), "carol");
    // Inner spaces are part of the name, not copy-and-paste debris.
    assert_eq!(fold("car ol"), "car ol");
    assert_eq!(fold(""), "");
    assert_eq!(fold(" \u{3000}\u{200B} "), "");
}

#[test]
fn fold_composes_across_a_removed_invisible() {
    // NFD and NFC spellings of the same name fold alike, even with a zero-width
    // space between the letter and its accent.
    assert_eq!(fold("jose\u{301}"), fold("jos\u{e9}"));
    assert_eq!(fold("jose\u{200B}\u{301}"), fold("jos\u{e9}"));
}

#[test]
fn full_width_at_sign_becomes_ascii() {
    // Belt and braces: the explicit mapping, and NFKC around it.
    assert_eq!(ascii_at('＠'), '@');
    assert_eq!(ascii_at('a'), 'a');
    assert_eq!(fold("＠"), "@");
    assert_eq!(fold("a＠b"), "a@b");
}

#[test]
fn skeleton_folds_look_alikes() {
    assert_eq!(skeleton("aIice"), "alice");
    assert_eq!(skeleton("caro1"), "carol");
    assert_eq!(skeleton("b0bby"), "bobby");
    assert_eq!(skeleton("a|ice"), "alice");
    assert_eq!(skeleton("ＢＯＢ"), "bob");
    assert_eq!(skeleton("ｂ０ｂ"), "bob");
    // Capital I is folded before lower-casing, lower-case i is left alone.
    assert_eq!(skeleton("Ivan"), "lvan");
    assert_eq!(skeleton("ivan"), "ivan");
    assert_eq!(skeleton(""), "");
}

#[test]
fn one_edit_of_each_kind() {
    assert!(within_one_edit("alice", "alice"));
    assert!(within_one_edit("alice", "alicee")); // insertion
    assert!(within_one_edit("alice", "alic")); // deletion
    assert!(within_one_edit("alice", "lice")); // deletion at the start
    assert!(within_one_edit("alice", "alxce")); // substitution
    assert!(within_one_edit("alice", "alcie")); // swap
    assert!(within_one_edit("ab", "ba"));
    assert!(within_one_edit("", "a"));
    assert!(within_one_edit("", ""));
    assert!(within_one_edit("aa", "aaa"));
    assert!(within_one_edit("ｃａｒｏｌ", "ｃａｒｏ"));
    assert!(within_one_edit("日本語", "日語本"));
}

#[test]
fn two_edits_are_not_one() {
    assert!(!within_one_edit("alice", "alcei"));
    assert!(!within_one_edit("alice", "ali"));
    assert!(!within_one_edit("alice", "bob"));
    assert!(!within_one_edit("abc", "ca"));
    assert!(!within_one_edit("abc", "cba"));
    assert!(!within_one_edit("", "ab"));
    assert!(!within_one_edit("ab", "ba!"));
}

#[test]
fn long_strings_are_never_within_one_edit() {
    let at_limit = "a".repeat(MAX_LINK_CHARS);
    let over = "a".repeat(MAX_LINK_CHARS + 1);
    assert!(within_one_edit(&at_limit, &at_limit));
    assert!(!within_one_edit(&over, &over));
    assert!(!within_one_edit(&over, &at_limit));
    // The limit counts chars, not bytes.
    let wide = "ａ".repeat(MAX_LINK_CHARS);
    assert!(within_one_edit(&wide, &wide));
}

#[test]
fn issue_examples_link_with_their_mistakes() {
    assert_eq!(mistakes("ｃａｒｏｌ", "carol"), Some(vec![FullWidth]));
    assert_eq!(mistakes("ＣＡＲＯＬ", "carol"), Some(vec![FullWidth, Case]));
    assert_eq!(mistakes("Carol", "carol"), Some(vec![Case]));
    assert_eq!(mistakes("caro1", "carol"), Some(vec![LookAlike]));
    assert_eq!(mistakes(" carol ", "carol"), Some(vec![Spaces]));
    // The ideographic space is both a space and a full-width character.
    assert_eq!(
        mistakes("carol\u{3000}", "carol"),
        Some(vec![Spaces, FullWidth])
    );
    assert_eq!(
        mistakes("carol＠example.com", "carol@example.com"),
        Some(vec![FullWidth])
    );
    assert_eq!(mistakes("aIice", "alice"), Some(vec![LookAlike]));
    assert_eq!(mistakes("b0b", "bob"), Some(vec![LookAlike]));
    assert_eq!(mistakes("b0bby", "bobby"), Some(vec![LookAlike]));
    assert_eq!(mistakes("alcie", "alice"), Some(vec![OneEdit]));
    assert_eq!(mistakes("alicee", "alice"), Some(vec![OneEdit]));
    assert_eq!(mistakes("alic", "alice"), Some(vec![OneEdit]));
}

#[test]
fn case_and_look_alike_are_told_apart() {
    // `Ivan` and `ivan` differ in skeleton but not in fold: a case mistake.
    assert_eq!(mistakes("Ivan", "ivan"), Some(vec![Case]));
    assert_eq!(mistakes("IVAN", "ivan"), Some(vec![Case]));
    assert_eq!(mistakes("AIice", "alice"), Some(vec![Case, LookAlike]));
    assert_eq!(mistakes("Alcie", "alice"), Some(vec![Case, OneEdit]));
    // A wrong capital is a wrong key, not a case mistake.
    assert_eq!(mistakes("Blice", "alice"), Some(vec![OneEdit]));
    // An account with capitals: typing it in lower case is the case mistake.
    assert_eq!(mistakes("administrator", "Administrator"), Some(vec![Case]));
}

#[test]
fn several_mistakes_come_in_declaration_order() {
    assert_eq!(
        mistakes(" B0bbyy\u{200B}", "bobby"),
        Some(vec![Spaces, Case, LookAlike, OneEdit, Invisible])
    );
    assert_eq!(
        mistakes("\u{3000}ａｌｉ\u{202E}ｃｅ", "alice"),
        Some(vec![Spaces, FullWidth, Invisible])
    );
}

#[test]
fn invisible_characters_link() {
    assert_eq!(mistakes("\u{200B}carol", "carol"), Some(vec![Invisible]));
    assert_eq!(mistakes("ali\u{202E}ce", "alice"), Some(vec![Invisible]));
    assert_eq!(mistakes("\u{FEFF}alice", "alice"), Some(vec![Invisible]));
}

#[test]
fn what_the_account_itself_has_is_no_mistake() {
    assert_eq!(mistakes("ｃａｒｏｌ ", "ｃａｒｏｌ"), Some(vec![Spaces]));
    // Same name, different Unicode form: linked, with nothing to blame.
    assert_eq!(mistakes("jose\u{301}", "jos\u{e9}"), Some(vec![]));
    assert_eq!(mistakes("carol", "ｃａｒｏｌ"), Some(vec![]));
}

#[test]
fn short_names_do_not_link_by_one_edit() {
    assert_eq!(mistakes("bob", "rob"), None);
    assert_eq!(mistakes("bobs", "bob"), None);
    assert_eq!(mistakes("al", "ali"), None);
    // Folded length counts: a full-width three-letter name is still short.
    assert_eq!(mistakes("ｒｏｂ", "bob"), None);
}

#[test]
fn root_and_roots_link_by_one_edit() {
    // `root` has four chars, the floor for edit-distance links, so `roots` is
    // taken as a slip for `root`. That is wanted: a guessed variant of a
    // privileged name should count against it. A caller only links names that
    // are not accounts, so a real `roots` account is never folded into `root`.
    assert_eq!(mistakes("roots", "root"), Some(vec![OneEdit]));
    assert_eq!(mistakes("root", "roots"), Some(vec![OneEdit]));
    assert_eq!(mistakes("rot", "root"), Some(vec![OneEdit]));
}

#[test]
fn unrelated_identical_and_empty_do_not_link() {
    assert_eq!(mistakes("mallory", "alice"), None);
    assert_eq!(mistakes("alice", "alice"), None);
    assert_eq!(mistakes("ｃａｒｏｌ", "ｃａｒｏｌ"), None);
    assert_eq!(mistakes("", "alice"), None);
    assert_eq!(mistakes("alice", ""), None);
    assert_eq!(mistakes("", ""), None);
    assert_eq!(mistakes(" ", ""), None);
    assert_eq!(mistakes("\u{200B}", ""), None);
    assert_eq!(mistakes("\u{3000}", " "), None);
    assert_eq!(mistakes("a", " "), None);
}

#[test]
fn a_huge_string_neither_panics_nor_links() {
    let huge = "a".repeat(10_000);
    assert_eq!(fold(&huge).len(), 10_000);
    assert_eq!(skeleton(&huge).len(), 10_000);
    assert!(!within_one_edit(&huge, "alice"));
    assert!(!within_one_edit(&huge, &huge));
    assert_eq!(mistakes(&huge, "alice"), None);
    assert_eq!(mistakes("alice", &huge), None);
    assert_eq!(mistakes(&format!(" {huge}"), &huge), None);
    let wide = "ａ".repeat(10_000);
    assert_eq!(mistakes(&wide, &huge), None);
}

#[test]
fn control_characters_and_bidi_overrides_do_not_panic() {
    // A control character is no invisible format character: it stays and costs
    // an edit.
    assert_eq!(mistakes("\0alice", "alice"), Some(vec![OneEdit]));
    assert_eq!(mistakes("\u{1b}[2Jalice", "alice"), None);
    // An RTL override that makes reversed letters display as `alice` is spoofing,
    // not a slip of the keyboard: the letters themselves are far apart.
    assert_eq!(mistakes("\u{202E}ecila", "alice"), None);
    for s in [
        "\u{7f}alice",
        "alice\u{0}\u{0}",
        "\u{202E}\u{202D}\u{2067}",
        "\u{301}\u{301}\u{301}",
        "\u{FFFD}\u{FFFF}\u{10FFFF}",
        "\u{E000}\u{FDD0}",
        "\u{FDFA}",
        "각",
        "\r\n\t\u{85}\u{2028}",
    ] {
        let _ = fold(s);
        let _ = skeleton(s);
        let _ = within_one_edit(s, "alice");
        let _ = link(s, "alice");
        let _ = link("alice", s);
        let _ = link(s, s);
    }
}

#[test]
fn an_expanding_compatibility_character_is_bounded() {
    // U+FDFA decomposes into 18 chars; a name made of them passes the length
    // check on input but not the one on its skeleton.
    let expands = "\u{FDFA}".repeat(MAX_LINK_CHARS);
    assert_eq!(mistakes(&expands, &expands[3..]), None);
}

#[test]
fn mistake_names_and_descriptions() {
    let all = [Spaces, FullWidth, Case, LookAlike, OneEdit, Invisible];
    for m in all {
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, format!("\"{}\"", m.as_str()));
        assert!(!m.describe_en().is_empty());
        assert!(!m.describe_ja().is_empty());
    }
    assert_eq!(FullWidth.as_str(), "full_width");
    assert_eq!(LookAlike.as_str(), "look_alike");
    assert_eq!(OneEdit.as_str(), "one_edit");
    let en: std::collections::HashSet<_> = all.iter().map(|m| m.describe_en()).collect();
    let ja: std::collections::HashSet<_> = all.iter().map(|m| m.describe_ja()).collect();
    assert_eq!((en.len(), ja.len()), (all.len(), all.len()));
}

/// Optimal string alignment distance by the textbook table, to check the
/// linear-time test against.
fn osa(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// Short strings over a few letters plus the characters the normaliser treats
/// specially, so that near-misses are common.
fn near_name() -> impl Strategy<Value = String> {
    "[abIl01| ｃ＠\u{3000}\u{200B}\u{202E}\u{301}\0]{0,8}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn link_never_panics(typed in any::<String>(), account in any::<String>()) {
        let _ = link(&typed, &account);
        let _ = fold(&typed);
        let _ = skeleton(&typed);
    }

    #[test]
    fn link_never_panics_on_near_names(typed in near_name(), account in near_name()) {
        let found = link(&typed, &account);
        if typed == account {
            prop_assert_eq!(found, None);
        }
    }

    #[test]
    fn within_one_edit_is_symmetric(a in any::<String>(), b in any::<String>()) {
        prop_assert_eq!(within_one_edit(&a, &b), within_one_edit(&b, &a));
    }

    #[test]
    fn within_one_edit_matches_the_table(a in "[ab日é]{0,6}", b in "[ab日é]{0,6}") {
        prop_assert_eq!(within_one_edit(&a, &b), osa(&a, &b) <= 1);
        prop_assert_eq!(within_one_edit(&b, &a), osa(&a, &b) <= 1);
    }

    #[test]
    fn one_edit_away_is_within_one_edit(s in "[a-zé日]{0,10}", i in any::<prop::sample::Index>(), c in any::<char>()) {
        let chars: Vec<char> = s.chars().collect();
        let at = i.index(chars.len() + 1);
        let mut inserted = chars.clone();
        inserted.insert(at, c);
        let inserted: String = inserted.into_iter().collect();
        prop_assert!(within_one_edit(&s, &inserted));
        prop_assert!(within_one_edit(&inserted, &s));
    }
}
