//! Which rules the dashboards scenario must make fire: every rule the daemon
//! loaded, derived (never a hand-kept list or count that could hide a rule
//! nobody exercises) from the rule files it reads, cross-checked with
//! `loginwatch rules check` and with the rules the daemon reports in its
//! metrics. Rules shipped only as commented-out examples are not loaded, so they
//! are listed apart; a loaded rule the scenario cannot reach must be named in
//! [`NOT_EXERCISED`] with the reason.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

/// Loaded rules this scenario cannot make decide, with why. Empty: every
/// shipped rule is reachable from a log, the inventory or the sweep. An entry
/// must name a loaded rule that indeed made no decision, so the list cannot go
/// stale silently.
pub(super) const NOT_EXERCISED: &[(&str, &str)] = &[];

/// (rule, user, why) decisions the scenario must make for that very account:
/// where a rule also fires for another user (mallory's log says "disabled"), or
/// where the cause is the inventory or a GeoIP database rather than the log,
/// the rule deciding at all would not prove that path.
pub(super) const TARGETED: &[(&str, &str, &str)] = &[
    (
        "disabled-account-attempts",
        "sam",
        "suspended in the inventory only",
    ),
    ("password-age", "trent", "the inventory's password date"),
    ("inactive-account", "ivy", "the inventory's last login"),
    ("dormant-reactivated", "dora", "the inventory's last login"),
    ("new-asn", "olivia", "the ASN database"),
    ("new-device", "victor", "the log's device id"),
];

/// Asserts the [`TARGETED`] decisions are among `decisions` (the daemon's
/// `GET /api/v1/decisions` answer).
pub(super) fn assert_targeted(decisions: &serde_json::Value) {
    let made: BTreeSet<(&str, &str)> = decisions["decisions"]
        .as_array()
        .expect("a decisions array")
        .iter()
        .filter_map(|d| Some((d["rule"].as_str()?, d["target"]["user"].as_str()?)))
        .collect();
    let missed: Vec<_> = TARGETED
        .iter()
        .filter(|(rule, user, _)| !made.contains(&(*rule, *user)))
        .collect();
    assert!(
        missed.is_empty(),
        "decisions the scenario should have made: {missed:?} (made: {made:?})"
    );
}

fn toml_files(dir: &Path) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("toml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// The ids of the `[[rule]]` tables of `dir`'s rule files: what the daemon
/// loads from that directory. Asserts that `loginwatch rules check` counts as
/// many, so a rule this reading missed (or invented) fails the test.
pub(super) fn loaded_rule_ids(dir: &Path) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for (name, text) in toml_files(dir) {
        let table: toml::Table =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{name} is not TOML: {e}"));
        for rule in table
            .get("rule")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            let id = rule["id"].as_str().unwrap().to_string();
            assert!(ids.insert(id.clone()), "{name}: rule {id} twice");
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_loginwatch"))
        .args(["rules", "check"])
        .arg(dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "rules check: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with(&format!("ok: {} rules,", ids.len())),
        "rules check counts otherwise than the rule ids {ids:?}: {stdout}"
    );
    ids
}

/// Ids of the commented-out example rules (`# id = "..."`) of `dir`: shipped
/// for the administrator to adapt, never loaded as they are.
pub(super) fn example_rule_ids(dir: &Path) -> BTreeSet<String> {
    let re = regex::Regex::new(r#"(?m)^#\s*id\s*=\s*"([a-z0-9-]+)""#).unwrap();
    toml_files(dir)
        .iter()
        .flat_map(|(_, text)| re.captures_iter(text).map(|c| c[1].to_string()))
        .collect()
}

/// Asserts that every loaded rule but the named exceptions made a decision,
/// and that each exception is a loaded rule that indeed made none.
pub(super) fn assert_every_rule_decided(loaded: &BTreeSet<String>, decided: &BTreeSet<String>) {
    let excused: BTreeSet<&str> = NOT_EXERCISED.iter().map(|(r, _)| *r).collect();
    for (rule, why) in NOT_EXERCISED {
        assert!(
            loaded.contains(*rule),
            "NOT_EXERCISED names {rule}, which is not loaded ({why})"
        );
        assert!(
            !decided.contains(*rule),
            "NOT_EXERCISED names {rule}, which did decide: remove the exception"
        );
    }
    let missed: Vec<&String> = loaded
        .iter()
        .filter(|r| !decided.contains(*r) && !excused.contains(r.as_str()))
        .collect();
    assert!(
        missed.is_empty(),
        "loaded rules that made no decision in the scenario: {missed:?} (decided: {decided:?})"
    );
}

#[test]
fn example_rules_are_not_loaded_and_loaded_rules_are_found() {
    let dir = super::repo().join("rules");
    let loaded = loaded_rule_ids(&dir);
    let examples = example_rule_ids(&dir);
    assert!(
        loaded.contains("account-lockout") && examples.contains("ip-restriction"),
        "loaded {loaded:?}, examples {examples:?}"
    );
    assert!(loaded.is_disjoint(&examples));
}
