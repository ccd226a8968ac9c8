//! LINE WORKS audit logs through the API 2.0 "Audit log download":
//! `GET https://www.worksapis.com/v1.0/audits/logs/download?service=auth&startTime=...&endTime=...`
//! with `Authorization: Bearer <token>` (scope `audit.read`, a service
//! account's token from [`super::auth`]).
//!
//! What the documentation says and what follows from it here:
//! - the reply is a **302** whose `Location` is a short-lived CSV URL ("the
//!   returned URL expires after a specified period: get the latest download
//!   URL"): it is fetched at once, and a failure asks the API for a new one;
//! - "do not make parallel requests", "not less than 1 minute apart": one
//!   thread, one download at a time, each started at least
//!   [`MIN_INTERVAL`] after the previous one, retries included;
//! - `startTime`/`endTime` are `YYYY-MM-DDThh:mm:ssTZD` (sent in UTC,
//!   `+00:00` percent-encoded like the documented `%2B09:00`);
//! - "if an error occurs during the download, `downloadLogs error` is
//!   written at the end of the file": such a download is incomplete, its
//!   window is downloaded again (its rows already delivered are dropped by
//!   the rows-once filter) and the problem shows on `/readyz` until a
//!   download is complete. The trailer itself reaches the parser, which
//!   counts it as `incomplete_export`;
//! - logs are kept 180 days ([`RETENTION`]): a first pull or a cursor older
//!   than that starts there.
//!
//! Windows: `[last end - OVERLAP, now]`, at most [`MAX_WINDOW`] long (a
//! backlog is read a day per download). The overlap re-reads the minutes
//! before the last end so that a row the service records late is still
//! seen; the rows read twice are dropped by the rows-once filter. The
//! position (cursor) is the end of the last complete window.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use tracing::{info, warn};

use super::auth::{self, AccessToken, Credentials, TokenError};
use super::{Backoff, Feed, Secret, wire};
use crate::escape::Escaped;

/// The API 2.0 base URL.
pub const DEFAULT_URL: &str = "https://www.worksapis.com/v1.0";
/// The OAuth 2.0 token endpoint.
pub const DEFAULT_TOKEN_URL: &str = "https://auth.worksmobile.com/oauth2/v2.0/token";
/// The log of logins.
pub const DEFAULT_SERVICE: &str = "auth";
/// Documented: downloads not less than one minute apart.
pub const MIN_INTERVAL: Duration = Duration::from_secs(60);
/// The floor for a loopback `url` (a test server or a local relay is not the
/// service the documented limit protects).
pub const MIN_INTERVAL_LOOPBACK: Duration = Duration::from_secs(1);
/// Minutes re-read before the last window's end (see the module header).
pub const OVERLAP: chrono::Duration = chrono::Duration::minutes(10);
/// The longest window of one download.
pub const MAX_WINDOW: chrono::Duration = chrono::Duration::days(1);
/// How long the service keeps audit logs.
pub const RETENTION: chrono::Duration = chrono::Duration::days(180);

/// A configured LINE WORKS pull.
#[derive(Debug, Clone, PartialEq)]
pub struct Lineworks {
    /// The API base (`DEFAULT_URL`), without a trailing `/`.
    pub url: String,
    pub token_url: String,
    /// `service=` of the download (`auth`: logins).
    pub service: String,
    /// Time between downloads (at least [`MIN_INTERVAL`] for the service).
    pub interval: Duration,
    /// How far back the first download reaches.
    pub start: chrono::Duration,
    pub credentials: Credentials,
    /// The credentials file, named in hints.
    pub credentials_path: PathBuf,
}

impl Lineworks {
    /// The download endpoint.
    pub fn endpoint(&self) -> String {
        format!("{}/audits/logs/download", self.url.trim_end_matches('/'))
    }
}

/// The span of one download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The next window after `last_end` (the end of the last complete one), at
/// `now` (whole seconds: the API's times have no fraction).
pub fn window(
    last_end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    start: chrono::Duration,
) -> Window {
    let now = now.trunc_subsecs(0);
    // An hour inside the retention: the window is still valid on arrival.
    let oldest = now - RETENTION + chrono::Duration::hours(1);
    let from = match last_end {
        Some(end) => end - OVERLAP,
        None => now - start,
    }
    .max(oldest)
    .min(now);
    Window {
        from,
        to: (from + MAX_WINDOW).min(now),
    }
}

