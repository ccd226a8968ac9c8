//! `loginwatch replay`: log files through the rules in event time, as if live.

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;

use loginwatch::decision::{Decision, Mode};
use loginwatch::event::rfc3339;
use loginwatch::offline::Offline;
use loginwatch::replay::{Stats, Threads};

use super::CliError;
use super::input::{self, InputArgs};
use super::parse::broken_pipe_ok;
use super::table::{cell, left, right};

/// Arguments of `loginwatch replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rules directory [default: ./rules, else /usr/share/loginwatch/rules overlaid by
    /// /etc/loginwatch/rules, else the built-in rules].
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    #[command(flatten)]
    input: InputArgs,
    /// One JSON object per decision, then one summary object.
    #[arg(long)]
    json: bool,
    /// Print each unparsed line (escaped) with its reason on stderr.
    #[arg(long)]
    show_unparsed: bool,
    /// Threads in all [default: the number of cores]: N-1 parse the files'
    /// lines, this one correlates them and runs the rules in event time. The
    /// decisions are the same for every N; 1 parses on the rules' thread.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Bytes per chunk of a file handed to a parsing thread (for tests).
    #[arg(long, hide = true, value_name = "BYTES", value_parser = clap::value_parser!(u32).range(1..))]
    chunk_bytes: Option<u32>,
}

/// The closing object of `--json` output (fields in this order, as documented).
#[derive(Serialize)]
struct Summary {
    #[serde(rename = "type")]
    kind: &'static str,
    lines: u64,
    events: u64,
    unparsed: u64,
    decisions: u64,
}

/// Runs `replay`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let config = a.input.config()?;
    let (set, _) = super::rules::select(a.rules.as_deref(), config.as_ref())?;
    let opts = a.input.options()?;
    let format = a.input.format(&set.formats)?;
    let sources = a.input.open(&format, &opts)?;
    let enrichment = a.input.enrichment(config.as_ref(), Some(&set))?;
    let mode = config.as_ref().map_or(Mode::Recommend, |c| c.mode);
    let safety = config
        .as_ref()
        .map(|c| c.safety.clone())
        .unwrap_or_default();
    let threads = Threads {
        count: a.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            usize::from,
        ),
        chunk_bytes: a.chunk_bytes.map_or(Threads::CHUNK_BYTES, |b| b as usize),
    };
    let mut run = Offline::threaded(Arc::new(set), mode, enrichment, safety, sources, threads);
    let pb = input::progress(a.input.total_bytes());
    let show = a.show_unparsed;
    let mut hook = |p: &str, off: u64, raw: &[u8], e: &loginwatch::parse::ParseError| {
        if show {
            input::print_unparsed(p, off, raw, e);
        }
    };
    let mut out = BufWriter::with_capacity(256 * 1024, io::stdout().lock());
    let mut per_rule: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
    let mut made = Vec::new();
    while run.step(&mut hook, &mut made)?.is_some() {
        for d in made.drain(..) {
            *per_rule
                .entry((d.rule.to_string(), d.action.as_str()))
                .or_default() += 1;
            let written = if a.json {
                write_json(&mut out, &d)
            } else {
                write_human(&mut out, &d)
            };
            if let Err(e) = written {
                return broken_pipe_ok(e);
            }
        }
        if let Some(pb) = &pb
            && run.stats().lines.is_multiple_of(65_536)
        {
            pb.set_position(run.offset());
        }
    }
    let stats = run.stats();
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    let written = if a.json {
        let summary = Summary {
            kind: "summary",
            lines: stats.lines,
            events: stats.events,
            unparsed: stats.unparsed_total(),
            decisions: stats.decisions,
        };
        serde_json::to_writer(&mut out, &summary)
            .map_err(io::Error::from)
            .and_then(|_| out.write_all(b"\n"))
    } else {
        write_summary(&mut out, stats, &per_rule)
    };
    if let Err(e) = written.and_then(|_| out.flush()) {
        return broken_pipe_ok(e);
    }
    if stats.unparsed_total() > 0 {
        eprintln!("loginwatch replay: {}", input::unparsed_summary(stats));
    }
    Ok(ExitCode::SUCCESS)
}

fn write_json(out: &mut impl Write, d: &Decision) -> io::Result<()> {
    serde_json::to_writer(&mut *out, d)?;
    out.write_all(b"\n")
}

