//! `decisions export` into a fresh state with `decisions import`: the same
//! ids and records, a second import that changes nothing, a bad file refused
//! whole (every problem by line and field) with nothing written, a
//! conflicting one too; through the daemon and on the state file.

use std::fs;

use super::{json_of, lw_in, text};
use crate::util::daemon::{Daemon, setup};

#[test]
fn an_export_imports_into_a_fresh_state_once() {
    let a = setup("30m");
    let daemon_a = Daemon::start(a.path());
    let url_a = daemon_a.url("");
    let on_a = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--config", "loginwatch.toml", "--url", url_a.as_str()]);
        lw_in(a.path(), &all)
    };
    let bob = json_of(&on_a(&[
        "decisions",
        "add",
        "--user",
        "bob",
        "--reason",
        "phished",
        "--json",
    ]));
    json_of(&on_a(&[
        "decisions",
        "add",
        "--ip",
        "203.0.113.7",
        "--reason",
        "scanner",
        "--json",
    ]));
    let id = bob["id"].as_str().unwrap();
    assert!(
        on_a(&["decisions", "unlock", id, "--reason", "cleared"])
            .status
            .success()
    );
    let export = on_a(&["decisions", "export"]);
    assert!(export.status.success(), "{}", text(&export));
    let exported = String::from_utf8(export.stdout).unwrap();
    assert_eq!(exported.lines().count(), 2, "{exported}");
    let listed = on_a(&["decisions", "list", "--json"]);
    assert_eq!(
        String::from_utf8(listed.stdout).unwrap(),
        exported,
        "export is list --json"
    );
    let active = on_a(&["decisions", "export", "--active"]);
    assert_eq!(String::from_utf8_lossy(&active.stdout).lines().count(), 1);

    let b = setup("30m");
    let file = b.path().join("decisions.jsonl");
    // A bad file: every problem, by line and field; nothing written.
    let mut lines: Vec<String> = exported.lines().map(str::to_owned).collect();
    let bob_at = lines.iter().position(|l| l.contains("\"bob\"")).unwrap();
    lines[bob_at] = lines[bob_at].replace("\"lock_account\"", "\"nuke\"");
    lines.push(String::new());
    lines.push("{\"id\": 1}".to_owned());
    fs::write(&file, lines.join("\n")).unwrap();
    let daemon_b = Daemon::start(b.path());
    let url_b = daemon_b.url("");
    let on_b = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--config", "loginwatch.toml", "--url", url_b.as_str()]);
        lw_in(b.path(), &all)
    };
    let o = on_b(&["decisions", "import", "decisions.jsonl"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let said = text(&o);
    assert!(
        said.contains("2 problems in the file, nothing was imported"),
        "{said}"
    );
    let bad_action = format!("record {}: action: expected one of", bob_at + 1);
    assert!(said.contains(&bad_action), "{said}");
    assert!(
        said.contains("record 4: invalid type: integer `1`"),
        "{said}"
    );
    assert!(daemon_b.decisions(false).is_empty());

    // The good file: imported whole, the same JSON back; then a no-op.
    fs::write(&file, &exported).unwrap();
    let o = on_b(&["decisions", "import", "decisions.jsonl", "--by", "alice"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("2 imported, 0 already present (from decisions.jsonl)"),
        "{}",
        text(&o)
    );
    let back = on_b(&["decisions", "export"]);
    assert_eq!(String::from_utf8(back.stdout).unwrap(), exported);
    let o = on_b(&["decisions", "import", "decisions.jsonl", "--json"]);
    assert_eq!(
        json_of(&o),
        serde_json::json!({"imported": 0, "present": 2})
    );
    let trail = daemon_b.get(&format!("/api/v1/decisions/{id}"))["audit"].clone();
    assert_eq!(trail[0]["what"], "imported", "{trail}");
    assert_eq!(trail[0]["who"], "alice", "{trail}");

    // A record that says otherwise under a stored id: refused whole.
    fs::write(&file, exported.replace("phished", "phished twice")).unwrap();
    let o = on_b(&["decisions", "import", "decisions.jsonl"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("already stored with other contents"),
        "{}",
        text(&o)
    );

    // An import body may be far larger than the API's usual 16 KiB.
    let one = exported.lines().next().unwrap();
    let old_id = serde_json::from_str::<serde_json::Value>(one).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let many: String = (0..60)
        .map(|i| one.replace(&old_id, &format!("{i:016x}")) + "\n")
        .collect();
    assert!(many.len() > 16 * 1024, "{}", many.len());
    fs::write(&file, &many).unwrap();
    let o = on_b(&["decisions", "import", "decisions.jsonl", "--json"]);
    assert_eq!(
        json_of(&o),
        serde_json::json!({"imported": 60, "present": 0})
    );

    // Without the daemon, on the state file: the same answers.
    daemon_b.terminate();
    fs::write(&file, &exported).unwrap();
    let o = on_b(&["decisions", "import", "decisions.jsonl"]);
    assert!(
        text(&o).contains("0 imported, 2 already present"),
        "{}",
        text(&o)
    );
}
