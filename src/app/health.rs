//! The state database's health as the ingest thread reports it: why commits
//! fail now (for `/readyz`), and a lost database that stops the daemon. The
//! retry schedule of failing commits is the ingest's (`daemon::ingest::retry`).

use std::sync::Mutex;

/// Shared between the ingest thread, `/readyz` and the daemon's main task.
#[derive(Debug, Default)]
pub struct StateHealth {
    /// Why commits fail now, for `/readyz`; `None` while they succeed.
    problem: Mutex<Option<String>>,
    /// Why the daemon must stop (the database was lost while running).
    fatal: Mutex<Option<String>>,
    /// Wakes the main task when `fatal` is set.
    pub stop: tokio::sync::Notify,
}

impl StateHealth {
    /// The current problem, for `/readyz`.
    pub fn problem(&self) -> Option<String> {
        self.problem.lock().ok().and_then(|p| p.clone())
    }

    /// Sets or clears the current problem.
    pub fn set_problem(&self, p: Option<String>) {
        if let Ok(mut g) = self.problem.lock() {
            *g = p;
        }
    }

    /// Records why the daemon must stop, and wakes the main task.
    pub fn set_fatal(&self, why: String) {
        if let Ok(mut g) = self.fatal.lock() {
            *g = Some(why);
        }
        self.stop.notify_one();
    }

    /// Why the daemon must stop, if it must.
    pub fn fatal(&self) -> Option<String> {
        self.fatal.lock().ok().and_then(|f| f.clone())
    }
}
