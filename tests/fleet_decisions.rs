//! Fleet mode, decisions everywhere: the detector's decisions in the
//! JetStream key-value bucket, applied by every agent. Real processes: a
//! `nats-server -js` on loopback, agents (hosts a, b, c, and d started
//! late), one detector in mode `enforce`. Each agent's lock action is a
//! script appending `lock <user>` or `unlock <user>` to a file of its own,
//! so what ran on which host, and how often, is read back.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::fleet::Agent;
use crate::util::daemon::{Daemon, append, setup};
use crate::util::nats::{Nats, block_on, jetstream};
use crate::util::{http, wait_for};

const BUCKET: &str = "loginwatch_decisions";

/// An agent's directory: `auth.log`, a lock script recording into
/// `actions.log`, and a config publishing the log as `host` and running the
/// script for the fleet's account locks.
pub(crate) struct Host {
    pub(crate) name: &'static str,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) agent: Option<Agent>,
}

impl Host {
    pub(crate) fn new(url: &str, name: &'static str) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("auth.log"), "").unwrap();
        let script = d.join("lock-user.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" >> {}\n",
                d.join("actions.log").display()
            ),
        )
        .unwrap();
        assert!(
            Command::new("chmod")
                .arg("755")
                .arg(&script)
                .status()
                .unwrap()
                .success()
        );
        std::fs::write(
            d.join("loginwatch.toml"),
            format!(
                "state_path = \"state.db\"\npoll_interval = \"1s\"\n\
                 [[source]]\npath = \"auth.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n\
                 [fleet]\nurl = {url:?}\nhost = {name:?}\n\
                 [actions]\ntimeout = \"5s\"\n[[actions.lock_account]]\n\
                 exec = [{s:?}, \"lock\", \"{{user}}\"]\nundo_exec = [{s:?}, \"unlock\", \"{{user}}\"]\n",
                s = script.display().to_string()
            ),
        )
        .unwrap();
        Host {
            name,
            dir,
            agent: None,
        }
    }

    pub(crate) fn start(mut self) -> Host {
        self.agent = Some(Agent::start(self.dir.path()));
        self
    }

    /// Kills the agent (SIGKILL) and starts it again.
    pub(crate) fn restart(&mut self) {
        drop(self.agent.take());
        self.agent = Some(Agent::start(self.dir.path()));
    }

    /// How many times the script ran with `args` (`lock alice`).
    pub(crate) fn ran(&self, args: &str) -> usize {
        std::fs::read_to_string(self.dir.path().join("actions.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == args)
            .count()
    }

    /// Waits until the script ran with `args`; on a time-out, the panic
    /// shows the agent's logs.
    pub(crate) fn wait_ran(&self, args: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while self.ran(args) == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for `{args}` on host {}; its logs:\n{}",
                self.name,
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Every agent log of this directory (one per start), concatenated.
    pub(crate) fn logs(&self) -> String {
        let mut out = String::new();
        for e in std::fs::read_dir(self.dir.path()).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with("agent-") && n.ends_with(".log") {
                out.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        out
    }

    /// The bucket revision this agent's state records as handled.
    fn revision(&self) -> u64 {
        let Ok(s) = loginwatch::state::Store::open_read_only(&self.dir.path().join("state.db"))
        else {
            return 0;
        };
        s.load_resume()
            .unwrap()
            .cursors
            .iter()
            .find(|c| c.source.starts_with("fleet-decisions:"))
            .and_then(|c| c.cursor.rsplit_once(':')?.1.parse().ok())
            .unwrap_or(0)
    }

    /// The audit trail of `id` in this agent's own state: `what` of each line.
    pub(crate) fn audit(&self, id: &str) -> Vec<String> {
        let s =
            loginwatch::state::Store::open_read_only(&self.dir.path().join("state.db")).unwrap();
        s.audit(id).unwrap().into_iter().map(|e| e.what).collect()
    }

    fn append(&self, lines: &[String]) {
        append(&self.dir.path().join("auth.log"), lines);
    }
}

/// The detector's directory: the daemon harness's (shipped rules with the
/// lock lasting `lock`, token, port 0) in mode `enforce`, with the source
/// replaced by `[fleet]`. It has no action of its own: the hosts lock.
pub(crate) fn detector_dir(url: &str, lock: &str) -> tempfile::TempDir {
    let dir = setup(lock);
    let path = dir.path().join("loginwatch.toml");
    let cfg = std::fs::read_to_string(&path).unwrap();
    let cfg = cfg.replace(
        "[[source]]\npath = \"auth.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n",
        &format!("[fleet]\nurl = {url:?}\nhost = \"detector\"\n"),
    );
    assert!(cfg.contains("[fleet]") && !cfg.contains("[[source]]"));
    std::fs::write(&path, format!("mode = \"enforce\"\n{cfg}")).unwrap();
    dir
}

/// `n` failed passwords for `user` on `host`, stamped now (locks end in
/// wall-clock time), numbered from `k0`.
fn failures(host: &str, user: &str, k0: usize, n: usize) -> Vec<String> {
    let t = chrono::Utc::now().to_rfc3339();
    (k0..k0 + n)
        .map(|k| {
            format!(
                "{t} {host} sshd[{}]: Failed password for {user} from 198.51.100.7 port {} ssh2",
                3000 + k,
                30000 + k
            )
        })
        .collect()
}

/// The detector's account lock of `user`.
pub(crate) fn lock_of(det: &Daemon, user: &str) -> Value {
    wait_for(
        &format!("the detector's lock of {user}"),
        Duration::from_secs(60),
        || {
            det.decisions(false).into_iter().find(|d| {
                d["rule"] == "account-lockout" && d["target"]["user"].as_str() == Some(user)
            })
        },
    )
}

/// The bucket's value under `key`, as JSON (`None`: no such key or bucket).
pub(crate) fn bucket_value(url: &str, key: &str) -> Option<Value> {
    block_on(async {
        let js = jetstream(url).await?;
        let kv = js.get_key_value(BUCKET).await.ok()?;
        let v = kv.get(key).await.ok()??;
        serde_json::from_slice(&v).ok()
    })
}

pub(crate) fn wait_bucket_state(url: &str, key: &str, state: &str) -> Value {
    wait_for(
        &format!("{key} {state} in the bucket"),
        Duration::from_secs(60),
        || bucket_value(url, key).filter(|v| v["state"] == state),
    )
}

#[test]
fn a_lock_from_two_hosts_runs_on_every_host_once_and_its_unlock_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let test =
        "fleet_decisions::a_lock_from_two_hosts_runs_on_every_host_once_and_its_unlock_everywhere";
    let Some(nats) = Nats::start(test, tmp.path()) else {
        return;
    };
    let url = nats.url();
    let det_dir = detector_dir(&url, "30m");
    let det = Daemon::start(det_dir.path());
    let mut hosts: Vec<Host> = ["a", "b", "c"]
        .into_iter()
        .map(|h| Host::new(&url, h).start())
        .collect();

    // alice fails 3 times on a and twice on b: the lockout counts 5.
    hosts[0].append(&failures("a", "alice", 0, 3));
    hosts[1].append(&failures("b", "alice", 3, 2));
    let lock = lock_of(&det, "alice");
    let id = lock["id"].as_str().unwrap().to_owned();
    assert_eq!(lock["mode"], "enforce", "{lock}");
    // Every host locks alice, c included, which saw none of her attempts.
    for h in &hosts {
        h.wait_ran("lock alice");
    }
    let v = wait_bucket_state(&url, &id, "active");
    assert_eq!(v["v"], 1);
    // The detector's id: the holder id of its slot, kept beside its state.
    let holder = std::fs::read_to_string(det_dir.path().join("state.db.fleet-id")).unwrap();
    assert_eq!(v["detector"], holder.trim(), "{v}");
    assert_eq!(v["decision"]["target"]["user"], "alice");
    assert_eq!(v["decision"]["action"], "lock_account");

    // A host started after the decision applies it.
    let late = Host::new(&url, "d").start();
    late.wait_ran("lock alice");
    hosts.push(late);
    // A host killed and restarted does not run it again.
    hosts[2].restart();
    wait_for(
        "host c to watch the bucket again",
        Duration::from_secs(60),
        || {
            (hosts[2]
                .logs()
                .matches("Fleet decisions: watching the bucket.")
                .count()
                == 2)
                .then_some(())
        },
    );

    // A value of a later layout is refused by every agent, which goes on.
    put_raw(&url, "from-the-future", br#"{"v":2,"decision":{}}"#);

    // The unlock through the detector's API reaches every host.
    let r = http::post(det.url(&format!("/api/v1/decisions/{id}/unlock")))
        .bearer(&det.token())
        .json(&json!({"by": "helpdesk", "reason": "verified by phone"}))
        .send();
    assert_eq!(r.status, 200, "{}", r.body);
    for h in &hosts {
        h.wait_ran("unlock alice");
    }
    let v = wait_bucket_state(&url, &id, "lifted");
    assert_eq!(v["lifted"]["how"], "unlocked", "{v}");
    assert_eq!(v["lifted"]["by"], "helpdesk", "{v}");
    assert_eq!(v["lifted"]["reason"], "verified by phone", "{v}");
    // Each host ran the lock once and the unlock once: the restarted one
    // skipped the value it had applied (the unlock came after it, in order).
    for h in &hosts {
        assert_eq!(
            (h.ran("lock alice"), h.ran("unlock alice")),
            (1, 1),
            "host {}",
            h.name
        );
    }
    for h in &hosts {
        let log = h.logs();
        assert!(
            log.contains("Fleet decision skipped: not a decision of this layout.")
                && log.contains("decision layout version 2"),
            "host {}: {log}",
            h.name
        );
    }
    // Each host's own state holds the decision and its audit trail, and
    // only the agent's user may read it (it names users).
    use std::os::unix::fs::PermissionsExt as _;
    let db = hosts[2].dir.path().join("state.db");
    let mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", db.display());
    let trail = hosts[2].audit(&id);
    for what in ["decided", "action ok", "unlocked"] {
        assert!(trail.iter().any(|w| w == what), "{what} in {trail:?}");
    }
    let unlocked = det
        .decisions(false)
        .into_iter()
        .find(|d| d["id"] == id.as_str())
        .unwrap();
    assert_eq!(unlocked["status"], "unlocked", "{unlocked}");
}

#[test]
fn a_lock_ends_on_every_host_by_its_own_expiry_while_the_detector_is_down() {
    let tmp = tempfile::tempdir().unwrap();
    let test =
        "fleet_decisions::a_lock_ends_on_every_host_by_its_own_expiry_while_the_detector_is_down";
    let Some(nats) = Nats::start(test, tmp.path()) else {
        return;
    };
    let url = nats.url();
    // Long enough for three agents to apply it, short enough to wait for.
    let det_dir = detector_dir(&url, "10s");
    let det = Daemon::start(det_dir.path());
    let hosts: Vec<Host> = ["a", "b", "c"]
        .into_iter()
        .map(|h| Host::new(&url, h).start())
        .collect();
    hosts[0].append(&failures("a", "bob", 0, 5));
    let lock = lock_of(&det, "bob");
    let id = lock["id"].as_str().unwrap().to_owned();
    for h in &hosts {
        h.wait_ran("lock bob");
    }
    // The detector dies before the lock's end: each host ends it itself.
    det.kill9();
    for h in &hosts {
        h.wait_ran("unlock bob");
    }
    // Back, the detector expires it too and lifts it in the bucket; no host
    // runs the unlock a second time.
    let det = Daemon::start(det_dir.path());
    let v = wait_bucket_state(&url, &id, "lifted");
    assert_eq!(v["lifted"]["how"], "expired", "{v}");
    let status = wait_for("the detector's expiry", Duration::from_secs(30), || {
        det.decisions(false)
            .into_iter()
            .find(|d| d["id"] == id.as_str())
            .filter(|d| d["status"] != "active")
    });
    assert_eq!(status["status"], "expired");
    // The agents take the lifted value within a pass; give them a few.
    std::thread::sleep(Duration::from_secs(3));
    for h in &hosts {
        assert_eq!(
            (h.ran("lock bob"), h.ran("unlock bob")),
            (1, 1),
            "host {}",
            h.name
        );
        let trail = h.audit(&id);
        assert!(trail.iter().any(|w| w == "expired"), "{trail:?}");
    }
}

/// Puts `bytes` under `key`, as another writer of the bucket would.
fn put_raw(url: &str, key: &str, bytes: &'static [u8]) {
    block_on(async {
        let js = jetstream(url).await.unwrap();
        let kv = js.get_key_value(BUCKET).await.unwrap();
        kv.put(key, bytes.into()).await.unwrap();
    })
}

/// With the detector down: deletes `gone`'s key and puts `stray` (a value
/// whose decision the detector's state never had) under its id.
fn tamper(url: &str, gone: &str, stray: &Value) {
    block_on(async {
        let js = jetstream(url).await.unwrap();
        let kv = js.get_key_value(BUCKET).await.unwrap();
        kv.delete(gone).await.unwrap();
        let key = stray["decision"]["id"].as_str().unwrap();
        kv.put(key, stray.to_string().into()).await.unwrap();
    })
}

#[test]
fn a_restarted_detector_makes_the_bucket_equal_to_its_state_again() {
    let tmp = tempfile::tempdir().unwrap();
    let test = "fleet_decisions::a_restarted_detector_makes_the_bucket_equal_to_its_state_again";
    let Some(nats) = Nats::start(test, tmp.path()) else {
        return;
    };
    let url = nats.url();
    let det_dir = detector_dir(&url, "30m");
    let det = Daemon::start(det_dir.path());
    let mut host = Host::new(&url, "a").start();
    host.append(&failures("a", "carol", 0, 5));
    let id = lock_of(&det, "carol")["id"].as_str().unwrap().to_owned();
    let active = wait_bucket_state(&url, &id, "active");
    host.wait_ran("lock carol");
    // Values the agent skips raise its revision cursor above what a bucket
    // made anew will number its first values.
    for k in ["junk-0", "junk-1", "junk-2", "junk-3", "junk-4"] {
        put_raw(&url, k, br#"{"v":2}"#);
    }
    wait_for(
        "the agent to pass the junk",
        Duration::from_secs(60),
        || (host.revision() >= 6).then_some(()),
    );
    // Everything stops; meanwhile the bucket loses carol's key and gains
    // an active decision the detector never made.
    drop(host.agent.take());
    det.kill9();
    let mut stray = active.clone();
    stray["decision"]["id"] = "ffff0000ffff0000".into();
    stray["decision"]["target"]["user"] = "mallory".into();
    tamper(&url, &id, &stray);
    assert!(bucket_value(&url, &id).is_none());

    // Restarted, the detector puts its lock back and lifts the stranger.
    let _det = Daemon::start(det_dir.path());
    let back = wait_bucket_state(&url, &id, "active");
    assert_eq!(back["decision"], active["decision"]);
    let gone = wait_bucket_state(&url, "ffff0000ffff0000", "lifted");
    assert_eq!(gone["lifted"]["how"], "gone", "{gone}");
    assert_eq!(gone["decision"]["target"]["user"], "mallory");

    // The bucket lost while the detector runs: it is made anew and filled.
    delete_bucket(&url);
    let again = wait_for(
        "carol's lock in a new bucket",
        Duration::from_secs(60),
        || {
            bucket_value(&url, &id)
                .filter(|v| v["state"] == "active" && bucket_value(&url, "junk-0").is_none())
        },
    );
    assert_eq!(again["decision"], active["decision"]);
    // The agent, back, counts the new bucket's revisions anew: a new lock
    // (revision 2 there, below its cursor) runs; carol's does not again.
    host.restart();
    host.append(&failures("a", "dave", 10, 5));
    host.wait_ran("lock dave");
    assert_eq!(host.ran("lock carol"), 1);
}

/// Deletes the bucket (its stream), as a server that lost its disk would.
fn delete_bucket(url: &str) {
    block_on(async {
        let js = jetstream(url).await.unwrap();
        js.delete_stream(format!("KV_{BUCKET}")).await.unwrap();
    })
}
