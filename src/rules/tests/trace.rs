//! The trace `loginwatch explain` shows, kind by kind: what each rule says it
//! did with an event (filtered by which condition, the key and its window
//! before and after, fired, learned, ignored and why), and that tracing
//! changes nothing the engine decides.

use crate::decision::Mode;
use crate::event::{Account, AuthEvent, Reason};
use crate::rules::trace::{Note, Status};
use crate::rules::{Engine, Trace};
use crate::test_support::{EventSetters, bad, engine, feed, ok};

const DAY: i64 = 86_400;

/// The note of rule `id` for `ev`, and the decisions `ev` made.
fn step(e: &mut Engine, ev: &AuthEvent, id: &str) -> (Note, usize) {
    let mut trace = Trace::default();
    let made = e.observe_traced(ev, &mut trace);
    assert_eq!(
        trace.steps.len(),
        e.rules().rules.len(),
        "one step per rule"
    );
    let s = trace.steps.iter().find(|s| &*s.rule == id).unwrap();
    (s.note.clone(), made.len())
}

/// (status, key, before, after) of a window note.
fn window(n: &Note) -> (Status, Option<&str>, Option<usize>, Option<usize>) {
    (n.status, n.key.as_deref(), n.before, n.after)
}

const LOCKOUT: &str = r#"
[[rule]]
id = "lockout"
kind = "consecutive"
group_by = "user"
count = 3
window = "30m"
match = { outcome = "failure", reason = ["bad_password", "unknown_user"] }
decision = { action = "lock_account", duration = "30m" }

[[rule]]
id = "sweep"
kind = "inactive"
group_by = "user"
days = 90
decision = { action = "alert" }
"#;

#[test]
fn a_window_counts_up_fires_then_suppresses_and_a_success_resets_it() {
    let mut e = engine(LOCKOUT, Mode::Recommend);
    let (n, _) = step(&mut e, &bad("alice", "192.0.2.1", 0), "lockout");
    assert_eq!(
        window(&n),
        (Status::Counted, Some("alice"), Some(0), Some(1))
    );
    step(&mut e, &bad("alice", "192.0.2.1", 1), "lockout");
    let (n, made) = step(&mut e, &bad("alice", "192.0.2.1", 2), "lockout");
    assert_eq!(window(&n), (Status::Fired, Some("alice"), Some(2), Some(3)));
    assert_eq!(made, 1);
    let (n, made) = step(&mut e, &bad("alice", "192.0.2.1", 3), "lockout");
    assert_eq!((n.status, made), (Status::Suppressed, 0));
    assert!(n.reason.unwrap().contains("active until"));

    let mut e = engine(LOCKOUT, Mode::Recommend);
    step(&mut e, &bad("bob", "192.0.2.1", 0), "lockout");
    let (n, _) = step(&mut e, &ok("bob", "192.0.2.1", 1), "lockout");
    assert_eq!(window(&n), (Status::Reset, Some("bob"), Some(1), Some(0)));
    let (n, _) = step(&mut e, &ok("carol", "192.0.2.1", 1), "lockout");
    assert_eq!(n.status, Status::Ignored, "nothing counted for carol");
}

#[test]
fn a_filtered_event_names_the_condition_as_the_rule_file_writes_it() {
    let mut e = engine(LOCKOUT, Mode::Recommend);
    let other = bad("alice", "192.0.2.1", 0).with_reason(Some(Reason::MfaFailed));
    let (n, _) = step(&mut e, &other, "lockout");
    assert_eq!(n.status, Status::Filtered);
    assert_eq!(
        n.condition.as_deref(),
        Some("reason in [bad_password, unknown_user]")
    );
    assert_eq!(n.value.as_deref(), Some("mfa_failed"));
    let (n, _) = step(&mut e, &bad("alice", "192.0.2.1", 1), "sweep");
    assert_eq!(n.status, Status::Skipped);
    let mut no_user = bad("x", "192.0.2.1", 2);
    no_user.user = None;
    let (n, _) = step(&mut e, &no_user, "lockout");
    assert_eq!(n.status, Status::NoKey);
}

