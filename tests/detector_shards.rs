//! Fleet mode, several detectors: the user-keyed rules' group and the
//! address-keyed rules' group share one stream, two members each, every
//! member reading its own partitions; a member killed with SIGKILL is
//! replaced by a standby with an empty state directory, which rebuilds the
//! open windows from the stream. Real processes throughout: a
//! `nats-server -js`, two `loginwatch agent`s (web1, web2), the detectors;
//! decisions read from each detector's API.

use std::time::Duration;

use loginwatch::fleet::subject::{PARTITIONS, partition};

use serde_json::{Value, json};

use crate::detector::{Fleet, decided, detector_dir, failure, wait_decided};
use crate::fleet_adopt::{assert_adopted, holder_of, manual_lock, unlock, wait_agent_status};
use crate::fleet_decisions::{bucket_value, wait_bucket_state};
use crate::util::daemon::Daemon;
use crate::util::nats::{block_on, jetstream};
use crate::util::{lw, wait_for};

/// A detector's directory placed as `member` of `members` in `group`.
pub(crate) fn member_dir(url: &str, group: &str, members: u64, member: u64) -> tempfile::TempDir {
    let dir = detector_dir(url);
    let path = dir.path().join("loginwatch.toml");
    let cfg = std::fs::read_to_string(&path).unwrap().replace(
        "host = \"detector\"\n",
        &format!(
            "host = \"detector\"\ngroup = \"{group}\"\nmembers = {members}\nmember = {member}\n"
        ),
    );
    assert!(cfg.contains("group = "), "{cfg}");
    std::fs::write(&path, cfg).unwrap();
    dir
}

/// The decisions the detector of `dir` holds itself: its API lists the
/// whole fleet's, each naming its holder.
fn own(d: &Daemon, dir: &std::path::Path) -> Vec<serde_json::Value> {
    let id = std::fs::read_to_string(dir.join("state.db.fleet-id")).unwrap_or_default();
    let mine = |x: &serde_json::Value| x["detector"] == id.trim();
    d.decisions(false).into_iter().filter(mine).collect()
}

const FAILURES: &str = "loginwatch_events_total{outcome=\"failure\",source=\"fleet\"}";

/// The durable consumer `name`'s ack floor and pending acks on the server.
fn consumer_state(url: &str, name: &str) -> Option<(u64, usize)> {
    block_on(async {
        let js = jetstream(url).await?;
        let s = js.get_stream("LOGINWATCH_EVENTS").await.ok()?;
        let i = s.consumer_info(name).await.ok()?;
        Some((i.ack_floor.stream_sequence, i.num_ack_pending))
    })
}

