//! Fleet mode on a cluster, and the detector's readiness. Real processes:
//! three `nats-server -js` routed together, the stream at replicas 3, an
//! agent publishing 2,000 lines and a detector consuming them; the node the
//! agent is connected to is killed (SIGKILL) mid-stream, and every event
//! still reaches the stream exactly once and every lockout is decided once.
//! A detector started before NATS answers `/readyz` 503 with the reason
//! until it consumes.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use crate::fleet_buffer::{Agent, setup_toml};
use crate::util::daemon::{Daemon, append, setup};
use crate::util::nats::{Nats, block_on, jetstream, read_stream};
use crate::util::{free_port, http, wait_for, wait_until};

const STREAM: &str = "LOGINWATCH_EVENTS";

/// The detector's directory: the daemon harness's with its source replaced
/// by `[fleet]` at `url` (a TOML string or list) and `extra` keys.
fn detector_dir(url: &str, extra: &str) -> tempfile::TempDir {
    let dir = setup("30m");
    let path = dir.path().join("loginwatch.toml");
    let cfg = std::fs::read_to_string(&path).unwrap().replace(
        "[[source]]\npath = \"auth.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n",
        &format!("[fleet]\nurl = {url}\nhost = \"detector\"\n{extra}"),
    );
    assert!(!cfg.contains("[[source]]"));
    std::fs::write(&path, cfg).unwrap();
    dir
}

/// User `l<i>` fails 5 times from its own address: 400 users, 2,000 lines,
/// in the last ten minutes (the rules run in event time).
fn lockout_lines() -> Vec<String> {
    let t0 = chrono::Utc::now() - chrono::Duration::seconds(600);
    (0..2000)
        .map(|n| {
            let (i, j) = (n / 5, n % 5);
            let t = t0 + chrono::Duration::milliseconds(n as i64 * 250);
            format!(
                "{} web1 sshd[{}]: Failed password for l{i} from 198.18.{}.{} port {} ssh2",
                t.to_rfc3339(),
                3000 + n,
                i / 200,
                i % 200 + 1,
                40000 + j
            )
        })
        .collect()
}

/// The stream's replicas, read through `url`.
fn replicas(url: &str) -> usize {
    block_on(async {
        let js = jetstream(url).await.unwrap();
        let mut s = js.get_stream(STREAM).await.unwrap();
        s.info().await.unwrap().config.num_replicas
    })
}

/// The count of the stream's messages, read through `url`.
fn stream_len(url: &str) -> usize {
    read_stream(url, STREAM).len()
}

