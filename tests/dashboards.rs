//! The dashboards and alerting rules of `dashboards/`, proven against a real
//! Prometheus (the Debian `prometheus` package: `prometheus` and `promtool`).
//!
//! `promtool` checks and unit-tests the rules at their real durations; then the
//! daemon runs a generated scenario (every shipped rule, unparsable lines, a source
//! that stops, a sink that keeps failing) while a real Prometheus scrapes it every
//! second with a copy of the rules whose durations are scaled down (each minute
//! becomes a second: `15m` -> `15s`, the mapping `dashboards/README.md` states).
//! Every panel expression must return data, the expected alerts must fire (not
//! merely go pending) and the others must stay inactive, every rule the daemon loaded must
//! have decided (`dashboards/coverage.rs`), and every exported metric must be
//! used somewhere or listed in the README as deliberately unused. Last the
//! daemon is stopped and LoginwatchDown must fire.

mod coverage;
mod exprs;
mod scenario;
mod servers;
mod setup;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::daemon::append;
use crate::util::{free_port, http, poll, repo, runs};
use exprs::{families, metric_names, panel_exprs, readme_unused, rule_exprs};
use servers::{EVERY, Proc, Prom};

/// True when `prometheus` and `promtool` run; else prints the SKIP line.
fn tools_present(test: &str) -> bool {
    if runs("prometheus", &["--version"]) && runs("promtool", &["--version"]) {
        return true;
    }
    crate::util::skip(
        "prometheus",
        test,
        "prometheus/promtool not installed (apt-get install prometheus)",
    );
    false
}

fn promtool(args: &[&str]) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_checks_and_unit_tests_the_rules() {
    if !tools_present("promtool_checks_and_unit_tests_the_rules") {
        return;
    }
    promtool(&["check", "rules", "dashboards/loginwatch-rules.yml"]);
    promtool(&["test", "rules", "dashboards/loginwatch-rules.test.yml"]);
}

/// The rules with every duration in an expression or a `for:` scaled from
/// minutes to seconds (`[15m]` -> `[15s]`, `offset 15m`, `for: 10m`).
fn scaled_rules(text: &str) -> String {
    let re = regex::Regex::new(r"(\[|offset |for: )(\d+)m\b").unwrap();
    let mut out = re.replace_all(text, "${1}${2}s").into_owned();
    assert!(!out.contains("m]"), "an unscaled range is left:\n{out}");
    // LoginwatchAlertDeliveryFailing needs a retry in every window. The sink's
    // backoff is not scaled (5 s doubling: gaps of 5, 10, 20, 40 s), so a 10 s
    // window would fall to zero between retries and the alert could never
    // fire here; its rate looks over 60 s instead (its `for:` stays 10 s). At
    // the real durations (backoff at most 5 min, window 10 min) `promtool test
    // rules` proves it.
    let start = out
        .find("- alert: LoginwatchAlertDeliveryFailing")
        .expect("the delivery rule");
    let end = out[start + 1..]
        .find("- alert:")
        .map_or(out.len(), |i| start + 1 + i);
    let block = out[start..end].replace("[10s]", "[60s]");
    assert_eq!(block.matches("[60s]").count(), 2, "{block}");
    out.replace_range(start..end, &block);
    out
}

