//! `parse --output ocsf` against the OCSF schema: every event's class, its
//! required attributes (and those of every object inside it), attribute names,
//! types, enum values, captions of `*_id` siblings and the `at_least_one`
//! constraints, as `tests/fixtures/ocsf/schema.json` (derived from the
//! schema) states them.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{fixture, parse_corpus};

#[test]
fn every_ocsf_event_satisfies_the_schema() {
    let schema = fixture("ocsf/schema.json");
    let events = parse_corpus(&["--output", "ocsf"]);
    let mut classes = BTreeSet::new();
    let mut top = BTreeSet::new();
    for ev in &events {
        let errors = validate(&schema, ev);
        assert!(errors.is_empty(), "{errors:#?}\nin {ev}");
        assert_eq!(ev["metadata"]["version"], schema["ocsf_version"]);
        classes.insert(ev["class_uid"].as_u64().unwrap());
        top.extend(ev.as_object().unwrap().keys().cloned());
    }
    assert_eq!(classes, BTreeSet::from([3001, 3002]));
    for k in [
        "src_endpoint",
        "dst_endpoint",
        "service",
        "auth_protocol",
        "is_mfa",
        "logon_type_id",
        "logon_process",
        "http_request",
        "status_detail",
    ] {
        assert!(top.contains(k), "the corpus never reaches {k}");
    }
    let located = events
        .iter()
        .any(|e| e["src_endpoint"]["location"].is_object() && e["user"]["email_addr"].is_string());
    assert!(located, "no event with both GeoIP and inventory fields");
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    let schema = fixture("ocsf/schema.json");
    let good = json!({
        "activity_id": 1, "category_uid": 3, "class_uid": 3002, "type_uid": 300201,
        "severity_id": 1, "status_id": 1, "status": "Success", "time": 1,
        "metadata": {"version": "1.8.0", "product": {"name": "loginwatch"}},
        "user": {"name": "alice"}, "service": {"name": "sshd"}
    });
    assert_eq!(validate(&schema, &good), Vec::<String>::new());
    let broken = |path: &[&str], v: Option<Value>| {
        let mut e = good.clone();
        let (last, parents) = path.split_last().unwrap();
        let mut at = &mut e;
        for p in parents {
            at = &mut at[*p];
        }
        match v {
            Some(v) => at[*last] = v,
            None => {
                at.as_object_mut().unwrap().remove(*last);
            }
        }
        validate(&schema, &e)
    };
    for (path, v) in [
        (&["user"][..], None),
        (&["metadata", "version"][..], None),
        (&["service"][..], None),
        (&["activity_id"][..], Some(json!(42))),
        (&["type_uid"][..], Some(json!(300101))),
        (&["status"][..], Some(json!("Failure"))),
        (&["time"][..], Some(json!("2026-01-01T00:00:00Z"))),
        (&["user", "email_addr"][..], Some(json!("not an address"))),
        (&["user"][..], Some(json!({"full_name": "A"}))),
        (
            &["src_endpoint"][..],
            Some(json!({"port": 70000, "ip": "192.0.2.1"})),
        ),
        (&["src_endpoint"][..], Some(json!({"ip": "x"}))),
        (&["userr"][..], Some(json!({}))),
    ] {
        assert!(
            !broken(path, v.clone()).is_empty(),
            "{path:?} = {v:?} passed"
        );
    }
}

/// Every way `ev` departs from its class in `schema`.
fn validate(schema: &Value, ev: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    let uid = ev["class_uid"].to_string();
    let class = schema["classes"]
        .as_object()
        .unwrap()
        .values()
        .find(|c| c["attributes"]["class_uid"]["enum"].get(&uid).is_some());
    match class {
        Some(c) => object(schema, c, ev, "", &mut errors),
        None => errors.push(format!("class_uid {uid}: not a class of the fixture")),
    }
    errors
}

