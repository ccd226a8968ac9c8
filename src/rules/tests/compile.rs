//! Loading and validation: every mistake reported, each with file, line and rule.

use std::path::Path;
use std::sync::Arc;

use crate::decision::{DecisionAction, Severity, Unlock};
use crate::rules::{Dur, Field, GroupBy, Kind, RuleError, RuleSet, load_dir};
use crate::test_support::rule_set;

fn errors(text: &str) -> Vec<RuleError> {
    match RuleSet::from_str(text, "bad.toml") {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.0,
    }
}

/// (line, message) pairs, for compact asserts.
fn lines(text: &str) -> Vec<(Option<usize>, String)> {
    errors(text)
        .into_iter()
        .map(|e| (e.line, e.message))
        .collect()
}

const GOOD: &str = r#"
[[rule]]
id = "r"
kind = "threshold"
group_by = "user"
count = 3
window = "10m"
[rule.match]
outcome = "failure"
[rule.decision]
action = "lock_account"
duration = "30m"
"#;

#[test]
fn a_minimal_rule_compiles_with_defaults() {
    let set = rule_set(GOOD);
    let r = &set.rules[0];
    assert_eq!(r.line, 2);
    assert_eq!(r.decision.unlock, Unlock::Auto);
    assert_eq!(r.decision.severity, Severity::Medium);
    assert_eq!(r.max_keys, 50_000);
    assert_eq!(r.mode, None);
}

#[test]
fn three_mistakes_are_all_reported_with_their_lines() {
    let text = GOOD
        .replace("count = 3", "count = 0")
        .replace("window = \"10m\"", "window = \"10 minutes\"")
        .replace("outcome = \"failure\"", "outcome = \"failed\"");
    let errs = errors(&text);
    assert_eq!(errs.len(), 3, "{errs:?}");
    let got: Vec<usize> = errs.iter().filter_map(|e| e.line).collect();
    assert_eq!(got, [6, 7, 9]);
    assert!(errs.iter().all(|e| e.rule.as_deref() == Some("r")));
    assert!(
        errs[2]
            .message
            .contains("\"success\", \"failure\", \"unknown\""),
        "{}",
        errs[2].message
    );
    assert_eq!(
        errs[0].to_string(),
        "bad.toml:6: rule \"r\": count 0 must be 1..=1000"
    );
}

#[test]
fn errors_in_one_rule_do_not_hide_the_next() {
    let text = format!(
        "{}\nbogus = 1\n{}",
        GOOD,
        GOOD.replace("id = \"r\"", "id = \"R!\"")
    );
    let errs = lines(&text);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].1.contains("unknown field `bogus`"), "{errs:?}");
    assert_eq!(errs[0].0, Some(14));
    assert!(errs[1].1.contains("a-z, 0-9 and -"));
}

#[test]
fn toml_syntax_errors_give_their_line() {
    let errs = lines("[[rule]]\nid = \"x\"\ncount = = 3\n");
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, Some(3));
    assert!(errs[0].1.starts_with("TOML syntax"));
}

#[test]
fn duplicate_ids_are_refused() {
    let errs = lines(&format!("{GOOD}{GOOD}"));
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].0, Some(14));
    assert!(
        errs[0]
            .1
            .contains("duplicate rule id: already defined at bad.toml:2")
    );
}

fn one(text: &str, needle: &str) {
    let errs = lines(text);
    assert!(
        errs.iter().any(|(l, m)| l.is_some() && m.contains(needle)),
        "{needle:?} not in {errs:?}"
    );
}

