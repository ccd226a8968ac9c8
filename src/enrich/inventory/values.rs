//! Turning one row's cells into an [`Account`]: status words, yes/no flags,
//! group lists and dates as exports write them, in English or Japanese.
//!
//! Pure: no file, no clock. Every bad cell of a row is reported (not just the
//! first), naming the field and quoting the value.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::columns::Field;
use crate::event::{Account, AccountStatus};
use crate::parse::Zone;

/// One cell as read: CSV gives text; JSON may give booleans, numbers or lists.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Bool(bool),
    List(Vec<String>),
}

/// How cells are read, from [`super::InventoryOptions`].
#[derive(Debug, Clone, Copy)]
pub struct CellRules<'a> {
    pub group_separators: &'a [char],
    pub zone: Zone,
}

/// Builds the account from its cells (by field; `None`: no such column or an
/// empty JSON value). Returns every problem of the row.
pub fn account(cells: &[Option<Cell>; 9], rules: CellRules<'_>) -> Result<Account, Vec<String>> {
    let mut errs = Vec::new();
    let get = |f: Field| cells[f as usize].as_ref();
    let mut a = Account::default();
    match get(Field::User).map(|c| text(Field::User, c)) {
        Some(Ok(Some(u))) => a.user = Arc::from(u),
        Some(Err(e)) => errs.push(e),
        _ => errs.push("the user name is empty".to_owned()),
    }
    let take_text = |f: Field, errs: &mut Vec<String>| -> Option<Arc<str>> {
        match get(f).map(|c| text(f, c)) {
            Some(Ok(Some(s))) => Some(Arc::from(s)),
            Some(Err(e)) => {
                errs.push(e);
                None
            }
            _ => None,
        }
    };
    a.email = take_text(Field::Email, &mut errs);
    a.display_name = take_text(Field::DisplayName, &mut errs);
    if let Some(c) = get(Field::Status) {
        match c {
            Cell::Text(s) => match status(s) {
                Some(st) => a.status = st,
                None => errs.push(format!(
                    "status {s:?} is not one of active (有効), suspended/disabled (停止中), deleted (削除済み)"
                )),
            },
            other => errs.push(format!("status: expected text, found {}", kind(other))),
        }
    }
    for (f, slot) in [(Field::Admin, &mut a.admin), (Field::Exempt, &mut a.exempt)] {
        if let Some(c) = get(f) {
            match flag(c) {
                Some(b) => *slot = b,
                None => errs.push(format!(
                    "{f}: {} is not a yes/no value (true/false, yes/no, 1/0, はい/いいえ, ○/×)",
                    show(c)
                )),
            }
        }
    }
    if let Some(c) = get(Field::Groups) {
        a.groups = match c {
            Cell::Text(s) => s
                .split(rules.group_separators)
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(Arc::from)
                .collect(),
            Cell::List(l) => l
                .iter()
                .map(|g| g.trim())
                .filter(|g| !g.is_empty())
                .map(Arc::from)
                .collect(),
            Cell::Bool(_) => {
                errs.push("groups: expected text or a list, found a boolean".to_owned());
                Vec::new()
            }
        };
    }
    for (f, slot) in [
        (Field::PasswordChangedAt, &mut a.password_changed_at),
        (Field::LastLoginAt, &mut a.last_login_at),
    ] {
        match get(f).map(|c| text(f, c)) {
            Some(Ok(Some(s))) => match time(s, rules.zone) {
                Some(t) => *slot = Some(t),
                None => errs.push(format!(
                    "{f}: {s:?} is not a date (RFC 3339, or YYYY-MM-DD[ HH:MM[:SS]] with - or /)"
                )),
            },
            Some(Err(e)) => errs.push(e),
            _ => {}
        }
    }
    if errs.is_empty() { Ok(a) } else { Err(errs) }
}

/// A cell as trimmed text (`None` when empty).
fn text(f: Field, c: &Cell) -> Result<Option<&str>, String> {
    match c {
        Cell::Text(s) => {
            let t = s.trim();
            Ok((!t.is_empty()).then_some(t))
        }
        other => Err(format!("{f}: expected text, found {}", kind(other))),
    }
}

fn kind(c: &Cell) -> &'static str {
    match c {
        Cell::Text(_) => "text",
        Cell::Bool(_) => "a boolean",
        Cell::List(_) => "a list",
    }
}

fn show(c: &Cell) -> String {
    match c {
        Cell::Text(s) => format!("{s:?}"),
        Cell::Bool(b) => b.to_string(),
        Cell::List(l) => format!("{l:?}"),
    }
}

