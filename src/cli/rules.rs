//! `loginwatch rules check`, and finding the rules directory for other commands.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use loginwatch::escape::Escaped;
use loginwatch::rules::RuleSet;

use super::CliError;

/// `loginwatch rules ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Compile every rule file of DIR and report every error; exits 2 on any, or
    /// when DIR holds no rule (the daemon refuses such a set).
    Check {
        /// Rules directory [default: ./rules, else /etc/loginwatch/rules, else the built-in rules].
        dir: Option<PathBuf>,
    },
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
) -> Result<(RuleSet, loginwatch::config::RulesOrigin), CliError> {
    loginwatch::config::select_rules(dir, config).map_err(|e| match e {
        loginwatch::config::SelectError::NoDir(d) => CliError::Usage(format!(
            "rules directory {} does not exist",
            Escaped(&d.display().to_string())
        )),
        e => CliError::Usage(e.to_string()),
    })
}

/// Runs `rules ...`.
pub fn run(c: Command) -> Result<ExitCode, CliError> {
    match c {
        Command::Check { dir } => {
            let (set, origin) = select(dir.as_deref(), None)?;
            // What the daemon would refuse is an error here too. GeoIP is
            // assumed present: this command does not read the config.
            loginwatch::config::require_live_rules(&set, &origin, true)
                .map_err(|e| CliError::Usage(Escaped(&e.to_string()).to_string()))?;
            outln!(
                "ok: {} rules, {} declared formats",
                set.rules.len(),
                set.formats.len()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