#[test]
fn each_validation_has_a_clear_message() {
    one(
        &GOOD.replace("\"threshold\"", "\"treshold\""),
        "expected one of \"threshold\", \"consecutive\", \"distinct\", \"sequence\"",
    );
    one(
        &GOOD.replace("\"threshold\"", "\"distinct\""),
        "needs distinct = the field",
    );
    one(
        &GOOD.replace(
            "group_by = \"user\"",
            "group_by = \"user\"\ndistinct = \"source.ip\"",
        ),
        "only for kind = \"distinct\"",
    );
    one(
        &GOOD.replace("\"threshold\"", "\"distinct\"\ndistinct = \"user.name\""),
        "fixed by group_by",
    );
    one(
        &GOOD.replace("\"user\"", "\"ip\""),
        "expected one of \"user\", \"source.ip\"",
    );
    one(
        &GOOD.replace("duration = \"30m\"", ""),
        "decision.duration is required",
    );
    one(
        &GOOD.replace(
            "duration = \"30m\"",
            "duration = \"30m\"\nunlock = \"admin\"",
        ),
        "conflicts with unlock = \"admin\"",
    );
    one(
        &GOOD.replace("\"lock_account\"", "\"block_ip\""),
        "block_ip needs an address",
    );
    one(
        &GOOD.replace("\"lock_account\"", "\"ban\""),
        "\"lock_account\", \"block_ip\"",
    );
    one(
        &GOOD.replace(
            "\"lock_account\"\nduration = \"30m\"",
            "\"alert\"\nduration = \"30m\"",
        ),
        "no meaning for alert",
    );
    one(
        &GOOD.replace(
            "duration = \"30m\"",
            "duration = \"30m\"\nsuppress = \"1h\"",
        ),
        "suppress applies only",
    );
    one(
        &GOOD.replace(
            "duration = \"30m\"",
            "duration = \"2h\"\nescalation = { factor = 2, max = \"1h\", within = \"1d\" }",
        ),
        "shorter than the duration",
    );
    one(
        &GOOD.replace(
            "duration = \"30m\"",
            "duration = \"1h\"\nseverity = \"urgent\"",
        ),
        "\"low\", \"medium\", \"high\", \"critical\"",
    );
    one(
        &GOOD.replace(
            "outcome = \"failure\"",
            "outcome = \"failure\"\nsource_ip = [\"10.0.0.0/33\"]",
        ),
        "bad CIDR \"10.0.0.0/33\"",
    );
    one(
        &GOOD.replace(
            "outcome = \"failure\"",
            "outcome = \"failure\"\nuser = { regex = \"(\" }",
        ),
        "bad regex in match.user",
    );
    one(
        &GOOD.replace(
            "outcome = \"failure\"",
            "outcome = \"failure\"\nreason = \"typo\"",
        ),
        "unknown reason \"typo\"",
    );
    one(
        &GOOD.replace(
            "outcome = \"failure\"",
            "outcome = \"success\"\nreason = \"bad_password\"",
        ),
        "match.reason can never hold",
    );
    // A success may carry expired_password (logged in, must change it now).
    let ok = GOOD.replace(
        "outcome = \"failure\"",
        "outcome = \"success\"\nreason = \"expired_password\"",
    );
    assert!(RuleSet::from_str(&ok, "good.toml").is_ok());
    one(
        &GOOD.replace("outcome = \"failure\"", "action = []"),
        "empty list",
    );
    one(
        &GOOD
            .replace("\"threshold\"", "\"consecutive\"")
            .replace("outcome = \"failure\"", ""),
        "set outcome = \"failure\"",
    );
    one(
        &format!("{GOOD}[rule.exempt]\ncidrs = [\"nope\"]\n"),
        "bad CIDR \"nope\" in exempt.cidrs",
    );
    one(
        &GOOD.replace("count = 3", "count = 3\nmax_keys = 0"),
        "max_keys 0",
    );
    one(
        &GOOD.replace("count = 3", "count = 3\nmode = \"dry\""),
        "\"recommend\", \"enforce\"",
    );
    one(
        &format!("{GOOD}\n[settings]\nx = 1\n"),
        "unknown top-level key \"settings\"",
    );
    one("rule = 5\n", "rule must be an array of tables");
}

#[test]
fn condition_values_take_strings_lists_and_regexes() {
    let text = GOOD.replace(
        "outcome = \"failure\"",
        "outcome = [\"failure\"]\nuser = { regex = \"^adm\" }\nnot_user = \"root\"\nsource_ip = [\"10.0.0.0/8\", \"192.0.2.7\"]\nmethod = \"keyboard-interactive\"",
    );
    let set = rule_set(&text);
    let c = &set.rules[0].cond;
    assert_eq!(c.source_ip.as_ref().map(Vec::len), Some(2));
    assert!(c.user.is_some() && c.not_user.is_some());
    let errs = lines(&GOOD.replace("outcome = \"failure\"", "outcome = { regex = \"x\" }"));
    assert!(
        errs[0].1.contains("a string or a list of strings"),
        "{errs:?}"
    );
}

