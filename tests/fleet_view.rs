//! Fleet mode, one view over several detectors: the API of each detector
//! lists every detector's decisions (from the decisions bucket), each marked
//! with its holder, and an unlock through any detector reaches the detector
//! holding the decision, whose lift every agent undoes. Real processes: a
//! `nats-server -js` on loopback, three agents (a, b, c) whose lock and
//! block actions are a script appending `lock <user>`, `block <ip>`, ... to
//! a file of their own, a detector of the user group and one of the address
//! group, both in mode `enforce`.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::detector::{detector_dir, failure};
use crate::fleet::Agent;
use crate::fleet_decisions::wait_bucket_state;
use crate::util::daemon::{Daemon, append};
use crate::util::nats::{Nats, block_on, jetstream};
use crate::util::{http, lw, wait_for};

/// An agent's directory: `auth.log`, a script recording its arguments in
/// `actions.log`, and a config running it for account locks and address
/// blocks (and their undo).
struct Host {
    name: &'static str,
    dir: tempfile::TempDir,
    _agent: Agent,
}

impl Host {
    fn start(url: &str, name: &'static str) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("auth.log"), "").unwrap();
        let script = d.join("act.sh");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$@\" >> {}\n",
                d.join("actions.log").display()
            ),
        )
        .unwrap();
        let chmod = Command::new("chmod").arg("755").arg(&script).status();
        assert!(chmod.unwrap().success());
        let s = script.display().to_string();
        std::fs::write(
            d.join("loginwatch.toml"),
            format!(
                "state_path = \"state.db\"\npoll_interval = \"1s\"\n\
                 [[source]]\npath = \"auth.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n\
                 [fleet]\nurl = {url:?}\nhost = {name:?}\n\
                 [actions]\ntimeout = \"5s\"\n\
                 [[actions.lock_account]]\n\
                 exec = [{s:?}, \"lock\", \"{{user}}\"]\nundo_exec = [{s:?}, \"unlock\", \"{{user}}\"]\n\
                 [[actions.block_ip]]\n\
                 exec = [{s:?}, \"block\", \"{{ip}}\"]\nundo_exec = [{s:?}, \"unblock\", \"{{ip}}\"]\n"
            ),
        )
        .unwrap();
        let agent = Agent::start(d);
        Host {
            name,
            dir,
            _agent: agent,
        }
    }

    fn ran(&self, args: &str) -> usize {
        std::fs::read_to_string(self.dir.path().join("actions.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == args)
            .count()
    }

    fn wait_ran(&self, args: &str) {
        wait_for(
            &format!("`{args}` on host {}", self.name),
            Duration::from_secs(60),
            || (self.ran(args) > 0).then_some(()),
        );
    }

    fn append(&self, lines: &[String]) {
        append(&self.dir.path().join("auth.log"), lines);
    }
}

/// A detector of `group` (its only member), in mode `enforce`.
fn group_dir(url: &str, group: &str) -> tempfile::TempDir {
    let dir = detector_dir(url);
    let path = dir.path().join("loginwatch.toml");
    let cfg = std::fs::read_to_string(&path).unwrap().replace(
        "host = \"detector\"\n",
        &format!("host = \"detector\"\ngroup = \"{group}\"\nmembers = 1\nmember = 0\n"),
    );
    assert!(cfg.contains("group = "), "{cfg}");
    std::fs::write(&path, format!("mode = \"enforce\"\n{cfg}")).unwrap();
    dir
}

/// The detector's holder id, kept beside its state.
fn holder(dir: &tempfile::TempDir) -> String {
    wait_for("the holder id", Duration::from_secs(30), || {
        std::fs::read_to_string(dir.path().join("state.db.fleet-id"))
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    })
}

/// The decision of `rule` for `key` (user or address) in `d`'s list.
fn find(d: &Daemon, rule: &str, key: &str) -> Option<Value> {
    d.decisions(false).into_iter().find(|x| {
        let t = &x["target"];
        x["rule"] == rule && (t["user"].as_str() == Some(key) || t["ip"].as_str() == Some(key))
    })
}

fn wait_find(d: &Daemon, rule: &str, key: &str, status: &str) -> Value {
    wait_for(
        &format!("{rule} for {key} {status} in a detector's list"),
        Duration::from_secs(60),
        || find(d, rule, key).filter(|x| x["status"] == status),
    )
}

fn unlock(d: &Daemon, id: &str, by: &str) -> http::Reply {
    http::post(d.url(&format!("/api/v1/decisions/{id}/unlock")))
        .bearer(&d.token())
        .json(&json!({"by": by, "reason": "a scanner of ours"}))
        .timeout(Duration::from_secs(30))
        .send()
}

#[test]
fn every_detector_shows_the_fleets_decisions_and_unlocks_them_where_they_are_held() {
    let tmp = tempfile::tempdir().unwrap();
    let test = "fleet_view::every_detector_shows_the_fleets_decisions_and_unlocks_them_where_they_are_held";
    let Some(nats) = Nats::start(test, tmp.path()) else {
        return;
    };
    let url = nats.url();
    let (u_dir, a_dir) = (group_dir(&url, "user"), group_dir(&url, "address"));
    let users = Daemon::start(u_dir.path());
    let addrs = Daemon::start(a_dir.path());
    let (u_id, a_id) = (holder(&u_dir), holder(&a_dir));
    let hosts: Vec<Host> = ["a", "b", "c"]
        .into_iter()
        .map(|h| Host::start(&url, h))
        .collect();
    for d in [&users, &addrs] {
        wait_for("each detector to serve", Duration::from_secs(30), || {
            let log = d.log();
            (log.contains("Consuming the fleet's events.")
                && log.contains("Fleet unlocks: answering"))
            .then_some(())
        });
    }

    // A spray from 192.0.2.50, 5 users on a and 5 on b (blocked at 10);
    // alice fails 3 times on a and twice on b (locked at 5).
    for (i, h) in hosts[..2].iter().enumerate() {
        let lines: Vec<String> = (0..5)
            .map(|k| failure(h.name, &format!("s{i}{k}"), "192.0.2.50", i * 5 + k))
            .collect();
        h.append(&lines);
    }
    let alice = |h: &Host, ks: std::ops::Range<usize>| -> Vec<String> {
        ks.map(|k| failure(h.name, "alice", "198.51.100.10", 20 + k))
            .collect()
    };
    hosts[0].append(&alice(&hosts[0], 0..3));
    hosts[1].append(&alice(&hosts[1], 3..5));

    // Each detector lists both: its own and the other's, each marked with
    // the detector holding it.
    for d in [&users, &addrs] {
        let lock = wait_find(d, "account-lockout", "alice", "active");
        let spray = wait_find(d, "password-spray", "192.0.2.50", "active");
        assert_eq!(lock["detector"], u_id.as_str(), "{lock}");
        assert_eq!(spray["detector"], a_id.as_str(), "{spray}");
        assert_eq!(spray["action"], "block_ip", "{spray}");
        let active = d.decisions(true);
        assert_eq!(active.len(), 2, "{active:#?}");
    }
    // A value of a later layout is skipped and counted; the lists go on.
    block_on(async {
        let js = jetstream(&url).await.unwrap();
        let kv = js.get_key_value("loginwatch_decisions").await.unwrap();
        let v2 = br#"{"v":2,"detector":"x","decision":{"id":"from-the-future"}}"#;
        kv.put("from-the-future", v2[..].into()).await.unwrap();
    });
    for d in [&users, &addrs] {
        wait_for("the skipped value counted", Duration::from_secs(30), || {
            (d.metric("loginwatch_fleet_view_skipped_total") >= 1.0).then_some(())
        });
        assert_eq!(d.decisions(true).len(), 2);
    }
    let lock = find(&users, "account-lockout", "alice").unwrap();
    let spray = find(&users, "password-spray", "192.0.2.50").unwrap();
    let (lock_id, spray_id) = (
        lock["id"].as_str().unwrap().to_owned(),
        spray["id"].as_str().unwrap().to_owned(),
    );
    for h in &hosts {
        h.wait_ran("lock alice");
        h.wait_ran("block 192.0.2.50");
    }
    // The other detector's decision on its own page, and an account's
    // decisions in force, whoever holds them.
    let page = users.get(&format!("/api/v1/decisions/{spray_id}"));
    assert_eq!(page["decision"]["detector"], a_id.as_str(), "{page}");
    assert_eq!(page["audit"][0]["what"], "decided", "{page}");
    let account = addrs.get("/api/v1/accounts/alice");
    assert_eq!(
        account["active_decisions"][0]["id"],
        lock_id.as_str(),
        "{account}"
    );
    assert_eq!(account["active_decisions"][0]["detector"], u_id.as_str());
    // The CLI lists through the API: both, with their holders.
    let token = u_dir.path().join("token").display().to_string();
    let o = lw()
        .args([
            "decisions",
            "list",
            "--json",
            "--url",
            &users.url(""),
            "--token-file",
            &token,
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let out = String::from_utf8(o.stdout).unwrap();
    let listed: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let holders: Vec<(&str, &str)> = listed
        .iter()
        .map(|x| (x["id"].as_str().unwrap(), x["detector"].as_str().unwrap()))
        .collect();
    assert!(
        holders.contains(&(lock_id.as_str(), u_id.as_str())),
        "{out}"
    );
    assert!(
        holders.contains(&(spray_id.as_str(), a_id.as_str())),
        "{out}"
    );

    // The address detector's block, unlocked through the user detector's
    // API: the holder unlocks it, every agent runs the undo.
    let r = unlock(&users, &spray_id, "helpdesk-eve");
    assert_eq!(r.status, 200, "{}", r.body);
    let rec = r.json()["decision"].clone();
    assert_eq!(rec["status"], "unlocked", "{rec}");
    assert_eq!(rec["unlocked_by"], "helpdesk-eve", "{rec}");
    assert_eq!(rec["detector"], a_id.as_str(), "{rec}");
    for h in &hosts {
        h.wait_ran("unblock 192.0.2.50");
    }
    let v = wait_bucket_state(&url, &spray_id, "lifted");
    assert_eq!(v["lifted"]["by"], "helpdesk-eve", "{v}");
    assert_eq!(v["detector"], a_id.as_str(), "{v}");
    // In the holder's own state and audit trail: the admin's name, reason
    // and credential, and the detector the request came through.
    let own = addrs.get(&format!("/api/v1/decisions/{spray_id}"));
    assert_eq!(own["decision"]["status"], "unlocked", "{own}");
    let line = own["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["what"] == "unlocked")
        .cloned()
        .unwrap_or_default();
    assert_eq!(line["who"], "helpdesk-eve", "{own}");
    assert_eq!(line["detail"], "a scanner of ours", "{own}");
    let cred = line["credential"].as_str().unwrap_or_default();
    assert!(
        cred.starts_with("token:") && cred.ends_with(&format!(" via fleet detector {u_id}")),
        "{own}"
    );
    // Both detectors list it as unlocked; once again is a conflict.
    wait_find(&users, "password-spray", "192.0.2.50", "unlocked");
    let again = unlock(&users, &spray_id, "helpdesk-eve");
    assert_eq!(again.status, 409, "{}", again.body);
    for h in &hosts {
        assert_eq!(h.ran("block 192.0.2.50"), 1, "host {}", h.name);
        assert_eq!(h.ran("unblock 192.0.2.50"), 1, "host {}", h.name);
    }

    // The user detector stopped: its lock cannot be unlocked through the
    // address detector, which says so and names it.
    assert!(users.terminate().success());
    let t0 = std::time::Instant::now();
    let r = unlock(&addrs, &lock_id, "helpdesk-eve");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
    let error = r.json()["error"].as_str().unwrap_or_default().to_owned();
    assert!(
        error.contains(&u_id) && error.contains("not unlocked"),
        "{error}"
    );
    let still = find(&addrs, "account-lockout", "alice").unwrap();
    assert_eq!(still["status"], "active", "{still}");
    std::thread::sleep(Duration::from_secs(1));
    for h in &hosts {
        assert_eq!(h.ran("unlock alice"), 0, "host {}", h.name);
    }
}
