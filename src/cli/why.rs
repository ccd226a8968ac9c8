//! `loginwatch why USER`: why this person cannot log in, and what to tell them.
//!
//! With files, they go through the same pipeline as `replay` (so the history,
//! the linked spellings and the decisions are exactly what the daemon would
//! have), and USER is diagnosed as of the last event or `--at`. Without
//! files, the running daemon answers (`GET /api/v1/accounts/{user}/why`), or,
//! when none runs, the state file does.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::anyhow;
use chrono::{DateTime, Utc};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use loginwatch::decision::Mode;
use loginwatch::escape::Escaped;
use loginwatch::event::rfc3339;
use loginwatch::helpdesk::{Diagnosis, Language, gather};
use loginwatch::pipeline::Pipeline;
use loginwatch::replay::{EventMerge, Stats};

use super::CliError;
use super::decisions::client::{self, ClientError, Endpoint};
use super::input::InputArgs;

/// Arguments of `loginwatch why`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The login ID the user gives (exactly; mistyped forms are found too).
    user: String,
    /// Log files to replay first; without them the running daemon (or its
    /// state file) answers.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Rules directory [default: as `replay`].
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    // Log format of the files, as `replay` takes it.
    #[arg(long, short = 'f', default_value = "auto", help = super::input::format_help())]
    format: String,
    /// Year of year-less syslog timestamps.
    #[arg(long)]
    year: Option<i32>,
    /// Time zone of timestamps without an offset.
    #[arg(long, default_value = "local")]
    tz: String,
    /// GeoIP database (repeatable).
    #[arg(long, value_name = "FILE")]
    geoip: Vec<PathBuf>,
    /// The daemon's configuration: with files, its enrichment, rules and mode;
    /// without, its address and state file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The daemon's address, e.g. http://127.0.0.1:9464 [default: from the configuration].
    #[arg(long)]
    url: Option<String>,
    /// File holding the daemon's admin token (mode 0600) [default: as
    /// `decisions list`: the configured token, else the daemon's admin.token].
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Diagnose as of this time (RFC 3339) [default: the last event of the
    /// files, or now].
    #[arg(long, value_name = "TIME")]
    at: Option<String>,
    /// Language of the explanations: en or ja.
    #[arg(long, default_value = "en")]
    language: String,
    /// One JSON object.
    #[arg(long)]
    json: bool,
}