/// Status words. An empty cell means active: many exports only fill the
/// column for the exceptions.
pub fn status(s: &str) -> Option<AccountStatus> {
    let t = s.trim().to_lowercase();
    Some(match t.as_str() {
        "" | "active" | "enabled" | "有効" | "利用中" | "使用中" | "正常" => {
            AccountStatus::Active
        }
        "suspended" | "disabled" | "inactive" | "停止中" | "停止" | "利用停止" | "無効" => {
            AccountStatus::Suspended
        }
        "deleted" | "removed" | "deprovisioned" | "削除済み" | "削除済" | "削除" => {
            AccountStatus::Deleted
        }
        _ => return None,
    })
}

/// A yes/no cell. Empty means no.
pub fn flag(c: &Cell) -> Option<bool> {
    match c {
        Cell::Bool(b) => Some(*b),
        Cell::Text(s) => match s.trim().to_lowercase().as_str() {
            "true" | "yes" | "y" | "1" | "on" | "はい" | "○" | "◯" | "有" | "あり" => {
                Some(true)
            }
            "" | "false" | "no" | "n" | "0" | "off" | "いいえ" | "×" | "無" | "なし" | "-" => {
                Some(false)
            }
            _ => None,
        },
        Cell::List(_) => None,
    }
}

/// RFC 3339 (its offset wins), else `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or
/// `YYYY-MM-DD HH:MM:SS[.fff]` (`-` or `/`, space or `T`) read in `zone`. A
/// bare date is midnight of that day.
pub fn time(s: &str, zone: Zone) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let norm: String = s
        .chars()
        .map(|c| match c {
            '/' => '-',
            'T' => ' ',
            c => c,
        })
        .collect();
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&norm, fmt) {
            return Some(zone.to_utc(t));
        }
    }
    NaiveDate::parse_from_str(&norm, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| zone.to_utc(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rules() -> CellRules<'static> {
        CellRules {
            group_separators: &[';', '|'],
            zone: "Asia/Tokyo".parse().unwrap(),
        }
    }

    fn cells(pairs: &[(Field, Cell)]) -> [Option<Cell>; 9] {
        let mut c: [Option<Cell>; 9] = Default::default();
        for (f, v) in pairs {
            c[*f as usize] = Some(v.clone());
        }
        c
    }

    fn t(s: &str) -> Cell {
        Cell::Text(s.to_owned())
    }

    #[test]
    fn dates_in_all_accepted_shapes() {
        let z: Zone = "Asia/Tokyo".parse().unwrap();
        let nine = Utc.with_ymd_and_hms(2025, 4, 1, 0, 0, 0).unwrap();
        for s in [
            "2025-04-01 09:00",
            "2025/04/01 09:00:00",
            "2025-04-01T09:00:00",
            "2025-04-01T00:00:00Z",
            "2025-04-01T09:00:00+09:00",
        ] {
            assert_eq!(time(s, z), Some(nine), "{s}");
        }
        assert_eq!(
            time("2025-04-01", z),
            Some(Utc.with_ymd_and_hms(2025, 3, 31, 15, 0, 0).unwrap())
        );
        for bad in ["yesterday", "2025-13-01", "01/04/2025", "2025-04-01 25:00"] {
            assert_eq!(time(bad, z), None, "{bad}");
        }
    }

    #[test]
    fn statuses_and_flags_in_both_languages() {
        assert_eq!(status("停止中"), Some(AccountStatus::Suspended));
        assert_eq!(status("Disabled"), Some(AccountStatus::Suspended));
        assert_eq!(status("削除済み"), Some(AccountStatus::Deleted));
        assert_eq!(status(""), Some(AccountStatus::Active));
        assert_eq!(status("pending"), None);
        assert_eq!(flag(&t("はい")), Some(true));
        assert_eq!(flag(&t(" YES ")), Some(true));
        assert_eq!(flag(&t("")), Some(false));
        assert_eq!(flag(&t("maybe")), None);
    }

    #[test]
    fn a_full_row_becomes_an_account() {
        let a = account(
            &cells(&[
                (Field::User, t(" alice ")),
                (Field::Email, t("alice@example.jp")),
                (Field::Status, t("active")),
                (Field::Admin, t("1")),
                (Field::Groups, t("admins; sales |")),
                (Field::LastLoginAt, t("2025-04-01 09:00")),
                (Field::DisplayName, t("")),
            ]),
            rules(),
        )
        .unwrap();
        assert_eq!(&*a.user, "alice");
        assert!(a.admin && !a.exempt);
        assert_eq!(a.display_name, None);
        let g: Vec<&str> = a.groups.iter().map(|g| &**g).collect();
        assert_eq!(g, ["admins", "sales"]);
        assert!(a.last_login_at.is_some() && a.password_changed_at.is_none());
    }

    #[test]
    fn every_bad_cell_is_reported() {
        let e = account(
            &cells(&[
                (Field::User, t("")),
                (Field::Status, t("gone fishing")),
                (Field::Exempt, t("perhaps")),
                (Field::PasswordChangedAt, t("last week")),
            ]),
            rules(),
        )
        .unwrap_err();
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(e[1].contains("gone fishing"), "{e:?}");
    }
}
