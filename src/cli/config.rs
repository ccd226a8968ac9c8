//! `loginwatch config check`, and loading the configuration for other commands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use loginwatch::config::{self, Config, ConfigError, SourceConfig};
use loginwatch::escape::Escaped;
use loginwatch::parse::Format;
use loginwatch::rules::RuleSet;
use serde_json::{Value, json};

use super::CliError;

/// `loginwatch config ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Validate a configuration file (and the formats its sources name against the
    /// rules it points to); report every error with its line; exits 2 on any.
    #[command(
        after_help = "Example:\n  loginwatch config check /etc/loginwatch/loginwatch.toml\n  \
                            loginwatch config check --json loginwatch.toml | jq '.sources'"
    )]
    Check {
        /// The configuration file.
        file: PathBuf,
        /// Print one JSON object on stdout (the sources, rules, state and
        /// listener, or every error with its file and line) instead of text;
        /// the exit code is the same.
        #[arg(long)]
        json: bool,
    },
}

/// Loads the configuration from `file`, or the embedded defaults. Errors are
/// usage errors (exit 2), one per line with file and line number.
pub fn load(file: Option<&Path>) -> Result<Config, CliError> {
    config::load(file).map_err(|errs| invalid(&errs.0))
}

/// The text error of a list of configuration errors.
fn invalid(errs: &[ConfigError]) -> CliError {
    // Escaped one by one: a message may quote file content, but the lines
    // between messages are ours.
    let lines: Vec<String> = errs
        .iter()
        .map(|e| Escaped(&e.to_string()).to_string())
        .collect();
    CliError::Usage(format!(
        "{}:\n{}",
        config::invalid("configuration", errs.len()),
        lines.join("\n")
    ))
}

/// What a configuration check found wrong.
enum Failure {
    /// The configuration itself, or formats its sources name that neither the
    /// built-ins nor its rules know.
    Config(Vec<ConfigError>),
    /// The rules it selects.
    Rules(config::SelectError),
}

/// Runs `config ...`.
pub fn run(c: Command) -> Result<ExitCode, CliError> {
    match c {
        Command::Check { file, json } => match (check(&file), json) {
            (Ok((config, rules, _)), false) => {
                print_text(&config, &rules);
                Ok(ExitCode::SUCCESS)
            }
            (Ok((config, rules, origin)), true) => {
                outln!("{}", checked_json(&file, &config, &rules, &origin));
                Ok(ExitCode::SUCCESS)
            }
            (Err(Failure::Config(errs)), false) => Err(invalid(&errs)),
            (Err(Failure::Rules(e)), false) => Err(super::rules::select_error(&e)),
            (Err(f), true) => {
                let errors = match f {
                    Failure::Config(errs) => errs.iter().map(error_json).collect(),
                    Failure::Rules(e) => super::rules::errors_json(&e),
                };
                outln!(
                    "{}",
                    json!({"ok": false, "file": file.display().to_string(), "errors": errors})
                );
                Ok(ExitCode::from(2))
            }
        },
    }
}

/// Loads `file` and the rules it selects, and checks every source's format.
fn check(file: &Path) -> Result<(Config, RuleSet, config::RulesOrigin), Failure> {
    let config = config::load(Some(file)).map_err(|e| Failure::Config(e.0))?;
    let (rules, origin) = config::select_rules(None, Some(&config)).map_err(Failure::Rules)?;
    let declared: Vec<&str> = rules.formats.iter().map(|d| d.name()).collect();
    let unknown: Vec<ConfigError> = config
        .sources
        .iter()
        .filter(|s| Format::by_name(&s.format, &rules.formats).is_none())
        .map(|s| ConfigError {
            file: Some(file.to_path_buf()),
            line: None,
            column: None,
            message: format!(
                "source {:?}: unknown format {:?} (built-in: {}; declared in the rules: {})",
                s.name,
                s.format,
                Format::builtin_names().join(", "),
                if declared.is_empty() {
                    "none".to_owned()
                } else {
                    declared.join(", ")
                },
            ),
        })
        .collect();
    if !unknown.is_empty() {
        return Err(Failure::Config(unknown));
    }
    Ok((config, rules, origin))
}

/// The text `config check` prints on success.
fn print_text(config: &Config, rules: &RuleSet) {
    outln!(
        "ok: {} sources, {} rules, mode {}, state {}, listen {}, admin token {}",
        config.sources.len(),
        rules.rules.len(),
        config.mode,
        Escaped(&config.state_path.display().to_string()),
        config.http.listen,
        if config.http.admin_token.is_some() {
            "set"
        } else {
            "generated (admin.token beside the state file)"
        },
    );
    if let Some(f) = &config.fleet {
        outln!("{}", fleet_text(f));
        outln!("fleet role: {}", fleet_role(config));
        if config.sources.is_empty() {
            outln!("{}", fleet_place(f, rules));
        }
    }
    for s in &config.sources {
        let (_, reads) = reads(s);
        outln!(
            "source {}: {}{}",
            Escaped(&s.name),
            Escaped(&reads),
            match &s.chosen {
                Some(c) => format!(" ({})", Escaped(c)),
                None => String::new(),
            }
        );
    }
}