#[test]
fn a_rule_for_other_outcomes_is_filtered_by_its_outcome() {
    let text = r#"
[[rule]]
id = "fails"
kind = "threshold"
group_by = "source.ip"
count = 2
window = "10m"
match = { outcome = "failure" }
decision = { action = "alert" }
"#;
    let mut e = engine(text, Mode::Recommend);
    let (n, _) = step(&mut e, &ok("alice", "192.0.2.1", 0), "fails");
    assert_eq!(n.status, Status::Filtered);
    assert_eq!(n.condition.as_deref(), Some("outcome = failure"));
    assert_eq!(n.value.as_deref(), Some("success"));
}

#[test]
fn distinct_says_whether_the_value_is_new() {
    let text = r#"
[[rule]]
id = "spray"
kind = "distinct"
distinct = "user.name"
group_by = "source.ip"
count = 3
window = "10m"
match = { outcome = "failure" }
decision = { action = "block_ip", duration = "1h" }
"#;
    let mut e = engine(text, Mode::Recommend);
    let (n, _) = step(&mut e, &bad("a", "192.0.2.9", 0), "spray");
    assert_eq!(
        window(&n),
        (Status::Counted, Some("192.0.2.9"), Some(0), Some(1))
    );
    let (n, _) = step(&mut e, &bad("a", "192.0.2.9", 1), "spray");
    assert_eq!((n.before, n.after), (Some(1), Some(1)));
    assert!(n.reason.unwrap().contains("already in the window"));
}

#[test]
fn a_sequence_is_armed_by_failures_and_fired_by_a_success() {
    let text = r#"
[[rule]]
id = "seq"
kind = "sequence"
group_by = "user"
count = 2
window = "1h"
success_from_failing_ip = true
match = { outcome = "failure" }
decision = { action = "require_password_reset" }
"#;
    let mut e = engine(text, Mode::Recommend);
    step(&mut e, &bad("ann", "203.0.113.7", 0), "seq");
    let (n, _) = step(&mut e, &bad("ann", "203.0.113.7", 1), "seq");
    assert_eq!(window(&n), (Status::Counted, Some("ann"), Some(1), Some(2)));
    assert!(n.reason.unwrap().starts_with("armed"));
    let (n, made) = step(&mut e, &ok("ann", "192.0.2.50", 2), "seq");
    assert_eq!((n.status, made), (Status::Ignored, 0));
    assert!(n.reason.unwrap().contains("success_from_failing_ip"));
    let (n, made) = step(&mut e, &ok("ann", "203.0.113.7", 3), "seq");
    assert_eq!((n.status, made), (Status::Fired, 1));
}

const LONDON: (f64, f64) = (51.5142, -0.0931);
const LINKOPING: (f64, f64) = (58.4167, 15.6167);

#[test]
fn travel_learns_a_place_then_fires_on_an_impossible_trip() {
    let text = r#"
[[rule]]
id = "travel"
kind = "travel"
group_by = "user"
window = "24h"
match = { outcome = "success" }
decision = { action = "alert" }
"#;
    let mut e = engine(text, Mode::Recommend);
    let (n, _) = step(&mut e, &ok("ann", "81.2.69.142", 0), "travel");
    assert_eq!(n.status, Status::Ignored, "no location");
    let london = ok("ann", "81.2.69.142", 0).located("GB", 0, Some(LONDON));
    let (n, _) = step(&mut e, &london, "travel");
    assert_eq!(n.status, Status::Learned);
    let sweden = ok("ann", "89.160.20.112", 3600).located("SE", 0, Some(LINKOPING));
    let (n, made) = step(&mut e, &sweden, "travel");
    assert_eq!((n.status, made), (Status::Fired, 1));
    assert!(n.reason.unwrap().contains("1258 km"));
    let (n, _) = step(&mut e, &bad("ann", "81.2.69.142", 3601), "travel");
    assert_eq!(n.condition.as_deref(), Some("outcome = success"));
}

