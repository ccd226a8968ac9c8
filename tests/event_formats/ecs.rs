//! Every field `parse` writes outside `loginwatch.*` is an ECS field, with a
//! value of its ECS type; the categorization uses ECS's allowed values, and
//! each `event.type` is one ECS expects for each `event.category`. And the
//! JSON reads back through `--format ecs` to the same events.

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde_json::{Map, Value};

use super::{fixture, parse, parse_corpus};

/// Fields `parse` cannot produce: `host.ip` is the sender of a line received
/// over the network (covered by the unit tests of the JSON form).
const NOT_FROM_PARSE: &[&str] = &["host.ip"];

#[test]
fn event_fields_are_ecs_fields_of_their_ecs_type() {
    let ecs = fixture("ecs/fields.json");
    let fields = ecs["fields"].as_object().unwrap();
    let events = parse_corpus(&[]);
    let mut seen = BTreeSet::new();
    for ev in &events {
        let ev = ev.as_object().unwrap();
        assert_eq!(ev["ecs.version"], ecs["ecs_version"]);
        for (k, v) in ev {
            if k.starts_with("loginwatch.") {
                continue;
            }
            let def = fields.get(k).unwrap_or_else(|| {
                panic!("{k} is not an ECS field (or not in the fixture): {ev:?}")
            });
            check_value(k, def, v);
            seen.insert(k.as_str());
        }
        check_categorization(fields, ev);
    }
    let unseen: Vec<&String> = fields
        .keys()
        .filter(|k| !seen.contains(k.as_str()) && !NOT_FROM_PARSE.contains(&k.as_str()))
        .collect();
    assert!(unseen.is_empty(), "the corpus never reaches {unseen:?}");
}

fn check_value(k: &str, def: &Value, v: &Value) {
    let values: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        _ => {
            assert!(def["array"] == false, "{k}: ECS expects an array, got {v}");
            vec![v]
        }
    };
    assert!(!values.is_empty(), "{k}: empty array");
    for v in values {
        let ok = match def["type"].as_str().unwrap() {
            "keyword" => v.is_string(),
            "long" => v.is_i64() || v.is_u64(),
            "ip" => v.as_str().is_some_and(|s| s.parse::<IpAddr>().is_ok()),
            "date" => v
                .as_str()
                .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok()),
            "geo_point" => v["lat"].is_f64() && v["lon"].is_f64(),
            t => panic!("{k}: no check for ECS type {t}"),
        };
        assert!(ok, "{k}: {v} is not a {}", def["type"]);
        if let Some(allowed) = def.get("allowed_values") {
            let s = v.as_str().unwrap();
            assert!(allowed.get(s).is_some(), "{k}: {s} is not an allowed value");
        }
    }
}

fn check_categorization(fields: &Map<String, Value>, ev: &Map<String, Value>) {
    assert_eq!(ev["event.kind"], "event");
    let expected = &fields["event.category"]["allowed_values"];
    for category in ev["event.category"].as_array().unwrap() {
        let types = expected[category.as_str().unwrap()].as_array().unwrap();
        for t in ev["event.type"].as_array().unwrap() {
            assert!(
                types.contains(t),
                "event.type {t} is not expected for event.category {category}: {ev:?}"
            );
        }
    }
}

/// The JSON without what the reading side stamps anew (where the line was)
/// or recomputes (enrichment).
fn parsed_part(v: &Value) -> Value {
    let mut m = v.as_object().unwrap().clone();
    m.retain(|k, _| {
        !matches!(k.as_str(), "log.file.path" | "loginwatch.log.offset")
            && !k.starts_with("source.geo")
            && !k.starts_with("source.as")
    });
    Value::Object(m)
}

#[test]
fn parse_output_reads_back_through_the_ecs_preset() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("loginwatch.toml"), "").unwrap();
    std::fs::write(d.join("auth.log"), super::AUTH_LOG).unwrap();
    let first = parse(d, "sshd", "auth.log", &[]);
    std::fs::write(d.join("events.jsonl"), &first).unwrap();
    let again = parse(d, "ecs", "events.jsonl", &[]);
    let a: Vec<Value> = first
        .lines()
        .map(|l| parsed_part(&serde_json::from_str(l).unwrap()))
        .collect();
    let b: Vec<Value> = again
        .lines()
        .map(|l| parsed_part(&serde_json::from_str(l).unwrap()))
        .collect();
    assert_eq!(a.len(), 7, "{first}");
    assert_eq!(a, b);
    assert!(first.contains("\"loginwatch.auth.method\"") && first.contains("\"process.pid\""));
}

#[test]
fn files_with_the_old_field_names_still_parse() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("loginwatch.toml"), "").unwrap();
    std::fs::write(
        d.join("old.jsonl"),
        r#"{"@timestamp":"2026-11-14T06:25:00Z","event.action":"login","event.outcome":"failure","event.reason":"no_permission","event.reason_detail":"AllowGroups","user.name":"bob","auth.method":"password","service.name":"sshd","log.offset":0}
{"@timestamp":"2026-11-14T06:26:00Z","event":{"action":"login","outcome":"success"},"user":{"name":"carol"},"process":{"name":"sshd","pid":77},"loginwatch":{"auth":{"method":"publickey"}}}
"#,
    )
    .unwrap();
    let out = parse(d, "ecs", "old.jsonl", &[]);
    let evs: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(evs.len(), 2, "{out}");
    assert_eq!(evs[0]["loginwatch.auth.method"], "password");
    assert_eq!(evs[0]["loginwatch.event.reason_detail"], "AllowGroups");
    assert!(evs[0].get("auth.method").is_none());
    // Filebeat's system module names the program in `process.name` only.
    assert_eq!(evs[1]["service.name"], "sshd");
    assert_eq!(evs[1]["process.pid"], 77);
    assert_eq!(evs[1]["loginwatch.auth.method"], "publickey");
}