/// The cursor: the end of the last complete window, RFC 3339.
pub fn encode(end: DateTime<Utc>) -> String {
    end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Reads [`encode`]'s text back.
pub fn decode(cursor: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(cursor.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// When the next download may start: `interval` after this one started,
/// or later when a failure asks to wait longer. Never sooner, retries
/// included: the documented minimum is between any two downloads.
pub fn next_start(started: Instant, interval: Duration, wait: Option<Duration>) -> Instant {
    started + interval.max(wait.unwrap_or_default())
}

/// How a download ended.
enum Done {
    /// Every line delivered, the position with the last one.
    Complete,
    /// The file ended with `downloadLogs error`.
    Truncated,
    /// The source was dropped.
    Stopped,
}

/// A failed download: the problem and its fix, and whether to wait longer
/// than the backoff (a `Retry-After`).
struct Fail {
    problem: String,
    hint: String,
    wait: Option<Duration>,
}

fn fail(problem: impl Into<String>, hint: impl Into<String>) -> Fail {
    Fail {
        problem: problem.into(),
        hint: hint.into(),
        wait: None,
    }
}

const RETRYING: &str = "retrying with backoff";

/// The pull's thread: downloads windows until the source is dropped.
pub(super) fn run(name: &str, cfg: &Lineworks, cursor: Option<&str>, feed: &Feed) {
    let agent = wire::agent();
    let mut last_end = cursor.and_then(|c| {
        let t = decode(c);
        if t.is_none() {
            warn!(source = %Escaped(name), "Stored LINE WORKS position unreadable; starting from `start`.");
        }
        t
    });
    info!(source = %Escaped(name), from = %last_end.map(encode).unwrap_or_else(|| "start".into()), "Pulling LINE WORKS audit logs.");
    let mut token = None;
    let mut backoff = Backoff::default();
    let mut next = Instant::now();
    loop {
        if !feed.sleep_until(next) {
            return;
        }
        // When the download request went out (after any token request): the
        // documented spacing is between downloads.
        let mut started = Instant::now();
        let w = window(last_end, Utc::now(), cfg.start);
        let wait = match download(&agent, cfg, &mut token, &w, feed, &mut started) {
            Ok(Done::Complete) => {
                last_end = Some(w.to);
                backoff.success();
                feed.ok();
                None
            }
            Ok(Done::Truncated) => {
                let problem = format!(
                    "the download of {} to {} ended with `downloadLogs error` (incomplete)",
                    encode(w.from),
                    encode(w.to)
                );
                warn!(source = %Escaped(name), "{problem}; downloading the window again.");
                feed.problem(
                    problem,
                    "the window is downloaded again; rows already read count once",
                );
                Some(backoff.failure())
            }
            Ok(Done::Stopped) => return,
            Err(f) => {
                warn!(source = %Escaped(name), problem = %f.problem, "LINE WORKS audit log download failed; retrying.");
                feed.problem(f.problem, f.hint);
                Some(backoff.failure().max(f.wait.unwrap_or_default()))
            }
        };
        next = next_start(started, cfg.interval, wait);
    }
}

/// A valid access token, fetched when there is none or it is due.
fn bearer(
    agent: &ureq::Agent,
    cfg: &Lineworks,
    token: &mut Option<AccessToken>,
) -> Result<Secret, Fail> {
    if let Some(t) = token.as_ref().filter(|t| Instant::now() < t.renew_at) {
        return Ok(t.token.clone());
    }
    match auth::fetch(agent, &cfg.token_url, &cfg.credentials, auth::SCOPE) {
        Ok(t) => {
            let s = t.token.clone();
            *token = Some(t);
            Ok(s)
        }
        Err(TokenError::Refused(m)) => Err(fail(
            m,
            format!(
                "check client_id, client_secret, service_account and the private key in {} \
                 (Developer Console > API 2.0 > the app > Service Account), and that the app \
                 has scope audit.read; {RETRYING}",
                cfg.credentials_path.display()
            ),
        )),
        Err(TokenError::Failed(m)) => Err(fail(m, RETRYING)),
    }
}

/// Whether the access token may go to `url`, a `Location` the API returned:
/// the API's own origin or LINE WORKS' hosts over HTTPS, nowhere else.
fn trusted(url: &str, cfg: &Lineworks) -> bool {
    let Some(origin) = wire::origin(url) else {
        return false;
    };
    if Some(origin) == wire::origin(&cfg.url) {
        return true;
    }
    let host = origin.trim_start_matches("https://");
    origin.starts_with("https://")
        && !host.contains(':')
        && (host.ends_with(".worksmobile.com") || host.ends_with(".worksapis.com"))
}

/// One window: the API call, its 302, the CSV to the queue.
fn download(
    agent: &ureq::Agent,
    cfg: &Lineworks,
    token: &mut Option<AccessToken>,
    w: &Window,
    feed: &Feed,
    sent: &mut Instant,
) -> Result<Done, Fail> {
    let time = |t: DateTime<Utc>| wire::enc(&t.format("%Y-%m-%dT%H:%M:%S%:z").to_string());
    let url = format!(
        "{}?service={}&startTime={}&endTime={}",
        cfg.endpoint(),
        wire::enc(&cfg.service),
        time(w.from),
        time(w.to)
    );
    let mut renewed = false;
    let (resp, bearer) = loop {
        let b = bearer(agent, cfg, token)?;
        *sent = Instant::now();
        let resp = agent
            .get(&url)
            .header("authorization", format!("Bearer {}", b.expose()))
            .call()
            .map_err(|e| {
                fail(
                    format!("download request: {}", wire::transport(&e)),
                    RETRYING,
                )
            })?;
        // An expired or revoked token: a new one once, then give up this try.
        // The request again at once: the refused one downloaded nothing.
        if resp.status().as_u16() == 401 && !renewed {
            *token = None;
            renewed = true;
            continue;
        }
        break (resp, b);
    };
    let status = resp.status().as_u16();
    let location = match status {
        301..=303 | 307 | 308 => wire::header(resp.headers(), "location").map(str::to_owned),
        _ => None,
    };
    let Some(location) = location else {
        let retry_after = wire::header(resp.headers(), "retry-after")
            .and_then(|v| v.trim().parse().ok())
            .map(Duration::from_secs);
        let hint = match status {
            401 => format!(
                "a new token was refused too: check the service account in {}; {RETRYING}",
                cfg.credentials_path.display()
            ),
            403 => "the service account may not read audit logs: give the app scope audit.read \
                    and the service account the right to it; retrying"
                .to_owned(),
            _ => RETRYING.to_owned(),
        };
        let mut f = fail(
            format!("download request: HTTP {status} {}", wire::snippet(resp)),
            hint,
        );
        f.wait = retry_after;
        return Err(f);
    };
    let location = if location.starts_with('/') {
        format!("{}{location}", wire::origin(&url).unwrap_or_default())
    } else {
        location
    };
    let mut req = agent.get(&location);
    if trusted(&location, cfg) {
        req = req.header("authorization", format!("Bearer {}", bearer.expose()));
    }
    let resp = req
        .call()
        .map_err(|e| fail(format!("CSV download: {}", wire::transport(&e)), RETRYING))?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(fail(
            format!("the CSV URL answered HTTP {status}"),
            "a new download URL is asked for; retrying",
        ));
    }
    deliver(resp.into_body().into_reader(), &encode(w.to), feed)
}

/// The CSV's lines to the queue, each as it arrives, the position with the
/// last one (held back one line so the last is known) unless the download
/// stopped early: "an error message is displayed after `downloadLogs error`
/// at the end of the file" (Audit log download API), so the marker may be
/// followed by the message's lines; from the marker on nothing is a row (the
/// parser counts them as `incomplete_export`) and the window is not done.
fn deliver(body: impl std::io::Read, position: &str, feed: &Feed) -> Result<Done, Fail> {
    feed.begin();
    let mut held: Option<(Vec<u8>, bool)> = None;
    let mut gone = false;
    let mut truncated = false;
    let read = wire::lines(body, crate::parse::MAX_LINE, &mut |line, long| {
        truncated |= !long && is_trailer(&line);
        if let Some((l, t)) = held.replace((line, long))
            && !feed.line(l, t, None)
        {
            gone = true;
            return false;
        }
        true
    });
    if gone {
        return Ok(Done::Stopped);
    }
    if let Err(e) = read {
        if let Some((l, t)) = held {
            feed.line(l, t, None);
        }
        return Err(fail(format!("CSV download interrupted: {e}"), RETRYING));
    }
    if truncated {
        let sent = held.is_none_or(|(l, t)| feed.line(l, t, None));
        return Ok(if sent { Done::Truncated } else { Done::Stopped });
    }
    let sent = match held {
        Some((l, t)) => feed.line(l, t, Some(position.to_owned())),
        None => feed.position(position.to_owned()),
    };
    Ok(if sent { Done::Complete } else { Done::Stopped })
}

/// The documented mark of an incomplete download, at the end of the file.
/// At the start of a line only (as the CSV parser reads it): a row whose
/// user or description holds the words, which anyone who types a login ID
/// can make, must not mark every download incomplete and stall the pull.
fn is_trailer(line: &[u8]) -> bool {
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace() && *b != b'"')
        .unwrap_or(line.len());
    line[start..]
        .get(..18)
        .is_some_and(|h| h.eq_ignore_ascii_case(b"downloadLogs error"))
}

#[cfg(test)]
mod tests;
