//! Golden scenarios: `tests/scenarios/<name>/` holds `input.log` or `input.jsonl` (or inputs named in `args`),
//! optionally `rules/` (else the shipped `rules/`) and `args` (extra CLI
//! arguments, one per line), and `expected.jsonl`: the exact output of
//! `loginwatch replay --json --tz UTC --year 2026`, decisions then the summary.
//!
//! A scenario may also ask the help desk's question: `why` holds one question
//! per line (`USER [--at RFC3339]`; blank lines and `#` comments skipped) and
//! `why.jsonl` the exact `loginwatch why USER ... --json` answer to each, in
//! order. Each answer is also printed for people, in English and Japanese, and
//! must name every cause of the JSON, hold no raw control character, and (in
//! Japanese) be Japanese. Every cause `why` knows must be the first cause of
//! some answer ([`every_cause_has_a_golden_scenario`]).
//!
//! A `geoip.json` (`{"database_type": ..., "networks": {"CIDR": record}}`)
//! is built into a MaxMind database for the run and passed as `--geoip`, so
//! the scenario stays readable text.
//!
//! Each scenario runs through the real binary. `UPDATE_GOLDEN=1 cargo test`
//! rewrites the expected files; review the diff before committing it.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

use crate::util::geoip::{Builder, V};
use loginwatch::helpdesk::Code;

fn scenario_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .expect("tests/scenarios exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// How one scenario's files are run: the arguments `replay` and `why` share.
struct Run {
    dir: PathBuf,
    /// `--rules DIR`, `args`, `--geoip` of the built database, the input file.
    shared: Vec<String>,
    /// Holds the built GeoIP database while the scenario runs.
    _tmp: Option<tempfile::TempDir>,
}

impl Run {
    fn new(dir: &Path) -> Run {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let rules = if dir.join("rules").is_dir() {
            dir.join("rules")
        } else {
            repo.join("rules")
        };
        let mut shared = vec!["--rules".to_string(), rules.display().to_string()];
        if let Ok(extra) = fs::read_to_string(dir.join("args")) {
            shared.extend(
                extra
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from),
            );
        }
        let tmp = dir.join("geoip.json").exists().then(|| {
            let tmp = tempfile::tempdir().unwrap();
            let db = tmp.path().join("geoip.mmdb");
            fs::write(&db, geoip_db(&dir.join("geoip.json"))).unwrap();
            shared.extend(["--geoip".to_string(), db.display().to_string()]);
            tmp
        });
        // Without input.log / input.jsonl, the `args` file names the inputs.
        if let Some(input) = ["input.log", "input.jsonl"]
            .iter()
            .find(|f| dir.join(f).exists())
        {
            shared.push(input.to_string());
        }
        Run {
            dir: dir.to_path_buf(),
            shared,
            _tmp: tmp,
        }
    }

    fn name(&self) -> String {
        self.dir.file_name().unwrap().to_string_lossy().into_owned()
    }

    /// Runs the binary with `args` then the shared arguments; its stdout.
    fn output(&self, args: &[&str]) -> String {
        let out = Command::cargo_bin("loginwatch")
            .unwrap()
            .current_dir(&self.dir)
            .args(args)
            .args(&self.shared)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {args:?} failed: {}",
            self.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap_or_else(|e| panic!("{}: {args:?} printed non-UTF-8: {e}", self.name()))
    }

    fn replay(&self) -> Vec<Value> {
        let out = self.output(&["replay", "--json", "--tz", "UTC", "--year", "2026"]);
        out.lines().map(|l| self.json(l)).collect()
    }

    /// `why` on one question (`USER [ARGS...]`), in JSON.
    fn why(&self, question: &[&str]) -> Value {
        let mut args = vec!["why"];
        args.extend(question);
        args.extend(["--json", "--tz", "UTC", "--year", "2026"]);
        let out = self.output(&args);
        let mut lines = out.lines();
        let v = self.json(lines.next().unwrap_or(""));
        assert!(
            lines.next().is_none(),
            "{}: more than one line",
            self.name()
        );
        v
    }

    /// `why` on one question, printed for people in `language`; checked
    /// against the JSON answer `json`.
    fn why_human(&self, question: &[&str], language: &str, json: &Value) {
        let mut args = vec!["why"];
        args.extend(question);
        args.extend(["--language", language, "--tz", "UTC", "--year", "2026"]);
        let out = self.output(&args);
        let what = format!(
            "{}: why {} --language {language}",
            self.name(),
            question.join(" ")
        );
        for c in json["causes"].as_array().into_iter().flatten() {
            let code = c["code"].as_str().unwrap();
            assert!(
                out.contains(&format!("[{code}]")),
                "{what}: [{code}] missing from\n{out}"
            );
        }
        assert!(
            !out.chars().any(|c| c.is_control() && c != '\n'),
            "{what}: a raw control character in {out:?}"
        );
        if language == "ja" {
            let japanese = |c: char| matches!(c, '\u{3040}'..='\u{30ff}' | '\u{4e00}'..='\u{9fff}');
            assert!(out.chars().any(japanese), "{what}: no Japanese in\n{out}");
        }
    }

    fn json(&self, line: &str) -> Value {
        serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{}: bad JSON line {line:?}: {e}", self.name()))
    }
}

/// The lines of `path`, parsed as JSON.
fn read_jsonl(path: &Path) -> Vec<Value> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {l:?}: {e}", path.display()))
        })
        .collect()
}

