//! The inventory as the daemon holds it: shared by the event path, reloaded
//! when its file changes (a nightly export job replaces it).
//!
//! The daemon calls [`InventoryHandle::reload_if_changed`] periodically; a
//! change is noticed by modification time, size or identity (an export written
//! to a temporary file and renamed over the old one). A bad new file is
//! reported once and the previous inventory stays in force: rejecting a broken
//! export must not drop every account's exemption at once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use super::{Inventory, InventoryErrors, InventoryOptions};
use crate::enrich::AccountLookup;
use crate::event::Account;

/// What identifies one version of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    dev: u64,
    ino: u64,
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let m = std::fs::metadata(path)?;
    #[cfg(unix)]
    let (dev, ino) = {
        use std::os::unix::fs::MetadataExt;
        (m.dev(), m.ino())
    };
    #[cfg(not(unix))]
    let (dev, ino) = (0, 0);
    Ok(Stamp {
        modified: m.modified().ok(),
        len: m.len(),
        dev,
        ino,
    })
}

/// A reloading inventory, shareable across threads (`Arc<InventoryHandle>`).
#[derive(Debug)]
pub struct InventoryHandle {
    path: PathBuf,
    options: InventoryOptions,
    current: RwLock<Arc<Inventory>>,
    /// The version last tried, good or bad: a bad file is reported once, not
    /// at every check, and retried when it changes again.
    seen: Mutex<Option<Stamp>>,
}

impl InventoryHandle {
    /// Loads `path`; at start-up a bad file is an error (nothing to fall back on).
    pub fn open(
        path: &Path,
        options: InventoryOptions,
    ) -> Result<InventoryHandle, InventoryErrors> {
        let before = stamp(path).ok();
        let inv = Inventory::load(path, &options)?;
        Ok(InventoryHandle {
            path: path.into(),
            options,
            current: RwLock::new(Arc::new(inv)),
            seen: Mutex::new(before),
        })
    }

    /// The inventory in force.
    pub fn current(&self) -> Arc<Inventory> {
        // A panic elsewhere while holding the lock cannot leave a half-made
        // inventory (the Arc is swapped whole), so a poisoned lock is usable.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reloads when the file changed since the last attempt. `Ok(true)`: the
    /// new inventory is in force; `Ok(false)`: unchanged; `Err`: the file (or
    /// its absence) was rejected, the previous inventory stays. The same bad
    /// version is not reported again.
    pub fn reload_if_changed(&self) -> Result<bool, InventoryErrors> {
        let now = match stamp(&self.path) {
            Ok(s) => Some(s),
            Err(e) => {
                let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
                if seen.is_none() {
                    return Ok(false);
                }
                *seen = None;
                return Err(InventoryErrors::one(
                    &self.path,
                    None,
                    format!("cannot read: {e} (keeping the previous inventory)"),
                ));
            }
        };
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            if *seen == now {
                return Ok(false);
            }
            // Stamped before reading: a write during the read changes the
            // stamp again and is picked up by the next check.
            *seen = now;
        }
        let inv = Inventory::load(&self.path, &self.options)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(inv);
        Ok(true)
    }
}

impl AccountLookup for InventoryHandle {
    fn account(&self, user: &str) -> Option<Arc<Account>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .account(user)
    }
}

impl AccountLookup for Inventory {
    fn account(&self, user: &str) -> Option<Arc<Account>> {
        Inventory::account(self, user)
    }
}