/// One readable line per decision; user names are escaped (attacker-controlled)
/// and the columns padded by display width (see [`super::table`]).
fn write_human(out: &mut impl Write, d: &Decision) -> io::Result<()> {
    let mut target = String::new();
    if let Some(u) = &d.target.user {
        target.push_str(&format!("user={}", cell(u)));
    }
    if let Some(ip) = &d.target.ip {
        if !target.is_empty() {
            target.push(' ');
        }
        target.push_str(&format!("ip={ip}"));
    }
    let until = match (d.until, d.unlock) {
        (Some(t), _) => format!("until {}", rfc3339(&t)),
        (None, loginwatch::decision::Unlock::Admin) => "until an admin unlocks".to_string(),
        (None, _) => String::new(),
    };
    let line = format!(
        "{}  {} {} {} {} [{}{}] {} events, {} IPs, {} users",
        rfc3339(&d.at),
        left(d.action.as_str(), 22),
        left(&cell(&d.rule), 24),
        left(&target, 32),
        until,
        d.severity.as_str(),
        if d.mode == Mode::Held { ", held" } else { "" },
        d.evidence.count,
        d.evidence.source_ips.len(),
        d.evidence.users.len()
    );
    writeln!(
        out,
        "{}",
        super::table::fit(&line, super::table::max_width())
    )
}

fn write_summary(
    out: &mut impl Write,
    stats: &Stats,
    per_rule: &BTreeMap<(String, &'static str), u64>,
) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{:<28} {:<24} {:>9}", "rule", "action", "decisions")?;
    for ((rule, action), n) in per_rule {
        writeln!(
            out,
            "{} {} {}",
            left(&cell(rule), 28),
            left(action, 24),
            right(&n.to_string(), 9)
        )?;
    }
    writeln!(
        out,
        "{} lines, {} events, {} unparsed, {} decisions",
        stats.lines,
        stats.events,
        stats.unparsed_total(),
        stats.decisions
    )
}

#[cfg(test)]
mod tests {
    use super::super::table::width;
    use super::*;

    fn decision(user: &str, rule: &str) -> Decision {
        serde_json::from_value(serde_json::json!({
            "id": "0123456789abcdef", "rule": rule, "action": "lock_account",
            "target": {"user": user}, "at": "2025-01-01T00:00:00Z",
            "unlock": "admin", "severity": "high", "mode": "recommend",
            "evidence": {"count": 5, "first": "2025-01-01T00:00:00Z",
                "last": "2025-01-01T00:00:00Z", "source_ips": [], "users": [user]}
        }))
        .unwrap()
    }

    /// The terminal column where `what` starts in `line`.
    fn col(line: &str, what: &str) -> usize {
        width(&line[..line.find(what).unwrap()])
    }

    #[test]
    fn full_width_user_names_keep_the_decision_columns_aligned() {
        let mut out = Vec::new();
        for (user, rule) in [
            ("ａｌｉｃｅ", "山田-rule"),
            ("bob", "r"),
            ("e\u{1b}ve", "r"),
        ] {
            write_human(&mut out, &decision(user, rule)).unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("user=ａｌｉｃｅ"), "{text}");
        assert!(lines[2].contains("user=e\\u{1b}ve"), "{text}");
        for l in &lines[1..] {
            assert_eq!(col(l, "user="), col(lines[0], "user="), "{text}");
            assert_eq!(col(l, "until"), col(lines[0], "until"), "{text}");
        }
    }

    #[test]
    fn full_width_rule_names_keep_the_summary_columns_aligned() {
        let per_rule: BTreeMap<(String, &'static str), u64> = [
            (("山田-lockout".to_owned(), "lock_account"), 3),
            (("ip-bruteforce".to_owned(), "block_ip"), 12),
        ]
        .into();
        let mut out = Vec::new();
        write_summary(&mut out, &Stats::default(), &per_rule).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().skip(1).take(3).collect();
        assert_eq!(
            lines[0],
            format!("{:<28} {:<24} {:>9}", "rule", "action", "decisions")
        );
        assert_eq!(col(lines[1], "block_ip"), col(lines[0], "action"), "{text}");
        assert_eq!(
            col(lines[2], "lock_account"),
            col(lines[0], "action"),
            "{text}"
        );
        assert_eq!(width(lines[1]), width(lines[0]), "{text}");
        assert_eq!(width(lines[2]), width(lines[0]), "{text}");
    }
}
