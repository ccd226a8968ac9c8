//! JSON lines through each built-in JSON preset (`json`/`ecs`, `cloudtrail`,
//! `windows-security`, `entra-signin`, `okta`): the first byte picks the preset.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loginwatch::parse::Format;
use loginwatch::parse::json::{PRESETS, preset};
use loginwatch_fuzz::{json_strings, lossy, run_lines};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let name = PRESETS[usize::from(pick) % PRESETS.len()];
    let spec = preset(name).expect("every listed preset exists");
    let mut texts = json_strings(rest);
    texts.push(lossy(rest));
    run_lines(&Format::Json(spec), rest, &texts);
});
