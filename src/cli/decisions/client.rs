//! The CLI's HTTP client for the daemon's admin API on this host.
//!
//! One request per command to a daemon on a loopback address, over `ureq` (the
//! same blocking client the daemon's webhook and HTTP actions use): no TLS, and
//! on purpose no proxy (the admin token must not leave the host, whatever
//! `http_proxy` says) and no redirects (the token would follow them). Only the
//! outcome the commands act on is kept: a daemon that does not answer
//! ([`ClientError::Unreachable`]: fall back to the state file), an answer with its
//! status and body, or a broken exchange.

use std::io::{self, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Largest response read (a decision list of a busy host stays far below).
const MAX_RESPONSE: u64 = 256 * 1024 * 1024;

/// A daemon's address: loopback only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint(pub SocketAddr);

impl Endpoint {
    /// Parses `http://127.0.0.1:9464`, `http://[::1]:9464` or `http://localhost:9464`.
    /// Other hosts are refused: the admin token would cross the network in clear.
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let bad = |why: &str| format!("--url {url:?}: {why}");
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad("expected http://HOST:PORT"))?;
        let hostport = rest.strip_suffix('/').unwrap_or(rest);
        if hostport.contains('/') {
            return Err(bad("a path is not supported, give http://HOST:PORT"));
        }
        let addr = match hostport.strip_prefix("localhost:") {
            Some(port) => port
                .parse::<u16>()
                .map(|p| SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p))
                .map_err(|_| bad("bad port"))?,
            None => hostport
                .parse::<SocketAddr>()
                .map_err(|_| bad("expected http://IP:PORT"))?,
        };
        if !addr.ip().is_loopback() {
            return Err(bad(
                "only a daemon on this host (a loopback address) can be reached",
            ));
        }
        Ok(Endpoint(addr))
    }

    /// Where a daemon listening on `listen` is reached from this host: a wildcard
    /// address is reached through loopback of the same family.
    pub fn from_listen(listen: SocketAddr) -> Endpoint {
        let ip = match listen.ip() {
            IpAddr::V4(v) if v.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(v) if v.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        Endpoint(SocketAddr::new(ip, listen.port()))
    }
}

/// A response: status and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing accepts connections there: the daemon is not running.
    #[error("daemon not reachable at {0}: {1}")]
    Unreachable(SocketAddr, io::Error),
    /// The connection broke.
    #[error("talking to the daemon at {0}: {1}")]
    Io(SocketAddr, io::Error),
    /// The answer is not HTTP as expected.
    #[error("bad response from the daemon: {0}")]
    Protocol(String),
}

/// Sends one request and reads the whole response. A POST without `body`
/// still says `Content-Length: 0`; a GET without one sends no body at all.
pub fn request(
    ep: Endpoint,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> Result<Response, ClientError> {
    let addr = ep.0;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .proxy(None)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(3)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent("loginwatch-cli")
        .accept("application/json")
        .build()
        .into();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let bad = |e: ureq::http::Error| ClientError::Protocol(e.to_string());
    let sent = match body {
        Some(b) => agent.run(
            req.header("content-type", "application/json")
                .body(b)
                .map_err(bad)?,
        ),
        None if method == "POST" => agent.run(
            req.header("content-type", "application/json")
                .body(&[][..])
                .map_err(bad)?,
        ),
        None => agent.run(req.body(()).map_err(bad)?),
    };
    let resp = sent.map_err(|e| client_error(addr, e))?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    resp.into_body()
        .into_reader()
        .take(MAX_RESPONSE)
        .read_to_end(&mut body)
        .map_err(|e| ClientError::Io(addr, e))?;
    Ok(Response { status, body })
}

/// What a failed exchange means for the CLI: connecting failed (no daemon),
/// the connection broke, or the answer made no sense.
fn client_error(addr: SocketAddr, e: ureq::Error) -> ClientError {
    use io::ErrorKind as K;
    match e {
        ureq::Error::Io(e)
            if matches!(
                e.kind(),
                K::ConnectionRefused
                    | K::AddrNotAvailable
                    | K::NetworkUnreachable
                    | K::HostUnreachable
            ) =>
        {
            ClientError::Unreachable(addr, e)
        }
        ureq::Error::Timeout(ureq::Timeout::Connect) | ureq::Error::ConnectionFailed => {
            ClientError::Unreachable(addr, io::Error::new(K::TimedOut, e.to_string()))
        }
        ureq::Error::Io(e) => ClientError::Io(addr, e),
        ureq::Error::Timeout(_) => {
            ClientError::Io(addr, io::Error::new(K::TimedOut, e.to_string()))
        }
        e => ClientError::Protocol(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_loopback_only() {
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:9464")
                .unwrap()
                .0
                .to_string(),
            "127.0.0.1:9464"
        );
        assert_eq!(
            Endpoint::parse("http://[::1]:80/").unwrap().0.to_string(),
            "[::1]:80"
        );
        assert!(Endpoint::parse("http://localhost:1").is_ok());
        for bad in [
            "https://127.0.0.1:1",
            "http://10.0.0.1:9464",
            "http://example.com:80",
            "http://127.0.0.1:1/api",
            "127.0.0.1:1",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wildcard_listen_addresses_are_reached_through_loopback() {
        let e = Endpoint::from_listen("0.0.0.0:9464".parse().unwrap());
        assert_eq!(e.0.to_string(), "127.0.0.1:9464");
        let e = Endpoint::from_listen("[::]:1".parse().unwrap());
        assert_eq!(e.0.to_string(), "[::1]:1");
    }

    /// Serves `answer` raw to one connection on loopback and hands back the
    /// request's head as received.
    fn serve_once(answer: &'static [u8]) -> (Endpoint, std::thread::JoinHandle<String>) {
        use std::io::Write;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint(l.local_addr().unwrap());
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            let _ = s.write_all(answer);
            String::from_utf8_lossy(&got).into_owned()
        });
        (ep, h)
    }

    #[test]
    fn responses_with_length_or_chunks_are_read() {
        let (ep, h) = serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
        let r = request(ep, "GET", "/api/v1/decisions", Some("s3cret"), None).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
        let head = h.join().unwrap().to_ascii_lowercase();
        assert!(
            head.starts_with("get /api/v1/decisions http/1.1\r\n"),
            "{head}"
        );
        assert!(head.contains("authorization: bearer s3cret\r\n"), "{head}");
        assert!(head.contains("accept: application/json\r\n"), "{head}");
        assert!(!head.contains("content-length"), "{head}");

        let (ep, h) = serve_once(
            b"HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        );
        let r = request(ep, "POST", "/x", None, None).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (409, &b"abcde"[..]));
        let head = h.join().unwrap().to_ascii_lowercase();
        assert!(head.contains("content-length: 0\r\n"), "{head}");
        assert!(!head.contains("authorization"), "{head}");

        for broken in [
            &b"garbage\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        ] {
            let (ep, h) = serve_once(broken);
            let r = request(ep, "GET", "/", None, None);
            assert!(r.is_err(), "{:?}: {r:?}", String::from_utf8_lossy(broken));
            h.join().unwrap();
        }
    }

    #[test]
    fn a_closed_port_is_an_absent_daemon() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ep = Endpoint(l.local_addr().unwrap());
        drop(l);
        let e = request(ep, "GET", "/", None, None).unwrap_err();
        assert!(matches!(e, ClientError::Unreachable(..)), "{e:?}");
    }
}
