//! Where the agent's reading stands, kept in one small file beside the state
//! database (`<state_path>.agent`), written only after the stream has
//! acknowledged every event of the lines before it.
//!
//! The daemon keeps these positions in SQLite, in the transaction of the
//! rule state they belong to; the agent has no rule state, so a file
//! replaced atomically (written beside, synced, renamed) is all it needs.
//! It holds the same three things the daemon commits together: the file
//! checkpoints, the cursors of the journal and pulled sources, and the
//! parsers' snapshots (an sshd attempt spread over lines that straddle a
//! save). Owner-only (0600): it names log files and carries parser state.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::source::{Checkpoint, Cursor};

/// The layout of the file.
const VERSION: u32 = 1;

/// The file's content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Positions {
    pub v: u32,
    pub checkpoints: Vec<Checkpoint>,
    pub cursors: Vec<SavedCursor>,
    pub parsers: Vec<SavedParser>,
}

/// A [`Cursor`] as saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedCursor {
    pub source: String,
    pub cursor: String,
}

/// A parser's snapshot (hex) by its source's name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedParser {
    pub source: String,
    pub snapshot: String,
}

/// Why the positions could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PositionError {
    #[error("agent positions {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "agent positions {path} unreadable ({error}): move it aside to start over \
         (the sources are then read again from their start, or their end with --from-end)"
    )]
    Corrupt { path: PathBuf, error: String },
}

impl Positions {
    /// The positions of a source set, as they stand.
    pub fn new(
        checkpoints: Vec<Checkpoint>,
        cursors: Vec<Cursor>,
        parsers: Vec<(String, Vec<u8>)>,
    ) -> Positions {
        Positions {
            v: VERSION,
            checkpoints,
            cursors: cursors
                .into_iter()
                .map(|c| SavedCursor {
                    source: c.source,
                    cursor: c.cursor,
                })
                .collect(),
            parsers: parsers
                .into_iter()
                .map(|(source, s)| SavedParser {
                    source,
                    snapshot: hex::encode(s),
                })
                .collect(),
        }
    }

    /// The cursors as the sources take them.
    pub fn cursors(&self) -> Vec<Cursor> {
        self.cursors
            .iter()
            .map(|c| Cursor {
                source: c.source.clone(),
                cursor: c.cursor.clone(),
            })
            .collect()
    }

    /// The parsers' snapshots; one that does not decode is left out (the
    /// parser then starts fresh, as the daemon does with an unusable one).
    pub fn parser_snapshots(&self) -> Vec<(String, Vec<u8>)> {
        self.parsers
            .iter()
            .filter_map(|p| Some((p.source.clone(), hex::decode(&p.snapshot).ok()?)))
            .collect()
    }
}

/// The positions file of the state database at `state_path`.
pub fn path_for(state_path: &Path) -> PathBuf {
    let mut p = state_path.as_os_str().to_owned();
    p.push(".agent");
    PathBuf::from(p)
}

/// The saved positions; `None` on a first start.
pub fn load(path: &Path) -> Result<Option<Positions>, PositionError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(PositionError::Read {
                path: path.to_path_buf(),
                error,
            });
        }
    };
    let corrupt = |error: String| PositionError::Corrupt {
        path: path.to_path_buf(),
        error,
    };
    let p: Positions = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if p.v != VERSION {
        return Err(corrupt(format!("layout version {}", p.v)));
    }
    Ok(Some(p))
}

/// Replaces the file with `p`: written to a temporary file beside it (0600),
/// synced, renamed over it, and the directory synced, so a crash leaves
/// either the old positions or the new ones.
pub fn save(path: &Path, p: &Positions) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let body = serde_json::to_vec(p).map_err(std::io::Error::other)?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(crate::private::MODE)
        .open(&tmp)?;
    f.write_all(&body)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn positions_round_trip_privately() {
        let d = tempfile::tempdir().unwrap();
        let path = path_for(&d.path().join("lw.db"));
        assert_eq!(path, d.path().join("lw.db.agent"));
        assert_eq!(load(&path).unwrap(), None);
        let p = Positions::new(
            vec![Checkpoint {
                source: "auth".into(),
                path: "/var/log/auth.log".into(),
                fingerprint: crate::source::Fingerprint {
                    dev: 1,
                    inode: 2,
                    head_hash: 3,
                    head_len: 4,
                },
                offset: 99,
            }],
            vec![Cursor {
                source: "journal".into(),
                cursor: "s=1;i=2".into(),
            }],
            vec![("auth".into(), vec![0, 1, 255])],
        );
        save(&path, &p).unwrap();
        let back = load(&path).unwrap().unwrap();
        assert_eq!(back, p);
        assert_eq!(
            back.parser_snapshots(),
            [("auth".to_owned(), vec![0, 1, 255])]
        );
        assert_eq!(back.cursors()[0].cursor, "s=1;i=2");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);

        std::fs::write(&path, "{").unwrap();
        assert!(
            load(&path)
                .unwrap_err()
                .to_string()
                .contains("move it aside")
        );
    }
}
