//! A deterministic generator of realistic sshd logs, shared by the snapshot,
//! crash and daemon tests.

use std::collections::VecDeque;

use chrono::{TimeDelta, TimeZone, Utc};

/// splitmix64: a tiny deterministic generator, so a failing seed reproduces.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const USERS: &[&str] = &[
    "alice", "alice", "alice", "bob", "bob", "root", "carol", "dave", "eve", "frank", "grace",
    "heidi", "ivan", "judy", "mallory", "oscar",
];
const HOT_IPS: &[&str] = &["203.0.113.5", "203.0.113.6", "2001:db8::66"];

/// A log of `n` or so lines: several connections open at once, each the lines
/// of one attempt as OpenSSH writes them, event time advancing in bursts
/// (and now and then stepping back a few seconds).
pub fn generate(seed: u64, n: usize) -> Vec<String> {
    let mut r = Rng(seed);
    let base = Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap();
    let mut secs: i64 = 0;
    let mut pid = 1000u32;
    let mut open: Vec<VecDeque<String>> = Vec::new();
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n || !open.is_empty() {
        if out.len() < n && (open.is_empty() || (open.len() < 4 && r.below(2) == 0)) {
            pid += 1;
            let user = r.pick(USERS);
            let ip = if r.below(3) > 0 {
                r.pick(HOT_IPS).to_string()
            } else {
                format!("198.51.100.{}", r.below(256))
            };
            let port = 30_000 + r.below(30_000);
            let p = format!("sshd[{pid}]");
            let from = format!("from {ip} port {port}");
            let lines: Vec<String> = match r.below(10) {
                0..=2 => vec![format!("{p}: Failed password for {user} {from} ssh2")],
                3 | 4 => vec![
                    format!("{p}: Invalid user {user}x {from}"),
                    format!("{p}: Failed password for invalid user {user}x {from} ssh2"),
                ],
                5 | 6 => vec![
                    format!(
                        "{p}: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"
                    ),
                    format!("{p}: Failed password for {user} {from} ssh2"),
                    format!(
                        "{p}: Connection closed by authenticating user {user} {ip} port {port} [preauth]"
                    ),
                ],
                7 => vec![
                    format!(
                        "{p}: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"
                    ),
                    format!("{p}: Accepted password for {user} {from} ssh2"),
                ],
                8 => vec![format!("{p}: Accepted password for {user} {from} ssh2")],
                _ => vec![
                    format!("{p}: User {user} not allowed because account is locked"),
                    format!(
                        "{p}: Connection closed by invalid user {user} {ip} port {port} [preauth]"
                    ),
                ],
            };
            open.push(lines.into());
        }
        let i = r.below(open.len() as u64) as usize;
        secs += match r.below(400) {
            0 => 3600 * (1 + r.below(30) as i64),
            1..=3 => 600 + r.below(1800) as i64,
            // Lines from several processes are not always written in time order.
            4..=11 => -(r.below(6) as i64),
            _ => r.below(4) as i64,
        };
        let ts = (base + TimeDelta::seconds(secs)).to_rfc3339();
        if let Some(line) = open[i].pop_front() {
            out.push(format!("{ts} host1 {line}"));
        }
        if open[i].is_empty() {
            open.swap_remove(i);
        }
    }
    out
}
