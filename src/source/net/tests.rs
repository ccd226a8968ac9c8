//! The network source against real senders: datagrams and streams from this
//! test, and util-linux `logger` in each of its framings.

use std::io::Write as _;
use std::net::{TcpStream, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use super::*;

fn loopback(tcp: bool) -> Listen {
    let a = "127.0.0.1:0".parse().unwrap();
    if tcp { Listen::Tcp(a) } else { Listen::Udp(a) }
}

/// Polls `s` until `n` lines came (or 10 s passed): (line or None when too long, peer).
fn collect(s: &mut NetSource, n: usize) -> Vec<(Option<String>, Option<IpAddr>)> {
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.len() < n && Instant::now() < deadline {
        s.poll(1024, &mut |l| {
            let text = (!l.too_long).then(|| String::from_utf8_lossy(l.line).into_owned());
            got.push((text, l.peer));
        });
        std::thread::sleep(Duration::from_millis(5));
    }
    got
}

fn texts(got: &[(Option<String>, Option<IpAddr>)]) -> Vec<Option<&str>> {
    got.iter().map(|(t, _)| t.as_deref()).collect()
}

#[test]
fn listen_addresses_parse_and_explain_what_is_wrong() {
    assert_eq!(
        "udp://0.0.0.0:514".parse::<Listen>(),
        Ok(Listen::Udp("0.0.0.0:514".parse().unwrap()))
    );
    assert_eq!(
        "tcp://[::1]:6514".parse::<Listen>().map(|l| l.to_string()),
        Ok("tcp://[::1]:6514".to_owned())
    );
    assert!(
        "udp://host:514"
            .parse::<Listen>()
            .unwrap_err()
            .contains("not IP:PORT")
    );
    assert!(
        "http://1.2.3.4:80"
            .parse::<Listen>()
            .unwrap_err()
            .contains("udp or tcp")
    );
    assert!(
        "1.2.3.4:514"
            .parse::<Listen>()
            .unwrap_err()
            .contains("expected udp://")
    );
}

#[test]
fn udp_datagrams_arrive_in_order_with_their_sender_and_without_a_position() {
    let mut s = NetSource::bind("net", loopback(false), Limits::default(), None).unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    for i in 0..50 {
        let m = format!(
            "<38>Dec  6 10:00:00 fw1 sshd[1]: Failed password for u{i} from 192.0.2.1 port 22 ssh2\n"
        );
        client.send_to(m.as_bytes(), s.local_addr()).unwrap();
    }
    let got = collect(&mut s, 50);
    assert_eq!(got.len(), 50);
    assert!(got[7].0.as_deref().unwrap().contains("for u7 from"));
    assert!(!got[0].0.as_deref().unwrap().ends_with('\n'));
    assert!(
        got.iter()
            .all(|(_, p)| *p == Some("127.0.0.1".parse().unwrap()))
    );
    assert!(s.checkpoints().is_empty());
    assert_eq!(s.status()[0].pattern, s.listen.to_string());
}

#[test]
fn a_datagram_over_the_limit_is_delivered_as_too_long() {
    let limits = Limits {
        max_message: 100,
        ..Limits::default()
    };
    let mut s = NetSource::bind("net", loopback(false), limits, None).unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.send_to(&[b'x'; 101], s.local_addr()).unwrap();
    client.send_to(&[b'y'; 100], s.local_addr()).unwrap();
    let got = collect(&mut s, 2);
    assert_eq!(texts(&got), [None, Some(&*"y".repeat(100))]);
}

#[test]
fn a_full_queue_drops_datagrams_and_counts_them() {
    // Room for 10 of these 9-byte messages.
    let limits = Limits {
        queue_bytes: 10 * (9 + MESSAGE_OVERHEAD),
        ..Limits::default()
    };
    let mut s = NetSource::bind("net", loopback(false), limits, None).unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..200 {
        client.send_to(b"<13>flood", s.local_addr()).unwrap();
    }
    // Nothing is polled meanwhile: at most the queue's 10 wait, the rest is counted.
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.counts().received.load(Ordering::Relaxed) + s.counts().dropped.load(Ordering::Relaxed)
        < 200
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Loopback UDP may lose datagrams itself under a burst; what arrived is either queued or counted.
    let (received, dropped) = (
        s.counts().received.load(Ordering::Relaxed),
        s.counts().dropped.load(Ordering::Relaxed),
    );
    assert_eq!(received, 10, "queued");
    assert!(dropped > 0, "dropped {dropped}");
    // What the metric reads: every reason, this one with the count.
    let losses = s.losses();
    assert!(
        losses.contains(&("net".to_owned(), Loss::QueueFull, dropped)),
        "{losses:?}"
    );
    assert!(losses.contains(&("net".to_owned(), Loss::ConnectionRefused, 0)));
    assert_eq!(collect(&mut s, 10).len(), 10);
}

#[test]
fn the_queue_is_bounded_in_bytes_not_messages() {
    // Room for one 60 000-byte datagram: a count of messages would hold 16 k.
    let limits = Limits {
        queue_bytes: 100_000,
        ..Limits::default()
    };
    let mut s = NetSource::bind("net", loopback(false), limits, None).unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let big = vec![b'x'; 60_000];
    for _ in 0..20 {
        client.send_to(&big, s.local_addr()).unwrap();
    }
    // Nothing is polled meanwhile: wait until every datagram that arrived was
    // either queued or dropped (loopback may lose some itself under a burst).
    let seen =
        || s.counts().received.load(Ordering::Relaxed) + s.counts().dropped.load(Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = (seen(), Instant::now());
    while seen() < 20 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        if seen() != last.0 {
            last = (seen(), Instant::now());
        } else if last.1.elapsed() > Duration::from_millis(500) {
            break;
        }
    }
    assert_eq!(s.counts().received.load(Ordering::Relaxed), 1);
    assert!(s.counts().dropped.load(Ordering::Relaxed) >= 1);
    assert_eq!(collect(&mut s, 1).len(), 1);
    assert_eq!(s.poll(10, &mut |_| {}).lines, 0, "nothing else was queued");
    // Taken out: the room is back.
    client.send_to(&big, s.local_addr()).unwrap();
    assert_eq!(collect(&mut s, 1).len(), 1);
}

#[test]
fn a_full_queue_makes_tcp_wait_and_loses_nothing() {
    // Room for two lines at a time: the reader waits for the ingest side.
    let limits = Limits {
        queue_bytes: 2 * (20 + MESSAGE_OVERHEAD),
        ..Limits::default()
    };
    let mut s = NetSource::bind("net", loopback(true), limits, None).unwrap();
    let addr = s.local_addr();
    let sender = std::thread::spawn(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        for i in 0..1000 {
            writeln!(c, "<13>line {i:06}").unwrap();
        }
    });
    let got = collect(&mut s, 1000);
    sender.join().unwrap();
    assert_eq!(got.len(), 1000);
    assert_eq!(got[999].0.as_deref(), Some("<13>line 000999"));
    assert_eq!(s.counts().dropped.load(Ordering::Relaxed), 0);
}

