//! Syslog, RFC 5424 messages over UDP (RFC 5426) or a local datagram socket.
//!
//! Both targets are offered because they serve different hosts: `/dev/log`
//! (the default) hands the message to the local journald/rsyslog, which
//! forwards it however the host is set up; `udp:IP:PORT` reaches a remote
//! collector directly. UDP gives no delivery receipt, so "delivered" there
//! means "sent"; the local socket does report a missing or full receiver.
//!
//! The structured data element `[loginwatch@32473 key="..." status="..."
//! idempotency="..."]` carries the alert key (32473 is the enterprise number
//! RFC 5612 reserves for examples: loginwatch has none of its own).

use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;

use chrono::{DateTime, Utc};

use super::{Delivery, SinkError, Summary, Transport, wrong_payload};
use crate::alert::config::{SyslogConfig, SyslogTarget};
use crate::alert::{AlertStatus, Payload};
use crate::escape::Escaped;

/// Longest message sent (bytes): larger datagrams are often dropped.
const MAX_MESSAGE: usize = 8192;

/// Sends RFC 5424 messages.
#[derive(Debug)]
pub struct SyslogSink {
    config: SyslogConfig,
    hostname: String,
}

impl SyslogSink {
    /// A sink to `config.target`.
    pub fn new(config: &SyslogConfig) -> Result<SyslogSink, SinkError> {
        let host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(SyslogSink {
            config: config.clone(),
            hostname: header_field(&host, 255),
        })
    }
}

/// A header field: printable US-ASCII without spaces, `-` when empty.
fn header_field(s: &str, max: usize) -> String {
    let v: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if v.is_empty() { "-".into() } else { v }
}

/// An SD-PARAM value: `"`, `\` and `]` escaped (RFC 5424 6.3.3).
fn param(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in Escaped(s).to_string().chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The whole RFC 5424 message.
pub fn format(
    facility: u8,
    hostname: &str,
    d: &Delivery<'_>,
    text: &str,
    now: DateTime<Utc>,
) -> String {
    let (severity, msgid) = match d.status {
        AlertStatus::Firing => (4u8, "alert"),
        AlertStatus::Resolved => (5u8, "resolved"),
    };
    let pri = u16::from(facility) * 8 + u16::from(severity);
    let mut msg = format!(
        "<{pri}>1 {} {hostname} loginwatch {} {msgid} [loginwatch@32473 key=\"{}\" status=\"{msgid}\" idempotency=\"{}\"] {}",
        now.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        std::process::id(),
        param(d.alert_key),
        param(d.idempotency_key),
        Escaped(text),
    );
    if msg.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !msg.is_char_boundary(cut) {
            cut -= 1;
        }
        msg.truncate(cut);
    }
    msg
}

impl Transport for SyslogSink {
    fn send(&self, d: &Delivery<'_>) -> Result<(), SinkError> {
        let Payload::Line { text } = d.payload else {
            return Err(wrong_payload("syslog", d.payload));
        };
        let msg = format(self.config.facility, &self.hostname, d, text, d.now);
        let t = |e: std::io::Error| SinkError::Transient(format!("syslog: {e}"));
        match &self.config.target {
            SyslogTarget::Udp(addr) => {
                let bind = if addr.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let sock = UdpSocket::bind(bind).map_err(t)?;
                sock.send_to(msg.as_bytes(), addr).map_err(t)?;
            }
            SyslogTarget::Unix(path) => {
                let sock = UnixDatagram::unbound().map_err(t)?;
                sock.send_to(msg.as_bytes(), path).map_err(t)?;
            }
        }
        Ok(())
    }

    fn summary(&self, s: &Summary) -> Payload {
        Payload::Line { text: s.sentence() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_reaches_a_udp_receiver_in_rfc_5424_form() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let sink = SyslogSink::new(&SyslogConfig {
            target: SyslogTarget::Udp(rx.local_addr().unwrap()),
            facility: 10,
        })
        .unwrap();
        let p = Payload::Line {
            text: "lock of alice\u{1b}[2J and eve\u{202e}nilam".into(),
        };
        let now = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        let d = Delivery {
            idempotency_key: "lw-1",
            alert_key: "brute-force/a\"l]ice",
            status: AlertStatus::Firing,
            payload: &p,
            now,
        };
        sink.send(&d).unwrap();
        let mut buf = [0u8; 9000];
        let n = rx.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(
            got.starts_with("<84>1 2026-01-02T03:04:05.000000Z "),
            "{got}"
        );
        assert!(
            got.contains(" loginwatch ")
                && got.contains(" alert [loginwatch@32473 key=\"brute-force/a\\\"l\\]ice\" status=\"alert\" idempotency=\"lw-1\"] lock of alice\\u{1b}[2J and eve\\u{202e}nilam"),
            "{got}"
        );
    }

    #[test]
    fn a_missing_local_socket_is_a_transient_error() {
        let dir = tempfile::tempdir().unwrap();
        let sink = SyslogSink::new(&SyslogConfig {
            target: SyslogTarget::Unix(dir.path().join("nope")),
            facility: 10,
        })
        .unwrap();
        let p = Payload::Line { text: "x".into() };
        let d = Delivery {
            idempotency_key: "k",
            alert_key: "a",
            status: AlertStatus::Resolved,
            payload: &p,
            now: Utc::now(),
        };
        assert!(matches!(sink.send(&d), Err(SinkError::Transient(_))));
    }
}