fn write_jsonl(path: &Path, values: &[Value]) {
    let text: String = values.iter().map(|v| format!("{v}\n")).collect();
    fs::write(path, text).unwrap();
}

fn show(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("\n            ")
}

/// The questions of a scenario's `why` file, each split into words.
fn questions(dir: &Path) -> Option<Vec<Vec<String>>> {
    let text = fs::read_to_string(dir.join("why")).ok()?;
    Some(
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.split_whitespace().map(String::from).collect())
            .collect(),
    )
}

/// A MaxMind database from its JSON description (see the module header).
fn geoip_db(path: &Path) -> Vec<u8> {
    let desc: Value = serde_json::from_str(&fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let kind = desc["database_type"].as_str().expect("database_type");
    let mut b = Builder::new(leak(kind));
    for (net, record) in desc["networks"].as_object().expect("networks") {
        b.insert(net, mmdb_value(record));
    }
    b.build()
}

/// The builder takes `'static` strings; a test run builds a handful.
fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn mmdb_value(v: &Value) -> V {
    match v {
        Value::String(s) => V::Str(leak(s)),
        Value::Bool(b) => V::Bool(*b),
        Value::Number(n) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) => V::U32(n),
            None => V::Double(n.as_f64().unwrap()),
        },
        Value::Array(a) => V::Array(a.iter().map(mmdb_value).collect()),
        Value::Object(m) => V::Map(m.iter().map(|(k, v)| (leak(k), mmdb_value(v))).collect()),
        Value::Null => panic!("null has no MaxMind DB form"),
    }
}

/// Whether `UPDATE_GOLDEN` asks to rewrite the expected files. Refused in CI:
/// there it would turn every difference into a pass.
fn update_golden() -> bool {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    assert!(
        !(update && std::env::var_os("CI").is_some()),
        "UPDATE_GOLDEN is refused when CI is set: update the golden files locally and review the diff"
    );
    update
}

#[test]
fn golden_scenarios() {
    let update = update_golden();
    let dirs = scenario_dirs();
    assert!(
        dirs.len() >= 10,
        "expected the golden scenarios, found {}",
        dirs.len()
    );
    let mut failures = vec![];
    for dir in &dirs {
        let run = Run::new(dir);
        let got = run.replay();
        let expected_path = dir.join("expected.jsonl");
        if update {
            write_jsonl(&expected_path, &got);
            continue;
        }
        let expected = read_jsonl(&expected_path);
        if got != expected {
            failures.push(format!(
                "{}:\n  expected: {}\n  got:      {}",
                run.name(),
                show(&expected),
                show(&got)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn golden_why_answers() {
    let update = update_golden();
    let mut failures = vec![];
    let mut asked = 0;
    for dir in scenario_dirs() {
        let Some(questions) = questions(&dir) else {
            continue;
        };
        let run = Run::new(&dir);
        let mut got = Vec::new();
        for q in &questions {
            let q: Vec<&str> = q.iter().map(String::as_str).collect();
            let answer = run.why(&q);
            run.why_human(&q, "en", &answer);
            run.why_human(&q, "ja", &answer);
            got.push(answer);
            asked += 1;
        }
        let expected_path = dir.join("why.jsonl");
        if update {
            write_jsonl(&expected_path, &got);
            continue;
        }
        let expected = read_jsonl(&expected_path);
        if got != expected {
            failures.push(format!(
                "{}:\n  expected: {}\n  got:      {}",
                run.name(),
                show(&expected),
                show(&got)
            ));
        }
    }
    assert!(asked > 0, "no scenario asks `why`");
    assert!(
        failures.is_empty(),
        "{} scenario(s) answer `why` differently:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Issue 10's proof: a golden scenario per cause, as the first (primary)
/// cause of an answer, and the kinds of lock and refusal the help desk must
/// tell apart.
#[test]
fn every_cause_has_a_golden_scenario() {
    let mut primary: BTreeSet<String> = BTreeSet::new();
    let mut kinds: BTreeSet<(String, String, String)> = BTreeSet::new();
    for dir in scenario_dirs() {
        let path = dir.join("why.jsonl");
        if !path.exists() {
            continue;
        }
        for answer in read_jsonl(&path) {
            let causes = answer["causes"].as_array().expect("causes");
            for c in causes {
                let code = c["code"].as_str().unwrap();
                assert!(
                    Code::ALL.contains(&code),
                    "{}: unknown cause {code}",
                    path.display()
                );
            }
            let first = &causes.first().expect("at least one cause");
            let code = first["code"].as_str().unwrap().to_string();
            for (key, value) in first["evidence"].as_object().into_iter().flatten() {
                kinds.insert((code.clone(), key.clone(), value.to_string()));
            }
            primary.insert(code);
        }
    }
    let missing: Vec<&str> = Code::ALL
        .iter()
        .copied()
        .filter(|c| !primary.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "causes with no golden scenario showing them first: {missing:?}"
    );
    for (code, key, value) in [
        ("locked", "by", "\"loginwatch\""),
        ("locked", "by", "\"os\""),
        ("expired_password", "must_change_now", "true"),
        ("disabled", "refused_by", "\"account_locked\""),
        ("disabled", "status", "\"suspended\""),
        ("mfa_failed", "clock_skew_suspected", "true"),
        ("mfa_failed", "clock_skew_suspected", "false"),
    ] {
        assert!(
            kinds.contains(&(code.into(), key.into(), value.into())),
            "no golden scenario shows {code} with evidence {key} = {value} first"
        );
    }
}
