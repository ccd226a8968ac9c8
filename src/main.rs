//! The `loginwatch` command line: maps subcommands to the library and errors to
//! exit codes (0 success, 1 runtime failure, 2 usage or invalid configuration).

mod cli;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loginwatch: {e}");
            e.exit_code()
        }
    }
}
