//! From a configured path or glob to the regular files it names right now, with
//! problems turned into messages an admin can act on.
//!
//! Discovery runs on every poll, so it must be cheap (one `stat` per literal
//! path) and must never fail as a whole: a missing file is normal (it may appear
//! later), and an unreadable one is reported with the fix while the other files
//! of the source keep being read. `stat` follows symlinks, so a symlinked path
//! yields its target's identity.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// What is wrong with a path of a source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The process may not read the file (or search a directory above it).
    #[error("permission denied")]
    PermissionDenied,
    /// The path names a directory or a special file.
    #[error("not a regular file")]
    NotAFile,
    /// The glob does not parse.
    #[error("invalid glob pattern: {0}")]
    InvalidPattern(String),
    /// Any other I/O error, as the OS worded it.
    #[error("{0}")]
    Io(String),
}

/// A problem with one path, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem} ({hint})", path = path.display())]
pub struct SourceError {
    pub path: PathBuf,
    pub problem: Problem,
    /// What the admin can do about it.
    pub hint: String,
}

impl SourceError {
    /// Classifies an I/O error on `path`.
    pub fn from_io(path: &Path, e: &io::Error) -> SourceError {
        let problem = match e.kind() {
            io::ErrorKind::PermissionDenied => Problem::PermissionDenied,
            _ => Problem::Io(e.to_string()),
        };
        SourceError::new(path, problem)
    }

    /// A problem with its standard hint.
    pub fn new(path: &Path, problem: Problem) -> SourceError {
        let hint = match &problem {
            Problem::PermissionDenied if path.starts_with("/var/log") => {
                "add the user loginwatch runs as to group `adm`, which may read logs on \
                 Debian (SupplementaryGroups=adm in the systemd unit); retrying"
                    .to_string()
            }
            Problem::PermissionDenied => format!(
                "grant the user loginwatch runs as read access to {} and search access to \
                 its directories; retrying",
                path.display()
            ),
            Problem::NotAFile => "point the source at a log file or a glob of files".to_string(),
            Problem::InvalidPattern(_) => "fix the source's path in the configuration".to_string(),
            Problem::Io(_) => "retrying on every poll".to_string(),
        };
        SourceError {
            path: path.to_path_buf(),
            problem,
            hint,
        }
    }
}

/// A regular file a pattern names, with the identity `stat` gave it (of the
/// target, for a symlink).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    pub dev: u64,
    pub inode: u64,
}

/// A source's pattern, parsed once.
#[derive(Debug, Clone)]
pub enum Pattern {
    /// A literal path (possibly a symlink).
    Path(PathBuf),
    /// A glob, with the directory above its first wildcard (for watching).
    Glob { glob: String, base: PathBuf },
    /// A glob that does not parse: reported on every status, never matches.
    Invalid(SourceError),
}

impl Pattern {
    /// Parses `pattern`: a glob if it contains `*`, `?` or `[`.
    pub fn parse(pattern: &str) -> Pattern {
        if !pattern.contains(['*', '?', '[']) {
            return Pattern::Path(PathBuf::from(pattern));
        }
        if let Err(e) = glob::Pattern::new(pattern) {
            return Pattern::Invalid(SourceError::new(
                Path::new(pattern),
                Problem::InvalidPattern(e.to_string()),
            ));
        }
        let mut base = PathBuf::new();
        for c in Path::new(pattern).components() {
            if c.as_os_str().to_string_lossy().contains(['*', '?', '[']) {
                break;
            }
            base.push(c);
        }
        Pattern::Glob {
            glob: pattern.to_string(),
            base,
        }
    }

    /// The regular files the pattern names now (in a stable order: globs sort),
    /// pushing problems to `errors`. Missing files are silently absent.
    pub fn discover(&self, out: &mut Vec<Found>, errors: &mut Vec<SourceError>) {
        match self {
            Pattern::Path(p) => check(p, out, errors, true),
            Pattern::Invalid(e) => errors.push(e.clone()),
            Pattern::Glob { glob, .. } => match glob::glob(glob) {
                Err(e) => errors.push(SourceError::new(
                    Path::new(glob),
                    Problem::InvalidPattern(e.to_string()),
                )),
                Ok(paths) => {
                    for entry in paths {
                        match entry {
                            Ok(p) => check(&p, out, errors, false),
                            Err(e) => errors.push(SourceError::from_io(e.path(), e.error())),
                        }
                    }
                }
            },
        }
    }

    /// The directory whose changes may change what the pattern names: the
    /// parent of a path, the base of a glob; the nearest one that exists.
    pub fn watch_dir(&self) -> Option<PathBuf> {
        let dir = match self {
            Pattern::Path(p) => parent(p),
            Pattern::Glob { base, .. } => {
                if base.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    base.clone()
                }
            }
            Pattern::Invalid(_) => return None,
        };
        Some(nearest_existing(&dir))
    }
}

/// The parent directory of `p`, `.` for a bare file name.
pub fn parent(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `dir` or its nearest existing ancestor (a watch on a missing directory fails;
/// the ancestor sees it being created).
fn nearest_existing(dir: &Path) -> PathBuf {
    let mut d = dir.to_path_buf();
    loop {
        if d.is_dir() {
            return d;
        }
        match d.parent() {
            Some(p)
                if !p.as_os_str().is_empty()
                    && !matches!(d.components().next_back(), Some(Component::RootDir)) =>
            {
                d = p.to_path_buf()
            }
            _ => return PathBuf::from("."),
        }
    }
}

/// Pushes `p` if it is a regular file; `literal` paths that name a directory
/// are a configuration mistake, glob matches that do are just skipped.
fn check(p: &Path, out: &mut Vec<Found>, errors: &mut Vec<SourceError>, literal: bool) {
    match fs::metadata(p) {
        Ok(m) if m.is_file() => out.push(Found {
            path: p.to_path_buf(),
            dev: m.dev(),
            inode: m.ino(),
        }),
        Ok(_) if literal => errors.push(SourceError::new(p, Problem::NotAFile)),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => errors.push(SourceError::from_io(p, &e)),
    }
}
