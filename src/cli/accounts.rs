//! `loginwatch accounts inactive`: the account review from the command line.
//!
//! Reads the daemon's learned facts from its state file (read-only: safe while
//! the daemon runs) and, when given, the account inventory, and lists active
//! accounts with no successful login for N days (see
//! [`loginwatch::enrich::inventory::inactive_accounts`]). The clock is read
//! here, at the edge; the computation is pure.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use loginwatch::enrich::inventory::{
    Field, InactiveAccount, InactiveSource, Inventory, InventoryOptions, inactive_accounts,
};
use loginwatch::escape::Escaped;
use loginwatch::event::rfc3339;
use loginwatch::parse::Zone;
use loginwatch::state::{AccountFacts, Store};

use super::CliError;
use super::table::{cell, column_width, fit, left, max_width, right};

/// `loginwatch accounts ...`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// List active accounts with no successful login for N days (from the
    /// daemon's learned facts and the account inventory; the later login wins).
    #[command(
        after_help = "Example:\n  loginwatch accounts inactive --days 90 --inventory users.csv --json"
    )]
    Inactive(InactiveArgs),
}

/// Arguments of `accounts inactive`.
#[derive(Debug, clap::Args)]
pub struct InactiveArgs {
    /// Days without a successful login.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=36500))]
    days: u32,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
    /// The daemon's configuration (for its state file) [default: the embedded defaults].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Account inventory exported from the directory or admin console (CSV or JSON).
    #[arg(long, value_name = "FILE")]
    inventory: Option<PathBuf>,
    /// Zone of inventory dates written without an offset (UTC, local, or an IANA name).
    #[arg(long, default_value = "UTC", value_name = "ZONE")]
    inventory_tz: String,
    /// Map an inventory header to a field, added to the built-in names
    /// (repeatable), e.g. `--column user=社員番号`.
    #[arg(long = "column", value_name = "FIELD=HEADER")]
    columns: Vec<String>,
    /// Characters separating groups in one inventory cell [default: ;|].
    #[arg(long, value_name = "CHARS")]
    group_separators: Option<String>,
}

/// Runs `accounts ...`.
pub fn run(c: Command) -> Result<ExitCode, CliError> {
    match c {
        Command::Inactive(a) => inactive(a),
    }
}

fn inactive(a: InactiveArgs) -> Result<ExitCode, CliError> {
    let config = super::config::load(a.config.as_deref())?;
    let inventory = match &a.inventory {
        Some(p) => Some(load_inventory(p, &options(&a)?)?),
        None => None,
    };
    let facts = read_facts(&config.state_path, inventory.is_some())?;
    let now = Utc::now();
    let found = inactive_accounts(inventory.as_ref(), &facts, a.days, now);
    if a.json {
        for f in &found {
            outln!("{}", json_line(f, now));
        }
    } else {
        print_human(&found, a.days, now);
    }
    Ok(ExitCode::SUCCESS)
}

/// The inventory options the flags describe.
fn options(a: &InactiveArgs) -> Result<InventoryOptions, CliError> {
    let mut o = InventoryOptions {
        zone: a
            .inventory_tz
            .parse::<Zone>()
            .map_err(|e| CliError::Usage(format!("--inventory-tz: {e}")))?,
        ..InventoryOptions::default()
    };
    if let Some(s) = &a.group_separators {
        if s.is_empty() {
            return Err(CliError::Usage(
                "--group-separators: give at least one character".into(),
            ));
        }
        o.group_separators = s.chars().collect();
    }
    for c in &a.columns {
        let (field, header) = c
            .split_once('=')
            .and_then(|(f, h)| Some((Field::parse(f.trim())?, h.trim())))
            .filter(|(_, h)| !h.is_empty())
            .ok_or_else(|| {
                let fields: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
                CliError::Usage(format!(
                    "--column {:?}: expected FIELD=HEADER with FIELD one of {}",
                    Escaped(c).to_string(),
                    fields.join(", ")
                ))
            })?;
        o.columns.add(field, header);
    }
    Ok(o)
}

/// A bad inventory is a usage error listing every problem (escaped: messages
/// quote the file's content).
fn load_inventory(path: &Path, o: &InventoryOptions) -> Result<Inventory, CliError> {
    Inventory::load(path, o).map_err(|errs| {
        let lines: Vec<String> = errs
            .to_string()
            .lines()
            .map(|l| Escaped(l).to_string())
            .collect();
        CliError::Usage(format!(
            "invalid inventory ({} problems):\n{}",
            errs.count(),
            lines.join("\n")
        ))
    })
}

