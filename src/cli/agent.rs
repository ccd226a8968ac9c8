//! `loginwatch agent`: a host of the fleet, publishing its events to NATS.

use std::path::PathBuf;
use std::process::ExitCode;

use loginwatch::config;
use loginwatch::daemon::DaemonError;
use loginwatch::daemon::agent::{self, AgentOptions};

use super::CliError;
use super::run::LogFormat;

/// Arguments of `loginwatch agent`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Configuration file: its [[source]]s are read as `run` reads them, its
    /// [fleet] table says where to publish (required).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: PathBuf,
    /// On a first start (no saved positions), begin at the end of existing log
    /// files instead of reading them whole.
    #[arg(long)]
    from_end: bool,
    /// With [http]: write the bound address of the health, readiness and
    /// metrics endpoints to this file (mode 0600) once listening.
    #[arg(long, value_name = "FILE")]
    addr_file: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "human")]
    log_format: LogFormat,
}

/// Runs the agent until SIGTERM or Ctrl-C.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    super::run::init_logging(a.log_format);
    let config = config::load(Some(&a.config)).map_err(|errs| {
        CliError::Usage(format!(
            "{}:\n{errs}",
            config::invalid("configuration", errs.0.len())
        ))
    })?;
    let opts = AgentOptions {
        from_end: a.from_end,
        addr_file: a.addr_file,
    };
    match agent::run(config, opts) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(
            e @ (DaemonError::NoFleet
            | DaemonError::Role(_)
            | DaemonError::Rules(_)
            | DaemonError::Format { .. }),
        ) => Err(CliError::Usage(e.to_string())),
        Err(e) => Err(CliError::Runtime(e.into())),
    }
}
