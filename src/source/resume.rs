//! Resuming from last run's checkpoints: which file a checkpoint belongs to.
//!
//! A checkpoint names a file by identity, so it is matched against the files a
//! source names now by inode (and device), then confirmed by the hash of the
//! bytes it had consumed: an inode reused by a new file, or a file rewritten
//! while the daemon was down, must start over rather than resume mid-content.
//! A checkpoint whose file is no longer at a matched path was most likely
//! rotated while the daemon was down; it is looked for beside its old path.

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::discover;
use super::fingerprint;
use super::{Checkpoint, Fingerprint};

/// What last run's checkpoints say about a newly found file.
#[derive(Debug)]
pub enum Taken {
    /// Resume at this offset.
    Resume(u64),
    /// The checkpoint for this inode no longer matches: the file was truncated
    /// or rewritten while the daemon was down (or the inode reused). Start at 0;
    /// the checkpoint tells what to look for in a copy beside it.
    Stale(Checkpoint),
    /// No checkpoint for it.
    None,
}

/// The offset to resume a newly found file at, from last run's checkpoint for
/// the same identity (same source or same path; the device may differ at the
/// same path, as device numbers can change across a reboot). A checkpoint for
/// this inode whose head no longer matches, or that lies beyond the file's end,
/// is stale and taken out.
pub fn take_checkpoint(
    pending: &mut Vec<Checkpoint>,
    source: &str,
    path: &Path,
    fp: &Fingerprint,
    file: &File,
    size: u64,
) -> Taken {
    let Some(i) = pending.iter().position(|cp| {
        (cp.source == source || cp.path == path)
            && cp.fingerprint.inode == fp.inode
            && (cp.fingerprint.dev == fp.dev || cp.path == path)
    }) else {
        return Taken::None;
    };
    let cp = pending.remove(i);
    match fingerprint::head_matches(file, &cp.fingerprint, size, cp.offset) {
        Ok(true) => Taken::Resume(cp.offset),
        _ => Taken::Stale(cp),
    }
}

/// A file in the directory of `cp.path` with the checkpoint's identity, opened.
pub fn find_by_inode(cp: &Checkpoint) -> Option<(PathBuf, File)> {
    let dir = discover::parent(&cp.path);
    for entry in fs::read_dir(dir).ok()?.flatten() {
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() || meta.ino() != cp.fingerprint.inode || meta.dev() != cp.fingerprint.dev
        {
            continue;
        }
        let path = entry.path();
        let file = File::open(&path).ok()?;
        let m = file.metadata().ok()?;
        if m.ino() != cp.fingerprint.inode {
            return None;
        }
        return match fingerprint::head_matches(&file, &cp.fingerprint, m.len(), cp.offset) {
            Ok(true) => Some((path, file)),
            _ => None,
        };
    }
    None
}
