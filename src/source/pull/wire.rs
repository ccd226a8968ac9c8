//! The HTTP side shared by the pulls: one agent configuration, bounded
//! reads, lines out of a streamed body, and the words for a failed exchange.

use std::io::{BufRead, Read};
use std::time::Duration;

use ureq::http::{HeaderMap, Response};

/// A JSON reply larger than this is refused (an Okta page of 1,000 events is
/// a few MiB).
pub(crate) const MAX_JSON: u64 = 64 * 1024 * 1024;

/// The agent of one pull. Redirects are not followed: LINE WORKS answers
/// with a 302 whose `Location` is the CSV, and whether the access token may
/// go along is decided there, not by the client. Statuses are answers, not
/// errors. The proxy comes from the environment (`HTTPS_PROXY`), as hosts
/// that reach the internet only through one need.
pub(crate) fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(120)))
        .timeout_recv_body(Some(Duration::from_secs(600)))
        .user_agent(concat!("loginwatch/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

/// A failed exchange in words for `/readyz` (no URL with a query, no header).
pub(crate) fn transport(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::Io(io) => format!("I/O error: {io}"),
        other => other.to_string(),
    }
}

/// The body as text, at most `limit` bytes.
pub(crate) fn text(resp: Response<ureq::Body>, limit: u64) -> Result<String, String> {
    let mut buf = Vec::new();
    resp.into_body()
        .into_reader()
        .take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| format!("reading the reply: {e}"))?;
    if buf.len() as u64 > limit {
        return Err(format!("the reply is over {limit} bytes"));
    }
    String::from_utf8(buf).map_err(|_| "the reply is not UTF-8".to_owned())
}

/// The first bytes of an error reply, one line, for a message (services put
/// their error code there: Okta's `errorCode`, OAuth's `error`).
pub(crate) fn snippet(resp: Response<ureq::Body>) -> String {
    let mut buf = Vec::new();
    let _ = resp
        .into_body()
        .into_reader()
        .take(300)
        .read_to_end(&mut buf);
    let s = String::from_utf8_lossy(&buf);
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A header's value as text.
pub(crate) fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Reads `r` line by line (without `\n` and a `\r` before it) into `on_line`,
/// a line at most `max` bytes: a longer one is handed over empty with
/// `too_long`, its bytes skipped without buffering. Stops when `on_line`
/// says false. An I/O error ends the read (the caller retries the whole).
pub(crate) fn lines(
    r: impl Read,
    max: usize,
    on_line: &mut dyn FnMut(Vec<u8>, bool) -> bool,
) -> std::io::Result<()> {
    let mut r = std::io::BufReader::new(r);
    loop {
        let mut buf = Vec::new();
        let n = (&mut r).take(max as u64 + 1).read_until(b'\n', &mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let ended = buf.last() == Some(&b'\n');
        if !ended && buf.len() > max {
            // Skip the rest of the line.
            loop {
                let avail = r.fill_buf()?;
                if avail.is_empty() {
                    break;
                }
                match memchr::memchr(b'\n', avail) {
                    Some(i) => {
                        r.consume(i + 1);
                        break;
                    }
                    None => {
                        let k = avail.len();
                        r.consume(k);
                    }
                }
            }
            if !on_line(Vec::new(), true) {
                return Ok(());
            }
            continue;
        }
        if ended {
            buf.pop();
        }
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if !on_line(buf, false) {
            return Ok(());
        }
    }
}

/// `s` percent-encoded for a query value.
pub(crate) fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// The scheme, host and port of `url` (`https://host:port`), to tell whether
/// a URL the service handed back is on the configured service.
pub(crate) fn origin(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&url[..url.len() - rest.len() + host_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_trimmed_and_bounded() {
        let input = b"a,b\r\nccccccccccc\nd\nlast".as_slice();
        let mut got = Vec::new();
        lines(input, 5, &mut |l, long| {
            got.push((String::from_utf8(l).unwrap(), long));
            true
        })
        .unwrap();
        assert_eq!(
            got,
            [
                ("a,b".into(), false),
                (String::new(), true),
                ("d".into(), false),
                ("last".into(), false)
            ]
        );
    }

    #[test]
    fn origin_is_scheme_host_and_port() {
        assert_eq!(
            origin("https://x.okta.com/api/v1/logs?after=1"),
            Some("https://x.okta.com")
        );
        assert_eq!(
            origin("http://127.0.0.1:8080?x"),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin("ftp://x"), None);
    }
}
