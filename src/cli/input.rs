//! Options and input handling shared by `parse` and `replay`.

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::Args;

use loginwatch::app::EnrichError;
use loginwatch::config::Config;
use loginwatch::enrich::Loaded;
use loginwatch::enrich::{Enricher, GeoDbs};
use loginwatch::escape::Escaped;
use loginwatch::parse::custom::Declared;
use loginwatch::parse::{Format, ParseError, ParseOptions, Zone};
use loginwatch::replay::FileSource;
use loginwatch::rules::RuleSet;
use loginwatch::source::journal::JournalSpec;
use loginwatch::source::journal::export::Export;

use super::CliError;

/// How to read the input files.
#[derive(Debug, Args)]
pub struct InputArgs {
    // The help lists the formats from the parser's own list, so a new preset
    // cannot be missing from it.
    #[arg(long, short = 'f', default_value = "auto", help = format_help())]
    pub format: String,
    /// Year of year-less syslog timestamps [default: the current year, rolled back for future dates].
    #[arg(long)]
    pub year: Option<i32>,
    /// Time zone of timestamps without an offset: UTC, local, or an IANA name (Asia/Tokyo).
    #[arg(long, default_value = "local")]
    pub tz: String,
    /// A GeoIP database (.mmdb: City, Country, ASN or Anonymous-IP, its type read
    /// from its metadata) to enrich events with; repeatable.
    #[arg(long, value_name = "FILE")]
    pub geoip: Vec<PathBuf>,
    /// The daemon's configuration file: its enrichment (GeoIP, IP lists,
    /// inventory), rules directory and mode are used, its sources ignored, so
    /// history is backtested with the live view.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also read the system journal (through journalctl, sshd/PAM entries).
    #[arg(long)]
    pub journal: bool,
    /// Also read a directory of journal files (as `journalctl --directory`).
    #[arg(long, value_name = "DIR", conflicts_with = "journal")]
    pub journal_dir: Option<PathBuf>,
    /// Log files to read; `-` reads standard input.
    #[arg(required_unless_present_any = ["journal", "journal_dir"], value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// `--format`'s help: every built-in name, from [`Format::builtin_names`].
pub fn format_help() -> String {
    let names: Vec<&str> = Format::builtin_names()
        .into_iter()
        .map(|n| {
            if n == "auto" {
                "auto (detect per file)"
            } else {
                n
            }
        })
        .collect();
    format!(
        "Log format: {}, or a format declared in the rules directory",
        names.join(", ")
    )
}

impl InputArgs {
    /// The parse options, with the real clock (the only place the CLI reads it).
    pub fn options(&self) -> Result<ParseOptions, CliError> {
        let zone: Zone = self.tz.parse().map_err(CliError::Usage)?;
        Ok(ParseOptions {
            year: self.year,
            zone,
            now: Utc::now(),
        })
    }

    /// The `--format` value, resolved against the built-ins and `declared`.
    pub fn format(&self, declared: &[Declared]) -> Result<Format, CliError> {
        Format::by_name(&self.format, declared).ok_or_else(|| {
            let mut names: Vec<String> = Format::builtin_names()
                .iter()
                .map(|s| s.to_string())
                .collect();
            names.extend(declared.iter().map(|d| d.name().to_string()));
            CliError::Usage(format!(
                "unknown format \"{}\" (expected one of: {})",
                Escaped(&self.format),
                names.join(", ")
            ))
        })
    }

    /// Opens every input up front so a missing file is a usage error (exit 2)
    /// before any output is written.
    pub fn open(&self, format: &Format, opts: &ParseOptions) -> Result<Vec<FileSource>, CliError> {
        let mut out = Vec::with_capacity(self.files.len());
        for p in &self.files {
            let (name, reader): (String, Box<dyn Read + Send>) = if p == Path::new("-") {
                ("-".into(), Box::new(io::stdin()))
            } else {
                let f = File::open(p).map_err(|e| {
                    CliError::Usage(format!(
                        "cannot open {}: {e}",
                        Escaped(&p.display().to_string())
                    ))
                })?;
                if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                    return Err(CliError::Usage(format!(
                        "{} is a directory, expected a log file",
                        Escaped(&p.display().to_string())
                    )));
                }
                (p.display().to_string(), Box::new(f))
            };
            out.push(FileSource::new(name.as_str().into(), reader, format, opts)?);
        }
        if let Some(spec) = self.journal_spec() {
            // Journal entries are syslog lines with a full UTC time, whatever
            // `--format` says about the files.
            let export = Export::start(&spec).map_err(|e| {
                CliError::Usage(format!(
                    "cannot read the journal: {}",
                    Escaped(&e.to_string())
                ))
            })?;
            let label = spec.label();
            out.push(FileSource::from_lines(
                label.as_str().into(),
                Box::new(export),
                &Format::Sshd,
                opts,
            ));
        }
        Ok(out)
    }