#[test]
fn tcp_streams_with_both_framings_and_a_flood_without_newline() {
    let limits = Limits {
        max_message: 1024,
        ..Limits::default()
    };
    let mut s = NetSource::bind("net", loopback(true), limits, None).unwrap();
    let mut c = TcpStream::connect(s.local_addr()).unwrap();
    let m = "<38>1 2026-12-06T10:00:00Z web1 sshd 42 - - Failed password for root";
    writeln!(c, "{} {m}<13>plain line", m.len()).unwrap();
    // A megabyte without a newline, then a good line: one too-long, then the line.
    c.write_all(&vec![b'A'; 1 << 20]).unwrap();
    c.write_all(b"\n<13>after the flood\n").unwrap();
    let got = collect(&mut s, 4);
    assert_eq!(
        texts(&got),
        [
            Some(m),
            Some("<13>plain line"),
            None,
            Some("<13>after the flood")
        ]
    );
}

#[test]
fn connections_beyond_the_limit_are_refused_and_counted() {
    let limits = Limits {
        max_connections: 2,
        ..Limits::default()
    };
    let mut s = NetSource::bind("net", loopback(true), limits, None).unwrap();
    let mut open = Vec::new();
    for i in 0..2 {
        let mut c = TcpStream::connect(s.local_addr()).unwrap();
        writeln!(c, "<13>from {i}").unwrap();
        open.push(c);
    }
    assert_eq!(collect(&mut s, 2).len(), 2);
    let _third = TcpStream::connect(s.local_addr()).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.counts().refused.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(s.counts().refused.load(Ordering::Relaxed), 1);
    assert!(
        s.losses()
            .contains(&("net".to_owned(), Loss::ConnectionRefused, 1))
    );
}

/// `logger` (util-linux) sending `n` messages to `s` with `args`; false when
/// there is no `logger`.
fn logger(s: &NetSource, args: &[&str], n: usize) -> bool {
    let port = s.local_addr().port().to_string();
    for i in 0..n {
        let status = Command::new("logger")
            .args([
                "--server",
                "127.0.0.1",
                "--port",
                &port,
                "--tag",
                "sshd",
                "--id=4242",
            ])
            .args(args)
            .arg(format!(
                "Failed password for invalid user u{i} from 203.0.113.9 port 5{i} ssh2"
            ))
            .status();
        match status {
            Ok(st) => assert!(st.success(), "logger {args:?}"),
            Err(_) => return false,
        }
    }
    true
}

#[test]
fn real_logger_over_udp_and_tcp_in_each_framing_parses_as_sshd() {
    let cases: [(&[&str], bool); 3] = [
        (&["--udp", "--rfc5424"], false),
        (&["--tcp", "--rfc3164"], true),
        (&["--tcp", "--rfc5424", "--octet-count"], true),
    ];
    for (args, tcp) in cases {
        let mut s = NetSource::bind("net", loopback(tcp), Limits::default(), None).unwrap();
        if !logger(&s, args, 3) {
            crate::test_support::skip(
                "logger",
                "source::net::real_logger",
                "util-linux logger not found",
            );
            return;
        }
        let got = collect(&mut s, 3);
        assert_eq!(got.len(), 3, "{args:?}");
        // One connection per logger run: across connections the order is
        // the receiving threads', so the users are compared as a set.
        let mut users: Vec<String> = got
            .iter()
            .map(|(line, _)| {
                let line = line.as_deref().unwrap();
                let mut p = crate::parse::Parser::new(
                    &crate::parse::Format::Auto,
                    &crate::parse::ParseOptions::at(chrono::Utc::now()),
                    crate::parse::LineCtx { path: "net".into() },
                );
                let ev = p
                    .parse(line.as_bytes(), 0)
                    .unwrap()
                    .unwrap_or_else(|| panic!("{args:?}: no event from {line:?}"));
                ev.user.as_deref().unwrap_or_default().to_owned()
            })
            .collect();
        users.sort();
        assert_eq!(users, ["u0", "u1", "u2"], "{args:?}");
    }
}
