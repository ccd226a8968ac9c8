use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::state::Batch;
use crate::state::maintenance;
use crate::test_support::DecisionSetters;

fn t(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, h, 0, 0).unwrap()
}

/// A stored database with one rule decision, one of them unlocked.
fn stored(dir: &std::path::Path) -> Store {
    let mut s = Store::open(&dir.join("a.db")).unwrap();
    let d = crate::test_support::decision()
        .with_id("00000000000000aa")
        .with_at(t(1))
        .with_evidence(&["192.0.2.7"], &["alice"]);
    let mut e = d.clone();
    e.id = "00000000000000bb".into();
    s.commit(&Batch {
        decisions: vec![d, e],
        at: t(1),
        ..Batch::default()
    })
    .unwrap();
    s.unlock("00000000000000bb", "carol", "called", "token:config", t(2))
        .unwrap();
    s
}

/// `decisions list --json` of `s`, as a file.
fn export(s: &Store) -> String {
    s.decisions(&crate::state::DecisionFilter::default())
        .unwrap()
        .iter()
        .map(|r| serde_json::to_string(r).unwrap() + "\n")
        .collect()
}

fn parsed(text: &str) -> Vec<(usize, DecisionRecord)> {
    parse_records(split(text).unwrap()).unwrap()
}

#[test]
fn an_export_imports_whole_and_a_second_import_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = stored(dir.path());
    let file = export(&a);
    let mut b = Store::open(&dir.path().join("b.db")).unwrap();
    let records = parsed(&file);
    let r = b
        .import(&records, "alice", "cli-offline:uid 0", "d.jsonl", t(3))
        .unwrap();
    assert_eq!(
        r,
        ImportOutcome::Done(ImportReport {
            imported: 2,
            present: 0
        })
    );
    assert_eq!(export(&b), file, "the same JSON, ids and lifecycle");
    let r = b
        .import(&records, "alice", "cli-offline:uid 0", "d.jsonl", t(4))
        .unwrap();
    assert_eq!(
        r,
        ImportOutcome::Done(ImportReport {
            imported: 0,
            present: 2
        })
    );
    assert_eq!(export(&b), file);
    let trail = b.audit("00000000000000bb").unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(
        (trail[0].what.as_str(), trail[0].who.as_str()),
        ("imported", "alice")
    );
    assert!(
        trail[0].detail.starts_with("imported from d.jsonl: "),
        "{}",
        trail[0].detail
    );
    let log = maintenance::entries(&b.conn).unwrap();
    let imports: Vec<_> = log
        .iter()
        .filter(|e| e.what == "decisions imported")
        .collect();
    assert_eq!(imports.len(), 2);
    assert_eq!(
        imports[1].detail,
        "0 imported, 2 already present, from d.jsonl (credential cli-offline:uid 0)"
    );
}

#[test]
fn a_conflicting_record_aborts_the_whole_import() {
    let dir = tempfile::tempdir().unwrap();
    let a = stored(dir.path());
    let mut records = parsed(&export(&a));
    let mut b = Store::open(&dir.path().join("b.db")).unwrap();
    b.import(&records[..1], "x", "c", "f", t(3)).unwrap();
    let before = export(&b);
    records[0].1.decision.rule = "another-rule".into();
    match b.import(&records, "x", "c", "f", t(3)).unwrap() {
        ImportOutcome::Conflicts(c) => {
            assert_eq!(c.len(), 1);
            assert_eq!((c[0].record, c[0].field.as_str()), (1, "id"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(export(&b), before, "nothing written");
}

#[test]
fn every_bad_record_is_reported_with_its_line_and_field() {
    let good = json!({"id": "00000000000000aa", "rule": "r", "action": "lock_account",
        "target": {"user": "bob"}, "at": "2026-03-01T01:00:00Z", "until": null,
        "unlock": "admin", "severity": "high", "mode": "recommend", "status": "active",
        "evidence": {"count": 1, "first": "2026-03-01T01:00:00Z",
            "last": "2026-03-01T01:00:00Z", "source_ips": [], "users": []}});
    let mut bad = good.clone();
    bad["id"] = json!("00000000000000bb");
    bad["action"] = json!("nuke");
    bad["until"] = json!("2026-03-01T00:00:00Z");
    bad["target"] = json!({"ip": "nowhere"});
    let mut unknown = good.clone();
    unknown["id"] = json!("00000000000000cc");
    unknown["colour"] = json!("red");
    let text = format!("{good}\n\n{bad}\nnot json\n{unknown}\n{good}\n");
    let errors = match split(&text) {
        Err(e) => e,
        Ok(_) => panic!("a line is not JSON"),
    };
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].record, 4);
    let text = text.replace("not json\n", "");
    let errors = parse_records(split(&text).unwrap()).unwrap_err();
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(shown.contains(&"record 3: action: expected one of lock_account, block_ip, require_password_reset, disable_account, alert".to_owned()), "{shown:?}");
    assert!(
        shown.contains(&"record 3: target.ip: expected an IP address".to_owned()),
        "{shown:?}"
    );
    assert!(
        shown.contains(&"record 3: until: must be after `at`".to_owned()),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|s| s.starts_with("record 4: unknown field `colour`")),
        "{shown:?}"
    );
    assert!(
        shown.contains(&"record 5: id: the same id as record 1".to_owned()),
        "{shown:?}"
    );
    // A JSON array is read too, numbered by position.
    let all = parse_records(split(&format!("[{good}]")).unwrap()).unwrap();
    assert_eq!(all[0].0, 1);
}
