//! File identity for reload-on-change: the enrichment files (GeoIP databases, IP
//! lists, the inventory) are replaced by other tools (`geoipupdate`, a cron job
//! fetching a netset), usually by writing a new file and renaming it over the old
//! one. Comparing inode, size and modification time catches both that and an
//! in-place rewrite without reading the file, so a periodic check costs one `stat`.

use std::io;
use std::path::Path;
use std::time::SystemTime;

/// What a file looked like when it was last loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: Option<SystemTime>,
}

impl FileStamp {
    /// Reads the stamp of `path` (following symlinks, as the loaders do).
    pub fn of(path: &Path) -> io::Result<FileStamp> {
        let m = std::fs::metadata(path)?;
        let (dev, ino) = dev_ino(&m);
        Ok(FileStamp {
            dev,
            ino,
            size: m.len(),
            mtime: m.modified().ok(),
        })
    }
}

#[cfg(unix)]
fn dev_ino(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn dev_ino(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The outcome of a reload check: whether anything now in use changed, and the
/// files that could not be reloaded (their previous version stays in use).
#[derive(Debug)]
pub struct Reload<E> {
    pub changed: bool,
    pub errors: Vec<E>,
}

impl<E> Default for Reload<E> {
    fn default() -> Self {
        Reload {
            changed: false,
            errors: Vec::new(),
        }
    }
}

/// Change tracking for one loaded file: the stamp of the version in use, and the
/// stamp of a version that failed to load, so a broken file is reported once,
/// not on every check, while the previous version stays in use.
#[derive(Debug, Clone)]
pub struct Tracked {
    loaded: Option<FileStamp>,
    failed: Option<FileStamp>,
    missing_reported: bool,
}

/// What a check of a tracked file found.
#[derive(Debug)]
pub enum Check {
    /// Same file as loaded, or the same broken file as last time: nothing to do.
    Unchanged,
    /// A different file: load it, then call [`Tracked::loaded`] or [`Tracked::failed`].
    Changed(FileStamp),
    /// The file cannot be read (first occurrence only; later ones are `Unchanged`).
    Gone(io::Error),
}

impl Tracked {
    /// Tracking for a file just loaded with `stamp`.
    pub fn new(stamp: Option<FileStamp>) -> Tracked {
        Tracked {
            loaded: stamp,
            failed: None,
            missing_reported: false,
        }
    }

    /// Compares the file on disk with what was loaded.
    pub fn check(&mut self, path: &Path) -> Check {
        match FileStamp::of(path) {
            Ok(s) => {
                self.missing_reported = false;
                if Some(s) == self.loaded || Some(s) == self.failed {
                    Check::Unchanged
                } else {
                    Check::Changed(s)
                }
            }
            Err(e) if !self.missing_reported => {
                self.missing_reported = true;
                Check::Gone(e)
            }
            Err(_) => Check::Unchanged,
        }
    }

    /// Records that the version with `stamp` is now in use.
    pub fn loaded(&mut self, stamp: FileStamp) {
        self.loaded = Some(stamp);
        self.failed = None;
    }

    /// Records that the version with `stamp` failed to load (the old one stays).
    pub fn failed(&mut self, stamp: FileStamp) {
        self.failed = Some(stamp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewrite_is_a_change_and_a_broken_version_is_reported_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "a").unwrap();
        let mut t = Tracked::new(Some(FileStamp::of(&p).unwrap()));
        assert!(matches!(t.check(&p), Check::Unchanged));
        std::fs::write(&p, "bb").unwrap();
        let Check::Changed(s) = t.check(&p) else {
            panic!("expected a change")
        };
        t.failed(s);
        assert!(matches!(t.check(&p), Check::Unchanged));
        std::fs::remove_file(&p).unwrap();
        assert!(matches!(t.check(&p), Check::Gone(_)));
        assert!(matches!(t.check(&p), Check::Unchanged));
        std::fs::write(&p, "ccc").unwrap();
        let Check::Changed(s) = t.check(&p) else {
            panic!("expected a change")
        };
        t.loaded(s);
        assert!(matches!(t.check(&p), Check::Unchanged));
    }
}