#[test]
fn declared_format_errors_carry_file_and_line() {
    let errs = lines(&format!("{GOOD}\n[[format]]\nname = \"myapp\"\n"));
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, Some(14));
}

/// The documented values of the learning and sweep defaults.
fn learned_defaults(set: &RuleSet) {
    use crate::rules::model::Extra;
    use crate::rules::params::NoveltyField;
    let r = |id| set.rule(id).unwrap();
    let day = |n: i64| Dur::from_secs(n * 86_400);
    for (id, field, severity) in [
        ("new-country", NoveltyField::Country, Severity::High),
        ("new-asn", NoveltyField::Asn, Severity::Medium),
        ("new-device", NoveltyField::Device, Severity::Low),
    ] {
        let n = r(id);
        assert_eq!(
            (n.kind, n.group_by, n.window),
            (Kind::Novelty, GroupBy::User, day(30))
        );
        assert!(matches!(&n.extra, Extra::Novelty(x) if x.field == field && x.quiet == day(7)));
        assert_eq!(
            (n.decision.action, n.decision.severity, n.decision.suppress),
            (DecisionAction::Alert, severity, None)
        );
    }
    let dm = r("dormant-reactivated");
    assert!(matches!(dm.extra, Extra::Dormant(d) if d.days == 90));
    assert_eq!(dm.decision.severity, Severity::High);
    let pa = r("password-age");
    assert!(matches!(pa.extra, Extra::PasswordAge(p)
        if p.max_age == day(90) && p.remind_before == Some(day(14))));
    assert_eq!(
        (pa.decision.action, pa.decision.severity),
        (DecisionAction::RequirePasswordReset, Severity::Medium)
    );
    let ia = r("inactive-account");
    assert!(matches!(ia.extra, Extra::Inactive(i) if i.days == 90));
    assert_eq!(
        (ia.decision.action, ia.decision.unlock, ia.decision.duration),
        (DecisionAction::DisableAccount, Unlock::Admin, None)
    );
}

#[test]
fn shipped_rules_compile_with_the_documented_values() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let set = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let ids: Vec<&str> = set.rules.iter().map(|r| &*r.id).collect();
    assert_eq!(
        ids,
        [
            "account-lockout",
            "distributed-bruteforce",
            "success-after-failures",
            "impossible-travel",
            "expired-password",
            "disabled-account-attempts",
            "dormant-reactivated",
            "password-age",
            "inactive-account",
            "mfa-failures",
            "mfa-fatigue-success",
            "ip-bruteforce",
            "password-spray",
            "user-enumeration",
            "new-country",
            "new-asn",
            "new-device"
        ]
    );
    let r = |id| set.rule(id).unwrap();
    let lock = r("account-lockout");
    assert_eq!(
        (lock.kind, lock.group_by, lock.count),
        (Kind::Consecutive, GroupBy::User, 5)
    );
    assert_eq!(lock.window, Dur::from_secs(1800));
    assert_eq!(lock.decision.duration, Some(Dur::from_secs(1800)));
    let esc = lock.decision.escalation.unwrap();
    assert_eq!(
        (esc.factor, esc.max, esc.within),
        (2, Dur::from_secs(86_400), Dur::from_secs(86_400))
    );
    let ipb = r("ip-bruteforce");
    assert_eq!(
        (ipb.group_by, ipb.count, ipb.window),
        (GroupBy::SourceIp, 20, Dur::from_secs(600))
    );
    assert_eq!(
        ipb.decision.escalation.unwrap().max,
        Dur::from_secs(7 * 86_400)
    );
    let spray = r("password-spray");
    assert_eq!(spray.kind, Kind::Distinct(Field::User));
    assert_eq!(spray.decision.duration, Some(Dur::from_secs(4 * 3600)));
    let enumr = r("user-enumeration");
    assert_eq!(
        (enumr.count, enumr.decision.action),
        (10, DecisionAction::BlockIp)
    );
    let dist = r("distributed-bruteforce");
    assert_eq!(dist.kind, Kind::Distinct(Field::SourceIp));
    assert_eq!(
        (dist.decision.unlock, dist.decision.severity),
        (Unlock::Admin, Severity::High)
    );
    let seq = r("success-after-failures");
    assert_eq!(
        (seq.kind, seq.count, seq.window),
        (Kind::Sequence, 5, Dur::from_secs(3600))
    );
    assert_eq!(seq.decision.action, DecisionAction::RequirePasswordReset);
    assert!(matches!(seq.extra, crate::rules::model::Extra::None));
    let travel = r("impossible-travel");
    assert_eq!(
        (travel.kind, travel.window),
        (Kind::Travel, Dur::from_secs(86_400))
    );
    match &travel.extra {
        crate::rules::model::Extra::Travel(t) => {
            assert_eq!((t.max_speed_kmh, t.min_distance_km), (900, 100));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (travel.decision.action, travel.decision.severity),
        (DecisionAction::Alert, Severity::High)
    );
    let exp = r("expired-password");
    assert_eq!((exp.kind, exp.count), (Kind::Threshold, 1));
    assert_eq!(exp.decision.action, DecisionAction::RequirePasswordReset);
    assert_eq!(exp.decision.suppress, Some(Dur::from_secs(86_400)));
    let dis = r("disabled-account-attempts");
    assert_eq!((dis.count, dis.window), (3, Dur::from_secs(3600)));
    assert_eq!(dis.decision.severity, Severity::High);
    let mfa = r("mfa-failures");
    assert_eq!(
        (mfa.kind, mfa.count, mfa.window),
        (Kind::Threshold, 5, Dur::from_secs(600))
    );
    let fat = r("mfa-fatigue-success");
    assert_eq!(
        (fat.kind, fat.count, fat.window),
        (Kind::Sequence, 5, Dur::from_secs(600))
    );
    assert_eq!(fat.decision.severity, Severity::High);
    learned_defaults(&set);
    assert!(set.uses_geo(), "impossible-travel needs GeoIP");
    let geo: Vec<Arc<str>> = ["impossible-travel", "new-country", "new-asn"]
        .map(Arc::from)
        .to_vec();
    assert_eq!(set.geo_rules(), geo);
    assert!(set.referenced_lists().is_empty());
    assert!(set.rules.iter().all(|r| !r.description.is_empty()));
}