fn object(schema: &Value, def: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    let Some(obj) = v.as_object() else {
        errors.push(format!("{at}: not an object"));
        return;
    };
    let attrs = def["attributes"].as_object().unwrap();
    for (name, a) in attrs {
        if a["requirement"] == "required" && !obj.contains_key(name) {
            errors.push(format!("{at}{name}: required, absent"));
        }
    }
    for (k, val) in obj {
        let here = format!("{at}{k}");
        let Some(a) = attrs.get(k) else {
            errors.push(format!("{here}: no such attribute"));
            continue;
        };
        if a["deprecated"] == true {
            errors.push(format!("{here}: deprecated"));
        }
        let items: Vec<&Value> = match (a["is_array"].as_bool().unwrap(), val) {
            (true, Value::Array(xs)) => xs.iter().collect(),
            (true, _) => {
                errors.push(format!("{here}: not an array"));
                continue;
            }
            (false, _) => vec![val],
        };
        for x in items {
            value(schema, a["type"].as_str().unwrap(), x, &here, errors);
            if let Some(e) = a.get("enum") {
                let key = x.as_str().map_or_else(|| x.to_string(), str::to_string);
                match e.get(&key) {
                    None => errors.push(format!("{here}: {key} is not in the enum")),
                    // Other (99) leaves the caption to the source.
                    Some(caption) if key != "99" => {
                        if let Some(s) = a.get("sibling").and_then(|s| obj.get(s.as_str().unwrap()))
                            && s != caption
                        {
                            errors.push(format!("{here}: sibling {s} is not {caption}"));
                        }
                    }
                    Some(_) => {}
                }
            }
        }
    }
    if let Some(any) = def["constraints"].get("at_least_one") {
        let names: Vec<&str> = any
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        if !names.iter().any(|n| obj.contains_key(*n)) {
            errors.push(format!("{at}: needs at least one of {names:?}"));
        }
    }
    if let Some(one) = def["constraints"].get("just_one") {
        let n = one
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| obj.contains_key(n.as_str().unwrap()))
            .count();
        if n != 1 {
            errors.push(format!("{at}: needs exactly one of {one}"));
        }
    }
}

fn value(schema: &Value, t: &str, v: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(def) = schema["objects"].get(t) {
        return object(schema, def, v, &format!("{at}."), errors);
    }
    if t == "object" {
        if !v.is_object() {
            errors.push(format!("{at}: not an object"));
        }
        return;
    }
    let Some(ty) = schema["types"].get(t) else {
        errors.push(format!(
            "{at}: type {t} is not in the fixture (add its object to derive.py)"
        ));
        return;
    };
    let base = ty["base"].as_str().unwrap();
    let base = match base {
        b if b == t => b,
        b => schema["types"][b]["base"].as_str().unwrap_or(b),
    };
    let ok = match base {
        "string_t" => v.is_string(),
        "integer_t" => v.as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
        "long_t" => v.is_i64() || v.is_u64(),
        "float_t" => v.is_number(),
        "boolean_t" => v.is_boolean(),
        "json_t" => true,
        other => {
            errors.push(format!("{at}: no check for base type {other}"));
            return;
        }
    };
    if !ok {
        errors.push(format!("{at}: {v} is not a {t}"));
        return;
    }
    if let (Some(re), Some(s)) = (ty["regex"].as_str(), v.as_str())
        && !regex::Regex::new(re).unwrap().is_match(s)
    {
        errors.push(format!("{at}: {s:?} does not match {t}"));
    }
    if let (Some(max), Some(s)) = (ty["max_len"].as_u64(), v.as_str())
        && s.len() as u64 > max
    {
        errors.push(format!("{at}: longer than {max}"));
    }
    if let Some(r) = ty["range"].as_array() {
        let n = v.as_i64().unwrap_or(i64::MIN);
        if n < r[0].as_i64().unwrap() || n > r[1].as_i64().unwrap() {
            errors.push(format!("{at}: {n} is outside {r:?}"));
        }
    }
}

#[test]
fn parse_output_ocsf_from_stdin_and_ecs_stays_the_default() {
    let line =
        "Nov 14 06:25:00 web1 sshd[4096]: Invalid user oracle from 198.51.100.7 port 44096\n";
    let run = |extra: &[&str]| {
        let out = crate::util::lw()
            .args(["parse", "--tz", "UTC", "--year", "2026"])
            .args(extra)
            .arg("-")
            .write_stdin(line)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let (code, ecs) = run(&[]);
    assert_eq!(code, Some(0));
    assert_eq!(run(&["--output", "ecs"]).1, ecs);
    let ecs: Value = serde_json::from_str(ecs.trim()).unwrap();
    assert_eq!(ecs["event.reason"], "unknown_user");
    let (code, ocsf) = run(&["--output", "ocsf"]);
    assert_eq!(code, Some(0));
    let v: Value = serde_json::from_str(ocsf.trim()).unwrap();
    assert_eq!(v["class_uid"], 3002);
    assert_eq!(v["status_detail"], "USER_DOES_NOT_EXIST");
    assert_eq!(v["user"]["name"], "oracle");
    assert_eq!(v["logon_process"]["pid"], 4096);
    assert_eq!(v["metadata"]["log_source"], "-");
    assert_eq!(
        validate(&fixture("ocsf/schema.json"), &v),
        Vec::<String>::new()
    );
    assert_eq!(
        run(&["--output", "cef"]).0,
        Some(2),
        "an unknown form is a usage error"
    );
}