#[test]
fn novelty_learns_during_the_quiet_period_then_fires_on_a_new_country() {
    let text = r#"
[[rule]]
id = "new-country"
kind = "novelty"
field = "country"
group_by = "user"
match = { action = "login" }
decision = { action = "alert" }
"#;
    let mut e = engine(text, Mode::Recommend);
    let from = |secs, c| ok("ann", "192.0.2.1", secs).located(c, 0, None);
    let (n, _) = step(&mut e, &from(0, "JP"), "new-country");
    assert_eq!(n.status, Status::Learned);
    assert!(n.reason.unwrap().contains("quiet"));
    let (n, _) = step(&mut e, &from(8 * DAY, "JP"), "new-country");
    assert_eq!(n.status, Status::Learned);
    assert!(n.reason.unwrap().contains("already used"));
    let (n, made) = step(&mut e, &from(9 * DAY, "US"), "new-country");
    assert_eq!((n.status, made), (Status::Fired, 1));
    let (n, _) = step(&mut e, &ok("ann", "192.0.2.1", 9 * DAY + 1), "new-country");
    assert_eq!(n.status, Status::Ignored, "no country to learn");
}

#[test]
fn dormant_remembers_the_first_success_and_fires_after_the_idle_span() {
    let text = r#"
[[rule]]
id = "dormant"
kind = "dormant"
group_by = "user"
days = 90
match = { outcome = "success" }
decision = { action = "alert" }
"#;
    let mut e = engine(text, Mode::Recommend);
    let (n, _) = step(&mut e, &ok("ivan", "192.0.2.1", 0), "dormant");
    assert_eq!(n.status, Status::Learned);
    let (n, _) = step(&mut e, &ok("ivan", "192.0.2.1", DAY), "dormant");
    assert_eq!(n.status, Status::Learned);
    assert!(n.reason.unwrap().contains("1 days before"));
    let (n, made) = step(&mut e, &ok("ivan", "192.0.2.1", 100 * DAY), "dormant");
    assert_eq!((n.status, made), (Status::Fired, 1));
}

#[test]
fn restriction_says_who_is_unrestricted_and_counts_violations() {
    let text = r#"
[[rule]]
id = "admins"
kind = "restriction"
group_by = "user"
window = "1h"
decision = { action = "alert" }
[[rule.allow]]
group = "admins"
cidrs = ["10.0.0.0/8"]
"#;
    let mut e = engine(text, Mode::Recommend);
    let (n, _) = step(&mut e, &ok("bob", "192.0.2.1", 0), "admins");
    assert_eq!(n.status, Status::Ignored);
    assert!(n.reason.unwrap().contains("unrestricted"));
    let admin = |ip| {
        ok("root", ip, 1).with_account(Account {
            user: "root".into(),
            groups: vec!["admins".into()],
            ..Account::default()
        })
    };
    let (n, _) = step(&mut e, &admin("10.1.1.1"), "admins");
    assert!(n.reason.unwrap().contains("permits"));
    let (n, made) = step(&mut e, &admin("192.0.2.1"), "admins");
    assert_eq!(
        (window(&n), made),
        ((Status::Fired, Some("root"), Some(0), Some(1)), 1)
    );
}

#[test]
fn tracing_decides_exactly_what_the_untraced_engine_decides() {
    let events: Vec<AuthEvent> = (0..12)
        .map(|i| {
            if i % 5 == 4 {
                ok("alice", "192.0.2.1", i)
            } else {
                bad("alice", "192.0.2.1", i)
            }
        })
        .collect();
    let mut plain = engine(LOCKOUT, Mode::Recommend);
    let mut traced = engine(LOCKOUT, Mode::Recommend);
    let want = feed(&mut plain, &events);
    let mut trace = Trace::default();
    let got: Vec<_> = events
        .iter()
        .flat_map(|ev| traced.observe_traced(ev, &mut trace))
        .collect();
    assert_eq!(got, want);
    assert!(!want.is_empty());
    assert_eq!(traced.stats(), plain.stats());
}
