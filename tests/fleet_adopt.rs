//! Fleet mode, the decisions of a slot across holders and time: a lock
//! waiting for an admin survives its holder's loss (`detector_shards` has
//! the takeovers: SIGKILL, SIGSTOP, a clean stop; their helpers are here),
//! and a lifted decision's key is purged after `[fleet] lifted_keep`, an
//! agent down across the purge lifting at its start what it applied. Real
//! processes: `nats-server -js` on loopback, detectors, agents running a
//! lock script.

use std::time::Duration;

use serde_json::{Value, json};

use crate::detector_shards::member_dir;
use crate::fleet_decisions::{Host, bucket_value, detector_dir, wait_bucket_state};
use crate::util::daemon::Daemon;
use crate::util::nats::{Nats, block_on, jetstream};
use crate::util::{http, wait_for};

/// The detector's holder id, kept beside its state.
pub(crate) fn holder_of(dir: &std::path::Path) -> String {
    std::fs::read_to_string(dir.join("state.db.fleet-id"))
        .unwrap()
        .trim()
        .to_owned()
}

/// A lock of `user` until an admin unlocks it, through `d`'s API; its id.
pub(crate) fn manual_lock(d: &Daemon, user: &str) -> String {
    let r = http::post(d.url("/api/v1/decisions"))
        .bearer(&d.token())
        .json(
            &json!({"user": user, "duration": "admin", "reason": "stolen laptop", "by": "secops"}),
        )
        .send();
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["decision"]["id"].as_str().unwrap().to_owned()
}

pub(crate) fn unlock(d: &Daemon, id: &str) {
    let r = http::post(d.url(&format!("/api/v1/decisions/{id}/unlock")))
        .bearer(&d.token())
        .json(&json!({"by": "helpdesk", "reason": "laptop found"}))
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
}

