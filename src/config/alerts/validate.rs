//! Validation of `[alert]`: the table itself and the helpers every sink type
//! uses (lists of spellings, durations, secrets, HTTP targets).

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::super::load::{Cx, resolve};
use super::sink::sink;
use super::{AlertConfig, HttpTarget, Language, RawAlert, RawSink, SinkConfig};
use crate::rules::Dur;

/// Validates `[alert]`.
pub(in crate::config) fn alert(
    cx: &mut Cx,
    raw: &Spanned<RawAlert>,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> AlertConfig {
    let r = raw.get_ref();
    let language = r
        .language
        .as_ref()
        .map_or(Language::En, |l| language(cx, l));
    let mut sinks: Vec<SinkConfig> = Vec::new();
    for s in &r.sink {
        if let Some(sc) = sink(cx, s, language, base, env) {
            if sinks.iter().any(|o| o.name == sc.name) {
                cx.err(
                    s.get_ref().name.span(),
                    format!("two sinks are named {:?}", sc.name),
                );
            }
            sinks.push(sc);
        }
    }
    let zone =
        r.tz.as_ref()
            .and_then(|z| match z.get_ref().parse::<crate::parse::Zone>() {
                Ok(zone) => Some(zone),
                Err(e) => {
                    cx.err(z.span(), format!("alert tz: {e}"));
                    None
                }
            });
    let samples = r.samples.as_ref().map_or(super::DEFAULT_SAMPLES, |n| {
        match usize::try_from(*n.get_ref()) {
            Ok(v) if v <= super::MAX_SAMPLES => v,
            _ => {
                cx.err(
                    n.span(),
                    format!(
                        "alert samples: {} is not between 0 and {}",
                        n.get_ref(),
                        super::MAX_SAMPLES
                    ),
                );
                super::DEFAULT_SAMPLES
            }
        }
    });
    AlertConfig {
        language,
        zone,
        samples,
        sinks,
    }
}

pub(super) fn language(cx: &mut Cx, l: &Spanned<String>) -> Language {
    l.get_ref().parse::<Language>().unwrap_or_else(|_| {
        cx.err(
            l.span(),
            format!(
                "unknown language {:?}: expected one of {}",
                l.get_ref(),
                Language::ALL.join(", ")
            ),
        );
        Language::En
    })
}

/// Parses each element of a list with `parse`, reporting unknown spellings.
pub(super) fn list<T>(
    cx: &mut Cx,
    key: &str,
    v: &Option<Spanned<Vec<String>>>,
    parse: fn(&str) -> Option<T>,
    all: &[&str],
) -> Vec<T> {
    let Some(v) = v else { return Vec::new() };
    let mut out = Vec::new();
    for s in v.get_ref() {
        match parse(s) {
            Some(t) => out.push(t),
            None => cx.err(
                v.span(),
                format!("{key}: unknown {s:?}: expected one of {}", all.join(", ")),
            ),
        }
    }
    out
}

pub(super) fn dur(cx: &mut Cx, key: &str, v: &Spanned<String>) -> Option<Duration> {
    match Dur::parse(v.get_ref()) {
        Ok(d) if d.ms() > 0 => Some(Duration::from_millis(u64::try_from(d.ms()).unwrap_or(0))),
        Ok(_) => {
            cx.err(v.span(), format!("{key} must be longer than 0s"));
            None
        }
        Err(m) => {
            cx.err(v.span(), format!("{key}: {m}"));
            None
        }
    }
}

/// Reads a secret from `file` or `env` (exactly one may be set).
pub(super) fn secret(
    cx: &mut Cx,
    what: &str,
    file: &Option<Spanned<String>>,
    var: &Option<Spanned<String>>,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let (text, span): (Option<String>, Range<usize>) = match (file, var) {
        (Some(_), Some(e)) => {
            cx.err(
                e.span(),
                format!("{what}_file and {what}_env are both set: choose one"),
            );
            return None;
        }
        (Some(f), None) => {
            let p = resolve(base, f.get_ref());
            match std::fs::read_to_string(&p) {
                Ok(t) => (Some(t), f.span()),
                Err(e) => {
                    cx.err(
                        f.span(),
                        format!("{what}_file {}: cannot read: {e}", p.display()),
                    );
                    return None;
                }
            }
        }
        (None, Some(e)) => (env(e.get_ref()), e.span()),
        (None, None) => return None,
    };
    match text.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => Some(t.to_owned()),
        Some(_) => {
            cx.err(span, format!("{what}: the secret is empty"));
            None
        }
        None => {
            cx.err(
                span,
                format!("{what}_env: the environment variable is not set"),
            );
            None
        }
    }
}

/// Reports a key that the sink's type does not use.
pub(super) fn unused(cx: &mut Cx, kind: &str, keys: &[(&str, Option<Range<usize>>)]) {
    for (k, span) in keys {
        if let Some(s) = span {
            cx.err(s.clone(), format!("{k} is not a setting of a {kind} sink"));
        }
    }
}

pub(super) fn span<T>(v: &Option<Spanned<T>>) -> Option<Range<usize>> {
    v.as_ref().map(Spanned::span)
}

pub(super) fn required<'a>(
    cx: &mut Cx,
    kind: &str,
    key: &str,
    v: &'a Option<Spanned<String>>,
    at: Range<usize>,
) -> Option<&'a Spanned<String>> {
    if v.is_none() {
        cx.err(at, format!("a {kind} sink needs `{key}`"));
    }
    v.as_ref()
}

pub(super) fn http_target(
    cx: &mut Cx,
    kind: &str,
    r: &RawSink,
    at: Range<usize>,
    timeout: Duration,
) -> Option<HttpTarget> {
    let url = required(cx, kind, "url", &r.url, at)?;
    let u = url.get_ref();
    if !(u.starts_with("http://") || u.starts_with("https://")) || u.contains(char::is_whitespace) {
        cx.err(
            url.span(),
            format!("url {u:?}: expected http://... or https://..."),
        );
        return None;
    }
    let mut headers = Vec::new();
    if let Some(h) = &r.headers {
        for (k, v) in h.get_ref() {
            let name_ok = !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
            let value_ok = v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
            if !name_ok || !value_ok {
                cx.err(
                    h.span(),
                    format!("headers: {k:?} is not a valid header name and value"),
                );
            } else {
                headers.push((k.clone(), v.clone()));
            }
        }
    }
    Some(HttpTarget {
        url: u.trim_end_matches('/').to_owned(),
        headers,
        timeout,
    })
}

pub(super) fn facility(s: &str) -> Option<u8> {
    Some(match s {
        "auth" => 4,
        "daemon" => 3,
        "authpriv" => 10,
        "user" => 1,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => return None,
    })
}