#[test]
fn one_bad_file_fails_the_whole_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), GOOD).unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        GOOD.replace("count = 3", "count = -1"),
    )
    .unwrap();
    std::fs::write(dir.path().join("c.toml"), GOOD).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a rule file").unwrap();
    let errs = load_dir(dir.path()).unwrap_err().0;
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].file.ends_with("b.toml") && errs[0].line == Some(6));
    assert!(errs[1].file.ends_with("c.toml") && errs[1].message.contains("a.toml:2"));
    std::fs::remove_file(dir.path().join("b.toml")).unwrap();
    std::fs::remove_file(dir.path().join("c.toml")).unwrap();
    assert_eq!(load_dir(dir.path()).unwrap().rules.len(), 1);
    assert!(load_dir(&dir.path().join("missing")).is_err());
}

#[test]
fn every_example_in_the_reference_compiles() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/README.md");
    let text = std::fs::read_to_string(path).unwrap();
    let blocks: Vec<&str> = text
        .split("```toml\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .collect();
    assert_eq!(blocks.len(), Kind::ALL.len(), "one example per kind");
    for b in blocks {
        let set = RuleSet::from_str(b, "README.md").unwrap_or_else(|e| panic!("{e}\n{b}"));
        assert_eq!(set.rules.len(), 1);
    }
}

#[test]
fn unlock_none_is_refused_for_a_lock() {
    let text = GOOD.replace(
        "duration = \"30m\"",
        "duration = \"30m\"\nunlock = \"none\"",
    );
    let errs = lines(&text);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(errs[0].1.contains("unlock = \"none\""), "{errs:?}");
}

#[test]
fn a_decision_that_locks_nothing_says_unlock_none() {
    assert_eq!(
        Unlock::of(DecisionAction::Alert, Unlock::Auto),
        Unlock::None
    );
    assert_eq!(
        Unlock::of(DecisionAction::RequirePasswordReset, Unlock::Admin),
        Unlock::None
    );
    assert_eq!(
        Unlock::of(DecisionAction::LockAccount, Unlock::Admin),
        Unlock::Admin
    );
    assert_eq!(
        Unlock::of(DecisionAction::BlockIp, Unlock::Auto),
        Unlock::Auto
    );
}
