//! Export folders in the ingest loop: what a source of SaaS audit exports
//! needs beyond a log file's lines. Each new file of the source starts its
//! parser afresh (its own header row and encoding; with `auto`, its own
//! format), identical rows within a file are numbered so that each counts
//! ([`Occurrences`]), and an export that stopped early (LINE WORKS'
//! `downloadLogs error`) is named in the log and on `/readyz` until a later
//! export of the source has been read completely.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use tracing::{info, warn};

use crate::escape::Escaped;
use crate::source::FileId;
use crate::source::rows::{Occurrences, RowId};

/// Which file of a source its lines come from now.
#[derive(Debug, Default)]
pub struct FileState {
    file: Option<FileId>,
    /// The name of the format the parser reads (after `auto` detection).
    pub format: Option<String>,
    occurrences: Occurrences,
}

impl FileState {
    /// Notes the file of the next line; true when it is another file than
    /// the last line's (its identical rows are numbered from 0 again).
    pub fn enter(&mut self, file: FileId) -> bool {
        if self.file == Some(file) {
            return false;
        }
        self.file = Some(file);
        self.occurrences.clear();
        true
    }

    /// The identity of this copy of `row` in the current file.
    pub fn row(&mut self, row: RowId) -> RowId {
        self.occurrences.next(row)
    }
}

/// An export of a source that ended with `downloadLogs error`.
#[derive(Debug, Clone)]
struct Notice {
    file: FileId,
    path: PathBuf,
}

/// The incomplete exports of each source, until a later one is read whole.
#[derive(Debug, Default)]
pub struct Notices {
    by_source: HashMap<String, Notice>,
}

/// What an operator does about an incomplete export.
pub const ADVICE: &str =
    "download it again and put it beside it; rows already counted are not counted twice";

impl Notices {
    /// `path` (file `file` of `source`) ends with the trailer of a download
    /// that stopped early: warned once per file, shown on `/readyz`.
    pub fn incomplete(&mut self, source: &str, file: FileId, path: &Path) {
        if self.by_source.get(source).is_some_and(|n| n.file == file) {
            return;
        }
        warn!(source = %Escaped(source), path = %Escaped(&path.to_string_lossy()), "Incomplete export (it ends with `downloadLogs error`): {ADVICE}.");
        self.by_source.insert(
            source.to_owned(),
            Notice {
                file,
                path: path.to_path_buf(),
            },
        );
    }

    /// File `file` of `source` was read to its complete end: a notice about
    /// another (earlier) file of the source is over.
    pub fn completed(&mut self, source: &str, file: FileId, path: &Path) {
        if self.by_source.get(source).is_some_and(|n| n.file != file) {
            let n = self.by_source.remove(source).expect("checked above");
            info!(source = %Escaped(source), path = %Escaped(&path.to_string_lossy()), incomplete = %Escaped(&n.path.to_string_lossy()), "A later export was read completely; the incomplete one is covered.");
        }
    }

    /// The warning of `source` for `/readyz`, if any.
    pub fn warning(&self, source: &str) -> Option<String> {
        self.by_source.get(source).map(|n| {
            format!(
                "{}: incomplete export (ends with `downloadLogs error`): {ADVICE}",
                n.path.display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_lasts_until_another_file_of_the_source_is_read_whole() {
        let mut n = Notices::default();
        let (a, b) = (FileId(1), FileId(2));
        n.incomplete("lw", a, Path::new("/x/a.csv"));
        assert!(
            n.warning("lw")
                .unwrap()
                .starts_with("/x/a.csv: incomplete export")
        );
        assert_eq!(n.warning("other"), None);
        // The truncated file itself, read to its end, covers nothing.
        n.completed("lw", a, Path::new("/x/a.csv"));
        assert!(n.warning("lw").is_some());
        n.completed("lw", b, Path::new("/x/b.csv"));
        assert_eq!(n.warning("lw"), None);
    }

    #[test]
    fn a_new_file_numbers_its_copies_afresh() {
        let mut f = FileState::default();
        let row = RowId::of_line(b"r");
        assert!(f.enter(FileId(1)));
        assert!(!f.enter(FileId(1)));
        assert_eq!(f.row(row), row);
        assert_ne!(f.row(row), row);
        assert!(f.enter(FileId(2)));
        assert_eq!(f.row(row), row);
    }
}
