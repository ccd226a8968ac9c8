//! Dotted field paths (`userIdentity.userName`, `status.errorCode`) into a JSON line.
//!
//! Logs disagree on whether ECS-style names are nested objects
//! (`{"event":{"outcome":"failure"}}`) or flat keys with dots in them
//! (`{"event.outcome":"failure"}`, which is what Elastic's own JSON logs and our
//! output write); some mix both (`{"event":{"original.x":1}}`). A [`Path`] names
//! all of them: the line's keys joined by dots, whatever their nesting.
//! Numeric segments index arrays (`authenticationDetails.0.authenticationMethod`).
//! The line is read for the spec's paths only, by [`super::select`], which
//! gives each path its slot.

use std::borrow::Cow;
use std::fmt;

use super::select::{Doc, Found};

/// How a looked-up string is reduced before use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// The value as it is.
    Whole,
    /// The text after the last `/`, or, when there is none, after the last `:`:
    /// an ARN's name (`arn:aws:iam::1:user/alice` -> `alice`, `arn:aws:iam::1:root` -> `root`).
    Tail,
}

/// A dotted path with an optional transform, written `a.b.c` or `a.b.c|tail`.
#[derive(Clone)]
pub struct Path {
    text: String,
    transform: Transform,
    /// Its place in the parser's [`super::select::Selector`] (`u16::MAX`:
    /// not compiled into one yet); not part of what the path means.
    slot: u16,
}

impl PartialEq for Path {
    fn eq(&self, other: &Path) -> bool {
        self.text == other.text && self.transform == other.transform
    }
}

impl Eq for Path {}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transform {
            Transform::Whole => write!(f, "{:?}", self.text),
            Transform::Tail => write!(f, "\"{}|tail\"", self.text),
        }
    }
}

impl Path {
    /// Parses `a.b.c` or `a.b.c|tail`. Errors name what is wrong, for rule-file messages.
    pub fn parse(s: &str) -> Result<Path, String> {
        let (text, transform) = match s.split_once('|') {
            None => (s, Transform::Whole),
            Some((p, "tail")) => (p, Transform::Tail),
            Some((_, t)) => {
                return Err(format!(
                    "field path {s:?}: unknown transform {t:?} (only `tail` exists)"
                ));
            }
        };
        if text.is_empty() || text.split('.').any(str::is_empty) {
            return Err(format!("field path {s:?}: empty segment"));
        }
        Ok(Path {
            text: text.to_string(),
            transform,
            slot: u16::MAX,
        })
    }

    /// A path known to be valid (the built-in presets).
    pub(crate) fn lit(s: &'static str) -> Path {
        let (text, transform) = match s.strip_suffix("|tail") {
            Some(p) => (p, Transform::Tail),
            None => (s, Transform::Whole),
        };
        Path {
            text: text.to_string(),
            transform,
            slot: u16::MAX,
        }
    }

    /// The dotted name, without the transform.
    pub fn dotted(&self) -> &str {
        &self.text
    }

    pub(super) fn slot(&self) -> Option<u16> {
        (self.slot != u16::MAX).then_some(self.slot)
    }

    pub(super) fn set_slot(&mut self, slot: u16) {
        self.slot = slot;
    }

    /// The value at this path, if present and not `null`.
    pub fn get<'d, 'a>(&self, doc: &'d Doc<'a>) -> Option<&'d Found<'a>> {
        doc.get(self)
    }

    /// The value at this path as text (see [`scalar_text`]), transformed.
    pub fn text<'d>(&self, doc: &'d Doc<'_>) -> Option<Cow<'d, str>> {
        let t = scalar_text(self.get(doc)?)?;
        Some(match self.transform {
            Transform::Whole => t,
            Transform::Tail => match t {
                Cow::Borrowed(s) => Cow::Borrowed(tail(s)),
                Cow::Owned(s) => Cow::Owned(tail(&s).to_string()),
            },
        })
    }
}

fn tail(s: &str) -> &str {
    let cut = s.rfind('/').or_else(|| s.rfind(':'));
    cut.and_then(|i| s.get(i + 1..)).unwrap_or(s)
}

/// A scalar as text: strings as they are, numbers in decimal, booleans as
/// `true`/`false`. Objects, arrays and null have no text. Empty strings and the
/// `-` placeholder (Windows writes `-` for "none") count as absent.
pub fn scalar_text<'d>(v: &'d Found<'_>) -> Option<Cow<'d, str>> {
    match v {
        Found::Str(s) => {
            let s = s.trim();
            (!s.is_empty() && s != "-").then_some(Cow::Borrowed(s))
        }
        Found::Num(n) => Some(Cow::Owned(n.to_string())),
        Found::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Found::Null | Found::Composite => None,
    }
}

