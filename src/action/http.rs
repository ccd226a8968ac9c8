//! Calling an HTTP endpoint (an identity provider's admin API that locks a
//! user, a firewall's API that blocks an address). `ureq`: blocking, small,
//! rustls for HTTPS; actions run on a worker thread, so an async client would
//! only add a runtime hop.

use std::io::Read;
use std::time::{Duration, Instant};

use super::{ActionResult, TAIL_BYTES};
use crate::escape::{self, Escaped};

/// Sends one request and waits at most `timeout` for the whole exchange. A 2xx
/// answer is success; any other status is recorded with the answer's tail.
pub fn call(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: Option<&str>,
    timeout: Duration,
) -> ActionResult {
    let start = Instant::now();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = ureq::http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if body.is_some()
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        req = req.header("content-type", "application/json");
    }
    let req = match req.body(body.unwrap_or_default().as_bytes().to_vec()) {
        Ok(r) => r,
        Err(e) => {
            return ActionResult::failed(
                format!("bad request to {}: {e}", Escaped(url)),
                start.elapsed(),
            );
        }
    };
    let resp = match agent.run(req) {
        Ok(r) => r,
        Err(e) => {
            let timed_out = matches!(e, ureq::Error::Timeout(_));
            let mut r = ActionResult::failed(
                format!("{method} {}: {}", Escaped(url), Escaped(&e.to_string())),
                start.elapsed(),
            );
            r.timed_out = timed_out;
            return r;
        }
    };
    let status = resp.status().as_u16();
    let mut tail = Vec::new();
    // The answer is read up to a bound: only its tail is kept, and a hostile
    // endpoint must not make the daemon buffer without limit.
    let _ = resp
        .into_body()
        .into_reader()
        .take(64 * 1024)
        .read_to_end(&mut tail);
    if tail.len() > TAIL_BYTES {
        tail.drain(..tail.len() - TAIL_BYTES);
    }
    let ok = (200..300).contains(&status);
    ActionResult {
        ok,
        exit: None,
        status: Some(status),
        timed_out: false,
        stderr_tail: escape::bytes(&tail),
        error: (!ok).then(|| format!("HTTP status {status}")),
        duration: start.elapsed(),
    }
}
