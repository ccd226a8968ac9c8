//! The admin token: the one named by the configuration, or one the daemon
//! generates at its first start.
//!
//! The admin API is closed by default: with no token configured, the daemon
//! keeps a random one in `admin.token` beside its state database (mode 0600),
//! created at the first start and reused after. Whoever can read that file (the
//! daemon's user, root) can use the API; the CLI reads it from there. Each token
//! has a credential name that the audit trail records with every change made
//! through it, so an audit line says which secret was used, not just the name
//! the caller typed.

use std::path::{Path, PathBuf};

use crate::escape::Escaped;
use crate::private::{self, SecretError};

/// The generated token's file name, in the state database's directory.
pub const FILE_NAME: &str = "admin.token";

/// Random bytes in a generated token (256 bits: guessing is hopeless even
/// without the failure rate limit).
const TOKEN_BYTES: usize = 32;

/// A token and the name of the credential it is.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminToken {
    secret: String,
    /// `token:config` or `token:admin.token`: recorded in the audit trail.
    pub credential: String,
}

impl std::fmt::Debug for AdminToken {
    // Never print the secret (a debug log of the state would leak it).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminToken")
            .field("credential", &self.credential)
            .finish_non_exhaustive()
    }
}

impl AdminToken {
    /// The token the configuration names (`admin_token_file`, `admin_token_env`).
    pub fn configured(secret: &str) -> AdminToken {
        AdminToken {
            secret: secret.to_owned(),
            credential: "token:config".to_owned(),
        }
    }

    /// The token kept in [`FILE_NAME`].
    pub fn generated(secret: &str) -> AdminToken {
        AdminToken {
            secret: secret.to_owned(),
            credential: format!("token:{FILE_NAME}"),
        }
    }

    /// The secret, for the comparison and for clients.
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

/// Where the generated token of a daemon with this state file lives.
pub fn path_for(state_path: &Path) -> PathBuf {
    match state_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.join(FILE_NAME),
        _ => PathBuf::from(FILE_NAME),
    }
}

/// Why the daemon has no token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file exists but is unusable (others can read it, unreadable).
    #[error(transparent)]
    Secret(#[from] SecretError),
    /// The system gave no random bytes.
    #[error("no random bytes for the admin token: {0}")]
    Random(String),
    /// The new file could not be written.
    #[error("cannot write the admin token {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The token in `path`, created (random, 0600) when the file is missing or
/// empty (a crash between creating and writing it leaves it empty).
pub fn load_or_create(path: &Path) -> Result<AdminToken, TokenError> {
    match private::read_secret(path) {
        Ok(t) => return Ok(AdminToken::generated(&t)),
        Err(e) if e.is_missing() || matches!(e, SecretError::Empty(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    let secret = hex::encode(bytes);
    private::write(path, format!("{secret}\n").as_bytes()).map_err(|source| TokenError::Write {
        path: Escaped(&path.display().to_string()).to_string(),
        source,
    })?;
    Ok(AdminToken::generated(&secret))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_token_is_created_once_private_and_reused() {
        let d = tempfile::tempdir().unwrap();
        let p = path_for(&d.path().join("state.db"));
        assert_eq!(p, d.path().join("admin.token"));
        let first = load_or_create(&p).unwrap();
        assert_eq!(first.secret().len(), 2 * TOKEN_BYTES);
        assert_eq!(first.credential, "token:admin.token");
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create(&p).unwrap(), first);
        assert!(!format!("{first:?}").contains(first.secret()));
        // Another directory, another token.
        let e = tempfile::tempdir().unwrap();
        let other = load_or_create(&e.path().join(FILE_NAME)).unwrap();
        assert_ne!(other.secret(), first.secret());
    }

    #[test]
    fn a_token_file_others_can_read_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(FILE_NAME);
        std::fs::write(&p, "abc\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load_or_create(&p).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        // Untouched: the admin decides what to do with it.
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "abc\n");
    }
}
