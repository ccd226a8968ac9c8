//! Sources: following log files live, by identity rather than by path. (types; the
//! tailer is being built)

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Who a file is, independent of its path: rotation renames a file (same
/// identity, new path) and creates a new one (new identity, old path).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub inode: u64,
    /// Hash of the first `head_len` bytes (at most 256): tells a new file that
    /// reuses an inode from the old one; `0` with `head_len = 0` for an empty file.
    pub head_hash: u64,
    /// How many bytes `head_hash` covers.
    pub head_len: u32,
}

/// Where reading of one file stands: written atomically with the rule state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The configured source's name.
    pub source: String,
    /// The path the file was last seen at.
    pub path: PathBuf,
    /// The file's identity.
    pub fingerprint: Fingerprint,
    /// Offset of the first byte not yet consumed (always at a line start).
    pub offset: u64,
}
