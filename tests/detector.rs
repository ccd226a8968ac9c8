//! Fleet mode, second step: `loginwatch run` with `[fleet]` and no source is
//! the fleet's detector. Real processes throughout: a `nats-server -js` on
//! loopback, two `loginwatch agent`s (hosts web1 and web2, each its own
//! `auth.log`), one detector; decisions read from the detector's API.
//! Attacks that stay under every host's threshold are decided from the two
//! hosts' events together; a detector killed with SIGKILL mid-stream and
//! restarted loses no event and counts none twice.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::fleet::Agent;
use crate::util::daemon::{Daemon, append, setup};
use crate::util::nats::{Nats, block_on, jetstream};
use crate::util::{lw, wait_for};

/// An agent's directory: `auth.log` and a config publishing it as `host`.
pub(crate) fn agent_dir(url: &str, host: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("auth.log"), "").unwrap();
    std::fs::write(
        dir.path().join("loginwatch.toml"),
        format!(
            "state_path = \"state.db\"\npoll_interval = \"1s\"\n\
             [[source]]\npath = \"auth.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n\
             [fleet]\nurl = {url:?}\nhost = {host:?}\n"
        ),
    )
    .unwrap();
    dir
}

/// The detector's directory: the daemon harness's (shipped rules, token,
/// port 0) with the source replaced by `[fleet]`.
pub(crate) fn detector_dir(url: &str) -> tempfile::TempDir {
    let dir = setup("30m");
    let path = dir.path().join("loginwatch.toml");
    let cfg = std::fs::read_to_string(&path).unwrap();
    let cfg = cfg.replace(
        "[[source]]\npath = \"auth.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n",
        &format!("[fleet]\nurl = {url:?}\nhost = \"detector\"\n"),
    );
    assert!(cfg.contains("[fleet]") && !cfg.contains("[[source]]"));
    std::fs::write(&path, cfg).unwrap();
    dir
}

/// A fleet: the server, two agents, their directories.
pub(crate) struct Fleet {
    pub(crate) nats: Nats,
    hosts: Vec<(tempfile::TempDir, Agent)>,
}

impl Fleet {
    pub(crate) fn start(test: &str, dir: &Path) -> Option<Fleet> {
        let nats = Nats::start(test, dir)?;
        let hosts = ["web1", "web2"]
            .into_iter()
            .map(|h| {
                let d = agent_dir(&nats.url(), h);
                let a = Agent::start(d.path());
                (d, a)
            })
            .collect();
        Some(Fleet { nats, hosts })
    }

    /// Appends `lines` to host `i`'s log.
    pub(crate) fn append(&self, i: usize, lines: &[String]) {
        append(&self.hosts[i].0.path().join("auth.log"), lines);
    }

    /// Host `i`'s directory (its agent's state is `state.db` there).
    pub(crate) fn dir(&self, i: usize) -> &Path {
        self.hosts[i].0.path()
    }
}

/// A failed password for `user` from `ip` on `host`, `k` seconds after five
/// minutes ago (the rules run in event time; recent, so locks are active).
pub(crate) fn failure(host: &str, user: &str, ip: &str, k: usize) -> String {
    let t =
        chrono::Utc::now() - chrono::Duration::seconds(300) + chrono::Duration::seconds(k as i64);
    format!(
        "{} {host} sshd[{}]: Failed password for {user} from {ip} port {} ssh2",
        t.to_rfc3339(),
        2000 + k,
        30000 + k
    )
}

/// The detector's decisions of `rule`, by their target's user or address.
pub(crate) fn decided(d: &Daemon, rule: &str) -> BTreeMap<String, Vec<Value>> {
    let mut by: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for x in d.decisions(false) {
        if x["rule"] != rule {
            continue;
        }
        let t = &x["target"];
        let key = t["user"].as_str().or(t["ip"].as_str()).unwrap_or("?");
        by.entry(key.to_owned()).or_default().push(x.clone());
    }
    by
}

/// Waits until the detector has decided `rule` for `key`.
pub(crate) fn wait_decided(d: &Daemon, rule: &str, key: &str) {
    wait_for(
        &format!("{rule} for {key} on the detector"),
        Duration::from_secs(60),
        || decided(d, rule).contains_key(key).then_some(()),
    );
}

