//! The JSON bodies of the admin API's POST requests, through the same
//! deserialize-and-check functions the handlers call (no server): the unlock
//! body, the storm-reset body and a manual decision's body (through the
//! checks that build the decision). The first byte picks which.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loginwatch::app::backend::manual::decision;
use loginwatch::decision::Mode;
use loginwatch::http::{add_body, storm_reset_by, unlock_body};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    if pick % 3 == 2 {
        let Ok(req) = add_body(body) else { return };
        let now = chrono::DateTime::UNIX_EPOCH;
        if let Ok(d) = decision(&req, Mode::Recommend, now) {
            // What reaches the store, the audit trail and alerts is clean.
            let shown = d.why.sentence_en();
            assert!(!shown.chars().any(char::is_control), "{shown:?}");
            assert!(d.until.is_none_or(|u| u > now), "{:?}", d.until);
            assert_eq!(&*d.rule, "manual");
        }
    } else if pick % 3 == 0 {
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
