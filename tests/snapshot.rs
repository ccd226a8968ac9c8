//! Snapshot/restore equivalence and live rule reload.
//!
//! The daemon's crash guarantee rests on one property: cutting a run at any
//! line, saving parser and engine state, dropping them and restoring into fresh
//! instances yields exactly the decisions (ids included) of the run that never
//! stopped. Tested on generated sshd logs that interleave several connections,
//! so cuts fall inside multi-line attempts (held PAM failures, `Invalid user`
//! lines awaiting their echo) as well as inside rule windows.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::sshgen::generate;
use proptest::prelude::*;

use loginwatch::decision::{Decision, Mode};
use loginwatch::event::{Action, AuthEvent, Outcome, Reason};
use loginwatch::parse::{Format, LineCtx, ParseOptions, Parser};
use loginwatch::rules::{Engine, EngineStats, RuleSet, builtin};

fn opts() -> ParseOptions {
    ParseOptions::at(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap())
}

fn new_parser() -> Parser {
    Parser::new(
        &Format::Sshd,
        &opts(),
        LineCtx {
            path: Arc::from("auth.log"),
        },
    )
}

/// Runs the lines through parser and engine; before each line whose index is in
/// `cuts`, both are saved, dropped and restored into fresh instances. Returns
/// the decisions, the engine's final counters (tracked keys, evictions,
/// suppressions...) and how many cuts found the parser holding state.
fn run(
    lines: &[String],
    rules: &Arc<RuleSet>,
    cuts: &BTreeSet<usize>,
) -> (Vec<Decision>, EngineStats, usize) {
    let mut parser = new_parser();
    let mut engine = Engine::new(rules.clone(), Mode::Recommend);
    let mut decisions = Vec::new();
    let mut offset = 0u64;
    let mut held = 0;
    for (i, line) in lines.iter().enumerate() {
        if cuts.contains(&i) {
            let p = parser.snapshot();
            let e = engine.snapshot();
            drop((parser, engine));
            // A table with no live slot is 9 bytes (header, newest time, no slots).
            if p.len() > 12 {
                held += 1;
            }
            parser = new_parser();
            parser.restore(&p).unwrap();
            engine = Engine::restore(rules.clone(), Mode::Recommend, &e).unwrap();
        }
        if let Some(ev) = parser.parse(line.as_bytes(), offset).unwrap() {
            decisions.extend(engine.observe(&ev));
        }
        offset += line.len() as u64 + 1;
    }
    (decisions, engine.stats(), held)
}

fn shipped() -> Arc<RuleSet> {
    Arc::new(builtin().unwrap())
}

#[test]
fn generated_logs_exercise_the_shipped_rules() {
    let rules = shipped();
    let lines = generate(7, 3000);
    let (d, _, _) = run(&lines, &rules, &BTreeSet::new());
    let fired: BTreeSet<&str> = d.iter().map(|d| &*d.rule).collect();
    assert!(fired.len() >= 5, "rules fired: {fired:?}");
}

#[test]
fn a_cut_before_every_line_changes_nothing() {
    let rules = shipped();
    let lines = generate(42, 1500);
    let (straight, stats, _) = run(&lines, &rules, &BTreeSet::new());
    let every: BTreeSet<usize> = (0..lines.len()).collect();
    let (cut, cut_stats, held) = run(&lines, &rules, &every);
    assert!(straight.len() > 10, "{} decisions", straight.len());
    assert!(held > 100, "cuts with parser state held: {held}");
    assert_eq!(straight, cut);
    assert_eq!(stats, cut_stats);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn restored_runs_decide_like_uninterrupted_ones(
        seed in any::<u64>(),
        n in 200usize..1200,
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 1..16),
    ) {
        let rules = shipped();
        let lines = generate(seed, n);
        let cuts: BTreeSet<usize> = cuts.iter().map(|c| c.index(lines.len())).collect();
        let (straight, stats, _) = run(&lines, &rules, &BTreeSet::new());
        let (cut, cut_stats, _) = run(&lines, &rules, &cuts);
        prop_assert_eq!(straight, cut);
        prop_assert_eq!(stats, cut_stats);
    }
}

