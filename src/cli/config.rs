//! `loginwatch config check`, and loading the configuration for other commands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use loginwatch::config::{self, Config};
use loginwatch::escape::Escaped;
use loginwatch::parse::Format;

use super::CliError;

/// `loginwatch config ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Validate a configuration file (and the formats its sources name against the
    /// rules it points to); report every error with its line; exits 2 on any.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
}

/// Loads the configuration from `file`, or the embedded defaults. Errors are
/// usage errors (exit 2), one per line with file and line number.
pub fn load(file: Option<&Path>) -> Result<Config, CliError> {
    config::load(file).map_err(|errs| {
        // Escaped one by one: a message may quote file content, but the lines
        // between messages are ours.
        let lines: Vec<String> = errs
            .0
            .iter()
            .map(|e| Escaped(&e.to_string()).to_string())
            .collect();
        let text = lines.join("\n");
        CliError::Usage(format!(
            "invalid configuration ({} errors):\n{text}",
            errs.0.len()
        ))
    })
}

/// Runs `config ...`.
pub fn run(c: Command) -> Result<ExitCode, CliError> {
    match c {
        Command::Check { file } => {
            let config = load(Some(&file))?;
            let rules = super::rules::load(config.rules_dir.as_deref())?;
            let declared: Vec<&str> = rules.formats.iter().map(|d| d.name()).collect();
            let unknown: Vec<String> = config
                .sources
                .iter()
                .filter(|s| Format::by_name(&s.format, &rules.formats).is_none())
                .map(|s| {
                    format!(
                        "{}: source {:?}: unknown format {:?} (built-in: {}; declared in the rules: {})",
                        Escaped(&file.display().to_string()),
                        Escaped(&s.name).to_string(),
                        Escaped(&s.format).to_string(),
                        Format::builtin_names().join(", "),
                        if declared.is_empty() { "none".to_owned() } else { declared.join(", ") },
                    )
                })
                .collect();
            if !unknown.is_empty() {
                return Err(CliError::Usage(format!(
                    "invalid configuration ({} errors):\n{}",
                    unknown.len(),
                    unknown.join("\n")
                )));
            }
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
            for s in &config.sources {
                let reads = match (&s.journal, &s.listen) {
                    (Some(j), _) => j.label(),
                    (None, Some(l)) => l.to_string(),
                    (None, None) => s.path.clone(),
                };
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
            Ok(ExitCode::SUCCESS)
        }
    }
}