    /// The journal to read, if `--journal` or `--journal-dir` asks for one.
    fn journal_spec(&self) -> Option<JournalSpec> {
        match (&self.journal_dir, self.journal) {
            (Some(d), _) => Some(JournalSpec {
                dir: Some(d.clone()),
                matches: Vec::new(),
            }),
            (None, true) => Some(JournalSpec::system()),
            (None, false) => None,
        }
    }

    /// The `--config` file, validated (every error listed, exit 2).
    pub fn config(&self) -> Result<Option<Config>, CliError> {
        let Some(p) = &self.config else {
            return Ok(None);
        };
        loginwatch::config::load(Some(p)).map(Some).map_err(|errs| {
            CliError::Usage(format!(
                "{}:\n{errs}",
                loginwatch::config::invalid("configuration", errs.0.len())
            ))
        })
    }

    /// The enrichment for `--config` and `--geoip` (possibly nothing); `rules`
    /// are checked against it (unknown IP lists are an error, geo rules without
    /// a database are reported inactive).
    pub fn enrichment(
        &self,
        config: Option<&Config>,
        rules: Option<&RuleSet>,
    ) -> Result<Loaded, CliError> {
        let Some(config) = config else {
            return Ok(loginwatch::pipeline::geoip_only(open_geoip(&self.geoip)?));
        };
        let loaded =
            loginwatch::app::enrichment::load(config, &self.geoip).map_err(enrich_error)?;
        if let Some(rules) = rules {
            loginwatch::app::enrichment::check_rules(rules, config, &loaded.enricher)
                .map_err(enrich_error)?;
        }
        Ok(loaded)
    }

    /// The enricher for `--config` and `--geoip`, or `None` when there is
    /// nothing to add (`parse`, which runs no rules).
    pub fn enricher(
        &self,
        config: Option<&Config>,
        rules: Option<&RuleSet>,
    ) -> Result<Option<Enricher>, CliError> {
        let loaded = self.enrichment(config, rules)?;
        Ok((!loaded.enricher.is_noop()).then_some(loaded.enricher))
    }

    /// Total size of the regular input files, for a progress bar.
    pub fn total_bytes(&self) -> u64 {
        self.files
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }
}

/// Opens the `--geoip` databases (`None` for none); every unusable file is
/// named in one usage error.
pub fn open_geoip(paths: &[PathBuf]) -> Result<Option<GeoDbs>, CliError> {
    if paths.is_empty() {
        return Ok(None);
    }
    GeoDbs::open(paths).map(Some).map_err(|errs| {
        let msgs: Vec<String> = errs
            .iter()
            .map(|e| Escaped(&e.to_string()).to_string())
            .collect();
        CliError::Usage(msgs.join("\n"))
    })
}

/// A progress bar on stderr when it is a terminal and the input is large enough to wait for.
pub fn progress(total: u64) -> Option<indicatif::ProgressBar> {
    const LARGE: u64 = 32 * 1024 * 1024;
    if total < LARGE || !io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{bar:40} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
    ) {
        pb.set_style(style);
    }
    Some(pb)
}

/// Prints an unparsed line for `--show-unparsed` (escaped: log lines are attacker-controlled).
pub fn print_unparsed(path: &str, offset: u64, raw: &[u8], e: &ParseError) {
    eprintln!(
        "unparsed {}:{offset}: {}: {}",
        Escaped(path),
        e,
        loginwatch::escape::bytes(raw)
    );
}

/// The one-line stderr summary of unparsed lines per reason.
pub fn unparsed_summary(stats: &loginwatch::replay::Stats) -> String {
    let reasons: Vec<String> = stats
        .unparsed
        .iter()
        .map(|(r, n)| format!("{r}: {n}"))
        .collect();
    let mut s = format!(
        "{} lines, {} events, {} unparsed",
        stats.lines,
        stats.events,
        stats.unparsed_total()
    );
    if !reasons.is_empty() {
        s.push_str(&format!(" ({})", reasons.join(", ")));
    }
    s
}

/// An enrichment error as the CLI shows it: each unusable file on its own
/// line, escaped (paths and messages may hold anything).
fn enrich_error(e: EnrichError) -> CliError {
    CliError::Usage(match e {
        EnrichError::Files(files) => files
            .iter()
            .map(|f| Escaped(&f.to_string()).to_string())
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    })
}
