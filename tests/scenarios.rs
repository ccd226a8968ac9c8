//! Golden scenarios: `tests/scenarios/<name>/` are rule-test folders in the
//! operators' format (see `loginwatch::ruletest` and rules/README.md): an
//! input log, an optional `test.toml` (format, inputs, config, GeoIP, own
//! rules), and `expected.jsonl`, the exact output of `loginwatch replay
//! --json --tz UTC --year 2026`, decisions then the summary. They run through
//! the library's runner, the one `loginwatch rules test` uses, with the
//! shipped `rules/` unless a test names its own.
//!
//! On top of that runner, a project-only extra: a scenario may ask the help
//! desk's question. `why` holds one question per line (`USER [--at RFC3339]`;
//! blank lines and `#` comments skipped) and `why.jsonl` the exact `loginwatch
//! why USER ... --json` answer to each, in order, run through the real binary
//! with the test's settings. Each answer is also printed for people, in
//! English and Japanese, and must name every cause of the JSON, hold no raw
//! control character, and (in Japanese) be Japanese. Every cause `why` knows
//! must be the first cause of some answer
//! ([`every_cause_has_a_golden_scenario`]).
//!
//! `UPDATE_GOLDEN=1 cargo test` rewrites the expected files (as `rules test
//! --update` does); review the diff before committing it.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use serde_json::Value;

use loginwatch::helpdesk::Code;
use loginwatch::ruletest::{self, Expected, Test};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scenario_dirs() -> Vec<PathBuf> {
    ruletest::discover(&repo().join("tests/scenarios"), None).expect("tests/scenarios exists")
}

/// How `why` is asked about one scenario: its settings as CLI arguments.
struct Run {
    dir: PathBuf,
    /// `--rules DIR`, format, time, config, `--geoip` of the built database, the inputs.
    shared: Vec<String>,
    /// Holds the built GeoIP databases while the scenario runs.
    _tmp: tempfile::TempDir,
}

impl Run {
    fn new(dir: &Path) -> Run {
        let test = Test::load(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let spec = &test.spec;
        let rules = spec.rules.clone().unwrap_or_else(|| repo().join("rules"));
        let mut shared = vec!["--rules".to_string(), rules.display().to_string()];
        shared.extend(["--format".into(), spec.format.clone()]);
        shared.extend(["--tz".into(), spec.tz.clone()]);
        shared.extend(["--year".into(), spec.year.to_string()]);
        assert!(
            spec.inventory.is_none(),
            "{}: `why` takes an inventory through `config`",
            dir.display()
        );
        if let Some(c) = &spec.config {
            shared.extend(["--config".into(), c.display().to_string()]);
        }
        let tmp = tempfile::tempdir().unwrap();
        for (i, g) in spec.geoip.iter().enumerate() {
            let db = if g.extension().is_some_and(|e| e == "json") {
                let db = tmp.path().join(format!("geoip-{i}.mmdb"));
                let text = fs::read_to_string(g).unwrap();
                fs::write(&db, loginwatch::enrich::mmdb::from_json(&text).unwrap()).unwrap();
                db
            } else {
                g.clone()
            };
            shared.extend(["--geoip".into(), db.display().to_string()]);
        }
        shared.extend(spec.inputs.iter().map(|i| i.name.clone()));
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

    /// `why` on one question (`USER [ARGS...]`), in JSON.
    fn why(&self, question: &[&str]) -> Value {
        let mut args = vec!["why"];
        args.extend(question);
        args.push("--json");
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
        args.extend(["--language", language]);
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
    let rules = Arc::new(loginwatch::rules::load_dir(&repo().join("rules")).unwrap());
    let mut failures = vec![];
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let test = Test::load(dir).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = ruletest::run(&test, &rules).unwrap_or_else(|e| panic!("{name}: {e}"));
        if update {
            ruletest::write_expected(&test, &got).unwrap();
            continue;
        }
        let expected = Expected::load(&test).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut lines: Vec<String> = ruletest::differences(&expected, &got)
            .iter()
            .map(|d| format!("  {d}"))
            .collect();
        // Operators' expectations are patterns; the project's are whole: a
        // field the run gives and expected.jsonl lacks (a new field) differs
        // too, as it did when the output was compared as text.
        if lines.is_empty() {
            let mine = got.decisions.iter().chain([&got.summary]);
            let theirs = expected.decisions.iter().chain(expected.summary.as_ref());
            for (g, e) in mine.zip(theirs) {
                for (field, value, _) in ruletest::compare::pattern_diff(g, e) {
                    lines.push(format!(
                        "  {}: {field} = {value} is not in expected.jsonl",
                        ruletest::compare::label(g)
                    ));
                }
            }
        }
        if !lines.is_empty() {
            failures.push(format!("{name}:\n{}", lines.join("\n")));
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
