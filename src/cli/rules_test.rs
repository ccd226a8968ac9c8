//! `loginwatch rules test [DIR]`: runs every test folder of `DIR/tests/`
//! (see [`loginwatch::ruletest`]) and says which pass; `--update` writes the
//! current results as the expectation.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Value, json};

use loginwatch::config::RulesOrigin;
use loginwatch::escape::Escaped;
use loginwatch::ruletest::{self, Difference, Expected, Test, TestError};

use super::CliError;

/// Arguments of `rules test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rules directory whose `tests/` folders to run [default: ./rules, else /etc/loginwatch/rules].
    dir: Option<PathBuf>,
    /// Write each test's current results as its expectation (`expected.jsonl`,
    /// and `events.jsonl` where a test has one); review the change before
    /// committing it.
    #[arg(long)]
    update: bool,
    /// Print one JSON object (every test, its status and differences) instead of text.
    #[arg(long)]
    json: bool,
    /// Run only the tests whose folder name contains NAME.
    #[arg(long, value_name = "NAME")]
    filter: Option<String>,
}

/// What became of one test.
enum Status {
    Pass,
    Fail(Vec<Difference>),
    Error(TestError),
    Updated,
    Unchanged,
}

impl Status {
    fn word(&self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail(_) => "fail",
            Status::Error(_) => "error",
            Status::Updated => "updated",
            Status::Unchanged => "unchanged",
        }
    }
}

/// Runs `rules test`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let (set, origin) = super::rules::select(a.dir.as_deref(), None)?;
    let RulesOrigin::Dir(dir) = origin else {
        return Err(CliError::Usage(
            "the built-in rules have no tests: give a rules directory (loginwatch rules test DIR)"
                .to_owned(),
        ));
    };
    let tests_dir = dir.join("tests");
    let shown = Escaped(&tests_dir.display().to_string()).to_string();
    let folders = ruletest::discover(&tests_dir, a.filter.as_deref())
        .map_err(|e| CliError::Usage(format!("cannot read {shown}: {e}")))?;
    if folders.is_empty() {
        return Err(CliError::Usage(match &a.filter {
            Some(f) => format!("no test in {shown} matches {:?}", Escaped(f).to_string()),
            None => format!("no test folder in {shown}"),
        }));
    }
    let rules = Arc::new(set);
    let mut results = Vec::with_capacity(folders.len());
    for folder in &folders {
        let name = folder
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let status = one(folder, &rules, a.update);
        if !a.json {
            print_human(&name, &status);
        }
        results.push((name, status));
    }
    let count = |w: &str| results.iter().filter(|(_, s)| s.word() == w).count();
    let (passed, failed, errors) = (count("pass"), count("fail"), count("error"));
    if a.json {
        let tests: Vec<Value> = results.iter().map(|(n, s)| test_json(n, s)).collect();
        outln!(
            "{}",
            json!({
                "ok": failed == 0 && errors == 0,
                "passed": passed,
                "failed": failed,
                "errors": errors,
                "updated": count("updated"),
                "tests": tests,
            })
        );
    } else if a.update {
        outln!(
            "{} updated, {} unchanged, {errors} errors",
            count("updated"),
            count("unchanged")
        );
    } else {
        outln!("{passed} passed, {failed} failed, {errors} errors");
    }
    Ok(if errors > 0 {
        ExitCode::from(2)
    } else if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Loads, runs and compares (or updates) one folder.
fn one(folder: &std::path::Path, rules: &Arc<loginwatch::rules::RuleSet>, update: bool) -> Status {
    let go = || -> Result<Status, TestError> {
        let test = Test::load(folder)?;
        if update {
            let got = ruletest::run(&test, rules)?;
            let changed =
                ruletest::write_expected(&test, &got).map_err(|source| TestError::Io {
                    path: test.dir.join(ruletest::EXPECTED),
                    source,
                })?;
            return Ok(if changed {
                Status::Updated
            } else {
                Status::Unchanged
            });
        }
        // The expectation is read first: a test without one says so
        // before anything runs.
        let expected = Expected::load(&test)?;
        let got = ruletest::run(&test, rules)?;
        let diff = ruletest::differences(&expected, &got);
        Ok(if diff.is_empty() {
            Status::Pass
        } else {
            Status::Fail(diff)
        })
    };
    go().unwrap_or_else(Status::Error)
}

/// One test for people: its status, then its differences or error, indented.
/// Names and values are escaped (user names come from logs).
fn print_human(name: &str, status: &Status) {
    let word = match status {
        Status::Pass => "ok",
        Status::Fail(_) => "FAIL",
        Status::Error(_) => "ERROR",
        Status::Updated => "updated",
        Status::Unchanged => "unchanged",
    };
    outln!("{word:<9} {}", Escaped(name));
    match status {
        Status::Fail(diff) => {
            for d in diff {
                outln!("          {}", Escaped(&d.to_string()));
            }
        }
        Status::Error(e) => {
            for l in e.to_string().lines() {
                outln!("          {}", Escaped(l));
            }
        }
        _ => {}
    }
}

fn test_json(name: &str, status: &Status) -> Value {
    let (differences, error) = match status {
        Status::Fail(d) => (json!(d), Value::Null),
        Status::Error(e) => (json!([]), json!(e.to_string())),
        _ => (json!([]), Value::Null),
    };
    json!({
        "name": name,
        "status": status.word(),
        "differences": differences,
        "error": error,
    })
}
