//! Loading and lookup of whole inventories (the per-cell rules are tested in
//! `values`, the byte and row splitting in `read`).

use std::path::Path;

use super::*;

fn load(name: &str, text: &str) -> Result<Inventory, InventoryErrors> {
    Inventory::from_bytes(
        Path::new(name),
        text.as_bytes(),
        &InventoryOptions::default(),
    )
}

fn user_of(inv: &Inventory, q: &str) -> Option<String> {
    inv.account(q).map(|a| a.user.to_string())
}

#[test]
fn lookup_fallbacks_in_order() {
    let inv = load(
        "a.csv",
        "user,email\n\
         alice,alice@example.jp\n\
         Bob,\n\
         carol,c.smith@example.jp\n\
         dave,dave@other.example\n\
         Erin,\n\
         erin,\n",
    )
    .unwrap();
    assert_eq!(user_of(&inv, "alice").as_deref(), Some("alice"));
    // Case-insensitive when unique; ambiguous folds give nothing.
    assert_eq!(user_of(&inv, "BOB").as_deref(), Some("Bob"));
    assert_eq!(user_of(&inv, "Erin").as_deref(), Some("Erin"));
    assert_eq!(user_of(&inv, "ERIN"), None);
    // E-mail, ignoring case.
    assert_eq!(
        user_of(&inv, "C.Smith@Example.JP").as_deref(),
        Some("carol")
    );
    // id@domain -> id when the domains agree or the account has no e-mail.
    assert_eq!(user_of(&inv, "alice@EXAMPLE.jp").as_deref(), Some("alice"));
    assert_eq!(
        user_of(&inv, "bob@anything.example").as_deref(),
        Some("Bob")
    );
    assert_eq!(user_of(&inv, "alice@evil.example"), None);
    assert_eq!(user_of(&inv, "dave@example.jp"), None);
    assert_eq!(user_of(&inv, "mallory"), None);
    assert_eq!(user_of(&inv, "@"), None);
}

#[test]
fn duplicate_users_are_errors_naming_both_lines() {
    let e = load("a.csv", "user\nalice\nbob\nalice\n").unwrap_err();
    assert_eq!(e.errors.len(), 1);
    assert_eq!(e.errors[0].line, Some(4));
    assert!(e.to_string().contains("line 2"), "{e}");
}

#[test]
fn every_bad_row_is_reported_with_its_line() {
    let e = load(
        "accounts.csv",
        "user,status,admin,last_login_at\n\
         alice,active,yes,2025-01-01\n\
         ,active,no,\n\
         bob,retired,no,\n\
         \"carol\nsmith\",active,maybe,soon\n",
    )
    .unwrap_err();
    let lines: Vec<Option<usize>> = e.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [Some(3), Some(4), Some(5), Some(5)], "{e}");
    let text = e.to_string();
    assert!(text.starts_with("accounts.csv:3: "), "{text}");
    assert!(text.contains("retired"), "{text}");
}

#[test]
fn many_errors_are_capped_but_counted() {
    let mut csv = String::from("user,admin\n");
    for i in 0..120 {
        csv.push_str(&format!("u{i},bad\n"));
    }
    let e = load("a.csv", &csv).unwrap_err();
    assert_eq!(e.errors.len(), error::MAX_REPORTED);
    assert_eq!(e.count(), 120);
    assert!(e.to_string().ends_with("... and 70 more problems"));
}

#[test]
fn empty_files_and_missing_user_column_are_refused() {
    assert!(load("a.csv", "").is_err());
    assert!(load("a.json", " \n").is_err());
    let e = load("a.csv", "email,status\nx@y,active\n").unwrap_err();
    assert!(e.to_string().contains("no user-name column"), "{e}");
    // Header only: a valid, empty inventory.
    assert!(load("a.csv", "user,email\n").unwrap().is_empty());
}

#[test]
fn json_by_extension_or_option() {
    let text = r#"[{"user": "a", "admin": true, "groups": ["x", "y"], "status": "active"},
                   {"user": "b", "admin": "はい", "status": "suspended", "groups": "p|q"}]"#;
    let inv = load("export.json", text).unwrap();
    assert_eq!(inv.len(), 2);
    assert_eq!(inv.admins_active(), 1);
    let b = inv.account("b").unwrap();
    assert_eq!(b.status, AccountStatus::Suspended);
    assert_eq!(b.groups.len(), 2);
    // The same text named .txt is read as CSV and fails; forced JSON works.
    assert!(load("export.txt", text).is_err());
    let opts = InventoryOptions {
        format: InventoryFormat::Json,
        ..InventoryOptions::default()
    };
    assert!(Inventory::from_bytes(Path::new("export.txt"), text.as_bytes(), &opts).is_ok());
}

#[test]
fn custom_column_names_and_separators() {
    let mut opts = InventoryOptions {
        group_separators: vec![','],
        zone: "Asia/Tokyo".parse().unwrap(),
        ..InventoryOptions::default()
    };
    opts.columns.set(Field::User, &["社員番号"]);
    opts.columns.add(Field::Groups, "部署");
    let text = "社員番号,部署,最終ログイン日時\nE001,\"営業,東京\",2025/04/01 09:00\n";
    let inv = Inventory::from_bytes(Path::new("a.csv"), text.as_bytes(), &opts).unwrap();
    let a = inv.account("E001").unwrap();
    assert_eq!(a.groups.len(), 2);
    assert_eq!(
        a.last_login_at.map(|t| t.to_rfc3339()),
        Some("2025-04-01T00:00:00+00:00".to_owned())
    );
}
