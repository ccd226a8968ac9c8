//! The tests' one HTTP client: `ureq` (the crate the daemon itself sends with),
//! wrapped so a test states a request in one chain and reads the status, a
//! header or the body without handling transport errors (a failed exchange
//! fails the test).
//!
//! Non-2xx statuses are answers, not errors: the tests check them. No proxy
//! from the environment: every request goes to a loopback server.

use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

/// An answer: status, headers and the body as text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A request being built.
#[derive(Debug)]
pub struct Req {
    method: &'static str,
    url: String,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    timeout: Option<Duration>,
    /// Redirects are answers too (a browser's sign-in flow is tested by them).
    no_redirects: bool,
}

/// A GET of `url`.
pub fn get(url: impl Into<String>) -> Req {
    Req::new("GET", url.into())
}

/// A POST to `url`.
pub fn post(url: impl Into<String>) -> Req {
    Req::new("POST", url.into())
}

impl Req {
    fn new(method: &'static str, url: String) -> Req {
        Req {
            method,
            url,
            headers: Vec::new(),
            body: None,
            timeout: None,
            no_redirects: false,
        }
    }

    /// `Authorization: Bearer token`.
    pub fn bearer(self, token: &str) -> Req {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn header(mut self, name: &str, value: &str) -> Req {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Appends `?k=v&...` to the URL, percent-encoded.
    pub fn query(mut self, params: &[(&str, &str)]) -> Req {
        for (i, (k, v)) in params.iter().enumerate() {
            self.url.push(if i == 0 && !self.url.contains('?') {
                '?'
            } else {
                '&'
            });
            self.url
                .extend(utf8_percent_encode(k, NON_ALPHANUMERIC).map(str::to_owned));
            self.url.push('=');
            self.url
                .extend(utf8_percent_encode(v, NON_ALPHANUMERIC).map(str::to_owned));
        }
        self
    }

    /// `v` as the body, with `Content-Type: application/json`.
    pub fn json(self, v: &Value) -> Req {
        self.header("content-type", "application/json")
            .body(v.to_string())
    }

    /// A raw body (no content type added).
    pub fn body(mut self, b: impl Into<Vec<u8>>) -> Req {
        self.body = Some(b.into());
        self
    }

    /// Returns a redirect as the answer instead of following it.
    pub fn no_redirects(mut self) -> Req {
        self.no_redirects = true;
        self
    }

    /// Gives up on the whole exchange after `t`.
    pub fn timeout(mut self, t: Duration) -> Req {
        self.timeout = Some(t);
        self
    }

    /// Sends the request; panics when no answer comes.
    pub fn send(self) -> Reply {
        let url = self.url.clone();
        self.try_send()
            .unwrap_or_else(|e| panic!("{} {url}: {e}", self.method))
    }

    /// Sends the request; a failed exchange is an error (e.g. a server not up yet).
    pub fn try_send(&self) -> Result<Reply, ureq::Error> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(self.timeout)
            .max_redirects(if self.no_redirects { 0 } else { 10 })
            .build()
            .into();
        let mut req = ureq::http::Request::builder()
            .method(self.method)
            .uri(&self.url);
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = match &self.body {
            Some(b) => agent.run(req.body(b.as_slice())?),
            None => agent.run(req.body(())?),
        }?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }
}
