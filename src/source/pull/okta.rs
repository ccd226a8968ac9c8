//! Okta's System Log through its API (`GET /api/v1/logs`), as the Okta
//! developer documentation describes polling it:
//! - `Authorization: SSWS <API token>`; a JSON array of `LogEvent`s (each
//!   with `uuid` and `published`), oldest first with `sortOrder=ASCENDING`,
//!   at most `limit` (1,000) a page;
//! - the first request names `since` (ISO 8601); every reply has a `Link:
//!   <...>; rel="next"` header, and when polling (no `until`) the next link
//!   is always there: the next page is that link, and an empty page means
//!   caught up: ask the same next link again after `interval`;
//! - rate limits: `X-Rate-Limit-Limit`, `X-Rate-Limit-Remaining` and
//!   `X-Rate-Limit-Reset` (Unix seconds) on every reply, 429 with errorCode
//!   `E0000047` past the limit. Okta advises computing the wait from the
//!   reply's `Date` header (its own clock) rather than the local clock: the
//!   wait here is `Reset - Date`, and nothing is sent before it is over;
//! - 401 with errorCode `E0000011` (invalid token): a configuration error,
//!   shown on `/readyz` with the fix, retried with backoff;
//! - the System Log keeps 90 days ([`RETENTION`]).
//!
//! Each event is a line (compact JSON) for the `okta` JSON format. The
//! position (cursor, [`Position`]) is the next link of the last page whose
//! events were all handed out; it is only followed (and the token only sent)
//! when it is on the configured `url`.

use std::time::{Duration, Instant};

use chrono::Utc;
use tracing::{info, warn};

use super::{Backoff, Feed, Secret, wire};
use crate::escape::Escaped;

/// Events a page at most (the API's maximum).
pub const LIMIT: u32 = 1000;
/// Time between polls once caught up.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// The shortest `interval`.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// How long Okta keeps the System Log.
pub const RETENTION: chrono::Duration = chrono::Duration::days(90);

/// A configured Okta pull.
#[derive(Debug, Clone, PartialEq)]
pub struct Okta {
    /// The org's URL (`https://example.okta.com`), without a trailing `/`.
    pub url: String,
    pub token: Secret,
    /// Where the token came from (`token_file /path` or `token_env NAME`), for hints.
    pub token_from: String,
    pub interval: Duration,
    /// How far back the first request's `since` reaches.
    pub start: chrono::Duration,
}

impl Okta {
    /// The System Log endpoint.
    pub fn endpoint(&self) -> String {
        format!("{}/api/v1/logs", self.url.trim_end_matches('/'))
    }

    /// The first request: from `now - start` (an hour inside the retention
    /// at most, so the request is still valid when it arrives).
    pub fn first_url(&self, now: chrono::DateTime<Utc>) -> String {
        let reach = self.start.min(RETENTION - chrono::Duration::hours(1));
        self.since_url(&(now - reach).to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }

    /// A request from `since` (ISO 8601, as Okta writes `published`).
    pub fn since_url(&self, since: &str) -> String {
        format!(
            "{}?since={}&sortOrder=ASCENDING&limit={LIMIT}",
            self.endpoint(),
            wire::enc(since)
        )
    }

    /// Whether a link (from a reply or a stored cursor) is this org's System
    /// Log: the token goes nowhere else.
    pub fn owns(&self, link: &str) -> bool {
        let ep = self.endpoint();
        link.strip_prefix(&ep)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('?'))
    }
}

/// The `rel="next"` target among `Link` header values (RFC 8288: `<uri>;
/// param=value, <uri>; ...`, one header or several).
pub fn next_link<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<String> {
    for v in values {
        let mut rest = v;
        while let Some(open) = rest.find('<') {
            let Some(close) = rest[open..].find('>') else {
                break;
            };
            let uri = &rest[open + 1..open + close];
            let after = &rest[open + close + 1..];
            let params_end = after.find('<').unwrap_or(after.len());
            let is_next = after[..params_end].split(';').any(|p| {
                let Some((k, v)) = p.split_once('=') else {
                    return false;
                };
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_end_matches(',')
                        .trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            });
            if is_next {
                return Some(uri.to_owned());
            }
            rest = &after[params_end..];
        }
    }
    None
}

/// The cursor: the next link to ask, and the `published` time of the last
/// event handed out, to start again from with `since` should Okta refuse a
/// stored link (a 400: the cursor is opaque, and no promise is documented
/// that it stays valid for ever).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub next: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
}

impl Position {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(s: &str) -> Option<Position> {
        serde_json::from_str(s).ok()
    }
}

/// The rate-limit headers of a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimit {
    pub remaining: Option<u64>,
    /// `X-Rate-Limit-Reset`, Unix seconds.
    pub reset: Option<i64>,
    /// The reply's `Date`, Unix seconds.
    pub date: Option<i64>,
}

impl RateLimit {
    pub fn of(h: &ureq::http::HeaderMap) -> RateLimit {
        let num = |n| wire::header(h, n).and_then(|v| v.trim().parse::<i64>().ok());
        RateLimit {
            remaining: num("x-rate-limit-remaining").and_then(|r| u64::try_from(r).ok()),
            reset: num("x-rate-limit-reset"),
            date: wire::header(h, "date")
                .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
                .map(|d| d.timestamp()),
        }
    }

