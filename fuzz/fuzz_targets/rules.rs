//! Rule files: TOML text -> raw tables -> compiled rules and declared formats,
//! every error with its line. A set that compiles runs over the events of the
//! sample log, so fuzzed conditions, windows and keys are evaluated too.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use loginwatch::decision::Mode;
use loginwatch::event::AuthEvent;
use loginwatch::parse::Format;
use loginwatch::rules::{Engine, RuleSet};
use loginwatch_fuzz::{lossy, run_lines};

static EVENTS: LazyLock<Vec<AuthEvent>> = LazyLock::new(|| {
    let log = include_bytes!("../../examples/sample-auth.log");
    run_lines(&Format::Sshd, log, &[lossy(log)])
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match RuleSet::from_str(text, "fuzz.toml") {
        Ok(set) => {
            let mut engine = Engine::new(Arc::new(set), Mode::Recommend);
            for ev in EVENTS.iter() {
                let _ = engine.observe(ev);
            }
        }
        Err(errs) => {
            assert!(!errs.0.is_empty(), "an error result without an error");
            // Lines are 1-based and within the text (one past its last line
            // for an error at the very end).
            let lines = text.lines().count() + 1;
            for e in &errs.0 {
                if let Some(line) = e.line {
                    assert!((1..=lines).contains(&line), "line {line} of {lines}: {e}");
                }
            }
        }
    }
});
