//! A minimal HTTP/1.1 client for the daemon's admin API on this host.
//!
//! Hand-written over `std::net::TcpStream` rather than a client crate: the CLI
//! only ever makes one request to a daemon on a loopback address (no TLS, no
//! redirects, no proxies, no keep-alive), which is a few dozen lines, while a
//! client crate would bring an async runtime or a TLS stack into every command.
//! Requests go out with `Connection: close`; responses with `Content-Length` or
//! chunked bodies are both read.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
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
    Unreachable(SocketAddr, std::io::Error),
    /// The connection broke.
    #[error("talking to the daemon at {0}: {1}")]
    Io(SocketAddr, std::io::Error),
    /// The answer is not HTTP as expected.
    #[error("bad response from the daemon: {0}")]
    Protocol(String),
}

/// Sends one request and reads the whole response.
pub fn request(
    ep: Endpoint,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&[u8]>,
) -> Result<Response, ClientError> {
    let addr = ep.0;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))
        .map_err(|e| ClientError::Unreachable(addr, e))?;
    let io = |e| ClientError::Io(addr, e);
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(io)?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\nUser-Agent: loginwatch-cli\r\n"
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).map_err(io)?;
    s.write_all(body).map_err(io)?;
    let mut raw = Vec::new();
    s.take(MAX_RESPONSE).read_to_end(&mut raw).map_err(io)?;
    parse_response(&raw)
}

/// Splits a complete `Connection: close` response into status and body.
fn parse_response(raw: &[u8]) -> Result<Response, ClientError> {
    let bad = |m: &str| ClientError::Protocol(m.to_owned());
    let end = memchr::memmem::find(raw, b"\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|_| bad("headers not UTF-8"))?;
    let rest = &raw[end + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| status_line.starts_with("HTTP/1."))
        .ok_or_else(|| bad("no status line"))?;
    let mut chunked = false;
    let mut length = None;
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let v = v.trim();
        if k.eq_ignore_ascii_case("transfer-encoding") {
            chunked = v.eq_ignore_ascii_case("chunked");
        } else if k.eq_ignore_ascii_case("content-length") {
            length = v.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        dechunk(rest).ok_or_else(|| bad("broken chunked body"))?
    } else {
        match length {
            Some(n) => rest
                .get(..n)
                .ok_or_else(|| bad("body shorter than Content-Length"))?
                .to_vec(),
            None => rest.to_vec(),
        }
    };
    Ok(Response { status, body })
}

/// Decodes a chunked body (chunk extensions and trailers ignored).
fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = memchr::memmem::find(b, b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..eol]).ok()?;
        let size_text = size_text.split(';').next()?.trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        b = &b[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(..size)?);
        b = b.get(size + 2..)?;
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

    #[test]
    fn responses_with_length_or_chunks_are_read() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"{}"[..]));
        let r = parse_response(
            b"HTTP/1.1 409 Conflict\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (409, &b"abcde"[..]));
        assert!(parse_response(b"garbage").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n{}").is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
    }
}