#[test]
fn two_groups_of_two_members_decide_each_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let test = "detector_shards::two_groups_of_two_members_decide_each_key_once";
    let Some(fleet) = Fleet::start(test, dir.path()) else {
        return;
    };
    let url = fleet.nats.url();
    let dirs: Vec<(&str, u64, tempfile::TempDir)> =
        [("user", 0), ("user", 1), ("address", 0), ("address", 1)]
            .into_iter()
            .map(|(g, m)| (g, m, member_dir(&url, g, 2, m)))
            .collect();
    let dets: Vec<Daemon> = dirs
        .iter()
        .map(|(_, _, d)| Daemon::start(d.path()))
        .collect();
    for d in &dets {
        wait_for("each member to consume", Duration::from_secs(30), || {
            d.log()
                .contains("Consuming the fleet's events.")
                .then_some(())
        });
    }

    // A spray from 192.0.2.50: 5 users on each host (password-spray blocks
    // at 10 distinct users); alice fails 3 times on web1 and twice on web2
    // (the lockout counts 5).
    for (i, host) in ["web1", "web2"].into_iter().enumerate() {
        let lines: Vec<String> = (0..5)
            .map(|k| failure(host, &format!("s{i}{k}"), "192.0.2.50", i * 5 + k))
            .collect();
        fleet.append(i, &lines);
    }
    let alice = |host: &str, ks: std::ops::Range<usize>| -> Vec<String> {
        ks.map(|k| failure(host, "alice", "198.51.100.10", 20 + k))
            .collect()
    };
    fleet.append(0, &alice("web1", 0..3));
    fleet.append(1, &alice("web2", 3..5));

    // The members owning alice's user partition and the spray's network.
    let u = (partition(b"alice") % 2) as usize;
    let n = 2 + (partition(&[192, 0, 2, 0]) % 2) as usize;
    wait_decided(&dets[u], "account-lockout", "alice");
    wait_decided(&dets[n], "password-spray", "192.0.2.50");
    // Every event once in each group: 15 failures, split over its members.
    for group in [0..2, 2..4] {
        wait_for(
            "every event counted in each group",
            Duration::from_secs(30),
            || {
                let sum: f64 = dets[group.clone()].iter().map(|d| d.metric(FAILURES)).sum();
                (sum == 15.0).then_some(())
            },
        );
    }
    let spray = &decided(&dets[n], "password-spray")["192.0.2.50"];
    assert_eq!(spray.len(), 1, "{spray:?}");
    assert_eq!(spray[0]["evidence"]["count"], 10, "{spray:?}");
    let lock = &decided(&dets[u], "account-lockout")["alice"];
    assert_eq!(lock.len(), 1, "{lock:?}");
    assert_eq!(lock[0]["evidence"]["count"], 5, "{lock:?}");
    // No key decided twice: the two decisions are all there are, each
    // made by its group's owner only.
    let all: Vec<(usize, String)> = dets
        .iter()
        .enumerate()
        .flat_map(|(i, d)| {
            own(d, dirs[i].2.path())
                .into_iter()
                .map(move |x| (i, x["rule"].as_str().unwrap_or("?").to_owned()))
        })
        .collect();
    let mut want = vec![
        (u, "account-lockout".to_owned()),
        (n, "password-spray".to_owned()),
    ];
    want.sort();
    assert_eq!(all, want);
    // Both decisions reach the fleet's bucket, each kept there by the
    // detector that made it: neither lifts the other's as unknown to its
    // own state (each pass checks only the keys its detector wrote).
    let ids = [&lock[0]["id"], &spray[0]["id"]].map(|v| v.as_str().unwrap().to_owned());
    for id in &ids {
        wait_bucket_state(&url, id, "active");
    }
    // Longer than a check of the bucket (5 s), and many passes.
    std::thread::sleep(Duration::from_secs(7));
    for id in &ids {
        let v = bucket_value(&url, id).unwrap();
        assert_eq!(v["state"], "active", "{v}");
    }
    // A group's member runs its group's rules only.
    assert!(dets[0].log().contains("place=group user, member 0 of 2"));
    for d in &dets {
        assert!(d.log().contains("Holding the slot's lease."), "{}", d.log());
    }
}

