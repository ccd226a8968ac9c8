//! Why a line the sshd parser read gave no event, in words (`loginwatch
//! explain`). Off the hot path: the line's message is classified again, on
//! its own, and its kind says what the parser does with such a line (see the
//! correlation rules in `correlate`); the parser's state is not consulted.

use super::SshdParser;
use super::msg::{self, Msg, Prog};
use crate::parse::syslog::{self, MinuteCache};

impl SshdParser {
    /// Why `line`, read by [`SshdParser::parse`] as `Ok(None)`, is no event.
    pub fn why_no_event(&self, line: &[u8]) -> &'static str {
        let text = String::from_utf8_lossy(line);
        let Ok(h) = syslog::parse(&text, &self.opts, &mut MinuteCache::default()) else {
            return "not a syslog line";
        };
        let prog = Prog::of(h.program);
        match msg::classify(prog, h.message) {
            Msg::Ignored if prog == Prog::Other => {
                "another program's line (only PAM authentication failures and account locks are read from other programs)"
            }
            Msg::Ignored => {
                "not about authentication: a session, key-exchange or other informational line"
            }
            Msg::PamFailure(_) | Msg::Verdict(_) => {
                "held: the attempt is counted once, on the next sshd line of this pid that decides it (Failed, Accepted, or the connection's end), with this line's reason"
            }
            Msg::Failed(a) if !a.invalid && matches!(a.method, Some("publickey" | "none")) => {
                "a key an agent offered, or the client asking which methods exist: not counted (agents offer every key they hold)"
            }
            Msg::Failed(_)
            | Msg::InvalidUser(_)
            | Msg::Refused(_)
            | Msg::PamError(_)
            | Msg::PamMore(_)
            | Msg::TooMany(_)
            | Msg::LocalFailure(_)
            | Msg::Lockout { .. } => {
                "the same attempt as an earlier line of this connection (OpenSSH logs one attempt on several lines): counted once"
            }
            Msg::End { .. } => {
                "the connection ended after what was already counted on it, after a success, or outside authentication"
            }
            Msg::Noise(_) => "connection trouble already counted once for this connection",
            Msg::ConnectionFrom(_) | Msg::Address(_) => {
                "the start of a connection: its address is kept for the attempt's later lines"
            }
            Msg::Accepted(_) => "a success already counted for this connection",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{LineCtx, ParseOptions};
    use chrono::TimeZone;

    #[test]
    fn each_kind_of_silent_line_gets_its_reason() {
        let opts = ParseOptions::at(chrono::Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap());
        let p = SshdParser::new(opts, LineCtx { path: "t".into() });
        let why = |m: &str| p.why_no_event(format!("Nov 21 08:00:01 web1 {m}").as_bytes());
        assert!(
            why("sshd[7]: pam_unix(sshd:session): session opened for user a(uid=1) by (uid=0)")
                .starts_with("not about")
        );
        assert!(why("sshd[7]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=192.0.2.1  user=a").starts_with("held"));
        assert!(
            why("sshd[7]: Failed publickey for a from 192.0.2.1 port 2 ssh2")
                .starts_with("a key an agent")
        );
        assert!(
            why("sshd[7]: Failed password for a from 192.0.2.1 port 2 ssh2")
                .starts_with("the same attempt")
        );
        assert!(why("cron[9]: (root) CMD (true)").starts_with("another program"));
        assert_eq!(p.why_no_event(b"garbage"), "not a syslog line");
    }
}
