//! `loginwatch completions SHELL` and `loginwatch man [--dir DIR]`: shell
//! completions and man pages generated from the clap definition itself, so they
//! cannot drift from `--help` (a packager runs them at build time).

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::CommandFactory as _;

use super::parse::broken_pipe_ok;
use super::{Cli, CliError};

/// A shell `completions` writes for.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Arguments of `loginwatch completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write the completion script for.
    #[arg(value_enum, value_name = "SHELL")]
    shell: Shell,
}

/// Arguments of `loginwatch man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write loginwatch.1 and one page per subcommand (loginwatch-rules-check.1,
    /// ...) into this directory, created if missing; without it the main page
    /// goes to stdout.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Runs `completions`.
pub fn completions(a: CompletionsArgs) -> Result<ExitCode, CliError> {
    let shell = match a.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "loginwatch", &mut script);
    write_out(&script)
}

/// Runs `man`.
pub fn man(a: ManArgs) -> Result<ExitCode, CliError> {
    let cmd = Cli::command();
    match a.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            // Built once, as `clap_mangen::generate_to` does, so that each
            // subcommand knows its full name (`loginwatch-rules-check`).
            let mut cmd = cmd.disable_help_subcommand(true);
            cmd.build();
            write_pages(&cmd, &dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            write_out(&page)
        }
    }
}

/// One page for `cmd` and each visible subcommand, nested ones included. Every
/// page's footer names the package and its version (`generate_to` gives a
/// subcommand's page only its short name there, e.g. "check").
fn write_pages(cmd: &clap::Command, dir: &std::path::Path) -> io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(sub, dir)?;
    }
    clap_mangen::Man::new(cmd.clone())
        .source(concat!("loginwatch ", env!("CARGO_PKG_VERSION")))
        .generate_to(dir)?;
    Ok(())
}

fn write_out(bytes: &[u8]) -> Result<ExitCode, CliError> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => broken_pipe_ok(e),
    }
}
