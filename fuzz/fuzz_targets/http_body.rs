//! The JSON bodies of the admin API's POST requests, through the same
//! deserialize-and-check functions the handlers call (no server): the unlock
//! body and the storm-reset body. The first byte picks which.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loginwatch::http::{storm_reset_by, unlock_body};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    if pick % 2 == 0 {
        if let Ok((by, reason)) = unlock_body(body) {
            // What reaches the store and the audit trail is bounded and clean.
            assert!(!by.is_empty() && by.chars().count() <= 128, "by {by:?}");
            assert!(
                !by.chars().any(char::is_control),
                "control character in by {by:?}"
            );
            assert_eq!(by.trim(), by);
            assert!(!reason.trim().is_empty() && reason.chars().count() <= 2000);
        }
    } else if let Ok(by) = storm_reset_by(body) {
        assert!(!by.is_empty() && by.chars().count() <= 128, "by {by:?}");
        assert!(
            !by.chars().any(char::is_control),
            "control character in by {by:?}"
        );
    }
});
