use super::*;
use crate::fleet::decisions::{How, Lifted};
use crate::test_support::{decision, record, t};

fn wire(id: &str, detector: &str, slot: Option<&str>, lifted: Option<How>) -> WireDecision {
    let mut d = decision();
    d.id = id.into();
    let rec = record(d, LockStatus::Active, t(0));
    let mut w = WireDecision::of(&rec, detector);
    w.slot = slot.map(str::to_owned);
    if let Some(how) = lifted {
        w.state = State::Lifted;
        w.lifted = Some(Lifted {
            at: t(50),
            how,
            by: (how == How::Unlocked).then(|| "ann".to_owned()),
            reason: None,
        });
    }
    w
}

#[test]
fn a_holder_takes_its_slots_values_written_by_others_and_an_old_value_of_the_holder_it_replaced() {
    let retired: HashSet<String> = ["EV.user.3".to_owned()].into();
    let who = Who {
        holder: "me",
        slot: "EV.user.1",
        replaced: Some("old"),
        retired: &retired,
    };
    assert!(who.takes(&wire("a", "old", Some("EV.user.1"), None)));
    assert!(
        who.takes(&wire("b", "older", Some("EV.user.1"), None)),
        "a holder that released the slot is not in the lease any more"
    );
    assert!(!who.takes(&wire("c", "me", Some("EV.user.1"), None)));
    assert!(!who.takes(&wire("d", "old", Some("EV.user.0"), None)));
    assert!(who.takes(&wire("e", "gone", Some("EV.user.3"), None)));
    assert!(who.takes(&wire("f", "old", None, None)));
    assert!(!who.takes(&wire("g", "other", None, None)));
}

#[test]
fn retired_slots_are_the_groups_numbered_from_members() {
    assert!(retired("EV.user.2", "EV", Group::User, 2));
    assert!(!retired("EV.user.1", "EV", Group::User, 2));
    assert!(!retired("EV.address.5", "EV", Group::User, 2));
    assert!(!retired("EV2.user.5", "EV", Group::User, 2));
    assert!(!retired("EV.user.x", "EV", Group::User, 2));
}

#[test]
fn the_plan_imports_the_unknown_ends_the_lifted_and_writes_back_what_ended_here() {
    let v = |w: WireDecision| Value {
        key: w.decision.id.clone(),
        revision: 9,
        wire: w,
    };
    let values = vec![
        v(wire("new", "old", Some("S"), None)),
        v(wire("known", "old", Some("S"), None)),
        v(wire("endedhere", "old", Some("S"), None)),
        v(wire("liftedthere", "old", Some("S"), Some(How::Unlocked))),
        v(wire("liftedboth", "old", Some("S"), Some(How::Expired))),
    ];
    let mut here = HashMap::new();
    let local = |id: &str, status: LockStatus| {
        let mut r = wire(id, "me", Some("S"), None).record();
        r.status = status;
        if status != LockStatus::Active {
            r.ended_at = Some(t(40));
        }
        Some(r)
    };
    here.insert("new".to_owned(), None);
    here.insert("known".to_owned(), local("known", LockStatus::Active));
    here.insert(
        "endedhere".to_owned(),
        local("endedhere", LockStatus::Expired),
    );
    here.insert(
        "liftedthere".to_owned(),
        local("liftedthere", LockStatus::Active),
    );
    here.insert(
        "liftedboth".to_owned(),
        local("liftedboth", LockStatus::Expired),
    );
    let p = plan(&values, &here);
    assert_eq!(p.changes.len(), 2, "{:?}", p.changes);
    match &p.changes[0] {
        Adopt::Active { record, from } => {
            assert_eq!(record.decision.id, "new");
            assert_eq!(record.status, LockStatus::Active);
            assert_eq!(from, "old");
        }
        other => panic!("{other:?}"),
    }
    match &p.changes[1] {
        Adopt::Lifted { record, .. } => {
            assert_eq!(record.decision.id, "liftedthere");
            assert_eq!(record.status, LockStatus::Unlocked);
            assert_eq!(record.unlocked_by.as_deref(), Some("ann"));
            assert_eq!(record.ended_at, Some(t(50)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.republish.len(), 1);
    assert_eq!(p.republish[0].0, "endedhere");
    assert_eq!(p.republish[0].2.status, LockStatus::Expired);
}
