//! Dotted field paths (`userIdentity.userName`, `status.errorCode`) into parsed JSON.
//!
//! Logs disagree on whether ECS-style names are nested objects
//! (`{"event":{"outcome":"failure"}}`) or flat keys with dots in them
//! (`{"event.outcome":"failure"}`, which is what Elastic's own JSON logs and our
//! output write); some mix both (`{"event":{"original.x":1}}`). A [`Path`] therefore
//! tries, at each level, every split of the remaining dotted name into a literal key
//! and a rest, longest key first. Numeric segments index arrays
//! (`authenticationDetails.0.authenticationMethod`). Lookups slice the path string
//! and never allocate.

use std::borrow::Cow;
use std::fmt;

use serde_json::Value;

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
#[derive(Clone, PartialEq, Eq)]
pub struct Path {
    text: String,
    transform: Transform,
}

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
        }
    }

    /// The value at this path, if present and not `null`.
    pub fn get<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        lookup(root, &self.text).filter(|v| !v.is_null())
    }

    /// The value at this path as text (see [`scalar_text`]), transformed.
    pub fn text<'v>(&self, root: &'v Value) -> Option<Cow<'v, str>> {
        let t = scalar_text(self.get(root)?)?;
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

/// Walks `rest` (a dotted name) into `v`, trying the longest literal key first at
/// each level so flat dotted keys and nested objects both resolve.
fn lookup<'v>(v: &'v Value, rest: &str) -> Option<&'v Value> {
    match v {
        Value::Object(m) => {
            if let Some(hit) = m.get(rest) {
                return Some(hit);
            }
            // Shorter keys: split at each dot from the right.
            let mut end = rest.len();
            while let Some(dot) = rest.get(..end).and_then(|s| s.rfind('.')) {
                if let (Some(key), Some(after)) = (rest.get(..dot), rest.get(dot + 1..))
                    && let Some(found) = m.get(key).and_then(|inner| lookup(inner, after))
                {
                    return Some(found);
                }
                end = dot;
            }
            None
        }
        Value::Array(a) => {
            let (first, after) = match rest.split_once('.') {
                Some((f, a)) => (f, Some(a)),
                None => (rest, None),
            };
            let item = a.get(first.parse::<usize>().ok()?)?;
            match after {
                Some(after) => lookup(item, after),
                None => Some(item),
            }
        }
        _ => None,
    }
}

/// A scalar as text: strings as they are, numbers in decimal, booleans as
/// `true`/`false`. Objects, arrays and null have no text. Empty strings and the
/// `-` placeholder (Windows writes `-` for "none") count as absent.
pub fn scalar_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) => {
            let s = s.trim();
            (!s.is_empty() && s != "-").then_some(Cow::Borrowed(s))
        }
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

/// The first of `paths` that yields text.
pub fn first_text<'v>(paths: &[Path], root: &'v Value) -> Option<Cow<'v, str>> {
    paths.iter().find_map(|p| p.text(root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_flat_and_mixed_keys_resolve() {
        let p = Path::parse("event.outcome").unwrap();
        assert_eq!(
            p.get(&json!({"event": {"outcome": "x"}})),
            Some(&json!("x"))
        );
        assert_eq!(p.get(&json!({"event.outcome": "y"})), Some(&json!("y")));
        let p = Path::parse("a.b.c").unwrap();
        assert_eq!(p.get(&json!({"a": {"b.c": 1}})), Some(&json!(1)));
        assert_eq!(p.get(&json!({"a.b": {"c": 2}})), Some(&json!(2)));
        assert_eq!(p.get(&json!({"a": {"b": {"c": null}}})), None);
        assert_eq!(p.get(&json!({"a": 3})), None);
    }

    #[test]
    fn arrays_are_indexed_by_number() {
        let p = Path::parse("d.1.m").unwrap();
        let v = json!({"d": [{"m": "a"}, {"m": "b"}]});
        assert_eq!(p.text(&v).as_deref(), Some("b"));
        assert_eq!(Path::parse("d.9.m").unwrap().get(&v), None);
        assert_eq!(Path::parse("d.x").unwrap().get(&v), None);
    }

    #[test]
    fn tail_takes_the_arn_name() {
        let p = Path::parse("arn|tail").unwrap();
        let t = |s: &str| p.text(&json!({ "arn": s })).map(|c| c.into_owned());
        assert_eq!(t("arn:aws:iam::1:user/dev/alice").as_deref(), Some("alice"));
        assert_eq!(t("arn:aws:iam::1:root").as_deref(), Some("root"));
        assert_eq!(t("plain").as_deref(), Some("plain"));
    }

    #[test]
    fn placeholders_and_non_scalars_are_absent() {
        let p = Path::parse("x").unwrap();
        for v in [
            json!({"x": "-"}),
            json!({"x": " "}),
            json!({"x": {}}),
            json!({"x": []}),
        ] {
            assert_eq!(p.text(&v), None, "{v}");
        }
        assert_eq!(p.text(&json!({"x": 4625})).as_deref(), Some("4625"));
        assert_eq!(p.text(&json!({"x": true})).as_deref(), Some("true"));
    }

    #[test]
    fn bad_paths_are_refused() {
        assert!(Path::parse("").is_err());
        assert!(Path::parse("a..b").is_err());
        assert!(Path::parse("a|upper").is_err());
        assert!(Path::parse("a.b|tail").is_ok());
    }
}
