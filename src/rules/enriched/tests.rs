//! Each enrichment condition, with the data, against it, and without it
//! (positive conditions fail, negative ones pass).

use std::sync::Arc;

use super::*;
use crate::event::{Account, Anonymous, Geo};
use crate::test_support::{EventSetters, failure, rule_set, t};

fn bare() -> AuthEvent {
    failure("alice", "192.0.2.1", t(0)).with_reason(None)
}

fn geo(country: &str, asn: u32, anonymous: Anonymous) -> AuthEvent {
    bare().with_geo(Geo {
        country_iso_code: Some(Arc::from(country)),
        as_number: Some(asn),
        anonymous,
        ..Geo::default()
    })
}

fn account(status: AccountStatus, admin: bool, groups: &[&str], exempt: bool) -> AuthEvent {
    bare().with_account(Account {
        user: Arc::from("alice"),
        status,
        admin,
        groups: groups.iter().map(|g| Arc::from(*g)).collect(),
        exempt,
        ..Account::default()
    })
}

/// The enrichment condition of a one-rule file with this `[rule.match]` body.
fn cond(body: &str) -> EnrichCond {
    let text = format!(
        "[[rule]]\nid = \"t\"\nkind = \"threshold\"\ngroup_by = \"user\"\ncount = 1\nwindow = \"1m\"\n\
         decision = {{ action = \"alert\" }}\n[rule.match]\n{body}\n"
    );
    let set = rule_set(&text);
    let c = set.rules[0]
        .cond
        .enriched
        .clone()
        .expect("an enrichment condition");
    *c
}

const NONE: Anonymous = Anonymous {
    vpn: false,
    tor: false,
    hosting: false,
    public_proxy: false,
    any: false,
};

#[test]
fn country_and_not_country() {
    let c = cond("country = [\"jp\", \"SE\"]");
    assert!(c.matches(&geo("JP", 1, NONE)), "codes are upper-cased");
    assert!(!c.matches(&geo("US", 1, NONE)));
    assert!(!c.matches(&bare()), "no geo fails a positive condition");
    let c = cond("not_country = \"JP\"");
    assert!(!c.matches(&geo("JP", 1, NONE)));
    assert!(c.matches(&geo("US", 1, NONE)));
    assert!(c.matches(&bare()), "no geo passes a negative condition");
    assert!(c.uses_geo());
}

#[test]
fn asn_and_not_asn() {
    let c = cond("asn = [64496, 64497]");
    assert!(c.matches(&geo("JP", 64497, NONE)));
    assert!(!c.matches(&geo("JP", 15169, NONE)));
    assert!(!c.matches(&bare()));
    let c = cond("not_asn = 64496");
    assert!(!c.matches(&geo("JP", 64496, NONE)));
    assert!(c.matches(&geo("JP", 1, NONE)));
    assert!(c.matches(&bare()));
}

#[test]
fn anonymous_flag_and_kinds() {
    let tor = Anonymous {
        tor: true,
        any: true,
        ..NONE
    };
    let c = cond("anonymous = true");
    assert!(c.matches(&geo("DE", 1, tor)));
    assert!(!c.matches(&geo("DE", 1, NONE)));
    assert!(!c.matches(&bare()));
    let c = cond("anonymous = false");
    assert!(!c.matches(&geo("DE", 1, tor)));
    assert!(c.matches(&geo("DE", 1, NONE)));
    assert!(c.matches(&bare()));
    let c = cond("anonymous = [\"vpn\", \"hosting\"]");
    assert!(!c.matches(&geo("DE", 1, tor)));
    let hosting = Anonymous {
        hosting: true,
        ..NONE
    };
    assert!(c.matches(&geo("DE", 1, hosting)));
    assert!(!c.matches(&bare()));
}

#[test]
fn in_list_and_not_in_list() {
    let mut e = bare();
    e.lists = Some(Arc::from(vec![Arc::<str>::from("tor-exits")]));
    let c = cond("in_list = [\"tor-exits\", \"spamhaus\"]");
    assert!(c.matches(&e));
    assert!(!c.matches(&bare()));
    let c = cond("not_in_list = \"tor-exits\"");
    assert!(!c.matches(&e));
    assert!(c.matches(&bare()));
    let mut names: Vec<&str> = c.lists().map(|n| &**n).collect();
    names.sort();
    assert_eq!(names, ["tor-exits"]);
    assert!(!c.uses_geo());
}

#[test]
fn account_status_uses_the_log_then_the_inventory() {
    let c = cond("account_status = [\"suspended\", \"deleted\"]");
    assert!(c.matches(&account(AccountStatus::Deleted, false, &[], false)));
    assert!(!c.matches(&account(AccountStatus::Active, false, &[], false)));
    assert!(!c.matches(&bare()), "not in the inventory: fails");
    let mut e = bare();
    e.reason = Some(Reason::Disabled);
    assert!(c.matches(&e), "a log saying disabled counts as suspended");
    let c = cond("account_status = \"停止中\"");
    assert!(c.matches(&account(AccountStatus::Suspended, false, &[], false)));
}

#[test]
fn admin_group_exempt() {
    let admin = account(AccountStatus::Active, true, &["ops", "staff"], true);
    let user = account(AccountStatus::Active, false, &["staff"], false);
    let c = cond("admin = true");
    assert!(c.matches(&admin) && !c.matches(&user) && !c.matches(&bare()));
    let c = cond("admin = false");
    assert!(!c.matches(&admin) && c.matches(&user) && c.matches(&bare()));
    let c = cond("group = [\"ops\", \"sre\"]");
    assert!(c.matches(&admin) && !c.matches(&user) && !c.matches(&bare()));
    let c = cond("exempt = true");
    assert!(c.matches(&admin) && !c.matches(&user) && !c.matches(&bare()));
    let c = cond("exempt = false");
    assert!(!c.matches(&admin) && c.matches(&user) && c.matches(&bare()));
}

#[test]
fn conditions_are_anded() {
    let c = cond("country = \"JP\"\nadmin = true");
    let mut e = account(AccountStatus::Active, true, &[], false);
    assert!(!c.matches(&e), "admin but no geo");
    e.geo = geo("JP", 1, NONE).geo;
    assert!(c.matches(&e));
}
