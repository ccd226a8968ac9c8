//! OpenSSH / PAM / su / sudo syslog lines through the sshd parser, several lines
//! per input so its per-pid correlation of one attempt is exercised too.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loginwatch::parse::Format;
use loginwatch_fuzz::{lossy, run_lines};

fuzz_target!(|data: &[u8]| {
    run_lines(&Format::Sshd, data, &[lossy(data)]);
});
