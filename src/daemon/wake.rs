//! Which file-system notifications wake the ingest loop.
//!
//! The daemon watches the directories of its sources, and those directories
//! often hold files the daemon itself writes: the state database and its WAL, a
//! file alert sink, or (on a small host) everything in one directory. Its own
//! writes, and its own opens and reads of the logs (quoting sample lines in an
//! alert opens the file), would otherwise wake the ingest thread thousands of
//! times a second during an attack, for nothing: measured, that preemption cost
//! about a third of live throughput with a file sink beside the log. Anything
//! else still wakes it; the poll interval stays the backstop.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use notify::event::{AccessKind, AccessMode, EventKind};

use crate::config::Config;
use crate::config::alerts::{FileTarget, TransportConfig};

/// The files whose changes are never news to the ingest loop.
#[derive(Debug, Default, Clone)]
pub struct OwnFiles(HashSet<PathBuf>);

impl OwnFiles {
    /// The state database (with its `-wal`, `-shm` and `-journal` companions
    /// and its marker)
    /// and every file sink of `config`, under each name a notification can carry
    /// for them: as configured, canonical, and joined to each watched directory
    /// that is the same directory.
    pub fn of(config: &Config, watch_dirs: &[PathBuf]) -> OwnFiles {
        let mut files = Vec::new();
        let db = config.state_path.as_os_str();
        // `.agent`: the fleet agent's positions (`super::agent::position`).
        for suffix in [
            "",
            "-wal",
            "-shm",
            "-journal",
            ".marker",
            ".marker.tmp",
            ".agent",
            ".agent.tmp",
        ] {
            let mut p = db.to_owned();
            p.push(suffix);
            files.push(PathBuf::from(p));
        }
        for s in &config.alert.sinks {
            if let TransportConfig::File(FileTarget::Path(p)) = &s.transport {
                files.push(p.clone());
            }
        }
        let dirs: Vec<(PathBuf, PathBuf)> = watch_dirs
            .iter()
            .filter_map(|d| Some((d.clone(), d.canonicalize().ok()?)))
            .collect();
        let mut set = HashSet::new();
        for f in files {
            let (Some(name), Some(parent)) = (f.file_name(), f.parent()) else {
                continue;
            };
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            if let Ok(canon) = parent.canonicalize() {
                set.insert(canon.join(name));
                for (given, c) in &dirs {
                    if *c == canon {
                        set.insert(given.join(name));
                    }
                }
            }
            set.insert(f);
        }
        OwnFiles(set)
    }

    /// True when `ev` may mean new lines (or a new, rotated or removed file).
    pub fn wakes(&self, ev: &notify::Event) -> bool {
        // Opens and reads, ours or anyone's, change nothing; a close after
        // writing does (some writers are only seen then).
        if let EventKind::Access(a) = ev.kind
            && !matches!(a, AccessKind::Close(AccessMode::Write))
        {
            return false;
        }
        ev.paths.is_empty() || !ev.paths.iter().all(|p| self.0.contains(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, ModifyKind};

    fn own(dir: &Path) -> OwnFiles {
        let toml = "state_path = \"state.db\"\n\
                    [[alert.sink]]\nname = \"siem\"\ntype = \"file\"\npath = \"alerts.jsonl\"\n";
        let c = crate::config::load::load_text(toml, &dir.join("loginwatch.toml"), &|_| None)
            .unwrap_or_else(|e| panic!("{e}"));
        OwnFiles::of(&c, &[dir.to_path_buf()])
    }

    fn ev(kind: EventKind, path: PathBuf) -> notify::Event {
        notify::Event::new(kind).add_path(path)
    }

    #[test]
    fn own_writes_and_reads_do_not_wake_but_source_changes_do() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let own = own(d);
        let modify = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        for f in ["state.db", "state.db-wal", "state.db-shm", "alerts.jsonl"] {
            assert!(!own.wakes(&ev(modify, d.join(f))), "{f}");
        }
        assert!(own.wakes(&ev(modify, d.join("auth.log"))));
        assert!(own.wakes(&ev(
            EventKind::Create(CreateKind::File),
            d.join("auth.log.1")
        )));
        let open = EventKind::Access(AccessKind::Open(AccessMode::Any));
        let read_close = EventKind::Access(AccessKind::Close(AccessMode::Read));
        let write_close = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert!(!own.wakes(&ev(open, d.join("auth.log"))));
        assert!(!own.wakes(&ev(read_close, d.join("auth.log"))));
        assert!(own.wakes(&ev(write_close, d.join("auth.log"))));
        // An event naming a source and an own file (a rename) still wakes.
        let rename = ev(modify, d.join("state.db")).add_path(d.join("auth.log"));
        assert!(own.wakes(&rename));
        // A path event without paths (e.g. a rescan) wakes.
        assert!(own.wakes(&notify::Event::new(modify)));
    }
}