/// The first of `paths` that yields text.
pub fn first_text<'d>(paths: &[Path], doc: &'d Doc<'_>) -> Option<Cow<'d, str>> {
    paths.iter().find_map(|p| p.text(doc))
}

#[cfg(test)]
mod tests {
    use super::super::select::Selector;
    use super::*;
    use serde_json::{Value, json};

    /// What `path` reads from `line` as a selector compiled for it alone
    /// would: the found value as JSON (`None` when absent), and its text.
    fn read(path: &str, line: &Value) -> (Option<Value>, Option<String>) {
        let mut p = Path::parse(path).unwrap();
        let sel = Selector::new([&mut p]);
        let line = line.to_string();
        let doc = sel.read(&line).unwrap();
        let found = p.get(&doc).map(|f| match f {
            Found::Str(s) => json!(s),
            Found::Num(n) => Value::Number(n.clone()),
            Found::Bool(b) => json!(b),
            Found::Null => Value::Null,
            Found::Composite => json!("<composite>"),
        });
        (found, p.text(&doc).map(Cow::into_owned))
    }

    fn get(path: &str, line: Value) -> Option<Value> {
        read(path, &line).0
    }

    fn text(path: &str, line: Value) -> Option<String> {
        read(path, &line).1
    }

    #[test]
    fn nested_flat_and_mixed_keys_resolve() {
        assert_eq!(
            get("event.outcome", json!({"event": {"outcome": "x"}})),
            Some(json!("x"))
        );
        assert_eq!(
            get("event.outcome", json!({"event.outcome": "y"})),
            Some(json!("y"))
        );
        assert_eq!(get("a.b.c", json!({"a": {"b.c": 1}})), Some(json!(1)));
        assert_eq!(get("a.b.c", json!({"a.b": {"c": 2}})), Some(json!(2)));
        assert_eq!(get("a.b.c", json!({"a": {"b": {"c": null}}})), None);
        assert_eq!(get("a.b.c", json!({"a": 3})), None);
    }

    #[test]
    fn the_longest_key_first_wins_as_a_nested_lookup_would() {
        // Written in both orders: the rank decides, not the order.
        for line in [
            r#"{"a":{"b":{"c":1}},"a.b":{"c":2}}"#,
            r#"{"a.b":{"c":2},"a":{"b":{"c":1}}}"#,
        ] {
            let mut p = Path::parse("a.b.c").unwrap();
            let sel = Selector::new([&mut p]);
            let doc = sel.read(line).unwrap();
            assert_eq!(p.text(&doc).as_deref(), Some("2"), "{line}");
        }
        let mut p = Path::parse("a.b").unwrap();
        let sel = Selector::new([&mut p]);
        let doc = sel.read(r#"{"a.b":"flat","a":{"b":"nested"}}"#).unwrap();
        assert_eq!(p.text(&doc).as_deref(), Some("flat"));
        // A duplicate key: the last, as a JSON map keeps it.
        let doc = sel.read(r#"{"a.b":"one","a.b":"two"}"#).unwrap();
        assert_eq!(p.text(&doc).as_deref(), Some("two"));
    }

    #[test]
    fn arrays_are_indexed_by_number() {
        let v = json!({"d": [{"m": "a"}, {"m": "b"}]});
        assert_eq!(text("d.1.m", v.clone()).as_deref(), Some("b"));
        assert_eq!(get("d.9.m", v.clone()), None);
        assert_eq!(get("d.x", v), None);
    }

    #[test]
    fn tail_takes_the_arn_name() {
        let t = |s: &str| text("arn|tail", json!({ "arn": s }));
        assert_eq!(t("arn:aws:iam::1:user/dev/alice").as_deref(), Some("alice"));
        assert_eq!(t("arn:aws:iam::1:root").as_deref(), Some("root"));
        assert_eq!(t("plain").as_deref(), Some("plain"));
    }

    #[test]
    fn placeholders_and_non_scalars_are_absent() {
        for v in [
            json!({"x": "-"}),
            json!({"x": " "}),
            json!({"x": {}}),
            json!({"x": []}),
        ] {
            assert_eq!(text("x", v.clone()), None, "{v}");
        }
        assert_eq!(text("x", json!({"x": 4625})).as_deref(), Some("4625"));
        assert_eq!(text("x", json!({"x": -3})).as_deref(), Some("-3"));
        assert_eq!(text("x", json!({"x": 1.5})).as_deref(), Some("1.5"));
        assert_eq!(text("x", json!({"x": true})).as_deref(), Some("true"));
        assert_eq!(text("x", json!({"x": "a\"b"})).as_deref(), Some("a\"b"));
    }

    #[test]
    fn bad_paths_are_refused() {
        assert!(Path::parse("").is_err());
        assert!(Path::parse("a..b").is_err());
        assert!(Path::parse("a|upper").is_err());
        assert!(Path::parse("a.b|tail").is_ok());
    }
}
