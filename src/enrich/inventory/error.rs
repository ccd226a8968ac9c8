//! Errors of the inventory loader: every problem of a file, each with the file
//! and (when it has one) the line, so an operator fixes an export in one pass.

use std::fmt;
use std::path::PathBuf;

/// At most this many problems are listed; a wholly wrong file (say, the wrong
/// export) would otherwise print one line per row.
pub const MAX_REPORTED: usize = 50;

/// One problem in an inventory file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryError {
    pub path: PathBuf,
    /// 1-based line where the row (or JSON object) starts, when there is one.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for InventoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in an inventory file (never just the first). A file
/// with any problem is rejected whole: a half-read export would silently drop
/// accounts (and with them their admin flags and exemptions).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InventoryErrors {
    pub errors: Vec<InventoryError>,
    /// Problems found beyond [`MAX_REPORTED`].
    pub more: usize,
}

impl InventoryErrors {
    /// One problem.
    pub fn one(path: impl Into<PathBuf>, line: Option<usize>, message: String) -> InventoryErrors {
        InventoryErrors {
            errors: vec![InventoryError {
                path: path.into(),
                line,
                message,
            }],
            more: 0,
        }
    }

    /// The problems in reading order, capped at [`MAX_REPORTED`].
    pub(super) fn from_vec(mut errors: Vec<InventoryError>) -> InventoryErrors {
        errors.sort_by_key(|e| e.line);
        let more = errors.len().saturating_sub(MAX_REPORTED);
        errors.truncate(MAX_REPORTED);
        InventoryErrors { errors, more }
    }

    /// Problems found in all (including those not listed).
    pub fn count(&self) -> usize {
        self.errors.len() + self.more
    }
}

impl fmt::Display for InventoryErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.more > 0 {
            write!(f, "\n... and {} more problems", self.more)?;
        }
        Ok(())
    }
}
