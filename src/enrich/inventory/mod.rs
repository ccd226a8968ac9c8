//! The account inventory: an export of the directory or SaaS admin console
//! (CSV or JSON) telling, for each account, its e-mail, display name, status,
//! admin flag, groups, password age, last login and whether it is exempt.
//!
//! Logs say *who tried*; only the inventory says *whose account it is*: an
//! admin, a suspended leaver, a break-glass account never to be locked. The
//! enrichment stage puts the matching [`Account`] on each event through
//! [`crate::enrich::AccountLookup`], and the inactive-account sweep
//! ([`inactive`]) reads last logins from it.
//!
//! Loading is all or nothing: a file with any bad row is rejected with every
//! problem listed (file:line), because a half-read export would silently drop
//! accounts and with them their exemptions and admin flags. [`InventoryHandle`]
//! reloads the file when it changes and keeps the previous inventory when the
//! new one is bad.
//!
//! Layout: [`columns`] maps headers to fields, [`read`] decodes bytes and splits
//! CSV into rows and [`json`] JSON, [`values`] turns a row into an [`Account`], [`handle`]
//! reloads, [`inactive`] computes stale accounts.

pub mod columns;
pub mod error;
pub mod handle;
pub mod inactive;
pub mod json;
pub mod read;
pub mod values;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

// Seeded per map (foldhash): the keys are the names and e-mail addresses of a
// directory or SaaS export, which self-service sign-up or a compromised
// account can fill with crafted names; an unseeded hasher such as Fx would let
// such names collide into one probe chain (hash flooding).
use foldhash::HashMap;

pub use columns::{ColumnMap, Field};
pub use error::{InventoryError, InventoryErrors};
pub use handle::InventoryHandle;
pub use inactive::{InactiveAccount, InactiveSource, inactive_accounts};

use crate::event::{Account, AccountStatus};
use crate::parse::Zone;
use values::CellRules;

/// The file's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InventoryFormat {
    /// By extension: `.json`/`.jsonl`/`.ndjson` are JSON, anything else CSV.
    #[default]
    Auto,
    Csv,
    Json,
}

/// How an inventory file is read.
#[derive(Debug, Clone, PartialEq)]
pub struct InventoryOptions {
    pub format: InventoryFormat,
    /// Header (or JSON key) aliases per field.
    pub columns: ColumnMap,
    /// Characters separating groups in one cell (default `;` and `|`; a comma
    /// would clash with CSV quoting habits of spreadsheet users).
    pub group_separators: Vec<char>,
    /// Zone of dates written without an offset (default UTC).
    pub zone: Zone,
}

impl Default for InventoryOptions {
    fn default() -> InventoryOptions {
        InventoryOptions {
            format: InventoryFormat::Auto,
            columns: ColumnMap::default(),
            group_separators: vec![';', '|'],
            zone: Zone::Utc,
        }
    }
}

/// A loaded inventory. Lookups are hash-map reads: it sits on the event path.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    accounts: Vec<Arc<Account>>,
    /// Exact user name -> index.
    by_user: HashMap<Arc<str>, usize>,
    /// Lower-cased user name -> index; `None` when two accounts share it.
    by_user_folded: HashMap<String, Option<usize>>,
    /// Lower-cased e-mail -> index; `None` when two accounts share it.
    by_email: HashMap<String, Option<usize>>,
    path: PathBuf,
}

impl Inventory {
    /// Reads and checks `path` whole (see the module header).
    pub fn load(path: &Path, options: &InventoryOptions) -> Result<Inventory, InventoryErrors> {
        let bytes = std::fs::read(path)
            .map_err(|e| InventoryErrors::one(path, None, format!("cannot read: {e}")))?;
        Inventory::from_bytes(path, &bytes, options)
    }

