//! Finding the copy that `copytruncate` left beside a truncated file.
//!
//! logrotate's `copytruncate` copies the log (to `auth.log.1`,
//! `auth.log-20261205`, ...) and then truncates it in place. Lines written after
//! our last read and before the truncation are then only in the copy, so a
//! truncated file is not simply read again from 0: the copy is looked for in the
//! same directory and read from the old offset to its end first. The copy is
//! recognised by content, not by name: the hash of the bytes we had consumed
//! ([`Fingerprint::head_hash`]) must match its first bytes, and it must be at
//! least as long as the old offset. Only when nothing had been consumed (no head
//! to compare) does the name count: a sibling named after the file
//! (`auth.log.1`, `auth.log-DATE`), uncompressed, and modified after we last
//! looked at the file.
//!
//! Inherent limit: a copy overwritten in place before we read it (a second
//! `cp` over an unread `auth.log.1`) has lost those lines; nothing can recover
//! them.

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::Fingerprint;
use super::discover;
use super::fingerprint;

/// Suffixes of compressed rotations: their bytes are not the log's bytes.
const COMPRESSED: &[&str] = &[".gz", ".xz", ".bz2", ".zst", ".lz4", ".Z", ".zip"];

/// The copy wanted: what the truncated file was when we last read it.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// The truncated file's path (the copy is looked for beside it).
    pub path: &'a Path,
    /// Its identity and consumed head before the truncation.
    pub fingerprint: &'a Fingerprint,
    /// The offset we had read to: the copy is read from here.
    pub offset: u64,
    /// Its modification time at our last look; only used when nothing had been
    /// consumed, to tell a fresh copy from an old rotation.
    pub seen_mtime: Option<SystemTime>,
}

/// The copy of `wanted`, opened: the newest sibling that matches (an older
/// rotation may start with the same bytes when lines repeat), skipping the
/// identities `followed` says are already being read.
pub fn find_copy(
    wanted: &Wanted<'_>,
    followed: &dyn Fn(u64, u64) -> bool,
) -> Option<(PathBuf, File)> {
    let mut dirs = vec![discover::parent(wanted.path)];
    // A symlinked log (`auth.log -> /srv/log/auth.log`) is copied beside its
    // target by a rotation configured on the target.
    if let Ok(target) = fs::canonicalize(wanted.path) {
        let d = discover::parent(&target);
        if !dirs.contains(&d) {
            dirs.push(d);
        }
    }
    let mut best: Option<(SystemTime, PathBuf, File)> = None;
    for dir in dirs {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(mtime) = candidate(wanted, &path, followed) else {
                continue;
            };
            if best.as_ref().is_some_and(|(t, _, _)| *t >= mtime) {
                continue;
            }
            if let Some(file) = confirm(wanted, &path) {
                best = Some((mtime, path, file));
            }
        }
    }
    best.map(|(_, p, f)| (p, f))
}

/// Cheap checks on one directory entry (no open): its modification time when
/// it may be the copy.
fn candidate(
    wanted: &Wanted<'_>,
    path: &Path,
    followed: &dyn Fn(u64, u64) -> bool,
) -> Option<SystemTime> {
    let meta = fs::symlink_metadata(path).ok()?;
    let fp = wanted.fingerprint;
    if !meta.is_file()
        || (meta.dev() == fp.dev && meta.ino() == fp.inode)
        || followed(meta.dev(), meta.ino())
        || meta.len() == 0
        || meta.len() < wanted.offset
    {
        return None;
    }
    let mtime = meta.modified().ok()?;
    if fp.head_len == 0 {
        let changed = wanted.seen_mtime.is_none_or(|seen| mtime > seen);
        if !changed || !named_after(wanted.path, path) {
            return None;
        }
    }
    Some(mtime)
}

/// Opens `path` and checks its first bytes against the consumed head (the
/// handle is what will be read, so it is the handle that is checked).
fn confirm(wanted: &Wanted<'_>, path: &Path) -> Option<File> {
    let file = File::open(path).ok()?;
    let size = file.metadata().ok()?.len();
    fingerprint::head_matches(&file, wanted.fingerprint, size, wanted.offset)
        .ok()?
        .then_some(file)
}

