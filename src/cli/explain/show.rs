//! How `explain` prints a line's explanation: readable text (every
//! attacker-controlled string escaped, colour only on a terminal and never
//! with `NO_COLOR`), or one JSON object per line.

use std::io::{self, IsTerminal, Write};

use serde_json::Value;

use loginwatch::decision::{Decision, Unlock};
use loginwatch::escape::{Escaped, json_safe};
use loginwatch::event::rfc3339;
use loginwatch::rules::Step;
use loginwatch::rules::trace::Status;

use super::Explained;

/// Whether to colour the statuses.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    colour: bool,
}

impl Style {
    /// Colour on a terminal when `NO_COLOR` is unset or empty (as the daemon's log).
    pub fn detect() -> Style {
        Style {
            colour: super::super::run::colour(
                io::stdout().is_terminal(),
                std::env::var_os("NO_COLOR").as_deref(),
            ),
        }
    }

    fn paint(self, status: Status) -> String {
        let word = status.as_str();
        let code = match status {
            Status::Fired => "1;31",
            Status::Counted | Status::Suppressed => "33",
            Status::Filtered | Status::Skipped | Status::NoKey => "2",
            _ => "",
        };
        if !self.colour || code.is_empty() {
            format!("{word:<10}")
        } else {
            format!("\x1b[{code}m{word:<10}\x1b[0m")
        }
    }
}

/// One JSON object, on one line.
pub fn json(out: &mut impl Write, x: &Explained) -> io::Result<()> {
    let text = serde_json::to_string(x).map_err(io::Error::from)?;
    out.write_all(json_safe(text).as_bytes())?;
    out.write_all(b"\n")
}

/// The readable form: the line, its event, then one line per rule.
pub fn human(out: &mut impl Write, x: &Explained, style: Style) -> io::Result<()> {
    writeln!(out, "line {}: {}", x.line, Escaped(&x.text))?;
    writeln!(out, "  parser      {}", Escaped(&x.parser))?;
    if let Some(n) = &x.not_event {
        writeln!(out, "  no event    {}: {}", n.reason, Escaped(&n.detail))?;
        return writeln!(out);
    }
    if let Some(ev) = &x.event {
        writeln!(out, "  event       {}", summary(ev))?;
    }
    let added: Vec<String> = x
        .enrichment
        .iter()
        .map(|(k, v)| format!("{k}={}", scalar(v)))
        .collect();
    writeln!(
        out,
        "  enrichment  {}",
        if added.is_empty() {
            "none".into()
        } else {
            added.join(", ")
        }
    )?;
    if let Some(known) = x.known_account {
        let what = if known {
            "known (successful logins or in the inventory)"
        } else {
            "not known yet"
        };
        writeln!(out, "  account     {what}")?;
    }
    if x.rules.is_empty() {
        writeln!(out, "  rules       none")?;
    }
    let width = x
        .rules
        .iter()
        .map(|s| s.rule.chars().count())
        .max()
        .unwrap_or(0);
    for s in &x.rules {
        let rule = Escaped(&s.rule).to_string();
        writeln!(
            out,
            "  {rule:<width$}  {} {}",
            style.paint(s.note.status),
            step(s)
        )?;
        for d in x.decisions.iter().filter(|d| d.rule == s.rule) {
            writeln!(out, "  {:<width$}  {:<10} {}", "", "decision", decision(d))?;
        }
    }
    // Decisions of no traced rule: the event-time account sweep, the storm breaker.
    for d in x
        .decisions
        .iter()
        .filter(|d| !x.rules.iter().any(|s| s.rule == d.rule))
    {
        writeln!(out, "  decision    {} ({})", decision(d), Escaped(&d.rule))?;
    }
    writeln!(out)
}

/// What a rule did, after its status word.
fn step(s: &Step) -> String {
    let n = &s.note;
    let mut parts = Vec::new();
    if let Some(c) = &n.condition {
        let value = n.value.as_deref().unwrap_or("");
        parts.push(format!(
            "by {} (this event: {})",
            Escaped(c),
            Escaped(value)
        ));
    }
    if let Some(k) = &n.key {
        parts.push(format!("key={}", Escaped(k)));
    }
    if let (Some(b), Some(a)) = (n.before, n.after) {
        parts.push(format!(
            "{b}/{c} -> {a}/{c} within {w}",
            c = s.count,
            w = s.window
        ));
    }
    let mut text = parts.join(" ");
    if let Some(r) = &n.reason {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&Escaped(r).to_string());
    }
    text
}

/// A decision on one line: action, target, end, severity, mode.
fn decision(d: &Decision) -> String {
    let until = match (d.until, d.unlock) {
        (Some(t), _) => format!(" until {}", rfc3339(&t)),
        (None, Unlock::Admin) => " until an admin unlocks".into(),
        (None, _) => String::new(),
    };
    format!(
        "{} {}{} [{}, {}{}]",
        d.action.as_str(),
        Escaped(&d.target.to_string()),
        until,
        d.severity.as_str(),
        d.mode.as_str(),
        if d.exempt { ", exempt" } else { "" }
    )
}

/// The event in one line: time, action, outcome, reason, who and from where.
fn summary(ev: &Value) -> String {
    // Flattened, so the fields are found whether the JSON nests them or not.
    let mut flat = serde_json::Map::new();
    super::flatten("", ev, &mut flat);
    let get = |path: &str| flat.get(path).filter(|v| !v.is_null()).map(scalar);
    let mut s = [
        "@timestamp",
        "event.action",
        "event.outcome",
        "event.reason",
    ]
    .iter()
    .filter_map(|p| get(p))
    .collect::<Vec<_>>()
    .join(" ");
    for p in [
        "user.name",
        "source.ip",
        "service.name",
        "host.name",
        "loginwatch.auth.method",
    ] {
        if let Some(v) = get(p) {
            s.push_str(&format!(" {p}={v}"));
        }
    }
    s
}

/// A JSON value as text: strings bare and escaped, the rest as JSON.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => Escaped(s).to_string(),
        other => Escaped(&other.to_string()).to_string(),
    }
}
