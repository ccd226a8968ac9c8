//! The dashboards and alerting rules of `dashboards/`, proven against a real
//! Prometheus (the Debian `prometheus` package: `prometheus` and `promtool`).
//!
//! `promtool` checks and unit-tests the rules at their real durations; then the
//! daemon runs a generated scenario (every rule family, unparsable lines, a source
//! that stops, a sink that keeps failing) while a real Prometheus scrapes it every
//! second with a copy of the rules whose durations are scaled down (each minute
//! becomes a second: `15m` -> `15s`, the mapping `dashboards/README.md` states).
//! Every panel expression must return data, the expected alerts must go pending or
//! firing and the others must stay inactive, and every exported metric must be
//! used somewhere or listed in the README as deliberately unused.

mod exprs;
mod scenario;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::enrich::mmdb::{Builder, V, map};
use exprs::{families, metric_names, panel_exprs, readme_unused, rule_exprs};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// True when `prometheus` and `promtool` run; else prints the SKIP line.
fn tools_present(test: &str) -> bool {
    let ok = |bin: &str| {
        Command::new(bin)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ok("prometheus") && ok("promtool") {
        return true;
    }
    println!("SKIP {test}: prometheus/promtool not installed (apt-get install prometheus)");
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
    let out = re.replace_all(text, "${1}${2}s").into_owned();
    assert!(!out.contains("m]"), "an unscaled range is left:\n{out}");
    out
}

/// A child process killed when dropped (the daemon, Prometheus).
struct Proc(Child, &'static str, PathBuf);

impl Proc {
    fn spawn(what: &'static str, cmd: &mut Command, log: PathBuf) -> Proc {
        let child = cmd
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {what}: {e}"));
        Proc(child, what, log)
    }

    fn assert_alive(&mut self) {
        if let Ok(Some(s)) = self.0.try_wait() {
            panic!(
                "{} exited ({s}):\n{}",
                self.1,
                fs::read_to_string(&self.2).unwrap_or_default()
            );
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `f` every 200 ms until it returns `Some`, or panics after `limit`.
fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn append(path: &Path, lines: &[String]) {
    let mut f = OpenOptions::new().append(true).open(path).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

/// A City database: 192.0.2.0/24 in Tokyo, 2001:db8::/32 in Linköping.
fn city_db() -> Vec<u8> {
    let place = |iso: &'static str, lat: f64, lon: f64| {
        map(&[
            ("country", map(&[("iso_code", V::Str(iso))])),
            (
                "location",
                map(&[("latitude", V::Double(lat)), ("longitude", V::Double(lon))]),
            ),
        ])
    };
    let mut b = Builder::new("GeoLite2-City");
    b.insert("192.0.2.0/24", place("JP", 35.6895, 139.6917))
        .insert("2001:db8::/32", place("SE", 58.4167, 15.6167));
    b.build()
}

/// The shipped rules with account-lockout capped at 10 keys (so the 25-account
/// storm evicts), plus the daemon's configuration: two live sources, one that
/// stops, a webhook sink on a closed port and a file sink that works.
fn setup(dir: &Path, hook_port: u16) {
    let rules = dir.join("rules");
    fs::create_dir(&rules).unwrap();
    for e in fs::read_dir(repo().join("rules")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) == Some("toml") {
            let mut text = fs::read_to_string(&p).unwrap();
            if p.file_name().unwrap() == "accounts.toml" {
                let id = "id = \"account-lockout\"\n";
                assert!(text.contains(id));
                text = text.replacen(id, &format!("{id}max_keys = 10\n"), 1);
            }
            fs::write(rules.join(p.file_name().unwrap()), text).unwrap();
        }
    }
    fs::write(dir.join("city.mmdb"), city_db()).unwrap();
    let now = chrono::Utc::now();
    fs::write(dir.join("auth.log"), "").unwrap();
    fs::write(
        dir.join("idp.jsonl"),
        scenario::idp_history(now).join("\n") + "\n",
    )
    .unwrap();
    let stopped: Vec<String> = (0..3)
        .map(|i| {
            format!(
                "{} web2 sshd[{}]: Accepted publickey for deploy from 192.0.2.99 port 600{i} ssh2",
                now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                900 + i
            )
        })
        .collect();
    fs::write(dir.join("stopped.log"), stopped.join("\n") + "\n").unwrap();
    fs::write(
        dir.join("loginwatch.toml"),
        format!(
            "state_path = \"state.db\"\nrules_dir = \"rules\"\ngeoip = [\"city.mmdb\"]\n\
             poll_interval = \"1s\"\ncheckpoint_interval = \"1s\"\n\
             [http]\nlisten = \"127.0.0.1:0\"\n\
             [[source]]\nname = \"auth\"\npath = \"auth.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n\
             [[source]]\nname = \"idp\"\npath = \"idp.jsonl\"\nformat = \"ecs\"\n\
             [[source]]\nname = \"stopped\"\npath = \"stopped.log\"\nformat = \"sshd\"\ntz = \"UTC\"\n\
             [[alert.sink]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{hook_port}/hook\"\ntimeout = \"2s\"\n\
             [[alert.sink]]\nname = \"siem\"\ntype = \"file\"\npath = \"alerts.jsonl\"\n"
        ),
    )
    .unwrap();
}

/// A Prometheus HTTP API client on loopback.
struct Prom {
    base: String,
    http: reqwest::blocking::Client,
}

impl Prom {
    fn get(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, String> {
        let url = reqwest::Url::parse_with_params(&format!("{}{path}", self.base), params)
            .map_err(|e| e.to_string())?;
        let v: Value = self
            .http
            .get(url)
            .send()
            .and_then(|r| r.json())
            .map_err(|e| e.to_string())?;
        if v["status"] != "success" {
            return Err(format!("{}: {}", v["errorType"], v["error"]));
        }
        Ok(v["data"].clone())
    }

    /// The number of series an instant query returns.
    fn series(&self, q: &str) -> Result<usize, String> {
        let d = self.get("/api/v1/query", &[("query", q)])?;
        Ok(d["result"].as_array().map_or(0, Vec::len))
    }

    /// (alertname, the label that says what it is about, state) of every alert.
    fn alerts(&self) -> Vec<(String, String, String)> {
        let d = self.get("/api/v1/alerts", &[]).unwrap();
        d["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| {
                let l = &a["labels"];
                let about = ["source", "sink", "instance"]
                    .iter()
                    .find_map(|k| l[*k].as_str().map(|v| format!("{k}={v}")))
                    .unwrap_or_default();
                let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
                (s(&l["alertname"]), about, s(&a["state"]))
            })
            .collect()
    }
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
    setup(d, free_port());

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
    let addr = wait_for("the daemon to listen", Duration::from_secs(30), || {
        daemon.assert_alive();
        fs::read_to_string(&addr_file)
            .ok()
            .filter(|a| !a.is_empty())
    });
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
        http: reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    };
    // A few scrapes of the quiet daemon first, so the burst is an increase.
    wait_for(
        "three scrapes of the daemon",
        Duration::from_secs(30),
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

    // Expected (alertname, about) pending or firing; the rest must never be.
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
    let deadline = Instant::now() + Duration::from_secs(60);
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
    for (a, b) in &expected {
        assert!(
            seen.contains_key(&(a.to_string(), b.to_string())),
            "{a} {b} never went pending or firing; seen: {seen:?}"
        );
    }
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

    // The scenario reached every rule family it is written for.
    let d = prom
        .get(
            "/api/v1/query",
            &[("query", "sum by (rule) (loginwatch_decisions_total)")],
        )
        .unwrap();
    let rules: BTreeSet<&str> = d["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["metric"]["rule"].as_str())
        .collect();
    let wanted = [
        "account-lockout",
        "password-spray",
        "ip-bruteforce",
        "distributed-bruteforce",
        "success-after-failures",
        "user-enumeration",
        "mfa-failures",
        "mfa-fatigue-success",
        "disabled-account-attempts",
        "expired-password",
        "impossible-travel",
        "new-country",
    ];
    let missed: Vec<_> = wanted.iter().filter(|r| !rules.contains(**r)).collect();
    assert!(
        missed.is_empty(),
        "rules the scenario did not trigger: {missed:?} (got {rules:?})"
    );

    // The exposition passes promtool's checks; every family is used somewhere
    // or documented as unused, and every metric named exists.
    let text = reqwest::blocking::get(&metrics_url)
        .unwrap()
        .text()
        .unwrap();
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
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
}
