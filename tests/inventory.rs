//! The account inventory on real files: CSV exports in English and Japanese,
//! with and without BOM, in Shift_JIS; JSON exports; every bad row reported
//! with its line; reloading that keeps the previous inventory on error; the
//! inactive-account computation over a real state file; and the
//! `accounts inactive` command.

use std::path::Path;
use std::sync::Arc;

use crate::util::lw;
use chrono::{DateTime, Duration, TimeZone, Utc};
use loginwatch::enrich::AccountLookup;
use loginwatch::enrich::inventory::{
    InactiveSource, Inventory, InventoryHandle, InventoryOptions, inactive_accounts,
};
use loginwatch::event::{AccountStatus, Action, AuthEvent, Outcome};
use loginwatch::state::{Batch, FactsAccumulator, Store};

const EN: &str = "User Name,E-mail,Display Name,Status,Admin,Groups,Password Changed At,Last Login At,Exempt,Department\n\
alice,alice@example.jp,Alice Liddell,active,yes,admins;staff,2025-01-10 09:00,2025-06-30T08:00:00Z,no,IT\n\
bob,bob@example.jp,Bob,suspended,no,staff,,2025-02-01,no,Sales\n\
breakglass,,Emergency,active,true,admins,,,yes,IT\n";

const JA: &str = "ログイン名,メールアドレス,表示名,状態,管理者,グループ,パスワード変更日時,最終ログイン日時,除外\n\
yamada,yamada@example.jp,山田 太郎,有効,はい,営業|東京,2025/01/10 09:00,2025/06/30 17:00,いいえ\n\
suzuki,suzuki@example.jp,鈴木 花子,停止中,いいえ,営業,,,\n\
tanaka,,田中 一郎,削除済み,いいえ,,,,\n";

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn tokyo() -> InventoryOptions {
    InventoryOptions {
        zone: "Asia/Tokyo".parse().unwrap(),
        ..InventoryOptions::default()
    }
}

#[test]
fn english_csv_with_bom() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"\xef\xbb\xbf".to_vec();
    bytes.extend_from_slice(EN.as_bytes());
    let p = write(dir.path(), "users.csv", &bytes);
    let inv = Inventory::load(&p, &tokyo()).unwrap();
    assert_eq!(inv.len(), 3);
    assert_eq!(inv.admins_active(), 2);
    let a = inv.account("alice").unwrap();
    assert_eq!(a.email.as_deref(), Some("alice@example.jp"));
    assert_eq!(a.display_name.as_deref(), Some("Alice Liddell"));
    assert!(a.admin && !a.exempt);
    assert_eq!(
        a.groups.iter().map(|g| &**g).collect::<Vec<_>>(),
        ["admins", "staff"]
    );
    assert_eq!(
        a.password_changed_at,
        Some(Utc.with_ymd_and_hms(2025, 1, 10, 0, 0, 0).unwrap())
    );
    assert_eq!(
        a.last_login_at,
        Some(Utc.with_ymd_and_hms(2025, 6, 30, 8, 0, 0).unwrap())
    );
    assert_eq!(inv.account("bob").unwrap().status, AccountStatus::Suspended);
    assert!(inv.account("breakglass").unwrap().exempt);
}

#[test]
fn japanese_csv_in_utf8_and_shift_jis_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let (sjis, _, unmappable) = encoding_rs::SHIFT_JIS.encode(JA);
    assert!(!unmappable);
    assert!(
        std::str::from_utf8(&sjis).is_err(),
        "the fixture must not be UTF-8"
    );
    let from_sjis = Inventory::load(&write(dir.path(), "sjis.csv", &sjis), &tokyo()).unwrap();
    let from_utf8 =
        Inventory::load(&write(dir.path(), "utf8.csv", JA.as_bytes()), &tokyo()).unwrap();
    let a: Vec<_> = from_sjis.iter().cloned().collect();
    let b: Vec<_> = from_utf8.iter().cloned().collect();
    assert_eq!(a, b);
    let y = from_sjis.account("yamada").unwrap();
    assert_eq!(y.display_name.as_deref(), Some("山田 太郎"));
    assert_eq!(
        y.groups.iter().map(|g| &**g).collect::<Vec<_>>(),
        ["営業", "東京"]
    );
    assert!(y.admin);
    assert_eq!(
        y.last_login_at,
        Some(Utc.with_ymd_and_hms(2025, 6, 30, 8, 0, 0).unwrap())
    );
    assert_eq!(
        from_sjis.account("suzuki").unwrap().status,
        AccountStatus::Suspended
    );
    assert_eq!(
        from_sjis.account("tanaka").unwrap().status,
        AccountStatus::Deleted
    );
}

