//! What a test expected against what the run gave: which decision is missing,
//! which is unexpected, which field differs.
//!
//! An expected object is a *pattern*: each field it has must be equal in what
//! the run gave (objects compared field by field, the same way, at any
//! depth); a field it leaves out is not compared. `--update` writes every
//! field, so a fresh expectation checks everything; an operator may delete
//! what a test should not depend on (the `assessment_reason` sentence, the
//! `id`). Decisions are paired by rule and target, in order, exact matches
//! first, so one changed lock reads as its changed fields, not as one missing
//! and one unexpected decision.

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// The kind of a [`Difference`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Expected, not produced.
    Missing,
    /// Produced, not expected.
    Unexpected,
    /// Produced with a field other than expected.
    Field,
    /// Every decision as expected, but in another order.
    Order,
}

/// One difference between the expectation and the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub kind: Kind,
    /// What differs: a decision (`account-lockout lock_account user=alice at
    /// 2026-11-14T06:26:20Z`), `summary`, or `event 3`.
    pub what: String,
    /// The field's path (`until`, `evidence.count`) for [`Kind::Field`].
    pub field: Option<String>,
    /// The expected value (the whole object when missing); `None` when absent.
    pub expected: Option<Value>,
    /// The value the run gave (the whole object when unexpected); `None` when absent.
    pub got: Option<Value>,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<Value>| v.as_ref().map_or("(absent)".to_owned(), Value::to_string);
        match self.kind {
            Kind::Missing => write!(f, "missing:    {}", self.what),
            Kind::Unexpected => write!(f, "unexpected: {}", self.what),
            Kind::Order => write!(f, "order:      {}", self.what),
            Kind::Field => write!(
                f,
                "differs:    {}: {}: expected {}, got {}",
                self.what,
                self.field.as_deref().unwrap_or(""),
                show(&self.expected),
                show(&self.got)
            ),
        }
    }
}

/// The fields where `got` does not match the pattern `expected`, each as
/// `(path, expected, got)`.
pub fn pattern_diff(expected: &Value, got: &Value) -> Vec<(String, Value, Option<Value>)> {
    let mut out = Vec::new();
    walk("", expected, Some(got), &mut out);
    out
}

fn walk(
    path: &str,
    expected: &Value,
    got: Option<&Value>,
    out: &mut Vec<(String, Value, Option<Value>)>,
) {
    match (expected, got) {
        (Value::Object(e), Some(Value::Object(g))) => {
            for (k, ev) in e {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(&p, ev, g.get(k), out);
            }
        }
        (e, g) if Some(e) == g => {}
        (e, g) => out.push((path.to_owned(), e.clone(), g.cloned())),
    }
}

fn matches(expected: &Value, got: &Value) -> bool {
    pattern_diff(expected, got).is_empty()
}

/// The same rule and target (as far as the expectation names them).
fn same_key(expected: &Value, got: &Value) -> bool {
    ["rule", "target"].iter().all(|k| {
        expected
            .get(k)
            .is_none_or(|e| matches(e, got.get(k).unwrap_or(&Value::Null)))
    })
}

/// A decision for people: rule, action, target and time.
pub fn label(d: &Value) -> String {
    let s = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
    let mut parts = vec![s("rule"), s("action")];
    if let Some(t) = d.get("target").and_then(Value::as_object) {
        for (k, v) in t {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            parts.push(format!("{k}={v}"));
        }
    }
    if d.get("at").is_some() {
        parts.push(format!("at {}", s("at")));
    }
    parts.join(" ")
}

/// The differences between the expected decisions and those produced.
pub fn decisions(expected: &[Value], got: &[Value]) -> Vec<Difference> {
    let mut pair: Vec<Option<usize>> = vec![None; expected.len()];
    let mut taken = vec![false; got.len()];
    // Exact matches first, then any decision of the same rule and target.
    for exact in [true, false] {
        for (i, e) in expected.iter().enumerate() {
            if pair[i].is_some() {
                continue;
            }
            let found = got
                .iter()
                .enumerate()
                .position(|(j, g)| !taken[j] && same_key(e, g) && (!exact || matches(e, g)));
            if let Some(j) = found {
                pair[i] = Some(j);
                taken[j] = true;
            }
        }
    }
    let mut out = Vec::new();
    for (i, e) in expected.iter().enumerate() {
        match pair[i] {
            None => out.push(Difference {
                kind: Kind::Missing,
                what: label(e),
                field: None,
                expected: Some(e.clone()),
                got: None,
            }),
            Some(j) => out.extend(fields(&label(&got[j]), e, &got[j])),
        }
    }
    for (j, g) in got.iter().enumerate() {
        if !taken[j] {
            out.push(Difference {
                kind: Kind::Unexpected,
                what: label(g),
                field: None,
                expected: None,
                got: Some(g.clone()),
            });
        }
    }
    let order: Vec<usize> = pair.iter().flatten().copied().collect();
    if out.is_empty() && order.windows(2).any(|w| w[0] > w[1]) {
        out.push(Difference {
            kind: Kind::Order,
            what: "the decisions come in another order than expected".to_owned(),
            field: None,
            expected: Some(Value::Array(
                expected.iter().map(|e| label(e).into()).collect(),
            )),
            got: Some(Value::Array(got.iter().map(|g| label(g).into()).collect())),
        });
    }
    out
}

/// The field differences of one pair, named `what`.
pub fn fields(what: &str, expected: &Value, got: &Value) -> Vec<Difference> {
    pattern_diff(expected, got)
        .into_iter()
        .map(|(field, e, g)| Difference {
            kind: Kind::Field,
            what: what.to_owned(),
            field: Some(field),
            expected: Some(e),
            got: g,
        })
        .collect()
}

/// The differences between expected and produced events, by position.
pub fn events(expected: &[Value], got: &[Value]) -> Vec<Difference> {
    let mut out = Vec::new();
    for (i, e) in expected.iter().enumerate() {
        let what = format!("event {}", i + 1);
        match got.get(i) {
            Some(g) => out.extend(fields(&what, e, g)),
            None => out.push(Difference {
                kind: Kind::Missing,
                what,
                field: None,
                expected: Some(e.clone()),
                got: None,
            }),
        }
    }
    for (i, g) in got.iter().enumerate().skip(expected.len()) {
        out.push(Difference {
            kind: Kind::Unexpected,
            what: format!("event {}", i + 1),
            field: None,
            expected: None,
            got: Some(g.clone()),
        });
    }
    out
}
