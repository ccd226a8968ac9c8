//! Pulled SaaS audit logs in the running daemon, against local stand-ins of
//! the services (`crate::util::fake`): LINE WORKS' audit log download with
//! a service account ([`lineworks`]), Okta's System Log ([`okta`]).

mod lineworks;
mod okta;

use serde_json::Value;

use crate::util::daemon::Daemon;

/// The sum of the series of `name` that have all `labels` (in any order).
fn sum(d: &Daemon, name: &str, labels: &[(&str, &str)]) -> f64 {
    d.metrics()
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix('{')?;
            let (set, value) = rest.split_once("} ")?;
            let pairs: Vec<&str> = set.split(',').collect();
            let all = labels
                .iter()
                .all(|(k, v)| pairs.contains(&format!("{k}=\"{v}\"").as_str()));
            all.then(|| value.trim().parse::<f64>().ok())?
        })
        .sum()
}

/// Events parsed from `source`, all outcomes.
fn events(d: &Daemon, source: &str) -> f64 {
    sum(d, "loginwatch_events_total", &[("source", source)])
}

/// Lines of `source` counted as unparsed for `reason`.
fn unparsed(d: &Daemon, source: &str, reason: &str) -> f64 {
    sum(
        d,
        "loginwatch_unparsed_lines_total",
        &[("source", source), ("reason", reason)],
    )
}

/// `/readyz`'s problem with `source`, if any.
fn problem(d: &Daemon, source: &str) -> Option<String> {
    let r: Value = d.get("/readyz");
    r["problems"].as_array()?.iter().find_map(|p| {
        (p["name"] == source).then(|| p["message"].as_str().unwrap_or_default().to_owned())
    })
}

fn up(d: &Daemon, source: &str) -> f64 {
    d.metric(&format!("loginwatch_source_up{{source=\"{source}\"}}"))
}