/// The learned facts; a missing state file is only a note when an inventory
/// is given (a fresh install), else there is nothing to examine.
fn read_facts(state: &Path, have_inventory: bool) -> Result<Vec<AccountFacts>, CliError> {
    let shown = Escaped(&state.display().to_string()).to_string();
    if !state.exists() {
        if !have_inventory {
            return Err(CliError::Usage(format!(
                "nothing to examine: no state file at {shown} and no --inventory"
            )));
        }
        eprintln!("note: no state file at {shown}: only the inventory's last logins are used");
        return Ok(Vec::new());
    }
    let store = Store::open_read_only(state).with_context(|| format!("state file {shown}"))?;
    Ok(store
        .all_facts()
        .with_context(|| format!("state file {shown}"))?)
}

fn source_str(s: InactiveSource) -> &'static str {
    match s {
        InactiveSource::Inventory => "inventory",
        InactiveSource::Learned => "learned",
    }
}

/// Whole days since `t`.
fn days_since(t: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - t).num_days()
}

fn json_line(f: &InactiveAccount, now: DateTime<Utc>) -> serde_json::Value {
    serde_json::json!({
        "user": &*f.user,
        "last_login": f.last_login.as_ref().map(rfc3339),
        "days_inactive": f.last_login.map(|t| days_since(t, now)),
        "source": source_str(f.source),
        "email": f.email.as_deref(),
        "display_name": f.display_name.as_deref(),
    })
}

/// The user and e-mail cells of a row, escaped (the name is attacker-controlled).
fn name_cells(f: &InactiveAccount) -> (String, String) {
    (cell(&f.user), cell(f.email.as_deref().unwrap_or("-")))
}

/// `USER  LAST LOGIN  DAYS  SOURCE  E-MAIL  NAME`, one escaped line each, the
/// user and e-mail columns padded to `widths` terminal columns.
fn row_text(f: &InactiveAccount, now: DateTime<Utc>, widths: (usize, usize)) -> String {
    let (last, days) = match f.last_login {
        Some(t) => (rfc3339(&t), days_since(t, now).to_string()),
        None => ("never".to_owned(), "-".to_owned()),
    };
    let (user, email) = name_cells(f);
    format!(
        "{}  {}  {}  {}  {}  {}",
        left(&user, widths.0),
        left(&last, 20),
        right(&days, 5),
        left(source_str(f.source), 9),
        left(&email, widths.1),
        cell(f.display_name.as_deref().unwrap_or("-")),
    )
}

fn print_human(found: &[InactiveAccount], days: u32, now: DateTime<Utc>) {
    let cells: Vec<(String, String)> = found.iter().map(name_cells).collect();
    let widths = (
        column_width(cells.iter().map(|c| c.0.as_str()), 0),
        column_width(cells.iter().map(|c| c.1.as_str()), 0),
    );
    let max = max_width();
    for f in found {
        outln!("{}", fit(&row_text(f, now, widths), max));
    }
    outln!(
        "{} account{} with no successful login for {days} days or more (as of {})",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        rfc3339(&now)
    );
}

#[cfg(test)]
mod tests {
    use super::super::table::width;
    use super::*;
    use chrono::TimeZone;
    use std::sync::Arc;

    #[test]
    fn rows_escape_names_and_show_never() {
        let now = Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap();
        let f = InactiveAccount {
            user: Arc::from("ev\u{1b}[2Jil"),
            last_login: None,
            source: InactiveSource::Inventory,
            email: None,
            display_name: Some(Arc::from("山田\n太郎")),
        };
        let line = row_text(&f, now, (0, 0));
        assert!(line.starts_with("ev\\u{1b}[2Jil  never"), "{line}");
        assert!(line.contains("山田\\n太郎"), "{line}");
        let v = json_line(&f, now);
        assert_eq!(v["days_inactive"], serde_json::Value::Null);
        assert_eq!(v["source"], "inventory");
    }

    #[test]
    fn full_width_names_keep_the_columns_aligned() {
        let now = Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).unwrap();
        let row = |user: &str, email: &str| InactiveAccount {
            user: Arc::from(user),
            last_login: None,
            source: InactiveSource::Learned,
            email: Some(Arc::from(email)),
            display_name: None,
        };
        let found = [row("ａｌｉｃｅ", "山田@example.jp"), row("bob", "b@x")];
        let cells: Vec<(String, String)> = found.iter().map(name_cells).collect();
        let widths = (
            column_width(cells.iter().map(|c| c.0.as_str()), 0),
            column_width(cells.iter().map(|c| c.1.as_str()), 0),
        );
        let lines: Vec<String> = found.iter().map(|f| row_text(f, now, widths)).collect();
        assert_eq!(
            lines[0],
            "ａｌｉｃｅ  never                     -  learned    山田@example.jp  -"
        );
        assert_eq!(
            lines[1],
            "bob         never                     -  learned    b@x              -"
        );
        let col = |l: &str, what: &str| width(&l[..l.find(what).unwrap()]);
        assert_eq!(col(&lines[0], "never"), col(&lines[1], "never"));
        assert_eq!(col(&lines[0], "learned"), col(&lines[1], "learned"));
        let name = |l: &str| width(&l[..l.rfind(" -").unwrap()]);
        assert_eq!(name(&lines[0]), name(&lines[1]));
    }
}