// ---- reload

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap() + TimeDelta::seconds(secs)
}

fn login(user: &str, secs: i64, outcome: Outcome) -> AuthEvent {
    let mut e = AuthEvent::new(t(secs), Action::Login, outcome);
    if outcome == Outcome::Failure {
        e.reason = Some(Reason::BadPassword);
    }
    e.user = Some(Arc::from(user));
    e.source_ip = Some("192.0.2.1".parse().unwrap());
    e.log_offset = Some(u64::try_from(secs).unwrap() * 100);
    e
}

fn fail(user: &str, secs: i64) -> AuthEvent {
    login(user, secs, Outcome::Failure)
}

fn rules_of(e: &[Decision]) -> Vec<&str> {
    e.iter().map(|d| &*d.rule).collect()
}

/// The shipped rules with account-lockout's `count` set to `n`.
fn lockout_count(n: u32) -> Arc<RuleSet> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let acc = std::fs::read_to_string(dir.join("accounts.toml")).unwrap();
    let net = std::fs::read_to_string(dir.join("network.toml")).unwrap();
    let from = "count = 5\nwindow = \"30m\"";
    assert!(acc.contains(from), "account-lockout's count line");
    let acc = acc.replacen(from, &format!("count = {n}\nwindow = \"30m\""), 1);
    Arc::new(
        RuleSet::from_texts(&[
            ("accounts.toml", acc.as_str()),
            ("network.toml", net.as_str()),
        ])
        .unwrap(),
    )
}

#[test]
fn an_attack_straddling_an_unchanged_reload_fires_at_the_fifth_failure() {
    let attack: Vec<AuthEvent> = (0..5).map(|i| fail("alice", i * 30)).collect();
    let mut plain = Engine::new(shipped(), Mode::Recommend);
    let want: Vec<Decision> = attack.iter().flat_map(|e| plain.observe(e)).collect();

    let mut e = Engine::new(shipped(), Mode::Recommend);
    let mut got: Vec<Decision> = attack[..4].iter().flat_map(|x| e.observe(x)).collect();
    assert!(got.is_empty());
    // A new set compiled from the same files (as a reload on SIGHUP does).
    let report = e.reload(shipped());
    assert!(report.reset.is_empty(), "{report:?}");
    got.extend(e.observe(&attack[4]));
    assert_eq!(rules_of(&got), ["account-lockout"]);
    assert_eq!(got, want, "same decision, same id");
}

#[test]
fn changing_one_rule_resets_that_rule_only() {
    let mut e = Engine::new(shipped(), Mode::Recommend);
    for i in 0..4 {
        assert!(e.observe(&fail("alice", i * 30)).is_empty());
        assert!(e.observe(&fail("bob", i * 30 + 1)).is_empty());
    }
    let report = e.reload(lockout_count(6));
    assert_eq!(report.reset, vec![Arc::<str>::from("account-lockout")]);
    // alice's 5th failure: the changed rule starts over, so no lock yet ...
    assert!(e.observe(&fail("alice", 200)).is_empty());
    // ... and it locks at the 6th failure after the reload.
    let mut d = Vec::new();
    for i in 1..6 {
        d.extend(e.observe(&fail("alice", 200 + i * 30)));
    }
    assert_eq!(rules_of(&d), ["account-lockout"]);
    assert_eq!(d[0].evidence.count, 6);
    // bob: success-after-failures kept its 4 failures, so 1 more and a success fire it.
    assert!(e.observe(&fail("bob", 300)).is_empty());
    let d = e.observe(&login("bob", 310, Outcome::Success));
    assert_eq!(rules_of(&d), ["success-after-failures"]);
    assert_eq!(d[0].evidence.count, 5);
}