#[test]
fn a_nats_node_killed_in_the_cluster_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let test = "fleet_cluster::a_nats_node_killed_in_the_cluster_loses_nothing";
    let Some(mut nodes) = Nats::cluster(test, dir.path()) else {
        return;
    };
    let urls: Vec<String> = nodes.iter().map(Nats::url).collect();
    let list = format!(
        "[{}]",
        urls.iter()
            .map(|u| format!("{u:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let det_dir = detector_dir(&list, "replicas = 3\n");
    let det = Daemon::start(det_dir.path());
    wait_until("the detector consuming", Duration::from_secs(60), || {
        http::get(det.url("/readyz")).send().status == 200
    });
    let d = setup_toml(&list, "replicas = 3\n");
    let log = d.path().join("auth.log");
    let agent = Agent::start(d.path());
    let lines = lockout_lines();
    append(&log, &lines[..600]);
    // Mid-stream: some events stored, the agent's node killed.
    wait_until("events stored", Duration::from_secs(60), || {
        stream_len(&urls[0]) >= 200
    });
    assert_eq!(replicas(&urls[2]), 3, "[fleet] replicas made the stream");
    let victim = wait_for("the agent's node", Duration::from_secs(20), || {
        nodes
            .iter()
            .position(|n| n.has_client("loginwatch-agent web1"))
    });
    nodes[victim].kill();
    for chunk in lines[600..].chunks(200) {
        append(&log, chunk);
        std::thread::sleep(Duration::from_millis(100));
    }
    let other = &urls[(victim + 1) % 3];
    let stored = wait_for(
        "2000 events in the stream",
        Duration::from_secs(120),
        || {
            let s = read_stream(other, STREAM);
            (s.len() >= 2000).then_some(s)
        },
    );
    // Settled: nothing more arrives.
    std::thread::sleep(Duration::from_secs(1));
    let stored_again = read_stream(other, STREAM);
    assert_eq!(stored_again.len(), 2000, "no duplicate after the kill");
    let ids: HashSet<&str> = stored.iter().filter_map(|s| s.msg_id.as_deref()).collect();
    assert_eq!(ids.len(), 2000, "distinct message ids");
    let events: HashSet<(String, u64)> = stored
        .iter()
        .map(|s| {
            let e = &s.body["event"];
            (
                e["user"].as_str().unwrap().to_owned(),
                e["process"]["pid"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(events.len(), 2000, "each line's event once");
    assert!(
        agent.log().contains("Disconnected from NATS"),
        "{}",
        agent.log()
    );
    // Each event acked once as stored; a re-sent one again as a duplicate.
    let acked = agent.metric("loginwatch_fleet_published_total")
        + agent.metric("loginwatch_fleet_duplicates_total");
    assert!(acked >= 2000.0, "{acked}");

    // The detector (it may have been on the killed node too) decides
    // each user's lockout once.
    let locks = wait_for("400 lockouts", Duration::from_secs(120), || {
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for x in det.decisions(false) {
            if x["rule"] == "account-lockout"
                && let Some(u) = x["target"]["user"].as_str()
            {
                *by.entry(u.to_owned()).or_default() += 1;
            }
        }
        (by.len() >= 400).then_some(by)
    });
    let want: Vec<String> = {
        let mut w: Vec<String> = (0..400).map(|i| format!("l{i}")).collect();
        w.sort();
        w
    };
    assert_eq!(locks.keys().cloned().collect::<Vec<_>>(), want);
    assert!(locks.values().all(|n| *n == 1), "{locks:?}");
    assert_eq!(
        det.metric("loginwatch_events_total{outcome=\"failure\",source=\"fleet\"}"),
        2000.0,
        "every event applied once"
    );
}

#[test]
fn the_detector_is_not_ready_until_it_consumes() {
    let Some(bin) = crate::util::nats::binary() else {
        crate::util::skip(
            "nats-server",
            "fleet_cluster::the_detector_is_not_ready_until_it_consumes",
            "nats-server is not installed",
        );
        return;
    };
    drop(bin);
    let port = free_port();
    let url = format!("nats://127.0.0.1:{port}");
    let det_dir = detector_dir(&format!("{url:?}"), "");
    let det = Daemon::start(det_dir.path());
    let r = http::get(det.url("/readyz")).send();
    assert_eq!(r.status, 503, "{}", r.body);
    let v = r.json();
    assert_eq!(v["problems"][0]["component"], "fleet", "{v}");
    assert_eq!(
        v["problems"][0]["message"], "not connected to NATS (reconnecting)",
        "{v}"
    );
    // Logged once serving, a moment after the address file is written.
    let log = wait_for("the status line", Duration::from_secs(20), || {
        let log = det.log();
        log.contains("Consuming the fleet's stream LOGINWATCH_EVENTS with")
            .then_some(log)
    });
    assert!(!log.contains("Watching 0 sources"), "{log}");

    let dir = tempfile::tempdir().unwrap();
    let mut nats = Nats::start_on("fleet_cluster::detector_ready", dir.path(), port).unwrap();
    wait_until("ready", Duration::from_secs(60), || {
        http::get(det.url("/readyz")).send().status == 200
    });
    nats.kill();
    wait_until("not ready again", Duration::from_secs(30), || {
        http::get(det.url("/readyz")).send().status == 503
    });
}
