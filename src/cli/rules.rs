//! `loginwatch rules check`, and finding the rules directory for other commands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use loginwatch::escape::Escaped;
use loginwatch::rules::{self, RuleSet};

use super::CliError;

/// `loginwatch rules ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Compile every rule file of DIR and report every error; exits 2 on any.
    Check {
        /// Rules directory [default: ./rules, else /etc/loginwatch/rules, else the built-in rules].
        dir: Option<PathBuf>,
    },
}

/// Loads the rule set from `dir`, or from the first default directory that exists,
/// or the built-in rules. Errors are usage errors (exit 2), listed one per line.
pub fn load(dir: Option<&Path>) -> Result<RuleSet, CliError> {
    let dir = match dir {
        Some(d) => Some(d.to_path_buf()),
        None => rules::default_dir(),
    };
    let result = match &dir {
        Some(d) if !d.is_dir() => {
            return Err(CliError::Usage(format!(
                "rules directory {} does not exist",
                Escaped(&d.display().to_string())
            )));
        }
        Some(d) => rules::load_dir(d),
        None => rules::builtin(),
    };
    result.map_err(|errs| {
        CliError::Usage(format!("invalid rules ({} errors):\n{errs}", errs.0.len()))
    })
}

/// Runs `rules ...`.
pub fn run(c: Command) -> Result<ExitCode, CliError> {
    match c {
        Command::Check { dir } => {
            let set = load(dir.as_deref())?;
            println!(
                "ok: {} rules, {} declared formats",
                set.rules.len(),
                set.formats.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