    /// Parses an export already in memory; `path` names it in messages.
    pub fn from_bytes(
        path: &Path,
        bytes: &[u8],
        options: &InventoryOptions,
    ) -> Result<Inventory, InventoryErrors> {
        let text = read::decode(path, bytes).map_err(|e| InventoryErrors::from_vec(vec![e]))?;
        if text.trim().is_empty() {
            return Err(InventoryErrors::one(path, None, "empty file".to_owned()));
        }
        let json = match options.format {
            InventoryFormat::Json => true,
            InventoryFormat::Csv => false,
            InventoryFormat::Auto => path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                matches!(e.to_ascii_lowercase().as_str(), "json" | "jsonl" | "ndjson")
            }),
        };
        let rows = if json {
            json::json_rows(path, &text, &options.columns)
        } else {
            read::csv_rows(path, &text, &options.columns)
        }
        .map_err(InventoryErrors::from_vec)?;
        let rules = CellRules {
            group_separators: &options.group_separators,
            zone: options.zone,
        };
        let mut errs = Vec::new();
        let mut inv = Inventory {
            path: path.into(),
            ..Inventory::default()
        };
        let mut lines: Vec<usize> = Vec::new();
        for (line, cells) in rows {
            match values::account(&cells, rules) {
                Ok(a) => {
                    if let Some(&i) = inv.by_user.get(&a.user) {
                        errs.push(InventoryError {
                            path: path.into(),
                            line: Some(line),
                            message: format!(
                                "user {:?} is already listed on line {}",
                                &*a.user, lines[i]
                            ),
                        });
                        continue;
                    }
                    inv.insert(Arc::new(a));
                    lines.push(line);
                }
                Err(messages) => errs.extend(messages.into_iter().map(|message| InventoryError {
                    path: path.into(),
                    line: Some(line),
                    message,
                })),
            }
        }
        if errs.is_empty() {
            Ok(inv)
        } else {
            Err(InventoryErrors::from_vec(errs))
        }
    }

    fn insert(&mut self, a: Arc<Account>) {
        let i = self.accounts.len();
        self.by_user.insert(a.user.clone(), i);
        let fold = |m: &mut HashMap<String, Option<usize>>, k: String| {
            m.entry(k).and_modify(|v| *v = None).or_insert(Some(i));
        };
        fold(&mut self.by_user_folded, a.user.to_lowercase());
        if let Some(e) = &a.email {
            fold(&mut self.by_email, e.to_lowercase());
        }
        self.accounts.push(a);
    }

    /// The account a log's user name refers to. In order:
    ///
    /// 1. the user name exactly as written;
    /// 2. the user name ignoring case (`Alice` = `alice`), when only one account
    ///    folds to it;
    /// 3. for a name with `@`: the account whose e-mail is that address, ignoring
    ///    case, when only one has it;
    /// 4. for `id@domain`: the account named `id` (step 1, then 2), provided it
    ///    has no e-mail or its e-mail's domain is `domain` (ignoring case), so
    ///    `alice@other.example` never picks the `alice` of `example.jp`.
    ///
    /// Otherwise `None`. An ambiguous fallback yields `None` rather than a guess.
    pub fn account(&self, user: &str) -> Option<Arc<Account>> {
        self.index_of(user).map(|i| self.accounts[i].clone())
    }

    fn index_of(&self, user: &str) -> Option<usize> {
        if let Some(&i) = self.by_user.get(user) {
            return Some(i);
        }
        // Allocates only for a name that changes under lower-casing: the
        // common miss (an attacker's made-up lower-case name) stays free.
        let folded: Cow<'_, str> = if user.chars().all(|c| c.to_lowercase().eq([c])) {
            Cow::Borrowed(user)
        } else {
            Cow::Owned(user.to_lowercase())
        };
        if let Some(&i) = self.by_user_folded.get(&*folded) {
            return i;
        }
        let (id, domain) = folded.rsplit_once('@')?;
        if let Some(&i) = self.by_email.get(&*folded) {
            return i;
        }
        let (written_id, _) = user.rsplit_once('@')?;
        let i = match self.by_user.get(written_id) {
            Some(&i) => Some(i),
            None => self.by_user_folded.get(id).copied().flatten(),
        }?;
        let same_domain = self.accounts[i].email.as_ref().is_none_or(|e| {
            e.rsplit_once('@')
                .is_some_and(|(_, d)| d.to_lowercase() == domain)
        });
        same_domain.then_some(i)
    }

    /// Every account, in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Account>> {
        self.accounts.iter()
    }

    /// How many accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// True when the file listed no account.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Active accounts with the admin flag (a start-up line and a metric: a
    /// sudden change is worth a look).
    pub fn admins_active(&self) -> usize {
        self.accounts
            .iter()
            .filter(|a| a.admin && a.status == AccountStatus::Active)
            .count()
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests;
