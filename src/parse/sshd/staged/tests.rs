//! The staged halves give what the whole parser gives, line for line.

use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::super::SshdParser;
use crate::parse::{LineCtx, ParseOptions};

fn parser() -> SshdParser {
    SshdParser::new(
        ParseOptions::at(Utc.with_ymd_and_hms(2026, 1, 5, 12, 0, 0).unwrap()),
        LineCtx {
            path: Arc::from("auth.log"),
        },
    )
}

/// Every family of line the correlation reads, several on one pid.
const LINES: &[&str] = &[
    "Jan  5 10:00:00 h sshd[10]: Connection from 192.0.2.1 port 5000 on 10.0.0.1 port 22",
    "Jan  5 10:00:01 h sshd[10]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=alice",
    "Jan  5 10:00:02 h sshd[10]: Failed password for alice from 192.0.2.1 port 5000 ssh2",
    "Jan  5 10:00:03 h sshd[10]: message repeated 2 times: [ Failed password for alice from 192.0.2.1 port 5000 ssh2]",
    "Jan  5 10:00:04 h sshd[10]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=alice",
    "Jan  5 10:00:05 h sshd[11]: Invalid user bob from 2001:db8::1 port 6000",
    "Jan  5 10:00:06 h sshd[11]: Failed password for invalid user bob from 2001:db8::1 port 6000 ssh2",
    "Jan  5 10:00:07 h sshd[12]: ROOT LOGIN REFUSED FROM 198.51.100.7 port 22",
    "Jan  5 10:00:08 h sshd[12]: Connection closed by 198.51.100.7 port 22 [preauth]",
    "Jan  5 10:00:09 h sshd[13]: User carol not allowed because account is locked",
    "Jan  5 10:00:10 h sshd[13]: Connection closed by invalid user carol 192.0.2.9 port 7 [preauth]",
    "Jan  5 10:00:11 h sshd[14]: Accepted publickey for dave from 192.0.2.4 port 9 ssh2: ED25519 SHA256:x",
    "Jan  5 10:00:12 h sshd[15]: Did not receive identification string from 192.0.2.5 port 1",
    "Jan  5 10:00:13 h su[16]: pam_unix(su:auth): authentication failure; logname=eve uid=1000 euid=0 tty=pts/0 ruser=eve rhost=  user=root",
    "Jan  5 10:00:14 h su[16]: FAILED SU (to root) eve on pts/0",
    "Jan  5 10:00:15 h sudo: pam_unix(sudo:auth): authentication failure; logname=eve uid=1000 euid=0 tty=/dev/pts/0 ruser=eve rhost=  user=eve",
    "Jan  5 10:00:16 h cron[17]: pam_unix(cron:session): session opened for user root",
    "Jan  5 10:00:17 h sshd[18]: Received disconnect from 192.0.2.8 port 2: 11: Bye Bye [preauth]",
    "Jan  5 10:00:18 h sshd: Failed password for frank from 192.0.2.10 port 3 ssh2",
    "2026-01-05T10:00:19+01:00 h sshd[19]: Failed password for gr\u{fffd}ce from 192.0.2.11 port 4 ssh2",
    "Jan  5 10:00:20 h sshd[20]: pam_faillock(sshd:auth): Consecutive login failures for user heidi account temporarily locked",
    "not a syslog line",
    "Feb 30 10:00:00 h sshd[1]: Failed password for x from 192.0.2.1 port 1 ssh2",
];

#[test]
fn staged_lines_correlate_as_the_whole_parser_parses() {
    let mut whole = parser();
    let mut staged = parser();
    let mut stager = staged.stager();
    // One text for all lines, as a chunk is, so fields are spans of it.
    let text = LINES.join("\n");
    let mut at = 0;
    for (i, line) in text.split('\n').enumerate() {
        let offset = at as u64;
        at += line.len() + 1;
        let want = whole.parse(line.as_bytes(), offset);
        let got = stager
            .stage(&text, line)
            .map(|s| s.and_then(|s| staged.correlate_staged(&text, &s, offset)));
        assert_eq!(got, want, "line {i}: {line}");
    }
}

#[test]
fn fields_outside_the_text_are_copied() {
    let mut p = parser();
    let mut stager = p.stager();
    let line = LINES[7];
    // The line is not a slice of this text: every field becomes a copy.
    let s = stager.stage("unrelated", line).unwrap().unwrap();
    let ev = p.correlate_staged("unrelated", &s, 0);
    assert_eq!(ev, parser().parse(line.as_bytes(), 0).unwrap());
}