/// Runs `why`.
pub fn run(a: Args) -> Result<ExitCode, CliError> {
    let language = Language::parse(&a.language).ok_or_else(|| {
        CliError::Usage(format!(
            "--language {:?}: expected en or ja",
            Escaped(&a.language).to_string()
        ))
    })?;
    let at =
        a.at.as_deref()
            .map(|s| {
                DateTime::parse_from_rfc3339(s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| CliError::Usage(format!("--at {:?}: {e}", Escaped(s).to_string())))
            })
            .transpose()?;
    // One form for all three paths: the API's JSON.
    let diagnosis = if a.files.is_empty() {
        from_daemon(&a, at, language)?
    } else {
        serde_json::to_value(from_files(&a, at, language)?).map_err(|e| anyhow!(e))?
    };
    let mut out = io::stdout().lock();
    let written = if a.json {
        serde_json::to_writer(&mut out, &diagnosis)
            .map_err(io::Error::from)
            .and_then(|_| out.write_all(b"\n"))
    } else {
        write_human(&mut out, &diagnosis, language)
    };
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(anyhow!(e).into()),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn from_files(
    a: &Args,
    at: Option<DateTime<Utc>>,
    language: Language,
) -> Result<Diagnosis, CliError> {
    let input = InputArgs {
        format: a.format.clone(),
        year: a.year,
        tz: a.tz.clone(),
        geoip: a.geoip.clone(),
        config: a.config.clone(),
        files: a.files.clone(),
        journal: false,
        journal_dir: None,
    };
    let config = input.config()?;
    let (set, _) = super::rules::select(a.rules.as_deref(), config.as_ref())?;
    let opts = input.options()?;
    let format = input.format(&set.formats)?;
    let sources = input.open(&format, &opts)?;
    let enrichment = input.enrichment(config.as_ref(), Some(&set))?;
    let mode = config.as_ref().map_or(Mode::Recommend, |c| c.mode);
    let mut pipeline = Pipeline::fresh(Arc::new(set), mode, enrichment).sweeping_in_event_time();
    let mut merge = EventMerge::new(sources);
    let mut stats = Stats::default();
    let mut hook = |_: &str, _: u64, _: &[u8], _: &loginwatch::parse::ParseError| {};
    let mut decisions = Vec::new();
    let mut last: Option<DateTime<Utc>> = None;
    while let Some(mut ev) = merge.next_event(&mut stats, &mut hook)? {
        // Events after --at are not read into the diagnosis: it is "as of" then.
        if at.is_some_and(|t| ev.timestamp > t) {
            continue;
        }
        last = Some(last.map_or(ev.timestamp, |l| l.max(ev.timestamp)));
        pipeline.observe(&mut ev, &mut decisions);
    }
    let at = at.or(last).unwrap_or_else(Utc::now);
    let inventory = pipeline
        .enrichment()
        .inventory
        .as_ref()
        .map(|h| h.as_ref() as &dyn loginwatch::enrich::AccountLookup);
    Ok(gather::from_accounts(
        pipeline.accounts(),
        &decisions,
        inventory,
        &a.user,
        at,
        language,
    ))
}

fn from_daemon(
    a: &Args,
    at: Option<DateTime<Utc>>,
    language: Language,
) -> Result<serde_json::Value, CliError> {
    let config = super::config::load(a.config.as_deref())?;
    let ep = match &a.url {
        Some(u) => Endpoint::parse(u).map_err(CliError::Usage)?,
        None => Endpoint::from_listen(config.http.listen),
    };
    let lang = match language {
        Language::En => "en",
        Language::Ja => "ja",
    };
    let mut path = format!(
        "/api/v1/accounts/{}/why?language={lang}",
        utf8_percent_encode(&a.user, NON_ALPHANUMERIC)
    );
    if let Some(t) = at {
        path.push_str(&format!(
            "&at={}",
            utf8_percent_encode(&rfc3339(&t), NON_ALPHANUMERIC)
        ));
    }
    let token = super::decisions::admin_token(a.token_file.as_deref(), &config)?;
    match client::request(ep, "GET", &path, token.as_deref(), None) {
        Ok(r) if r.status == 200 => serde_json::from_slice(&r.body)
            .map_err(|e| anyhow!("diagnosis from the daemon: {e}").into()),
        Ok(r) if r.status == 401 => Err(anyhow!(super::decisions::TOKEN_REFUSED).into()),
        Ok(r) => Err(anyhow!(
            "the daemon refused ({}): {}",
            r.status,
            Escaped(&String::from_utf8_lossy(&r.body))
        )
        .into()),
        Err(ClientError::Unreachable(..)) => {
            let store =
                loginwatch::state::Store::open_read_only(&config.state_path).map_err(|e| {
                    CliError::Usage(format!(
                        "no daemon answers and the state file cannot be read: {e}"
                    ))
                })?;
            let loaded = match &config.inventory {
                Some(_) => Some(
                    loginwatch::app::enrichment::load(&config, &[])
                        .map_err(|e| CliError::Usage(e.to_string()))?,
                ),
                None => None,
            };
            let inventory = loaded
                .as_ref()
                .and_then(|l| l.inventory.as_ref())
                .map(|h| h.as_ref() as &dyn loginwatch::enrich::AccountLookup);
            let d = gather::from_store(
                &store,
                inventory,
                &a.user,
                at.unwrap_or_else(Utc::now),
                language,
            )
            .map_err(|e| anyhow!(e))?;
            serde_json::to_value(d).map_err(|e| anyhow!(e).into())
        }
        Err(e) => Err(anyhow!(e).into()),
    }
}

/// Per cause a paragraph and the next step; user-controlled strings escaped.
fn write_human(out: &mut impl Write, d: &serde_json::Value, language: Language) -> io::Result<()> {
    let (title, next, spelled) = match language {
        Language::En => ("Why", "Next step", "Spellings linked to this account"),
        Language::Ja => (
            "ログインできない理由",
            "次の対応",
            "このアカウントに結び付いた打ち間違い",
        ),
    };
    let s = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
    };
    writeln!(out, "{title}: {} ({})", Escaped(&s(d, "user")), s(d, "at"))?;
    let causes = d
        .get("causes")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    for (i, c) in causes.iter().enumerate() {
        writeln!(out)?;
        writeln!(
            out,
            "{}. [{}] {}",
            i + 1,
            s(c, "code"),
            Escaped(&s(c, "summary"))
        )?;
        writeln!(out, "   {next}: {}", Escaped(&s(c, "next_step")))?;
    }
    let spellings = d
        .get("linked_spellings")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    if !spellings.is_empty() {
        writeln!(out)?;
        writeln!(out, "{spelled}:")?;
        for sp in &spellings {
            let n = sp.get("count").and_then(|n| n.as_u64()).unwrap_or(0);
            writeln!(out, "   \"{}\" x{n}", Escaped(&s(sp, "typed")))?;
        }
    }
    Ok(())
}