#[test]
fn json_export() {
    let dir = tempfile::tempdir().unwrap();
    let json = r#"[
  {"userName": "alice", "email": "alice@example.jp", "admin": true,
   "groups": ["admins"], "lastLoginAt": "2025-06-30T08:00:00Z", "employeeType": "staff"},
  {"userName": "bob", "status": "disabled", "admin": false, "groups": null, "exempt": "no"}
]"#;
    let inv = Inventory::load(&write(dir.path(), "users.json", json.as_bytes()), &tokyo()).unwrap();
    assert_eq!(inv.len(), 2);
    assert!(inv.account("alice").unwrap().admin);
    assert_eq!(inv.account("bob").unwrap().status, AccountStatus::Suspended);
}

#[test]
fn bad_rows_are_all_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "user,status,admin,last_login_at\n\
               ok,active,no,2025-01-01\n\
               bad1,unknown-state,no,\n\
               ok2,active,no,2025-01-01\n\
               bad2,active,perhaps,not a date\n";
    let p = write(dir.path(), "users.csv", csv.as_bytes());
    let e = Inventory::load(&p, &tokyo()).unwrap_err();
    let text = e.to_string();
    let want = [
        format!("{}:3: ", p.display()),
        format!("{}:5: admin", p.display()),
        format!("{}:5: last_login_at", p.display()),
    ];
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (l, w) in lines.iter().zip(&want) {
        assert!(l.starts_with(w.as_str()), "{l} should start with {w}");
    }
    let json = "[\n{\"user\": \"a\"},\n{\"user\": \"b\", \"admin\": \"x\"}\n]";
    let p = write(dir.path(), "users.json", json.as_bytes());
    let e = Inventory::load(&p, &tokyo()).unwrap_err();
    assert_eq!(e.errors[0].line, Some(3), "{e}");
}

#[test]
fn lookup_by_email_and_case_through_the_handle() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "users.csv", EN.as_bytes());
    let h: Arc<dyn AccountLookup> = Arc::new(InventoryHandle::open(&p, tokyo()).unwrap());
    assert_eq!(h.account("ALICE").unwrap().user.as_ref(), "alice");
    assert_eq!(
        h.account("alice@example.jp").unwrap().user.as_ref(),
        "alice"
    );
    assert_eq!(h.account("Bob@Example.JP").unwrap().user.as_ref(), "bob");
    assert!(h.account("alice@elsewhere.example").is_none());
    assert!(h.account("carol").is_none());
}

#[test]
fn reload_takes_good_files_and_keeps_the_old_one_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "users.csv", b"user\nalice\n");
    let h = InventoryHandle::open(&p, tokyo()).unwrap();
    assert!(!h.reload_if_changed().unwrap());
    // Replaced by rename, as export jobs do.
    let tmp = write(dir.path(), "users.csv.tmp", b"user\nalice\nbob\n");
    std::fs::rename(&tmp, &p).unwrap();
    assert!(h.reload_if_changed().unwrap());
    assert!(h.account("bob").is_some());
    // A broken export: rejected, reported once, the previous one stays.
    std::fs::write(&p, "user,admin\ncarol,maybe\n").unwrap();
    let e = h.reload_if_changed().unwrap_err();
    assert!(e.to_string().contains(":2: admin"), "{e}");
    assert!(!h.reload_if_changed().unwrap());
    assert!(h.account("bob").is_some() && h.account("carol").is_none());
    // A vanished file: reported once, the previous one stays.
    std::fs::remove_file(&p).unwrap();
    assert!(h.reload_if_changed().is_err());
    assert!(!h.reload_if_changed().unwrap());
    assert_eq!(h.current().len(), 2);
    // Fixed: taken.
    std::fs::write(&p, "user\ncarol\n").unwrap();
    assert!(h.reload_if_changed().unwrap());
    assert!(h.account("carol").is_some() && h.account("bob").is_none());
}

/// A state file whose facts say `user` last logged in at `at`.
fn state_with(path: &Path, logins: &[(&str, DateTime<Utc>)]) {
    let mut store = Store::open(path).unwrap();
    let mut acc = FactsAccumulator::new();
    for (user, at) in logins {
        let mut e = AuthEvent::new(*at, Action::Login, Outcome::Success);
        e.user = Some(Arc::from(*user));
        acc.observe(&e);
    }
    store
        .commit(&Batch {
            facts: acc.take(),
            accounts: vec![],
            at: Utc::now(),
            ..Batch::default()
        })
        .unwrap();
}

