//! HTTP POST transport: generic webhooks (JSON, Slack-compatible, plain-text
//! bots) and, through [`super::alertmanager`], Alertmanager.
//!
//! ureq (blocking, rustls with webpki roots) rather than reqwest: deliveries
//! run on a blocking task anyway, and ureq brings no second async runtime
//! configuration into the daemon. Each request carries `Idempotency-Key` (the
//! row's stable key) and, with a shared secret, `X-Loginwatch-Signature:
//! sha256=<hex>`, an HMAC-SHA256 of the exact body bytes, so a receiver can
//! both authenticate and deduplicate.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{Delivery, SinkError, Summary, Transport, wrong_payload};
use crate::alert::Payload;
use crate::alert::config::HttpTarget;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "X-Loginwatch-Signature";
/// The idempotency header.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length: `new_from_slice` cannot fail for it.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs HTTP payloads to one URL.
pub struct HttpTransport {
    agent: ureq::Agent,
    url: String,
    headers: Vec<(String, String)>,
    secret: Option<String>,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret or the headers (they may hold credentials).
        f.debug_struct("HttpTransport")
            .field("url", &self.url)
            .finish()
    }
}

impl HttpTransport {
    /// A transport to `target.url`, signing with `secret` when given.
    pub fn new(target: &HttpTarget, secret: Option<String>) -> Result<HttpTransport, SinkError> {
        Ok(Self::to_url(target, target.url.clone(), secret))
    }

    /// A transport to `url` with `target`'s headers and timeout.
    pub(crate) fn to_url(
        target: &HttpTarget,
        url: String,
        secret: Option<String>,
    ) -> HttpTransport {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(target.timeout))
            .http_status_as_error(false)
            .build()
            .into();
        HttpTransport {
            agent,
            url,
            headers: target.headers.clone(),
            secret,
        }
    }
}

/// Whether an HTTP status means "try again later".
fn transient(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

impl Transport for HttpTransport {
    fn send(&self, d: &Delivery<'_>) -> Result<(), SinkError> {
        let Payload::Http {
            content_type,
            headers,
            body,
        } = d.payload
        else {
            return Err(wrong_payload("HTTP", d.payload));
        };
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", content_type)
            .header(IDEMPOTENCY_HEADER, d.idempotency_key);
        for (k, v) in self.headers.iter().chain(headers) {
            req = req.header(k, v);
        }
        if let Some(s) = &self.secret {
            req = req.header(SIGNATURE_HEADER, signature(s.as_bytes(), body));
        }
        match req.send(&body[..]) {
            Ok(resp) => {
                let status = resp.status().as_u16();
                if (200..300).contains(&status) {
                    Ok(())
                } else if transient(status) {
                    Err(SinkError::Transient(format!("{}: HTTP {status}", self.url)))
                } else {
                    Err(SinkError::Permanent(format!("{}: HTTP {status}", self.url)))
                }
            }
            Err(e) => Err(SinkError::Transient(format!("{}: {e}", self.url))),
        }
    }

    fn summary(&self, s: &Summary) -> Payload {
        // `text` is what Slack, Teams and LINE WORKS bots display; the other
        // fields are for JSON consumers.
        let body = serde_json::json!({
            "type": "summary",
            "text": s.sentence(),
            "suppressed": s.suppressed,
            "at": crate::event::rfc3339(&s.now),
        });
        Payload::Http {
            content_type: "application/json".into(),
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_rfc_4231_test_case_2() {
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retryable_statuses() {
        assert!(transient(500) && transient(503) && transient(429) && transient(408));
        assert!(!transient(400) && !transient(404) && !transient(401));
    }
}
