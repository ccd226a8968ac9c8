//! Access to the state file when the daemon is not running.
//!
//! The decisions commands prefer the running daemon's API (so an unlock is seen by
//! the daemon at once and counted in its metrics); when nothing answers they fall
//! back to the state file through this function. It is the one place the state
//! store is to be plugged in for offline use.

use loginwatch::config::Config;
use loginwatch::escape::Escaped;
use loginwatch::http::{AdminBackend, BackendError};

/// Opens the state file named by `config` as an [`AdminBackend`].
///
/// Until the SQLite store provides one, this reports that offline access is not
/// available, so the commands fail with a clear message instead of guessing.
pub fn offline_backend(config: &Config) -> Result<Box<dyn AdminBackend>, BackendError> {
    Err(BackendError::Unavailable(format!(
        "daemon not running and offline access to the state file {} not available",
        Escaped(&config.state_path.display().to_string())
    )))
}
