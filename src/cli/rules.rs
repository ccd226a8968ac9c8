//! `loginwatch rules check`, and finding the rules directory for other commands.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use loginwatch::config::{RulesOrigin, SelectError};
use loginwatch::escape::Escaped;
use loginwatch::rules::RuleSet;
use serde_json::{Value, json};

use super::CliError;

/// `loginwatch rules ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Compile every rule file of DIR and report every error; exits 2 on any, or
    /// when DIR holds no rule (the daemon refuses such a set).
    #[command(
        after_help = "Example:\n  loginwatch rules check /etc/loginwatch/rules\n  \
                            loginwatch rules check --json rules | jq '.errors[]'"
    )]
    Check {
        /// Rules directory [default: ./rules, else /usr/share/loginwatch/rules overlaid by
        /// /etc/loginwatch/rules, else the built-in rules].
        dir: Option<PathBuf>,
        /// Print one JSON object on stdout (what was loaded, or every error
        /// with its file and line) instead of text; the exit code is the same.
        #[arg(long)]
        json: bool,
    },
    /// Run the rule tests of DIR/tests/ (each folder: an input log, optional
    /// test.toml, the expected decisions); exits 1 when a test fails, 2 when
    /// one cannot run.
    #[command(
        after_help = "Example:\n  loginwatch rules test /etc/loginwatch/rules\n  \
                            loginwatch rules test --filter account-lockout rules\n  \
                            loginwatch rules test --update --filter my-new-test rules"
    )]
    Test(super::rules_test::Args),
}

/// Loads the rule set from `dir`, or from the first default directory that exists,
/// or the built-in rules. Errors are usage errors (exit 2), listed one per line.
pub fn load(dir: Option<&Path>) -> Result<RuleSet, CliError> {
    select(dir, None).map(|(set, _)| set)
}

/// The rule set for `--rules DIR` and `--config FILE`, chosen as the daemon
/// chooses it (see [`loginwatch::config::select_rules`]).
pub fn select(
    dir: Option<&Path>,
    config: Option<&loginwatch::config::Config>,
) -> Result<(RuleSet, RulesOrigin), CliError> {
    loginwatch::config::select_rules(dir, config).map_err(|e| select_error(&e))
}

/// A selection error as the text commands print it.
pub fn select_error(e: &SelectError) -> CliError {
    match e {
        SelectError::NoDir(d) => CliError::Usage(format!(
            "rules directory {} does not exist",
            Escaped(&d.display().to_string())
        )),
        SelectError::NoRules(_) => CliError::Usage(Escaped(&e.to_string()).to_string()),
        e => CliError::Usage(e.to_string()),
    }
}

/// Runs `rules ...`.
pub fn run(c: Command) -> Result<ExitCode, CliError> {
    match c {
        Command::Test(a) => super::rules_test::run(a),
        Command::Check { dir, json } => {
            // What the daemon would refuse is an error here too. GeoIP is
            // assumed present: this command does not read the config.
            let checked =
                loginwatch::config::select_rules(dir.as_deref(), None).and_then(|(set, origin)| {
                    loginwatch::config::require_live_rules(&set, &origin, true)
                        .map(|()| (set, origin))
                });
            match (checked, json) {
                (Ok((set, _)), false) => {
                    outln!(
                        "ok: {} rules, {} declared formats",
                        set.rules.len(),
                        set.formats.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                (Ok((set, origin)), true) => {
                    outln!("{}", loaded_json(&set, &origin));
                    Ok(ExitCode::SUCCESS)
                }
                (Err(e), false) => Err(select_error(&e)),
                (Err(e), true) => {
                    outln!("{}", json!({"ok": false, "errors": errors_json(&e)}));
                    Ok(ExitCode::from(2))
                }
            }
        }
    }
}

/// Where a rule set came from, as JSON: `{"kind": "dir", "path": ...}`,
/// `{"kind": "layers", "paths": [...]}` (lowest first),
/// `{"kind": "profile", "name": ...}` or `{"kind": "builtin"}`.
pub fn origin_json(origin: &RulesOrigin) -> Value {
    match origin {
        RulesOrigin::Dir(d) => json!({"kind": "dir", "path": d.display().to_string()}),
        RulesOrigin::Layers(ds) => json!({
            "kind": "layers",
            "paths": ds.iter().map(|d| d.display().to_string()).collect::<Vec<_>>(),
        }),
        RulesOrigin::Profile(p) => json!({"kind": "profile", "name": p}),
        RulesOrigin::Builtin => json!({"kind": "builtin"}),
    }
}

/// A loaded rule set as `rules check --json` prints it (fields documented in
/// the README: `ok`, `origin`, `rules`, `formats`, `files`).
pub fn loaded_json(set: &RuleSet, origin: &RulesOrigin) -> Value {
    let mut files: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for r in &set.rules {
        files
            .entry(r.file.display().to_string())
            .or_default()
            .push(&r.id);
    }
    let files: Vec<Value> = files
        .into_iter()
        .map(|(file, ids)| json!({"file": file, "rules": ids.len(), "ids": ids}))
        .collect();
    let formats: Vec<&str> = set.formats.iter().map(|d| d.name()).collect();
    json!({
        "ok": true,
        "origin": origin_json(origin),
        "rules": set.rules.len(),
        "formats": formats,
        "files": files,
    })
}

/// Every error of a failed selection as `{"file", "line", "column", "rule",
/// "message"}` objects (`line`, `column` and `rule` null where unknown or
/// none; `file` null when it concerns the set as a whole).
pub fn errors_json(e: &SelectError) -> Vec<Value> {
    match e {
        SelectError::Invalid(errs) => errs
            .0
            .iter()
            .map(|e| {
                json!({
                    "file": e.file.display().to_string(),
                    "line": e.line,
                    "column": e.column,
                    "rule": e.rule,
                    "message": e.message,
                })
            })
            .collect(),
        SelectError::NoDir(d) => vec![json!({
            "file": d.display().to_string(),
            "line": null,
            "column": null,
            "rule": null,
            "message": "rules directory does not exist",
        })],
        e => vec![json!({
            "file": null, "line": null, "column": null, "rule": null, "message": e.to_string(),
        })],
    }
}
