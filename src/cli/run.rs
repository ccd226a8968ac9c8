//! `loginwatch run`: start the daemon.

use std::path::PathBuf;
use std::process::ExitCode;

use loginwatch::config::{self, Config};
use loginwatch::daemon::{self, DaemonError, RunOptions};

use super::CliError;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Arguments of `loginwatch run`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file [default: embedded defaults: /var/log/auth.log, ./rules or
    /// /usr/share/loginwatch/rules overlaid by /etc/loginwatch/rules or the built-in
    /// rules, HTTP on 127.0.0.1:9464]; a FILE that does not exist is an error (exit 2).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: Option<PathBuf>,
    /// On a first start (no saved state), begin at the end of existing log files
    /// instead of reading them whole.
    #[arg(long)]
    from_end: bool,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "human")]
    log_format: LogFormat,
    /// Enforcement: log and audit exactly what would be run, without running it.
    #[arg(long)]
    dry_run: bool,
    /// Write the bound HTTP address to FILE once listening (useful with port 0).
    #[arg(long, value_name = "FILE")]
    addr_file: Option<PathBuf>,
}

/// Runs the daemon until SIGTERM or Ctrl-C.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    ignore_hangup_while_starting();
    init_logging(a.log_format);
    let config: Config = config::load(a.config.as_deref()).map_err(|errs| {
        CliError::Usage(format!(
            "{}:\n{errs}",
            loginwatch::config::invalid("configuration", errs.0.len())
        ))
    })?;
    let opts = RunOptions {
        from_end: a.from_end,
        addr_file: a.addr_file,
        dry_run: a.dry_run,
    };
    match daemon::run(config, opts) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(
            e @ (DaemonError::Rules(_)
            | DaemonError::Format { .. }
            | DaemonError::Listen { .. }
            | DaemonError::Role(_)),
        ) => Err(CliError::Usage(e.to_string())),
        Err(e) => Err(CliError::Runtime(e.into())),
    }
}

/// A SIGHUP (`systemctl reload`, a logrotate `postrotate`) that arrives while
/// the daemon starts would end it, SIGHUP's default action, until the reload
/// task takes the signal over. Ignored until then: the rules are read after
/// this point, so the reload it asked for is not missed.
fn ignore_hangup_while_starting() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIG_IGN installs no handler code; no thread has started yet.
    if let Err(e) = unsafe { signal(Signal::SIGHUP, SigHandler::SigIgn) } {
        eprintln!("loginwatch: cannot ignore SIGHUP while starting: {e}");
    }
}

/// Colour in the log only on a terminal, and not when `NO_COLOR` is set to
/// anything but the empty string (no-color.org). Help and errors follow the
/// same variable through clap.
pub(super) fn colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

pub(super) fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOGINWATCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour(
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
            std::env::var_os("NO_COLOR").as_deref(),
        ))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[cfg(test)]
mod tests {
    use super::colour;
    use std::ffi::OsStr;

    #[test]
    fn no_color_turns_the_log_plain() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsStr::new(""))), "empty means unset");
        assert!(!colour(true, Some(OsStr::new("1"))));
        assert!(!colour(false, None), "never into a pipe or file");
    }
}
