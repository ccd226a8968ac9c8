//! A `[[source]]` with `pull = "lineworks" | "okta"`: a SaaS audit log
//! pulled from its API (`crate::source::pull`). Its keys are checked here,
//! every mistake at its line; the secrets (the service account's
//! credentials file, Okta's API token) are read now, refused when other users
//! may read them (`crate::private::read_secret`), so a broken secret stops
//! `config check` and the start instead of failing later on every request.

use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::SourceConfig;
use super::load::{Cx, MAX_NAME, resolve};
use super::raw::RawSource;
use crate::parse::Zone;
use crate::rules::Dur;
use crate::source::pull::auth::{self, KeyIn};
use crate::source::pull::{Pull, Secret, lineworks, okta};

/// The keys only a pulled source has, for "not with path/listen" messages.
fn pull_keys(raw: &RawSource) -> [(&'static str, Option<&Spanned<String>>); 8] {
    [
        ("url", raw.url.as_ref()),
        ("credentials", raw.credentials.as_ref()),
        ("token_url", raw.token_url.as_ref()),
        ("service", raw.service.as_ref()),
        ("interval", raw.interval.as_ref()),
        ("start", raw.start.as_ref()),
        ("token_file", raw.token_file.as_ref()),
        ("token_env", raw.token_env.as_ref()),
    ]
}

/// Reports the keys of pulled sources set on a source that is no pull;
/// true when there was none.
pub(super) fn no_pull_keys(cx: &mut Cx, raw: &RawSource) -> bool {
    let mut ok = true;
    for (key, v) in pull_keys(raw) {
        if let Some(v) = v {
            cx.err(
                v.span(),
                format!(
                    "`{key}` belongs to a pulled source (`pull = \"lineworks\"` or `\"okta\"`)"
                ),
            );
            ok = false;
        }
    }
    ok
}

/// The source's pull, its default name and its implied format; `None` after
/// recording every mistake.
pub(super) fn pull(
    cx: &mut Cx,
    s: &Spanned<RawSource>,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<(Pull, &'static str, chrono::Duration)> {
    let raw = s.get_ref();
    let kind = raw.pull.as_ref()?;
    let mut ok = true;
    for (key, v) in [("path", raw.path.as_ref()), ("listen", raw.listen.as_ref())] {
        if let Some(v) = v {
            cx.err(
                v.span(),
                format!("a source pulls an API (`pull`), reads files (`path`) or receives syslog (`listen`): `{key}` and `pull` together"),
            );
            ok = false;
        }
    }
    let foreign = |cx: &mut Cx, keys: &[&str], which: &str| {
        let mut fine = true;
        for (key, v) in pull_keys(raw) {
            if let Some(v) = v.filter(|_| keys.contains(&key)) {
                cx.err(
                    v.span(),
                    format!("`{key}` is not a key of pull = \"{which}\""),
                );
                fine = false;
            }
        }
        fine
    };
    let pull = match kind.get_ref().as_str() {
        "lineworks" => {
            ok &= foreign(cx, &["token_file", "token_env"], "lineworks");
            lineworks(cx, s, base).map(Pull::Lineworks)
        }
        "okta" => {
            ok &= foreign(cx, &["credentials", "token_url", "service"], "okta");
            okta(cx, s, base, env).map(Pull::Okta)
        }
        other => {
            cx.err(
                kind.span(),
                format!("pull {other:?}: expected \"lineworks\" or \"okta\""),
            );
            return None;
        }
    };
    let (name, once) = match &pull {
        Some(Pull::Lineworks(_)) => ("lineworks", lineworks::RETENTION),
        Some(Pull::Okta(_)) => ("okta", okta::RETENTION),
        None => return None,
    };
    if !ok {
        return None;
    }
    Some((pull?, name, once))
}

/// The format a pull implies when the source names none.
pub(super) fn format_of(p: &Pull) -> &'static str {
    match p {
        Pull::Lineworks(_) => "lineworks-audit",
        Pull::Okta(_) => "okta",
    }
}

/// `url` (or `token_url`): an http(s) URL without a query, no trailing `/`.
fn url(cx: &mut Cx, key: &str, v: Option<&Spanned<String>>, default: &str) -> Option<String> {
    let Some(v) = v else {
        return Some(default.to_owned());
    };
    let u = v.get_ref().trim().trim_end_matches('/');
    let host = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .map(|r| r.split('/').next().unwrap_or(""));
    if host.is_none_or(|h| h.is_empty() || h.contains('@')) || u.contains(['?', '#']) {
        cx.err(
            v.span(),
            format!(
                "{key} {:?}: an https:// URL without user, query or fragment",
                v.get_ref()
            ),
        );
        return None;
    }
    Some(u.to_owned())
}

/// Whether `url` is on this host (a test server or a relay), where the
/// service's documented pacing does not apply.
fn loopback(url: &str) -> bool {
    let rest = url.split("://").nth(1).unwrap_or("");
    let host = rest.split('/').next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host
        }
    });
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn dur(cx: &mut Cx, key: &str, v: Option<&Spanned<String>>, default: Duration) -> Option<Duration> {
    let Some(v) = v else { return Some(default) };
    match Dur::parse(v.get_ref()) {
        Ok(d) => Some(Duration::from_millis(u64::try_from(d.ms()).unwrap_or(0))),
        Err(m) => {
            cx.err(v.span(), format!("{key}: {m}"));
            None
        }
    }
}

