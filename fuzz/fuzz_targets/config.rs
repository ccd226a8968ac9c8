//! The daemon's config file: TOML text -> raw config -> validated `Config`,
//! every error with its line.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use loginwatch::config::load::load_text;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Validation reads the files a config names (token and password files).
    // A device or /proc file can be endless, which is the operator's choice and
    // not a parsing bug: the target stays away from them.
    if text.contains("/dev") || text.contains("/proc") || text.contains("/sys") {
        return;
    }
    // A directory that does not exist: relative paths in the config then name
    // no real file.
    let file = Path::new("/nonexistent-loginwatch-fuzz/loginwatch.toml");
    let env = |k: &str| (k == "LOGINWATCH_FUZZ_TOKEN").then(|| "fuzz-token-0123456789".to_owned());
    if let Err(errs) = load_text(text, file, &env) {
        assert!(!errs.0.is_empty(), "an error result without an error");
        let lines = text.lines().count() + 1;
        for e in &errs.0 {
            if let Some(line) = e.line {
                assert!((1..=lines).contains(&line), "line {line} of {lines}: {e}");
            }
        }
    }
});