    /// How long to wait before the next request, read at `now_unix`:
    /// until the reset when nothing remains (or `limited`, a 429), else none.
    /// `None` when limited but the reset is not known.
    pub fn wait(&self, limited: bool, now_unix: f64) -> Option<Duration> {
        if !(limited || self.remaining == Some(0)) {
            return Some(Duration::ZERO);
        }
        let reset = self.reset?;
        // With `Date` (whole seconds, rounded down) the wait is never short.
        let secs = match self.date {
            Some(date) => (reset - date) as f64,
            None => reset as f64 - now_unix,
        };
        Some(Duration::from_secs_f64(secs.clamp(0.0, 3600.0)))
    }
}

fn now_unix() -> f64 {
    let n = Utc::now();
    n.timestamp() as f64 + f64::from(n.timestamp_subsec_millis()) / 1000.0
}

/// The pull's thread: follows the next links until the source is dropped.
pub(super) fn run(name: &str, cfg: &Okta, cursor: Option<&str>, feed: &Feed) {
    let agent = wire::agent();
    let stored = cursor.map(|c| Position::decode(c).filter(|p| cfg.owns(&p.next)));
    if let Some(None) = stored {
        warn!(source = %Escaped(name), "Stored Okta position unreadable or not on the configured url; starting from `start`.");
    }
    let (mut url, mut published) = match stored.flatten() {
        Some(p) => (p.next, p.published),
        None => (cfg.first_url(Utc::now()), None),
    };
    info!(source = %Escaped(name), resumed = cursor.is_some(), "Pulling the Okta System Log.");
    let mut backoff = Backoff::default();
    let mut next = Instant::now();
    let auth = format!("SSWS {}", cfg.token.expose());
    loop {
        if !feed.sleep_until(next) {
            return;
        }
        let sent = agent
            .get(&url)
            .header("authorization", &auth)
            .header("accept", "application/json")
            .call();
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                feed.problem(
                    format!("request: {}", wire::transport(&e)),
                    "retrying with backoff",
                );
                next = Instant::now() + backoff.failure();
                continue;
            }
        };
        let got = Instant::now();
        let status = resp.status().as_u16();
        let rl = RateLimit::of(resp.headers());
        let limited = rl.wait(status == 429, now_unix());
        if status == 400 && !url.contains("since=") {
            // A refused next link: from the last event's time instead (its
            // events already read are dropped as repeats).
            warn!(source = %Escaped(name), "Okta refused the stored next link; asking again from the last event's time.");
            url = match &published {
                Some(p) => cfg.since_url(p),
                None => cfg.first_url(Utc::now()),
            };
        }
        if status != 200 {
            let (problem, hint) = refusal(status, &wire::snippet(resp), cfg);
            warn!(source = %Escaped(name), status, "Okta System Log request failed; retrying.");
            feed.problem(problem, hint);
            let b = backoff.failure();
            next = got
                + if status == 429 {
                    limited.unwrap_or(b)
                } else {
                    b
                };
            continue;
        }
        let links: Vec<&str> = resp
            .headers()
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        // Without a next link (not expected when polling) the same page is
        // asked again later: its events already read are dropped as repeats.
        let next_url = next_link(links).filter(|l| cfg.owns(l));
        let page = wire::text(resp, wire::MAX_JSON).and_then(|body| {
            serde_json::from_str::<Vec<serde_json::Value>>(&body)
                .map_err(|e| format!("the reply is not a JSON array of events: {e}"))
        });
        let events = match page {
            Ok(p) => p,
            Err(m) => {
                feed.problem(m, "retrying with backoff");
                next = got + backoff.failure();
                continue;
            }
        };
        let next_url_or_same = next_url.clone().unwrap_or_else(|| url.clone());
        if let Some(p) = events.last().and_then(|e| e["published"].as_str()) {
            published = Some(p.to_owned());
        }
        let position = Position {
            next: next_url_or_same.clone(),
            published: published.clone(),
        }
        .encode();
        let n = events.len();
        feed.begin();
        for (i, ev) in events.into_iter().enumerate() {
            let last = i + 1 == n;
            let line = ev.to_string().into_bytes();
            let too_long = line.len() > crate::parse::MAX_LINE;
            let line = if too_long { Vec::new() } else { line };
            if !feed.line(line, too_long, last.then(|| position.clone())) {
                return;
            }
        }
        if n == 0 && !feed.position(position.clone()) {
            return;
        }
        feed.ok();
        backoff.success();
        url = next_url_or_same;
        let pace = if n == 0 || next_url.is_none() {
            cfg.interval
        } else {
            Duration::ZERO
        };
        next = got + pace.max(limited.unwrap_or_default());
    }
}

/// A refused request in words, with the fix.
fn refusal(status: u16, body: &str, cfg: &Okta) -> (String, String) {
    let problem = format!("HTTP {status} {body}");
    let hint = match status {
        401 => format!(
            "Okta refused the API token (E0000011 invalid token): create a token in the Admin \
             Console (Security > API > Tokens) as an admin who may read the System Log, put it \
             in {}, and restart loginwatch",
            cfg.token_from
        ),
        403 => "the token's admin may not read the System Log: use a token of a (read-only) \
                administrator"
            .to_owned(),
        429 => "rate limited (E0000047): waiting for X-Rate-Limit-Reset".to_owned(),
        _ => "retrying with backoff".to_owned(),
    };
    (problem, hint)
}

#[cfg(test)]
mod tests;