/// A detector's place in the fleet: its slot, the rules it runs and the
/// partitions it owns.
fn fleet_place(f: &loginwatch::fleet::FleetConfig, rules: &RuleSet) -> String {
    let s = f.shard;
    let runs = rules
        .rules
        .iter()
        .filter(|r| s.group.runs(r.group_by.has_user()))
        .count();
    let owned = match s.group {
        loginwatch::fleet::shard::Group::All => "the whole stream".to_owned(),
        g => format!(
            "{} partitions {}",
            if g == loginwatch::fleet::shard::Group::User {
                "user"
            } else {
                "network"
            },
            s.partitions()
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    format!(
        "fleet place: {s} (slot {}), runs {runs} of {} rules, owns {owned}",
        s.lease_key(&f.stream),
        rules.rules.len()
    )
}

/// What a configuration with `[fleet]` is for: its sources make it an
/// agent's, none the detector's (each command refuses the other's).
fn fleet_role(config: &Config) -> &'static str {
    if config.sources.is_empty() {
        "detector (no [[source]]): `loginwatch run` consumes the fleet's stream; `loginwatch agent` refuses this file"
    } else {
        "agent ([[source]] listed): `loginwatch agent` publishes these sources; `loginwatch run` refuses this file"
    }
}

/// `[fleet]` in one line: where, as whom (never a secret), which stream.
fn fleet_text(f: &loginwatch::fleet::FleetConfig) -> String {
    format!(
        "fleet: host {}, servers {}, auth {}, stream {}, subjects {}.>, decisions bucket {}",
        f.host,
        Escaped(&f.servers.join(" ")),
        auth_kind(&f.auth),
        f.stream,
        f.subject_prefix,
        f.decisions_bucket
    )
}

/// How the fleet authenticates, without the secret.
fn auth_kind(a: &loginwatch::fleet::Auth) -> String {
    use loginwatch::fleet::Auth;
    match a {
        Auth::None => "none".into(),
        Auth::UserPassword { user, .. } => format!("user {}", Escaped(user)),
        Auth::Nkey(_) => "nkey".into(),
        Auth::Creds(p) => format!("creds {}", Escaped(&p.display().to_string())),
    }
}

/// A source's kind (`file`, `listen`, `journal`, `pull`) and what it reads.
fn reads(s: &SourceConfig) -> (&'static str, String) {
    match (&s.journal, &s.listen, &s.pull) {
        (Some(j), _, _) => ("journal", j.label()),
        (None, Some(l), _) => ("listen", l.to_string()),
        (None, None, Some(p)) => ("pull", format!("{} {}", p.kind(), p.label())),
        (None, None, None) => ("file", s.path.clone()),
    }
}

/// One configuration error as `{"file", "line", "column", "message"}` (`file`
/// null for the embedded defaults, `line` and `column` null when unknown).
fn error_json(e: &ConfigError) -> Value {
    json!({
        "file": e.file.as_ref().map(|f| f.display().to_string()),
        "line": e.line,
        "column": e.column,
        "message": e.message,
    })
}

/// A valid configuration as `config check --json` prints it (fields documented
/// in the README).
fn checked_json(
    file: &Path,
    config: &Config,
    rules: &RuleSet,
    origin: &config::RulesOrigin,
) -> Value {
    let sources: Vec<Value> = config
        .sources
        .iter()
        .map(|s| {
            let (kind, reads) = reads(s);
            json!({
                "name": s.name,
                "kind": kind,
                "reads": reads,
                "format": s.format,
                "chosen": s.chosen,
            })
        })
        .collect();
    let mut loaded = super::rules::loaded_json(rules, origin);
    if let Some(m) = loaded.as_object_mut() {
        m.remove("ok");
    }
    json!({
        "ok": true,
        "file": file.display().to_string(),
        "mode": config.mode.to_string(),
        "state_path": config.state_path.display().to_string(),
        "http": {
            "listen": config.http.listen.to_string(),
            "admin_token": if config.http.admin_token.is_some() { "set" } else { "generated" },
        },
        "sources": sources,
        "fleet": config.fleet.as_ref().map(|f| json!({
            "host": f.host,
            "servers": f.servers,
            "auth": auth_kind(&f.auth),
            "tls_ca": f.tls_ca.as_ref().map(|p| p.display().to_string()),
            "stream": f.stream,
            "subject_prefix": f.subject_prefix,
            "decisions_bucket": f.decisions_bucket,
            "decisions_replicas": f.decisions_replicas,
            "buffer_max_bytes": f.buffer_max_bytes,
            "replicas": f.replicas,
            "role": if config.sources.is_empty() { "detector" } else { "agent" },
            "group": f.shard.group.as_str(),
            "members": f.shard.members,
            "member": f.shard.member,
            "partitions": f.shard.partitions(),
        })),
        "rules": loaded,
    })
}
