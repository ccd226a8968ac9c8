use super::*;
use crate::state::Batch;
use crate::test_support::{decision, record, t};

fn active(id: &str) -> DecisionRecord {
    let mut d = decision();
    d.id = id.into();
    record(d, LockStatus::Active, t(0))
}

#[test]
fn active_decisions_are_recorded_once_with_an_audit_line_naming_the_detector_and_slot() {
    let mut s = Store::open_in_memory().unwrap();
    let changes = vec![Adopt::Active {
        record: active("aa01"),
        from: "old-1".into(),
    }];
    let r = s.adopt(&changes, "EV.user.1", t(10)).unwrap();
    assert_eq!((r.imported, r.lifted, r.unchanged), (1, 0, 0));
    let rec = s.decision("aa01").unwrap().unwrap();
    assert_eq!(rec.status, LockStatus::Active);
    let audit = s.audit("aa01").unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].what, "adopted");
    assert!(
        audit[0]
            .detail
            .contains("adopted from detector old-1 at takeover of slot EV.user.1"),
        "{audit:?}"
    );
    // A second adoption of the same changes is a no-op.
    let r = s.adopt(&changes, "EV.user.1", t(11)).unwrap();
    assert_eq!((r.imported, r.unchanged), (0, 1));
    assert_eq!(s.audit("aa01").unwrap().len(), 1);
}

#[test]
fn a_lift_made_elsewhere_ends_a_record_still_active_here_and_nothing_else() {
    let mut s = Store::open_in_memory().unwrap();
    s.commit(&Batch {
        decisions: vec![active("bb02").decision],
        at: t(1),
        ..Batch::default()
    })
    .unwrap();
    let mut lifted = active("bb02");
    lifted.status = LockStatus::Unlocked;
    lifted.ended_at = Some(t(5));
    lifted.unlocked_by = Some("ann".into());
    lifted.unlock_reason = Some("called the user".into());
    let mut unknown = lifted.clone();
    unknown.decision.id = "cc03".into();
    let changes = vec![
        Adopt::Lifted {
            record: lifted,
            from: "new-2".into(),
        },
        Adopt::Lifted {
            record: unknown,
            from: "new-2".into(),
        },
    ];
    let r = s.adopt(&changes, "EV.user.0", t(10)).unwrap();
    assert_eq!((r.imported, r.lifted, r.unchanged), (0, 1, 1));
    let rec = s.decision("bb02").unwrap().unwrap();
    assert_eq!(rec.status, LockStatus::Unlocked);
    assert_eq!(rec.ended_at, Some(t(5)));
    assert_eq!(rec.unlocked_by.as_deref(), Some("ann"));
    assert!(s.decision("cc03").unwrap().is_none());
    let audit = s.audit("bb02").unwrap();
    let last = audit.last().unwrap();
    assert_eq!(last.what, "unlocked");
    assert!(last.detail.contains("new-2"), "{audit:?}");
    assert!(last.detail.contains("called the user"), "{audit:?}");
}