#[test]
fn a_spray_and_a_lockout_over_two_hosts_are_decided_by_the_detector() {
    let dir = tempfile::tempdir().unwrap();
    let test = "detector::a_spray_and_a_lockout_over_two_hosts_are_decided_by_the_detector";
    let Some(fleet) = Fleet::start(test, dir.path()) else {
        return;
    };
    let det_dir = detector_dir(&fleet.nats.url());
    let det = Daemon::start(det_dir.path());

    // A spray from 192.0.2.50: 5 distinct users on each host, 10 in all
    // (password-spray blocks at 10 distinct users).
    for (i, host) in ["web1", "web2"].into_iter().enumerate() {
        let lines: Vec<String> = (0..5)
            .map(|k| failure(host, &format!("s{i}{k}"), "192.0.2.50", i * 5 + k))
            .collect();
        fleet.append(i, &lines);
    }
    // alice fails 3 times on web1 and twice on web2 (the lockout counts 5).
    fleet.append(
        0,
        &(0..3)
            .map(|k| failure("web1", "alice", "198.51.100.10", 20 + k))
            .collect::<Vec<_>>(),
    );
    fleet.append(
        1,
        &(3..5)
            .map(|k| failure("web2", "alice", "198.51.100.10", 20 + k))
            .collect::<Vec<_>>(),
    );

    wait_decided(&det, "password-spray", "192.0.2.50");
    wait_decided(&det, "account-lockout", "alice");
    let spray = &decided(&det, "password-spray")["192.0.2.50"];
    assert_eq!(spray.len(), 1, "{spray:?}");
    assert_eq!(spray[0]["evidence"]["count"], 10, "{spray:?}");
    let lock = &decided(&det, "account-lockout")["alice"];
    assert_eq!(lock.len(), 1, "{lock:?}");
    assert_eq!(lock[0]["action"], "lock_account");
    // Every decision came from the fleet's events: both hosts' users.
    let log = det.log();
    assert!(
        log.contains("Detector: consuming the fleet's events."),
        "{log}"
    );
    let events = det.metric("loginwatch_events_total{outcome=\"failure\",source=\"fleet\"}");
    assert_eq!(events, 15.0, "every event once");
}

#[test]
fn a_detector_killed_mid_stream_loses_nothing_and_counts_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let test = "detector::a_detector_killed_mid_stream_loses_nothing_and_counts_nothing_twice";
    let Some(fleet) = Fleet::start(test, dir.path()) else {
        return;
    };
    let det_dir = detector_dir(&fleet.nats.url());
    let det = Daemon::start(det_dir.path());

    // Users l<i> fail 5 times (locked), k<i> 4 times (never locked; one event
    // counted twice would lock them), split over both hosts, each user from
    // its own address. The first half before the kill, the rest after.
    let mut seq = 0;
    let mut user = |fleet: &Fleet, name: &str, n: usize, ip: &str| {
        for j in 0..n {
            let host = j % 2;
            seq += 1;
            fleet.append(host, &[failure(&format!("web{}", host + 1), name, ip, seq)]);
        }
    };
    for i in 0..5 {
        user(&fleet, &format!("l{i}"), 5, &format!("198.51.100.{i}"));
        user(&fleet, &format!("k{i}"), 4, &format!("203.0.113.{i}"));
    }
    // Killed as soon as it has taken some of them: most of the first half is
    // consumed, applied or not yet committed, acked or not.
    let series = "loginwatch_events_total{outcome=\"failure\",source=\"fleet\"}";
    wait_for(
        "the detector to take events",
        Duration::from_secs(60),
        || (det.metric(series) > 0.0).then_some(()),
    );
    det.kill9();

    for i in 5..10 {
        user(&fleet, &format!("l{i}"), 5, &format!("198.51.100.{i}"));
        user(&fleet, &format!("k{i}"), 4, &format!("203.0.113.{i}"));
    }
    // The last user marks the end: locked only once both hosts' lines
    // before it are consumed (each host's events stay in their order).
    user(&fleet, "zz", 5, "198.51.100.200");

    let det = Daemon::start(det_dir.path());
    wait_decided(&det, "account-lockout", "zz");
    let locks = decided(&det, "account-lockout");
    let mut want: Vec<String> = (0..10).map(|i| format!("l{i}")).collect();
    want.push("zz".into());
    assert_eq!(
        locks.keys().cloned().collect::<Vec<_>>(),
        want,
        "exactly the users with 5 failures: {:#?}\n{}",
        locks,
        det.log()
    );
    for (u, ds) in &locks {
        assert_eq!(ds.len(), 1, "{u} decided once: {ds:?}");
        assert_eq!(ds[0]["evidence"]["count"], 5, "{u}: {ds:?}");
    }
    // No other rule fired: one address per user, one user per address.
    let all = det.decisions(false);
    assert_eq!(all.len(), 11, "{all:#?}");
}

