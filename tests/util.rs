//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// The shared real-log corpus beside the checkout (`../shared/data`), or `None`
/// after printing one SKIP line naming the test, when it is absent (a user's clone).
#[allow(dead_code)]
pub fn shared_data(test: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        println!("SKIP {test}: ../shared/data (the real-log corpus) is not beside the checkout");
        None
    }
}