/// `interval`, at least `min` (what the service documents), or
/// `min_local` for a loopback url.
fn interval(
    cx: &mut Cx,
    raw: &RawSource,
    url: &str,
    default: Duration,
    min: Duration,
    min_local: Duration,
) -> Option<Duration> {
    let d = dur(cx, "interval", raw.interval.as_ref(), default)?;
    let floor = if loopback(url) { min_local } else { min };
    if d < floor {
        let span = raw.interval.as_ref().map(Spanned::span).unwrap_or_default();
        cx.err(
            span,
            format!(
                "interval must be at least {}s for this service",
                floor.as_secs()
            ),
        );
        return None;
    }
    Some(d)
}

/// `start`: how far back the first pull reaches (default a day).
fn start(cx: &mut Cx, raw: &RawSource) -> Option<chrono::Duration> {
    let d = dur(cx, "start", raw.start.as_ref(), Duration::from_secs(86_400))?;
    chrono::Duration::from_std(d).ok()
}

fn lineworks(cx: &mut Cx, s: &Spanned<RawSource>, base: &Path) -> Option<lineworks::Lineworks> {
    let raw = s.get_ref();
    let url_ = url(cx, "url", raw.url.as_ref(), lineworks::DEFAULT_URL);
    let token_url = url(
        cx,
        "token_url",
        raw.token_url.as_ref(),
        lineworks::DEFAULT_TOKEN_URL,
    );
    let service = match &raw.service {
        Some(v)
            if v.get_ref().is_empty()
                || !v
                    .get_ref()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            cx.err(
                v.span(),
                format!(
                    "service {:?}: a LINE WORKS audit service such as \"auth\" (logins)",
                    v.get_ref()
                ),
            );
            None
        }
        Some(v) => Some(v.get_ref().clone()),
        None => Some(lineworks::DEFAULT_SERVICE.to_owned()),
    };
    let interval = url_.as_deref().and_then(|u| {
        interval(
            cx,
            raw,
            u,
            lineworks::MIN_INTERVAL,
            lineworks::MIN_INTERVAL,
            lineworks::MIN_INTERVAL_LOOPBACK,
        )
    });
    let start = start(cx, raw);
    let Some(c) = &raw.credentials else {
        cx.err(s.span(), "pull = \"lineworks\" needs `credentials`: the path of the service account's credentials file");
        return None;
    };
    let path = resolve(base, c.get_ref());
    let read = |p: &Path| {
        crate::private::read_secret(p)
            .map_err(|e| e.to_string().replace("token file", "credentials file"))
    };
    let credentials = read(&path)
        .and_then(|text| auth::parse(&text).map_err(|e| format!("{}: {e}", path.display())))
        .and_then(|(mut creds, key)| {
            let pem = match key {
                KeyIn::Inline(k) => k.expose().to_owned(),
                KeyIn::File(f) => read(&resolve(
                    path.parent().unwrap_or(base),
                    &f.to_string_lossy(),
                ))?,
            };
            auth::check_key(&pem).map_err(|e| format!("{}: {e}", path.display()))?;
            creds.private_key = Secret::new(pem);
            Ok(creds)
        });
    let credentials = match credentials {
        Ok(c) => Some(c),
        Err(m) => {
            cx.err(c.span(), format!("credentials: {m}"));
            None
        }
    };
    Some(lineworks::Lineworks {
        url: url_?,
        token_url: token_url?,
        service: service?,
        interval: interval?,
        start: start?,
        credentials: credentials?,
        credentials_path: path,
    })
}