/// Whether `sibling` is named like a rotation of `log`: its name, then `.`, `-`
/// or `_` and more, and not compressed.
fn named_after(log: &Path, sibling: &Path) -> bool {
    let (Some(log), Some(sib)) = (log.file_name(), sibling.file_name()) else {
        return false;
    };
    let (log, sib) = (log.to_string_lossy(), sib.to_string_lossy());
    let Some(rest) = sib.strip_prefix(log.as_ref()) else {
        return false;
    };
    rest.len() > 1
        && rest.starts_with(['.', '-', '_'])
        && !COMPRESSED.iter().any(|c| rest.ends_with(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::fingerprint::of_file;
    use std::io::Write;
    use std::time::Duration;

    fn write(path: &Path, text: &str) {
        fs::File::create(path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }

    fn set_mtime(path: &Path, t: SystemTime) {
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    fn none(_: u64, _: u64) -> bool {
        false
    }

    /// The fingerprint of `path` with its first `consumed` bytes read.
    fn fp(path: &Path, consumed: u64) -> Fingerprint {
        of_file(&File::open(path).unwrap(), consumed).unwrap()
    }

    fn found(wanted: &Wanted<'_>) -> Option<PathBuf> {
        find_copy(wanted, &none).map(|(p, _)| p)
    }

    #[test]
    fn the_copy_is_found_by_its_head_whatever_its_name() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("auth.log");
        write(&log, "line 1\nline 2\nline 3\n");
        let before = fp(&log, 7);
        fs::copy(&log, d.path().join("auth.log-20261205")).unwrap();
        write(&d.path().join("other.log"), "line 9\nline 8\nline 7\n");
        fs::File::create(&log).unwrap();
        let wanted = Wanted {
            path: &log,
            fingerprint: &before,
            offset: 7,
            seen_mtime: None,
        };
        assert_eq!(found(&wanted), Some(d.path().join("auth.log-20261205")));
        // Renamed to anything: still the copy, its bytes say so.
        fs::rename(d.path().join("auth.log-20261205"), d.path().join("x")).unwrap();
        assert_eq!(found(&wanted), Some(d.path().join("x")));
    }

    #[test]
    fn a_copy_shorter_than_the_offset_or_with_another_head_is_not_it() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("auth.log");
        write(&log, "line 1\nline 2\n");
        let before = fp(&log, 14);
        write(&d.path().join("auth.log.1"), "line 1\n");
        write(&d.path().join("auth.log.2"), "LINE 1\nline 2\nline 3\n");
        fs::File::create(&log).unwrap();
        let wanted = Wanted {
            path: &log,
            fingerprint: &before,
            offset: 14,
            seen_mtime: None,
        };
        assert_eq!(found(&wanted), None);
        // A file already followed (a glob names it) is not taken twice.
        write(&d.path().join("auth.log.3"), "line 1\nline 2\nline 3\n");
        assert_eq!(found(&wanted), Some(d.path().join("auth.log.3")));
        let ino = fs::metadata(d.path().join("auth.log.3")).unwrap().ino();
        assert_eq!(find_copy(&wanted, &|_, i| i == ino).map(|(p, _)| p), None);
    }

    #[test]
    fn the_newest_of_several_matching_copies_wins() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("auth.log");
        write(&log, "same first line\n");
        let before = fp(&log, 16);
        let now = SystemTime::now();
        for (name, age) in [
            ("auth.log.2", 7200),
            ("auth.log.1", 10),
            ("auth.log.3", 3600),
        ] {
            write(&d.path().join(name), "same first line\nmore\n");
            set_mtime(&d.path().join(name), now - Duration::from_secs(age));
        }
        let wanted = Wanted {
            path: &log,
            fingerprint: &before,
            offset: 16,
            seen_mtime: None,
        };
        assert_eq!(found(&wanted), Some(d.path().join("auth.log.1")));
    }

    #[test]
    fn with_nothing_consumed_only_a_fresh_uncompressed_rotation_by_name() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("auth.log");
        write(&log, "");
        let before = fp(&log, 0);
        assert_eq!(before.head_len, 0);
        let seen = SystemTime::now() - Duration::from_secs(60);
        write(&d.path().join("unrelated"), "a\n");
        write(&d.path().join("auth.log.1.gz"), "\x1f compressed\n");
        write(&d.path().join("auth.log.2"), "old rotation\n");
        set_mtime(
            &d.path().join("auth.log.2"),
            seen - Duration::from_secs(86400),
        );
        let wanted = Wanted {
            path: &log,
            fingerprint: &before,
            offset: 0,
            seen_mtime: Some(seen),
        };
        assert_eq!(found(&wanted), None);
        write(&d.path().join("auth.log.1"), "burst\n");
        assert_eq!(found(&wanted), Some(d.path().join("auth.log.1")));
    }

    #[test]
    fn rotation_names() {
        let log = Path::new("/var/log/auth.log");
        for (name, yes) in [
            ("auth.log.1", true),
            ("auth.log-20261205", true),
            ("auth.log_old", true),
            ("auth.log.2.gz", false),
            ("auth.log.", false),
            ("auth.log", false),
            ("auth.logx", false),
            ("kern.log.1", false),
        ] {
            assert_eq!(named_after(log, Path::new(name)), yes, "{name}");
        }
    }
}
