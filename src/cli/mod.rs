//! Subcommands, one file each, and what they share: input opening, format and
//! time-zone options, rules-directory discovery, and the error-to-exit-code map.

/// `println!` for command output: a reader that went away (`decisions list |
/// head`) ends the command quietly with success, as it does `cat`, instead of
/// the panic `println!` gives on a closed pipe; any other write error is
/// reported and exits 1.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::write_line(format_args!($($arg)*))
    };
}

mod accounts;
mod agent;
mod alerts;
mod config;
mod decisions;
mod docs;
mod explain;
mod geoip;
mod input;
mod parse;
mod replay;
mod rules;
mod rules_test;
mod run;
mod safety;
mod state;
mod table;
mod why;

use std::fmt;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The body of [`outln!`].
pub(crate) fn write_line(args: fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("loginwatch: writing output: {e}");
        std::process::exit(1);
    }
}

/// A CLI failure, classified for the exit code.
#[derive(Debug)]
pub enum CliError {
    /// Bad usage or invalid configuration (missing file, unknown format, bad rules): exit 2.
    Usage(String),
    /// Something failed while running (I/O error mid-run): exit 1.
    Runtime(anyhow::Error),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            CliError::Usage(_) => ExitCode::from(2),
            CliError::Runtime(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Usage(m) => f.write_str(m),
            CliError::Runtime(e) => write!(f, "{e:#}"),
        }
    }
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::Runtime(e)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Runtime(e.into())
    }
}

/// Watches authentication logs and protects accounts.
#[derive(Debug, Parser)]
#[command(name = "loginwatch", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: tail the logs, apply the rules, keep state, serve metrics and the admin API.
    #[command(
        after_help = "Example:\n  loginwatch run --config /etc/loginwatch/loginwatch.toml\n  \
LOGINWATCH_LOG=loginwatch=debug loginwatch run --from-end\n\n\
Environment:\n  LOGINWATCH_LOG  what the daemon logs on stderr, as tracing's EnvFilter \
takes it: a level (error, warn, info, debug, trace) or per-module directives \
(loginwatch::source=debug,info) [default: info]"
    )]
    Run(run::Args),
    /// Fleet mode: read the sources as `run` does and publish their events to NATS JetStream.
    #[command(
        after_help = "Example:\n  loginwatch agent --config /etc/loginwatch/loginwatch.toml\n\n\
The configuration needs a [fleet] table (url, and credentials if the server wants them)\n\
and [[source]] tables; `loginwatch config check` validates it. A [fleet] file without\n\
sources is the detector's: `loginwatch run` consumes the agents' events."
    )]
    Agent(agent::Args),
    /// Parse log files and print one JSON auth event per line.
    #[command(
        after_help = "Example:\n  loginwatch parse /var/log/auth.log\n  loginwatch parse --format okta --show-unparsed okta-system-log.jsonl\n  loginwatch parse --output ocsf /var/log/auth.log"
    )]
    Parse(parse::Args),
    /// Run log files through the rules in event time, as if live, and print the decisions.
    #[command(
        after_help = "Example:\n  loginwatch replay --rules /etc/loginwatch/rules auth.log.1 auth.log\n  loginwatch replay --json --config /etc/loginwatch/loginwatch.toml auth.log"
    )]
    Replay(replay::Args),
    /// Explain each line: the parser and event, the enrichment, and what every rule did with it.
    #[command(
        after_help = "Example:\n  loginwatch explain --rules /etc/loginwatch/rules /var/log/auth.log\n  \
loginwatch explain --rule account-lockout --line 'Nov 21 08:00:05 web1 sshd[7]: Failed password for alice from 192.0.2.1 port 22 ssh2'"
    )]
    Explain(explain::Args),
    /// Work with rule files.
    #[command(subcommand)]
    #[command(
        after_help = "Example:\n  loginwatch rules check /etc/loginwatch/rules\n  loginwatch rules test /etc/loginwatch/rules"
    )]
    Rules(rules::Command),
    /// Work with the daemon's configuration file.
    #[command(subcommand)]
    #[command(after_help = "Example:\n  loginwatch config check /etc/loginwatch/loginwatch.toml")]
    Config(config::Command),
    /// List, add, unlock, export and import the daemon's decisions.
    #[command(subcommand)]
    #[command(
        after_help = "Example:\n  loginwatch decisions list --active\n  loginwatch decisions unlock 0628690b41547a31 --reason \"identity confirmed by phone\"\n  \
loginwatch decisions add --user bob --reason \"phished, ticket 4711\""
    )]
    Decisions(decisions::Command),
    /// Review accounts (inactive accounts from learned facts and the inventory).
    #[command(subcommand)]
    #[command(
        after_help = "Example:\n  loginwatch accounts inactive --days 90 --inventory users.csv"
    )]
    Accounts(accounts::Command),
    /// Print what the GeoIP databases say about an address.
    #[command(after_help = "Example:\n  loginwatch geoip --geoip GeoLite2-City.mmdb 203.0.113.7")]
    Geoip(geoip::Args),
    /// Preview alerts as the sinks would send them.
    #[command(subcommand)]
    #[command(
        after_help = "Example:\n  loginwatch replay --json auth.log | loginwatch alerts preview --format email --language ja"
    )]
    Alerts(alerts::Command),
    /// Check the state database, or move a broken one aside and start clean.
    #[command(subcommand)]
    #[command(
        after_help = "Example:\n  loginwatch state check --config /etc/loginwatch/loginwatch.toml"
    )]
    State(state::Command),
    /// Safety controls of the running daemon (the lockout storm breaker).
    #[command(subcommand)]
    #[command(after_help = "Example:\n  loginwatch safety storm-reset --by alice")]
    Safety(safety::Command),
    /// Why a person cannot log in, and what to tell them (from log files, the
    /// running daemon, or its state file).
    #[command(
        after_help = "Example:\n  loginwatch why lena /var/log/auth.log\n  loginwatch why lena --config /etc/loginwatch/loginwatch.toml --language ja"
    )]
    Why(why::Args),
    /// Print a shell completion script (bash, zsh, fish).
    #[command(
        after_help = "Example:\n  loginwatch completions bash > /usr/share/bash-completion/completions/loginwatch\n  \
loginwatch completions zsh > /usr/local/share/zsh/site-functions/_loginwatch\n  \
loginwatch completions fish > ~/.config/fish/completions/loginwatch.fish"
    )]
    Completions(docs::CompletionsArgs),
    /// Print the man page, or write every command's page into a directory.
    #[command(
        after_help = "Example:\n  loginwatch man | man -l -\n  loginwatch man --dir /usr/local/share/man/man1"
    )]
    Man(docs::ManArgs),
}

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Run(a) => run::run(a),
        Command::Agent(a) => agent::run(a),
        Command::Parse(a) => parse::run(a),
        Command::Replay(a) => replay::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Rules(c) => rules::run(c),
        Command::Config(c) => config::run(c),
        Command::Decisions(c) => decisions::run(c),
        Command::Accounts(c) => accounts::run(c),
        Command::Geoip(a) => geoip::run(a),
        Command::Alerts(c) => alerts::run(c),
        Command::Safety(c) => safety::run(c),
        Command::State(c) => state::run(c),
        Command::Why(a) => why::run(a),
        Command::Completions(a) => docs::completions(a),
        Command::Man(a) => docs::man(a),
    }
}
