//! CSV exports through each CSV preset (`lineworks-audit`, `cybozu-audit`): the
//! first byte picks the preset, the rest is the file (header row first), in
//! UTF-8 or Shift_JIS. The header detection of `auto` runs on its first line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loginwatch::parse::Format;
use loginwatch::parse::csv::{PRESETS, detect_header, preset};
use loginwatch_fuzz::{lossy, run_lines, shift_jis};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let first = rest.split(|&b| b == b'\n').next().unwrap_or_default();
    let _ = detect_header(first);
    let name = PRESETS[usize::from(pick) % PRESETS.len()];
    let spec = preset(name).expect("every listed preset exists");
    run_lines(&Format::Csv(spec), rest, &[lossy(rest), shift_jis(rest)]);
});