#[test]
fn every_panel_and_rule_shows_data_against_a_real_prometheus() {
    const TEST: &str = "every_panel_and_rule_shows_data_against_a_real_prometheus";
    if !tools_present(TEST) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Nothing listens on this port: every delivery to `hook` is refused.
    setup::setup(d, free_port());
    let loaded = coverage::loaded_rule_ids(&d.join("rules"));
    println!(
        "rules loaded: {loaded:?}; shipped as examples only: {:?}",
        coverage::example_rule_ids(&repo().join("rules"))
    );

    let addr_file = d.join("addr");
    let mut daemon = Proc::spawn(
        "loginwatch",
        Command::new(env!("CARGO_BIN_EXE_loginwatch"))
            .args(["run", "--config"])
            .arg(d.join("loginwatch.toml"))
            .arg("--addr-file")
            .arg(&addr_file)
            .env("LOGINWATCH_LOG", "info"),
        d.join("daemon.log"),
    );
    let addr = poll(
        "the daemon to listen",
        Duration::from_secs(30),
        EVERY,
        || {
            daemon.assert_alive();
            fs::read_to_string(&addr_file)
                .ok()
                .filter(|a| !a.is_empty())
        },
    );
    let metrics_url = format!("http://{addr}/metrics");

    fs::write(
        d.join("rules.yml"),
        scaled_rules(&fs::read_to_string(repo().join("dashboards/loginwatch-rules.yml")).unwrap()),
    )
    .unwrap();
    fs::write(
        d.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n\
             scrape_configs:\n  - job_name: loginwatch\n    static_configs:\n      - targets: [\"{addr}\"]\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let mut prometheus = Proc::spawn(
        "prometheus",
        Command::new("prometheus")
            .arg(format!(
                "--config.file={}",
                d.join("prometheus.yml").display()
            ))
            .arg(format!("--storage.tsdb.path={}", d.join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(d),
        d.join("prometheus.log"),
    );
    let prom = Prom {
        base: format!("http://127.0.0.1:{port}"),
    };
    // A few scrapes of the quiet daemon first, so the burst is an increase.
    poll(
        "three scrapes of the daemon",
        Duration::from_secs(30),
        EVERY,
        || {
            prometheus.assert_alive();
            prom.series("count_over_time(up{job=\"loginwatch\"}[1m]) >= 3 and up == 1")
                .ok()
                .filter(|n| *n == 1)
        },
    );

    let now = chrono::Utc::now();
    append(&d.join("auth.log"), &scenario::auth_burst(now));
    append(&d.join("idp.jsonl"), &scenario::idp_burst(now));
    fs::remove_file(d.join("stopped.log")).unwrap();
    fs::write(
        d.join("rules/broken.toml"),
        "[[rule]]\nid = \"broken\"\nkind = \"nonsense\"\n",
    )
    .unwrap();

    // Expected (alertname, about) firing; the rest must never even be pending.
    let expected: BTreeSet<(&str, &str)> = [
        ("LoginwatchSourceSilent", "source=stopped"),
        ("LoginwatchSourceDown", "source=stopped"),
        ("LoginwatchLockStorm", ""),
        ("LoginwatchFailureRatioSpike", ""),
        ("LoginwatchRuleReloadFailing", ""),
        ("LoginwatchAlertDeliveryFailing", "sink=hook"),
        ("LoginwatchAlertOutboxGrowing", "sink=hook"),
    ]
    .into_iter()
    .collect();
    let mut seen: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    // The longest scaled `for:` is 15 s, after a 15 s window: 90 s is ample.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut n = 0;
    loop {
        daemon.assert_alive();
        prometheus.assert_alive();
        let (auth, idp) = scenario::trickle(chrono::Utc::now(), n);
        append(&d.join("auth.log"), &auth);
        append(&d.join("idp.jsonl"), &idp);
        n += 1;
        for (name, about, state) in prom.alerts() {
            // Instance-wide alerts are keyed without the instance.
            let about = if about.starts_with("instance=") {
                String::new()
            } else {
                about
            };
            seen.entry((name, about)).or_default().insert(state);
        }
        let all_firing = expected.iter().all(|(a, b)| {
            seen.get(&(a.to_string(), b.to_string()))
                .is_some_and(|s| s.contains("firing"))
        });
        if all_firing || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    println!("alerts seen: {seen:?}");
    // Every expected alert fired: each rule's `for:` (scaled to seconds) has
    // held, not merely begun (pending).
    let never_fired: Vec<_> = expected
        .iter()
        .filter(|(a, b)| {
            !seen
                .get(&(a.to_string(), b.to_string()))
                .is_some_and(|s| s.contains("firing"))
        })
        .collect();
    assert!(
        never_fired.is_empty(),
        "never firing within the deadline: {never_fired:?}; seen: {seen:?}"
    );
    let unexpected: Vec<_> = seen
        .keys()
        .filter(|(a, b)| !expected.contains(&(a.as_str(), b.as_str())))
        .collect();
    assert!(
        unexpected.is_empty(),
        "alerts that should have stayed inactive: {unexpected:?}"
    );

    // Every panel expression parses and shows at least one series.
    let mut failures = Vec::new();
    for (file, title, expr) in panel_exprs() {
        match prom.series(&expr) {
            Ok(0) => failures.push(format!("{file}: panel {title:?}: no series for {expr}")),
            Ok(_) => {}
            Err(e) => failures.push(format!("{file}: panel {title:?}: {e} in {expr}")),
        }
    }
    assert!(
        failures.is_empty(),
        "panels without data:\n{}",
        failures.join("\n")
    );

    // Every rule the daemon loaded made a decision: the daemon reports the same
    // rules as the files it read (a tracked-keys series per rule), and each of
    // them (but the named exceptions) shows in the decisions counter.
    let by_rule = |q: &str| -> BTreeSet<String> {
        let d = prom.get("/api/v1/query", &[("query", q)]).unwrap();
        d["result"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["metric"]["rule"].as_str().map(str::to_string))
            .collect()
    };
    let reported = by_rule("count by (rule) (loginwatch_tracked_keys)");
    assert_eq!(
        reported, loaded,
        "the daemon's rules (metrics) differ from its rule files"
    );
    // Decisions are committed within a second or two of their lines; the burst
    // is well past by now, so this wait is only a margin for a slow machine.
    let deadline = Instant::now() + Duration::from_secs(20);
    let decided = loop {
        let decided = by_rule("count by (rule) (loginwatch_decisions_total)");
        if loaded.is_subset(&decided) || Instant::now() > deadline {
            break decided;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    coverage::assert_every_rule_decided(&loaded, &decided);
    // Every decision is counted with its assessment, one of the three values
    // the "Locks: user error vs attack" panel stacks.
    let assessed = prom
        .get(
            "/api/v1/query",
            &[(
                "query",
                "count by (assessment) (loginwatch_decisions_total)",
            )],
        )
        .unwrap();
    let assessments: BTreeSet<&str> = assessed["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| r["metric"]["assessment"].as_str().unwrap_or_default())
        .collect();
    println!("assessments counted: {assessments:?}");
    assert!(
        !assessments.is_empty()
            && assessments
                .iter()
                .all(|a| ["user_error", "attack", "unclear"].contains(a)),
        "decisions without a known assessment: {assessed}"
    );
    // No token configured: the daemon generated one beside its state file.
    let token = fs::read_to_string(d.join("admin.token")).unwrap();
    let decisions: Value = http::get(format!("http://{addr}/api/v1/decisions"))
        .bearer(token.trim())
        .send()
        .json();
    coverage::assert_targeted(&decisions);

    // The exposition passes promtool's checks; every family is used somewhere
    // or documented as unused, and every metric named exists.
    let text = http::get(&metrics_url).send().body;
    crate::util::promtool_check_metrics("the dashboards test", &text);
    let fams = families(&text);
    let rules_text = fs::read_to_string(repo().join("dashboards/loginwatch-rules.yml")).unwrap();
    let mut named = BTreeSet::new();
    for (_, _, e) in panel_exprs() {
        named.extend(metric_names(&e));
    }
    for (_, e) in rule_exprs(&rules_text) {
        named.extend(metric_names(&e));
    }
    let family_of = |name: &str| -> Option<String> {
        if fams.contains_key(name) {
            return Some(name.to_string());
        }
        ["_bucket", "_sum", "_count"].iter().find_map(|s| {
            name.strip_suffix(s)
                .filter(|f| fams.get(*f).is_some_and(|t| t == "histogram"))
                .map(str::to_string)
        })
    };
    let missing: Vec<_> = named.iter().filter(|m| family_of(m).is_none()).collect();
    assert!(
        missing.is_empty(),
        "panels or rules name metrics the daemon does not export: {missing:?}"
    );
    let used: BTreeSet<String> = named.iter().filter_map(|m| family_of(m)).collect();
    let unused = readme_unused();
    let orphans: Vec<_> = fams
        .keys()
        .filter(|f| !used.contains(*f) && !unused.contains(*f))
        .collect();
    assert!(
        orphans.is_empty(),
        "exported metrics in no panel or rule and not in the README's unused list: {orphans:?}"
    );
    let stale: Vec<_> = unused.iter().filter(|u| used.contains(*u)).collect();
    assert!(
        stale.is_empty(),
        "README lists as unused metrics that are used: {stale:?}"
    );

    // The daemon stops: Prometheus' scrapes fail, LoginwatchDown goes firing
    // after its (scaled) `for`, and the "Daemon up" panel shows it DOWN while
    // every panel fed by the daemon's own metrics goes blank.
    let status = daemon.terminate();
    assert!(status.success(), "loginwatch exited {status} on SIGTERM");
    let (_, down_expr) = rule_exprs(&rules_text)
        .into_iter()
        .find(|(a, _)| a == "LoginwatchDown")
        .expect("the rules have LoginwatchDown");
    let states = poll(
        "LoginwatchDown to fire after the daemon stopped",
        Duration::from_secs(30),
        EVERY,
        || {
            prometheus.assert_alive();
            let states: BTreeSet<String> = prom
                .alerts()
                .into_iter()
                .filter(|(a, _, _)| a == "LoginwatchDown")
                .map(|(_, _, s)| s)
                .collect();
            states.contains("firing").then_some(states)
        },
    );
    println!("LoginwatchDown: {states:?}");
    assert_eq!(prom.series(&down_expr), Ok(1), "{down_expr}");
    let (_, _, up_expr) = panel_exprs()
        .into_iter()
        .find(|(_, title, _)| title == "Daemon up")
        .expect("the dashboard has a Daemon up panel");
    let answer = prom.get("/api/v1/query", &[("query", &up_expr)]).unwrap();
    let values: Vec<&str> = answer["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["value"][1].as_str())
        .collect();
    assert_eq!(values, ["0"], "Daemon up panel after the stop: {up_expr}");
}
