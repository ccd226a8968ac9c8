//! Tests of the metrics: every contracted name is exported and the output is
//! well-formed text exposition format.

use std::collections::BTreeMap;

use super::*;

/// Every metric name of the contract (issue and dashboards), with its type.
const CONTRACT: &[(&str, &str)] = &[
    ("loginwatch_lines_read_total", "counter"),
    ("loginwatch_events_total", "counter"),
    ("loginwatch_unparsed_lines_total", "counter"),
    ("loginwatch_rule_matches_total", "counter"),
    ("loginwatch_decisions_total", "counter"),
    ("loginwatch_active_locks", "gauge"),
    ("loginwatch_unlocks_total", "counter"),
    ("loginwatch_tracked_keys", "gauge"),
    ("loginwatch_evicted_keys_total", "counter"),
    ("loginwatch_rules_reloads_total", "counter"),
    ("loginwatch_source_lag_bytes", "gauge"),
    ("loginwatch_source_up", "gauge"),
    ("loginwatch_source_dropped_total", "counter"),
    ("loginwatch_event_to_decision_seconds", "histogram"),
    ("loginwatch_build_info", "gauge"),
];

fn valid_name(n: &str) -> bool {
    let mut cs = n.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Parses `{a="x",b="y"}` (escapes `\\ \" \n` allowed in values); returns label names.
fn labels(s: &str) -> Result<Vec<String>, String> {
    let inner = s
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .ok_or("labels not in braces")?;
    let mut names = Vec::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let eq = rest.find("=\"").ok_or("label without =\"")?;
        let name = &rest[..eq];
        if !valid_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        names.push(name.to_owned());
        let mut chars = rest[eq + 2..].char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\' | '"' | 'n')) => {}
                    _ => return Err("bad escape".into()),
                },
                Some((i, '"')) => break eq + 2 + i,
                Some((_, '\n')) => return Err("raw newline in value".into()),
                Some(_) => {}
                None => return Err("unterminated value".into()),
            }
        };
        rest = &rest[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    Ok(names)
}

/// A strict-enough check of the text format: HELP and TYPE once per family and
/// before its samples, valid names and labels, numeric values, samples of a family
/// contiguous. Returns family name -> type.
fn check_format(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut helps = BTreeMap::new();
    let mut current = String::new();
    for (n, line) in text.lines().enumerate() {
        let at = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap_or("");
            if helps.insert(name.to_owned(), ()).is_some() {
                return Err(at("second HELP".into()));
            }
            current = name.to_owned();
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split(' ');
            let (name, ty) = (it.next().unwrap_or(""), it.next().unwrap_or(""));
            if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&ty) {
                return Err(at("bad type".into()));
            }
            if types.insert(name.to_owned(), ty.to_owned()).is_some() || name != current {
                return Err(at("TYPE repeated or not after its HELP".into()));
            }
        } else if line.starts_with('#') || line.is_empty() {
            return Err(at("unexpected line".into()));
        } else {
            let (series, value) = line.rsplit_once(' ').ok_or_else(|| at("no value".into()))?;
            let value_ok = value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value);
            if !value_ok {
                return Err(at("bad value".into()));
            }
            let (name, lbl) = match series.find('{') {
                Some(i) => (&series[..i], Some(&series[i..])),
                None => (series, None),
            };
            if !valid_name(name) {
                return Err(at("bad metric name".into()));
            }
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
                })
                .unwrap_or(name);
            if family != current {
                return Err(at("sample outside its family".into()));
            }
            if let Some(l) = lbl {
                let names = labels(l).map_err(at)?;
                for forbidden in ["user", "ip", "path", "source_ip", "file"] {
                    if names.iter().any(|n| n == forbidden) {
                        return Err(at(format!("forbidden label {forbidden}")));
                    }
                }
            }
        }
    }
    Ok(types)
}

