use super::*;

fn paths(ps: &[&str]) -> Vec<Path> {
    ps.iter().map(|p| Path::parse(p).unwrap()).collect()
}

#[test]
fn only_the_wanted_paths_are_kept() {
    let mut ps = paths(&["a.b", "c", "a.b"]);
    let sel = Selector::new(ps.iter_mut());
    assert_eq!(ps[0].slot(), ps[2].slot(), "the same text shares a slot");
    let doc = sel
        .read(r#"{"a":{"b":"x","z":[1,{"q":2}]},"c":7,"d":{"b":"no"}}"#)
        .unwrap();
    assert_eq!(doc.get(&ps[0]), Some(&Found::Str(Cow::Borrowed("x"))));
    assert_eq!(doc.get(&ps[1]), Some(&Found::Num(7u64.into())));
    assert_eq!(doc.vals.len(), 2);
    // A flat key reaches the same path as the nested ones, and a key with
    // an empty segment reaches nothing.
    let doc = sel
        .read(r#"{"a.b":"flat","a.":{"b":"no"},".c":1}"#)
        .unwrap();
    assert_eq!(doc.get(&ps[0]), Some(&Found::Str(Cow::Borrowed("flat"))));
    assert_eq!(doc.get(&ps[1]), None);
}

#[test]
fn a_path_both_wanted_and_a_prefix_is_composite_and_descended() {
    let mut ps = paths(&["a", "a.b"]);
    let sel = Selector::new(ps.iter_mut());
    let doc = sel.read(r#"{"a":{"b":true}}"#).unwrap();
    assert_eq!(doc.get(&ps[0]), Some(&Found::Composite));
    assert_eq!(doc.get(&ps[1]), Some(&Found::Bool(true)));
}

#[test]
fn escaped_keys_and_values_are_read() {
    let mut ps = paths(&["k\u{e9}y.v"]);
    let sel = Selector::new(ps.iter_mut());
    let doc = sel.read(r#"{"k\u00e9y":{"v":"a\nb"}}"#).unwrap();
    assert_eq!(
        doc.get(&ps[0]),
        Some(&Found::Str(Cow::Owned("a\nb".to_owned())))
    );
}

#[test]
fn bad_lines_are_errors_not_panics() {
    let mut ps = paths(&["a"]);
    let sel = Selector::new(ps.iter_mut());
    for bad in [
        "",
        "{",
        r#"{"a":1"#,
        r#"{"a":1} x"#,
        r#"{"a":tru}"#,
        r#"{"b":[1,2,}"#,
        r#"{"a":"\ud800"}"#,
    ] {
        assert_eq!(sel.read(bad).err(), Some(ReadError::Malformed), "{bad}");
    }
    for not_object in ["[1]", "\"a\"", "3", "null"] {
        assert_eq!(
            sel.read(not_object).err(),
            Some(ReadError::NotObject),
            "{not_object}"
        );
    }
    // The walk descends only along the spec's paths; any other subtree is
    // skipped without recursion, at any depth: no stack overflow.
    for key in ["a", "b"] {
        let deep = format!(
            "{{\"{key}\":{}1{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(sel.read(&deep).is_ok());
        let open = format!("{{\"{key}\":{}1", "[".repeat(100_000));
        assert_eq!(sel.read(&open).err(), Some(ReadError::Malformed));
    }
    // Trailing white space is fine.
    assert!(sel.read("{\"a\":1}  \r").is_ok());
}

#[test]
fn an_uncompiled_path_reads_nothing() {
    let sel = Selector::new(paths(&["a"]).iter_mut());
    let doc = sel.read(r#"{"a":1}"#).unwrap();
    assert_eq!(doc.get(&Path::parse("a").unwrap()), None);
}