fn okta(
    cx: &mut Cx,
    s: &Spanned<RawSource>,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<okta::Okta> {
    let raw = s.get_ref();
    let Some(u) = &raw.url else {
        cx.err(
            s.span(),
            "pull = \"okta\" needs `url`: your org's URL, e.g. \"https://example.okta.com\"",
        );
        return None;
    };
    let url_ = url(cx, "url", Some(u), "");
    let interval = url_.as_deref().and_then(|u| {
        interval(
            cx,
            raw,
            u,
            okta::DEFAULT_INTERVAL,
            okta::MIN_INTERVAL,
            okta::MIN_INTERVAL,
        )
    });
    let start = start(cx, raw);
    let token = match (&raw.token_file, &raw.token_env) {
        (Some(_), Some(e)) => {
            cx.err(
                e.span(),
                "token_file and token_env are both set: choose one",
            );
            None
        }
        (Some(f), None) => {
            let p = resolve(base, f.get_ref());
            match crate::private::read_secret(&p) {
                Ok(t) => Some((t, format!("the token_file {}", p.display()))),
                Err(e) => {
                    cx.err(f.span(), format!("token_file {e}"));
                    None
                }
            }
        }
        (None, Some(e)) => match env(e.get_ref()).map(|t| t.trim().to_owned()) {
            Some(t) if !t.is_empty() => {
                Some((t, format!("the environment variable {}", e.get_ref())))
            }
            _ => {
                cx.err(
                    e.span(),
                    format!(
                        "token_env: environment variable {:?} is not set or empty",
                        e.get_ref()
                    ),
                );
                None
            }
        },
        (None, None) => {
            cx.err(s.span(), "pull = \"okta\" needs the API token: `token_file` (a file only loginwatch's user may read) or `token_env`");
            None
        }
    };
    let (token, token_from) = token?;
    Some(okta::Okta {
        url: url_?,
        token: Secret::new(token),
        token_from,
        interval: interval?,
        start: start?,
    })
}

/// A pulled source's validated form (called from `super::source`). `format`
/// (default: the one the pull implies), `tz` and `name` (default: the kind)
/// are checked as for the other kinds.
pub(super) fn source(
    cx: &mut Cx,
    s: &Spanned<RawSource>,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<SourceConfig> {
    let raw = s.get_ref();
    let errors = cx.error_count();
    let format = raw.format.as_ref().map(|f| {
        if f.get_ref().trim().is_empty() {
            cx.err(f.span(), "format is empty");
        }
        f.get_ref().clone()
    });
    let zone = match &raw.tz {
        Some(t) => t.get_ref().parse::<Zone>().unwrap_or_else(|m| {
            cx.err(t.span(), m);
            Zone::Local
        }),
        None => Zone::Local,
    };
    let name = raw.name.as_ref().map(|n| {
        let v = n.get_ref();
        if v.is_empty() || v.chars().count() > MAX_NAME || v.chars().any(char::is_control) {
            cx.err(
                n.span(),
                format!("source name {v:?}: 1 to {MAX_NAME} characters, no control characters"),
            );
        }
        v.clone()
    });
    let (pull, default_name, once) = pull(cx, s, base, env)?;
    if cx.error_count() > errors {
        return None;
    }
    Some(SourceConfig {
        name: name.unwrap_or_else(|| default_name.to_owned()),
        path: String::new(),
        listen: None,
        format: format.unwrap_or_else(|| format_of(&pull).to_owned()),
        zone,
        once: Some(once),
        // Each download or page is delivered as it comes: no file to settle.
        settle: None,
        pull: Some(pull),
        journal: None,
        chosen: None,
    })
}

#[cfg(test)]
mod tests;