#[test]
fn inactive_from_a_state_file_and_an_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc.with_ymd_and_hms(2025, 10, 1, 0, 0, 0).unwrap();
    let db = dir.path().join("state.db");
    // alice's export says June; the daemon saw her in September. breakglass is
    // exempt, bob suspended; ghost is known only from the logs.
    state_with(
        &db,
        &[
            ("alice@example.jp", now - Duration::days(20)),
            ("ghost", now - Duration::days(120)),
            ("bob", now - Duration::days(300)),
        ],
    );
    let facts = Store::open_read_only(&db).unwrap().all_facts().unwrap();
    assert_eq!(facts.len(), 3);
    let inv = Inventory::load(&write(dir.path(), "u.csv", EN.as_bytes()), &tokyo()).unwrap();
    let v = inactive_accounts(Some(&inv), &facts, 90, now);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(&*v[0].user, "ghost");
    assert_eq!(v[0].source, InactiveSource::Learned);
    // With a shorter window alice counts, by her learned login.
    let v = inactive_accounts(Some(&inv), &facts, 10, now);
    let alice = v.iter().find(|a| &*a.user == "alice").unwrap();
    assert_eq!(alice.source, InactiveSource::Learned);
    assert_eq!(alice.last_login, Some(now - Duration::days(20)));
    assert_eq!(alice.email.as_deref(), Some("alice@example.jp"));
}

#[test]
fn cli_lists_inactive_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    state_with(
        &dir.path().join("state.db"),
        &[
            ("olduser", now - Duration::days(200)),
            ("newuser", now - Duration::days(2)),
        ],
    );
    let config = write(dir.path(), "lw.toml", b"state_path = \"state.db\"\n");
    let last = (now - Duration::days(150)).format("%Y-%m-%d").to_string();
    let inv = write(
        dir.path(),
        "users.csv",
        format!("user,email,display name,last login\nstale,s@example.jp,\"Evil\x1b[2J\",{last}\nnewuser,,,\n")
            .as_bytes(),
    );
    let out = lw()
        .args(["accounts", "inactive", "--json", "--config"])
        .arg(&config)
        .arg("--inventory")
        .arg(&inv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let users: Vec<&str> = rows.iter().map(|r| r["user"].as_str().unwrap()).collect();
    assert_eq!(users, ["olduser", "stale"]);
    assert_eq!(rows[0]["source"], "learned");
    assert_eq!(rows[0]["days_inactive"], 200);
    assert_eq!(rows[1]["source"], "inventory");
    assert_eq!(rows[1]["email"], "s@example.jp");

    // Human output escapes names; --days narrows.
    let out = lw()
        .args(["accounts", "inactive", "--days", "180", "--config"])
        .arg(&config)
        .arg("--inventory")
        .arg(&inv)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("olduser"), "{text}");
    assert!(!text.contains("stale"), "{text}");
    assert!(
        text.contains("1 account with no successful login for 180 days"),
        "{text}"
    );
    let out = lw()
        .args(["accounts", "inactive", "--days", "100", "--config"])
        .arg(&config)
        .arg("--inventory")
        .arg(&inv)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Evil\\u{1b}[2J"), "{text}");
    assert!(!text.contains('\x1b'), "{text}");
}

#[test]
fn cli_errors_are_usage_errors_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "lw.toml", b"state_path = \"state.db\"\n");
    // No state file and no inventory: nothing to examine.
    let out = lw()
        .args(["accounts", "inactive", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to examine"));
    let inv = write(
        dir.path(),
        "users.csv",
        b"user,admin\nalice,no\nbob,sometimes\n",
    );
    let out = lw()
        .args(["accounts", "inactive", "--config"])
        .arg(&config)
        .arg("--inventory")
        .arg(&inv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:3: admin", inv.display())),
        "{err}"
    );
    // A custom column name from the command line.
    let inv = write(
        dir.path(),
        "staff.csv",
        b"\xe7\xa4\xbe\xe5\x93\xa1\xe7\x95\xaa\xe5\x8f\xb7\nE001\n",
    );
    let out = lw()
        .args([
            "accounts",
            "inactive",
            "--json",
            "--column",
            "user=社員番号",
            "--config",
        ])
        .arg(&config)
        .arg("--inventory")
        .arg(&inv)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"E001\""));
    let out = lw()
        .args([
            "accounts",
            "inactive",
            "--column",
            "nickname=x",
            "--inventory",
        ])
        .arg(&inv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