#[test]
fn a_standby_takes_over_a_killed_member_without_losing_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let test = "detector_shards::a_standby_takes_over_a_killed_member_without_losing_its_window";
    let Some(fleet) = Fleet::start(test, dir.path()) else {
        return;
    };
    let url = fleet.nats.url();
    let first_dir = member_dir(&url, "user", 2, 1);
    let first = Daemon::start(first_dir.path());
    wait_for("the member to consume", Duration::from_secs(30), || {
        first
            .log()
            .contains("Consuming the fleet's events.")
            .then_some(())
    });
    // A standby for the same slot, on an empty state directory: it waits.
    let standby_dir = member_dir(&url, "user", 2, 1);
    let standby = Daemon::start(standby_dir.path());
    wait_for("the standby to wait", Duration::from_secs(30), || {
        standby
            .log()
            .contains("Standby: another detector holds this slot")
            .then_some(())
    });

    // A user of member 1's partitions fails 3 times on web1...
    let user = (0..)
        .map(|i| format!("carol{i}"))
        .find(|u| partition(u.as_bytes()) % 2 == 1)
        .unwrap();
    let consumer = format!("loginwatch_user_{}", partition(user.as_bytes()));
    let fail = |host: usize, ks: std::ops::Range<usize>| -> Vec<String> {
        ks.map(|k| failure(&format!("web{}", host + 1), &user, "198.51.100.7", k))
            .collect()
    };
    fleet.append(0, &fail(0, 0..3));
    // ...which the member counts and commits (its consumer's ack floor moves
    // only after a commit), then it is killed.
    wait_for(
        "the member to commit 3 failures",
        Duration::from_secs(30),
        || {
            let (floor, pending) = consumer_state(&url, &consumer)?;
            (first.metric(FAILURES) == 3.0 && floor >= 3 && pending == 0).then_some(())
        },
    );
    // A lock waiting for an admin, made through the holder's API: in the
    // bucket under the holder's id and slot.
    let first_id = holder_of(first_dir.path());
    let manual = manual_lock(&first, "mallory");
    let v = wait_bucket_state(&url, &manual, "active");
    assert_eq!(v["detector"], first_id.as_str(), "{v}");
    assert_eq!(v["slot"], SLOT, "{v}");
    let log = first.log();
    first.kill9();
    assert!(log.contains("Holding the slot's lease."), "{log}");

    // Twice more on web2: the standby takes the slot, rebuilds the three
    // from the stream, and locks on the fifth, once.
    fleet.append(1, &fail(1, 3..5));
    wait_decided(&standby, "account-lockout", &user);
    let log = standby.log();
    assert!(log.contains("taking it over"), "{log}");
    assert!(log.contains("Rebuilt; consuming live. consumer="), "{log}");
    assert!(log.contains("events=3"), "{log}");
    let locks = decided(&standby, "account-lockout");
    assert_eq!(locks.len(), 1, "{locks:#?}");
    assert_eq!(locks[&user].len(), 1, "{locks:#?}");
    assert_eq!(locks[&user][0]["evidence"]["count"], 5, "{locks:#?}");
    assert_eq!(
        standby.metric(FAILURES),
        2.0,
        "the rebuilt three are not new events"
    );
    // The lock names the agents whose events made it (three rebuilt from
    // web1, two live from web2), in its evidence and in the bucket.
    assert_eq!(
        locks[&user][0]["evidence"]["hosts"],
        json!(["web1", "web2"])
    );
    let standby_id = holder_of(standby_dir.path());
    let lock_id = locks[&user][0]["id"].as_str().unwrap();
    let v = wait_bucket_state(&url, lock_id, "active");
    assert_eq!(v["hosts"], json!(["web1", "web2"]), "{v}");
    assert_eq!(v["detector"], standby_id.as_str(), "{v}");

    // The killed holder's lock waiting for an admin survives the takeover:
    // adopted into the standby's state, its key rewritten under the new
    // holder.
    let one = assert_adopted(&standby, &manual, &first_id);
    assert_eq!(one["decision"]["unlock"], "admin", "{one}");
    wait_for(
        "the adopted key under the new holder",
        Duration::from_secs(30),
        || {
            let v = bucket_value(&url, &manual)?;
            (v["detector"] == standby_id.as_str()).then_some(())
        },
    );
    let v = bucket_value(&url, &manual).unwrap();
    assert_eq!(
        (v["state"].as_str(), v["slot"].as_str()),
        (Some("active"), Some(SLOT)),
        "{v}"
    );

    // The killed member back on its old disk: the slot is held, so it waits
    // and decides nothing (its state stops at 3 failures).
    let back = Daemon::start(first_dir.path());
    wait_for("the old member to wait", Duration::from_secs(30), || {
        back.log()
            .contains("Standby: another detector holds this slot")
            .then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    // (Its API lists the fleet's decisions; its own are those it holds.)
    let ids: Vec<Value> = own(&back, first_dir.path())
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    assert_eq!(ids, [json!(manual)], "its state stops where it was killed");
    assert_eq!(back.metric(FAILURES), 0.0);

    // Unlocked through the new holder: lifted in the bucket and on the
    // agents; the old holder (a standby, its state still holding the lock
    // active) writes nothing back.
    unlock(&standby, &manual);
    let v = wait_bucket_state(&url, &manual, "lifted");
    assert_eq!(v["lifted"]["by"], "helpdesk", "{v}");
    for host in 0..2 {
        wait_agent_status(fleet.dir(host), &manual, "unlocked");
    }
    std::thread::sleep(Duration::from_secs(6));
    let v = bucket_value(&url, &manual).unwrap();
    assert_eq!(v["state"], "lifted", "{v}");
    assert_eq!(v["detector"], standby_id.as_str(), "{v}");
}

/// The slot of member 1 of 2 in group `user`.
const SLOT: &str = "LOGINWATCH_EVENTS.user.1";

#[test]
fn config_check_prints_the_place_and_refuses_a_bad_one() {
    let url = "nats://127.0.0.1:1";
    let d = member_dir(url, "address", 16, 3);
    let cfg = d.path().join("loginwatch.toml");
    let out = lw().args(["config", "check"]).arg(&cfg).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let owned: Vec<String> = (0..PARTITIONS)
        .filter(|p| p % 16 == 3)
        .map(|p| p.to_string())
        .collect();
    assert!(
        text.contains(
            "fleet place: group address, member 3 of 16 (slot LOGINWATCH_EVENTS.address.3), runs "
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!("owns network partitions {}", owned.join(","))),
        "{text}"
    );
    let bad = member_dir(url, "user", 2, 2);
    let out = lw()
        .args(["config", "check"])
        .arg(bad.path().join("loginwatch.toml"))
        .output()
        .unwrap();
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("member = 2: members are numbered 0 to 1"),
        "{err}"
    );
}

/// Every log the daemons started in `dir` wrote (each start has its own).
fn logs(dir: &std::path::Path) -> String {
    let mut all = String::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("stderr-") {
            all += &std::fs::read_to_string(e.path()).unwrap_or_default();
        }
    }
    all
}