/// Waits until `d` holds `id` active as adopted from `from`; the decision
/// and its audit trail.
pub(crate) fn assert_adopted(d: &Daemon, id: &str, from: &str) -> Value {
    let one = wait_for("the lock adopted", Duration::from_secs(30), || {
        let one = d.get(&format!("/api/v1/decisions/{id}"));
        // Its API shows the fleet's decisions: before the adoption, this one
        // as the old holder's, from the bucket.
        (one["decision"]["status"] == "active" && one["decision"]["detector"] != from)
            .then_some(one)
    });
    let audit = one["audit"].as_array().unwrap();
    assert!(
        audit.iter().any(|a| a["what"] == "adopted"
            && a["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("adopted from detector {from} at takeover of slot"))),
        "{one}"
    );
    one
}

/// Waits until the agent in `dir` records `id` with `status`.
pub(crate) fn wait_agent_status(dir: &std::path::Path, id: &str, status: &str) {
    wait_for(
        &format!("{id} {status} on an agent"),
        Duration::from_secs(60),
        || {
            let s = loginwatch::state::Store::open_read_only(&dir.join("state.db")).ok()?;
            let r = s.decision(id).ok()??;
            (r.status.as_str() == status).then_some(())
        },
    );
}

/// Whether the bucket's stream holds nothing under `key` (no value, no
/// purge marker): `None` when that cannot be read.
fn key_gone(url: &str, key: &str) -> Option<bool> {
    block_on(async {
        let js = jetstream(url).await?;
        let s = js.get_stream("KV_loginwatch_decisions").await.ok()?;
        Some(
            s.get_last_raw_message_by_subject(&format!("$KV.loginwatch_decisions.{key}"))
                .await
                .is_err(),
        )
    })
}

#[test]
fn a_lifted_key_is_purged_and_an_agent_down_across_the_purge_lifts_it_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let test =
        "fleet_adopt::a_lifted_key_is_purged_and_an_agent_down_across_the_purge_lifts_it_at_start";
    let Some(nats) = Nats::start(test, dir.path()) else {
        return;
    };
    let url = nats.url();
    let det_dir = detector_dir(&url, "30m");
    let cfg = det_dir.path().join("loginwatch.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "host = \"detector\"\n",
        "host = \"detector\"\nlifted_keep = \"2s\"\n",
    );
    assert!(text.contains("lifted_keep"));
    std::fs::write(&cfg, text).unwrap();
    let det = Daemon::start(det_dir.path());
    wait_for(
        "the detector to hold its slot",
        Duration::from_secs(30),
        || {
            det.log()
                .contains("Holding the slot's lease.")
                .then_some(())
        },
    );
    let a = Host::new(&url, "a").start();
    let mut b = Host::new(&url, "b").start();
    // Two locks waiting for an admin, on both hosts.
    let alice = manual_lock(&det, "alice");
    let bob = manual_lock(&det, "bob");
    for h in [&a, &b] {
        h.wait_ran("lock alice");
        h.wait_ran("lock bob");
    }

    // b goes down; alice is unlocked meanwhile (a undoes it at once), and
    // her lifted key is purged after 2 s, its marker 2 s later.
    drop(b.agent.take());
    unlock(&det, &alice);
    a.wait_ran("unlock alice");
    wait_bucket_state(&url, &alice, "lifted");
    wait_for("alice's key to be gone", Duration::from_secs(60), || {
        key_gone(&url, &alice)?.then_some(())
    });
    assert!(
        det.log()
            .contains("purged lifted decisions older than lifted_keep"),
        "{}",
        det.log()
    );
    // An active decision is never purged, however old.
    std::thread::sleep(Duration::from_secs(3));
    let v = bucket_value(&url, &bob).unwrap();
    assert_eq!(v["state"], "active", "{v}");

    // b back: alice's key is gone, so b lifts what it applied (its undo
    // runs), and keeps bob.
    b.restart();
    b.wait_ran("unlock alice");
    wait_agent_status(b.dir.path(), &alice, "unlocked");
    let s = loginwatch::state::Store::open_read_only(&b.dir.path().join("state.db")).unwrap();
    let trail = s.audit(&alice).unwrap();
    let last = trail.iter().rev().find(|e| e.what == "unlocked").unwrap();
    assert!(
        last.detail.contains("gone from the fleet's bucket"),
        "{trail:?}"
    );
    assert!(trail.iter().any(|e| e.what == "fleet-applied"), "{trail:?}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!((b.ran("lock alice"), b.ran("unlock alice")), (1, 1));
    assert_eq!((b.ran("lock bob"), b.ran("unlock bob")), (1, 0));
    assert_eq!((a.ran("lock alice"), a.ran("unlock alice")), (1, 1));
}

#[test]
fn member_0_adopts_the_decisions_of_a_slot_retired_by_fewer_members() {
    let dir = tempfile::tempdir().unwrap();
    let test = "fleet_adopt::member_0_adopts_the_decisions_of_a_slot_retired_by_fewer_members";
    let Some(nats) = Nats::start(test, dir.path()) else {
        return;
    };
    let url = nats.url();
    // Member 1 of 2 makes a lock waiting for an admin, then is stopped
    // cleanly (its lease released): the group shrinks to one member.
    let old_dir = member_dir(&url, "user", 2, 1);
    let old = Daemon::start(old_dir.path());
    wait_for("member 1 to hold its slot", Duration::from_secs(30), || {
        old.log()
            .contains("Holding the slot's lease.")
            .then_some(())
    });
    let lock = manual_lock(&old, "mallory");
    let v = wait_bucket_state(&url, &lock, "active");
    assert_eq!(v["slot"], "LOGINWATCH_EVENTS.user.1", "{v}");
    assert!(old.terminate().success());
    // The one member left (member 0 of 1) answers for it.
    let new_dir = member_dir(&url, "user", 1, 0);
    let new = Daemon::start(new_dir.path());
    let _ = assert_adopted(&new, &lock, &holder_of(old_dir.path()));
    let holder = holder_of(new_dir.path());
    wait_for("the key under member 0", Duration::from_secs(30), || {
        let v = bucket_value(&url, &lock)?;
        (v["detector"] == holder.as_str() && v["slot"] == "LOGINWATCH_EVENTS.user.0").then_some(())
    });
    unlock(&new, &lock);
    wait_bucket_state(&url, &lock, "lifted");
}