#[test]
fn nats_restarted_under_the_detector_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let test = "detector::nats_restarted_under_the_detector_loses_nothing";
    let Some(mut fleet) = Fleet::start(test, dir.path()) else {
        return;
    };
    let det_dir = detector_dir(&fleet.nats.url());
    let det = Daemon::start(det_dir.path());
    let lock = |fleet: &Fleet, user: &str, ip: &str, k0: usize| {
        for k in 0..5 {
            let host = k % 2;
            let line = failure(&format!("web{}", host + 1), user, ip, k0 + k);
            fleet.append(host, &[line]);
        }
    };
    lock(&fleet, "before", "198.51.100.1", 0);
    wait_decided(&det, "account-lockout", "before");
    fleet.nats.kill();
    lock(&fleet, "during", "198.51.100.2", 10);
    fleet.nats.run();
    lock(&fleet, "after", "198.51.100.3", 20);
    wait_decided(&det, "account-lockout", "after");
    wait_decided(&det, "account-lockout", "during");
    let locks = decided(&det, "account-lockout");
    assert_eq!(
        locks.keys().map(String::as_str).collect::<Vec<_>>(),
        ["after", "before", "during"]
    );
    assert!(locks.values().all(|d| d.len() == 1), "{locks:#?}");
    let log = det.log();
    assert!(log.contains("Disconnected from NATS"), "{log}");
}

#[test]
fn config_check_names_the_role_and_each_command_refuses_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let url = "nats://127.0.0.1:1";
    let agent = agent_dir(url, "web1");
    let det = detector_dir(url);
    let (agent_cfg, det_cfg) = (
        agent.path().join("loginwatch.toml"),
        det.path().join("loginwatch.toml"),
    );
    let check = |cfg: &Path| {
        let out = lw().args(["config", "check"]).arg(cfg).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let text = check(&det_cfg);
    assert!(text.contains("ok: 0 sources"), "{text}");
    assert!(text.contains("fleet role: detector"), "{text}");
    assert!(check(&agent_cfg).contains("fleet role: agent"));

    // run with an agent's file, agent with the detector's: usage errors.
    let out = lw()
        .args(["run", "--config"])
        .arg(&agent_cfg)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loginwatch agent"), "{err}");
    let out = lw()
        .args(["agent", "--config"])
        .arg(&det_cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("loginwatch run"), "{err}");
}

/// Publishes `bodies` on `subject` of the fleet's stream at `url`, waiting
/// for each ack (a stranger writing to the stream, not an agent).
fn publish(url: &str, subject: &str, bodies: Vec<Vec<u8>>) {
    block_on(async {
        let js = jetstream(url).await.unwrap();
        for b in bodies {
            js.publish(subject.to_owned(), b.into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    });
}

#[test]
fn a_message_that_is_not_an_event_is_counted_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let test = "detector::a_message_that_is_not_an_event_is_counted_and_skipped";
    let Some(nats) = Nats::start(test, dir.path()) else {
        return;
    };
    let det_dir = detector_dir(&nats.url());
    let det = Daemon::start(det_dir.path());
    // The detector creates the stream when it is first.
    wait_for("the detector's consumer", Duration::from_secs(30), || {
        det.log()
            .contains("Consuming the fleet's events.")
            .then_some(())
    });
    let garbage = vec![
        b"not json".to_vec(),
        br#"{"v":2,"event":{}}"#.to_vec(),
        br#"{"v":1,"agent":"x"}"#.to_vec(),
        vec![0xff; 64],
    ];
    publish(&nats.url(), "loginwatch.events.evil._._", garbage);
    // Then bob's five failures, as an agent would publish them.
    use loginwatch::event::{Action, AuthEvent, Outcome, Reason};
    let events = (0..5)
        .map(|k| {
            let t = chrono::Utc::now() - chrono::Duration::seconds(60 - k);
            let mut ev = AuthEvent::new(t, Action::Login, Outcome::Failure);
            ev.reason = Some(Reason::BadPassword);
            ev.user = Some("bob".into());
            loginwatch::fleet::wire::encode("web9", "auth.log", &ev)
        })
        .collect();
    publish(&nats.url(), "loginwatch.events.web9._._", events);

    wait_decided(&det, "account-lockout", "bob");
    let bad = det.metric("loginwatch_unparsed_lines_total{reason=\"malformed\",source=\"fleet\"}");
    assert_eq!(bad, 4.0, "{}", det.log());
    assert!(det.log().contains("Fleet message skipped"));
    assert_eq!(
        det.metric("loginwatch_events_total{outcome=\"failure\",source=\"fleet\"}"),
        5.0
    );
}