fn exercised() -> Metrics {
    let m = Metrics::new();
    m.line_read("auth.log");
    m.event("auth.log", Outcome::Failure);
    m.unparsed("auth.log", UnparsedReason::Malformed);
    m.rule_matches.with_label_values(&["ssh-brute"]).inc();
    m.decision(
        "ssh-brute",
        DecisionAction::BlockIp,
        Mode::Recommend,
        Assessment::Attack,
    );
    m.decision(
        "account-lockout",
        DecisionAction::LockAccount,
        Mode::Recommend,
        Assessment::UserError,
    );
    m.set_active_locks(DecisionAction::BlockIp, 3);
    m.unlock(UnlockHow::Admin);
    m.tracked_keys.with_label_values(&["ssh-brute"]).set(12);
    m.evicted_keys.with_label_values(&["ssh-brute"]).inc();
    m.reload(ReloadResult::Error);
    m.source_lag_bytes.with_label_values(&["auth.log"]).set(0);
    m.source_dropped
        .with_label_values(&["udp-514", "queue_full"])
        .inc_by(7);
    // A source name with characters that need escaping in label values.
    m.set_source_up("we\"ird\\name", false);
    m.event_to_decision_seconds.observe(0.004);
    m
}

#[test]
fn every_contracted_metric_is_rendered_with_its_type() {
    let text = exercised().render();
    let types = check_format(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    for (name, ty) in CONTRACT {
        assert_eq!(
            types.get(*name).map(String::as_str),
            Some(*ty),
            "{name}\n{text}"
        );
    }
    let build = format!(
        "loginwatch_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(text.contains(&build), "{text}");
    assert!(
        text.contains("loginwatch_unlocks_total{how=\"admin\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("loginwatch_unlocks_total{how=\"auto\"} 0"),
        "{text}"
    );
    assert!(text.contains("loginwatch_rules_reloads_total{result=\"error\"} 1"));
    assert!(text.contains("loginwatch_active_locks{action=\"block_ip\"} 3"));
    assert!(text.contains("loginwatch_decisions_total{action=\"block_ip\",assessment=\"attack\",mode=\"recommend\",rule=\"ssh-brute\"} 1"), "{text}");
    assert!(text.contains("loginwatch_decisions_total{action=\"lock_account\",assessment=\"user_error\",mode=\"recommend\",rule=\"account-lockout\"} 1"), "{text}");
    assert!(text.contains("loginwatch_event_to_decision_seconds_bucket{le=\"0.005\"} 1"));
    #[cfg(target_os = "linux")]
    assert!(
        types.contains_key("process_resident_memory_bytes"),
        "{text}"
    );
}

#[test]
fn counters_end_in_total_and_all_names_are_namespaced() {
    let text = exercised().render();
    let types = check_format(&text).unwrap();
    for (name, ty) in &types {
        assert!(
            name.starts_with("loginwatch_") || name.starts_with("process_"),
            "{name}"
        );
        if ty == "counter" && name.starts_with("loginwatch_") {
            assert!(name.ends_with("_total"), "{name}");
        }
    }
}

#[test]
fn the_checker_rejects_malformed_output() {
    assert!(check_format("# HELP a x\n# TYPE a counter\na{user=\"bob\"} 1\n").is_err());
    assert!(check_format("# HELP a x\n# TYPE a counter\na{b=\"x} 1\n").is_err());
    assert!(check_format("# HELP a x\n# TYPE a counter\nb 1\n").is_err());
    assert!(check_format("# HELP a x\n# TYPE a counter\na one\n").is_err());
    assert!(check_format("# HELP a x\n# TYPE a counter\na{b=\"x\"} 1\n").is_ok());
}

#[test]
fn two_instances_do_not_share_state() {
    let a = Metrics::new();
    let b = Metrics::new();
    a.unlock(UnlockHow::Auto);
    assert!(
        a.render()
            .contains("loginwatch_unlocks_total{how=\"auto\"} 1")
    );
    assert!(
        b.render()
            .contains("loginwatch_unlocks_total{how=\"auto\"} 0")
    );
}