fn signal(d: &Daemon, sig: &str) {
    let st = std::process::Command::new("kill")
        .args([sig, &d.pid().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn a_frozen_holder_is_fenced_off_and_a_clean_stop_hands_the_slot_over() {
    let dir = tempfile::tempdir().unwrap();
    let test =
        "detector_shards::a_frozen_holder_is_fenced_off_and_a_clean_stop_hands_the_slot_over";
    let Some(fleet) = Fleet::start(test, dir.path()) else {
        return;
    };
    let url = fleet.nats.url();
    let (a_dir, b_dir, c_dir) = (
        member_dir(&url, "user", 1, 0),
        member_dir(&url, "user", 1, 0),
        member_dir(&url, "user", 1, 0),
    );
    let a = Daemon::start(a_dir.path());
    wait_for("the member to consume", Duration::from_secs(30), || {
        a.log()
            .contains("Consuming the fleet's events.")
            .then_some(())
    });
    let b = Daemon::start(b_dir.path());
    wait_for("the standby to wait", Duration::from_secs(30), || {
        b.log()
            .contains("Standby: another detector holds this slot")
            .then_some(())
    });
    let consumer = format!("loginwatch_user_{}", partition(b"dave"));
    let fail = |host: usize, ks: std::ops::Range<usize>| -> Vec<String> {
        ks.map(|k| failure(&format!("web{}", host + 1), "dave", "198.51.100.8", k))
            .collect()
    };
    fleet.append(0, &fail(0, 0..3));
    wait_for(
        "the holder to commit 3 failures",
        Duration::from_secs(30),
        || {
            let (floor, pending) = consumer_state(&url, &consumer)?;
            (a.metric(FAILURES) == 3.0 && floor >= 3 && pending == 0).then_some(())
        },
    );

    // A lock waiting for an admin on the holder.
    let erin = manual_lock(&a, "erin");
    wait_bucket_state(&url, &erin, "active");

    // Frozen (a long pause, a hung VM): its lease goes stale, the standby
    // takes the slot and carries the window on.
    signal(&a, "-STOP");
    wait_for("the standby to take over", Duration::from_secs(30), || {
        b.log().contains("Rebuilt; consuming live.").then_some(())
    });
    fleet.append(1, &fail(1, 3..5));
    wait_decided(&b, "account-lockout", "dave");
    let dave = decided(&b, "account-lockout")["dave"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The frozen holder's lock is the standby's now; unlocked through it.
    let _ = assert_adopted(&b, &erin, &holder_of(a_dir.path()));
    unlock(&b, &erin);
    wait_bucket_state(&url, &erin, "lifted");
    // Woken up, the old holder finds its lease taken and stops without
    // taking or committing anything, and without putting its older view
    // (erin locked) back into the bucket.
    signal(&a, "-CONT");
    let status = a.wait_exit(Duration::from_secs(30));
    assert!(!status.success(), "{status:?}");
    let log = logs(a_dir.path());
    assert!(log.contains("was taken over by another detector"), "{log}");
    assert!(!log.contains("Decision:"), "{log}");
    let v = bucket_value(&url, &erin).unwrap();
    assert_eq!(v["state"], "lifted", "{v}");
    assert_eq!(v["detector"], holder_of(b_dir.path()).as_str(), "{v}");

    // A clean stop gives the slot up at once: the next standby (empty
    // state) takes it without waiting for the lease to go stale, rebuilds
    // the five failures and decides nothing again.
    let c = Daemon::start(c_dir.path());
    wait_for("the new standby to wait", Duration::from_secs(30), || {
        c.log()
            .contains("Standby: another detector holds this slot")
            .then_some(())
    });
    assert!(b.terminate().success());
    assert!(logs(b_dir.path()).contains("Slot released."));
    let t0 = std::time::Instant::now();
    while !c.log().contains("Rebuilt; consuming live.") {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the new standby did not take over ({:?}):\n{}\n{}",
            consumer_state(&url, &consumer),
            c.log(),
            logs(b_dir.path())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = c.log();
    assert!(!log.contains("lease is stale"), "{log}");
    assert!(log.contains("events=5"), "{log}");
    // The lock on dave of the holder that stopped cleanly (and released
    // the slot, so its id is no longer in the lease) is adopted too; the
    // lifted one is not; nothing is decided again.
    let _ = assert_adopted(&c, &dave, &holder_of(b_dir.path()));
    let ids: Vec<Value> = own(&c, c_dir.path())
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    assert_eq!(ids, [json!(dave)], "{:?}", c.decisions(false));
    assert_eq!(c.metric(FAILURES), 0.0);
}
