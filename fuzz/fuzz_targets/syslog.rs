//! Syslog headers (BSD, RFC 3339, RFC 5424, with or without `<PRI>`) alone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use loginwatch::parse::syslog::{MinuteCache, parse};
use loginwatch_fuzz::opts;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = opts();
    // One cache over every line, as the sshd parser keeps it: a cached minute
    // must never leak into a line of another minute.
    let mut cache = MinuteCache::default();
    for line in text.split('\n') {
        let cached = parse(line, &opts, &mut cache);
        let fresh = parse(line, &opts, &mut MinuteCache::default());
        assert_eq!(
            cached, fresh,
            "the minute cache changed the reading of {line:?}"
        );
        if let Ok(h) = cached {
            assert!(
                line.ends_with(h.message),
                "the message is not the end of the line"
            );
            assert!(line.contains(h.program), "the program is not in the line");
            if let Some(host) = h.host {
                assert!(line.contains(host), "the host is not in the line");
            }
        }
    }
});
