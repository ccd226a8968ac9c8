//! Files only the daemon's user may read: the state database, the admin
//! token, alert files, the address file.
//!
//! Everything the daemon creates is created mode 0600 whatever the umask: the
//! state names users, addresses and audit trails, and the token is the key to
//! the admin API. `OpenOptions::mode` is masked by the umask, which can only
//! remove bits, so asking for 0600 never yields more; a file that already
//! exists keeps its mode, which [`loose_mode`] reports so the daemon can warn
//! with the `chmod` to run. Secrets (token files) are refused outright when
//! anyone but their owner can read them ([`read_secret`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use crate::escape::Escaped;

/// Owner read and write, nothing for group and others.
pub const MODE: u32 = 0o600;

/// Opens `path` for appending, creating it 0600 when missing.
pub fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(MODE)
        .open(path)
}

/// Replaces the content of `path` with `bytes`; the file ends up 0600 even if it
/// existed with a looser mode (it is ours to rewrite: the address file).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(MODE)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(MODE))?;
    f.write_all(bytes)
}

/// Creates `path` empty and 0600 if it does not exist; an existing file is left
/// as it is. SQLite creates its `-wal` and `-shm` files with the mode of the
/// database file (not from the umask), so a database created here first keeps
/// all three private.
pub fn precreate(path: &Path) -> io::Result<()> {
    match OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The permission bits of `path` when group or others have any access to it
/// (`None` when it is private or does not exist).
pub fn loose_mode(path: &Path) -> Option<u32> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

/// The warning for a file others can read: what is exposed and the fix.
pub fn loose_message(path: &Path, mode: u32) -> String {
    let shown = Escaped(&path.display().to_string()).to_string();
    format!("{shown} is mode {mode:03o}, readable by other users: run `chmod 600 {shown}`")
}

/// Why a secret file was not used.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// It cannot be read (missing, permissions).
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: io::Error,
    },
    /// Group or others can access it: the secret may already be known.
    #[error("{0}")]
    Loose(String),
    /// Nothing but whitespace in it.
    #[error("{0}: the file is empty")]
    Empty(String),
}

impl SecretError {
    /// True when the file is simply not there (the caller may look elsewhere).
    pub fn is_missing(&self) -> bool {
        matches!(self, SecretError::Read { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

/// Reads a token file: refused when group or others can access it, trimmed
/// (the file's newline is not part of the token), refused when empty.
pub fn read_secret(path: &Path) -> Result<String, SecretError> {
    let shown = || Escaped(&path.display().to_string()).to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SecretError::Read {
        path: shown(),
        source,
    })?;
    if let Some(mode) = loose_mode(path) {
        return Err(SecretError::Loose(format!(
            "refusing the token file {}",
            loose_message(path, mode)
        )));
    }
    let t = text.trim();
    if t.is_empty() {
        return Err(SecretError::Empty(shown()));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_files_are_private_and_a_loose_one_is_fixed_on_rewrite() {
        let d = tempfile::tempdir().unwrap();
        let (a, w, p) = (d.path().join("a"), d.path().join("w"), d.path().join("p"));
        append(&a).unwrap().write_all(b"x\n").unwrap();
        precreate(&p).unwrap();
        std::fs::write(&w, "old").unwrap();
        std::fs::set_permissions(&w, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(loose_mode(&w), Some(0o644));
        write(&w, b"new").unwrap();
        for f in [&a, &w, &p] {
            assert_eq!(mode(f), 0o600, "{}", f.display());
            assert_eq!(loose_mode(f), None);
        }
        assert_eq!(std::fs::read_to_string(&w).unwrap(), "new");
        // An existing file is neither truncated nor re-moded by precreate.
        precreate(&a).unwrap();
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "x\n");
    }

    #[test]
    fn a_secret_readable_by_others_or_empty_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("token");
        write(&t, b" tok\n").unwrap();
        assert_eq!(read_secret(&t).unwrap(), "tok");
        std::fs::set_permissions(&t, std::fs::Permissions::from_mode(0o640)).unwrap();
        let e = read_secret(&t).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        write(&t, b"\n").unwrap();
        assert!(matches!(read_secret(&t), Err(SecretError::Empty(_))));
        let missing = read_secret(&d.path().join("nope")).unwrap_err();
        assert!(missing.is_missing());
    }
}
