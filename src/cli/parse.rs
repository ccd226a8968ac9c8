//! `loginwatch parse`: one JSON auth event per line on stdout (ECS, or OCSF
//! with `--output ocsf`); unparsed lines counted on stderr.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use loginwatch::replay::Stats;

use super::input::{self, InputArgs};
use super::{CliError, rules};

/// The JSON form events are printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// ECS field names, flat dotted keys (what `--format ecs` reads back).
    Ecs,
    /// OCSF 1.8: Authentication (3002) and Account Change (3001) events.
    Ocsf,
}

/// Arguments of `loginwatch parse`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Print each unparsed line (escaped) with its reason on stderr.
    #[arg(long)]
    show_unparsed: bool,
    /// Event form: `ecs` (the default) or `ocsf`.
    #[arg(long, value_enum, default_value = "ecs", value_name = "FORM")]
    output: Output,
    /// Rules directory holding declared `[[format]]`s (only read when --format names one).
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
}

/// Runs `parse`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let opts = a.input.options()?;
    let config = a.input.config()?;
    let declared = if a.rules.is_some()
        || loginwatch::parse::Format::by_name(&a.input.format, &[]).is_none()
    {
        rules::load(a.rules.as_deref())?.formats
    } else {
        Vec::new()
    };
    let format = a.input.format(&declared)?;
    let sources = a.input.open(&format, &opts)?;
    let mut enricher = a.input.enricher(config.as_ref(), None)?;
    let pb = input::progress(a.input.total_bytes());
    let mut stats = Stats::default();
    let show = a.show_unparsed;
    let mut hook = |p: &str, off: u64, raw: &[u8], e: &loginwatch::parse::ParseError| {
        if show {
            input::print_unparsed(p, off, raw, e);
        }
    };
    let mut out = BufWriter::with_capacity(256 * 1024, io::stdout().lock());
    let mut done = 0u64;
    for mut src in sources {
        while let Some(mut ev) = src.next_event(&mut stats, &mut hook)? {
            if let Some(en) = &mut enricher {
                en.enrich(&mut ev);
            }
            let written = match a.output {
                Output::Ecs => serde_json::to_writer(&mut out, &ev),
                Output::Ocsf => serde_json::to_writer(&mut out, &ev.to_ocsf()),
            };
            if let Err(e) = written
                .map_err(io::Error::from)
                .and_then(|_| out.write_all(b"\n"))
            {
                return broken_pipe_ok(e);
            }
            if let Some(pb) = &pb
                && stats.events % 65_536 == 0
            {
                pb.set_position(done + src.offset());
            }
        }
        done += src.offset();
    }
    if let Err(e) = out.flush() {
        return broken_pipe_ok(e);
    }
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    eprintln!("loginwatch parse: {}", input::unparsed_summary(&stats));
    Ok(ExitCode::SUCCESS)
}

/// A closed pipe (`| head`) ends output normally; any other write error is a failure.
pub fn broken_pipe_ok(e: io::Error) -> Result<ExitCode, CliError> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(CliError::Runtime(
            anyhow::Error::new(e).context("writing output"),
        ))
    }
}
