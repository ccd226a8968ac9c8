//! One `[[alert.sink]]`: its common keys (name, language, filters, rate
//! limit, timeout) and the keys of its type, refusing keys of other types.

use std::path::{Path, PathBuf};

use toml::Spanned;

use super::super::load::{Cx, resolve};
use super::smtp::email;
use super::validate::{dur, facility, http_target, language, list, required, secret, span, unused};
use super::{
    DEFAULT_TIMEOUT, FileTarget, Language, RawSink, SinkConfig, SinkFilter, SinkFormat,
    SyslogConfig, SyslogTarget, TYPES, TransportConfig,
};
use crate::alert::outbox::RateLimit;
use crate::decision::{DecisionAction, Severity};

/// One `[[alert.sink]]`.
pub(super) fn sink(
    cx: &mut Cx,
    s: &Spanned<RawSink>,
    default_language: Language,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<SinkConfig> {
    let r = s.get_ref();
    let at = s.span();
    let errors_before = cx.error_count();
    let name = r.name.get_ref();
    let name_ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if !name_ok {
        cx.err(
            r.name.span(),
            format!("sink name {name:?}: 1 to 64 of [A-Za-z0-9._-]"),
        );
    }
    let language = r
        .language
        .as_ref()
        .map_or(default_language, |l| language(cx, l));
    let filter = SinkFilter {
        severities: list(
            cx,
            "severities",
            &r.severities,
            Severity::parse,
            Severity::ALL,
        ),
        rules: r
            .rules
            .as_ref()
            .map_or_else(Vec::new, |v| v.get_ref().clone()),
        actions: list(
            cx,
            "actions",
            &r.actions,
            DecisionAction::parse,
            DecisionAction::ALL,
        ),
    };
    let rate_limit = r.rate_limit.as_ref().and_then(|rl| {
        let raw = rl.get_ref();
        let max = match u32::try_from(*raw.max.get_ref()) {
            Ok(m) if m > 0 => Some(m),
            _ => {
                cx.err(raw.max.span(), "rate_limit.max must be 1 or more");
                None
            }
        };
        let per = dur(cx, "rate_limit.per", &raw.per);
        Some(RateLimit {
            max: max?,
            per: per?,
        })
    });
    let timeout = r
        .timeout
        .as_ref()
        .and_then(|t| dur(cx, "timeout", t))
        .unwrap_or(DEFAULT_TIMEOUT);
    let kind = r.kind.get_ref().as_str();
    let http_keys = [
        ("url", span(&r.url)),
        ("headers", span(&r.headers)),
        ("format", span(&r.format)),
        ("secret_file", span(&r.secret_file)),
        ("secret_env", span(&r.secret_env)),
    ];
    let smtp_keys = [
        ("host", span(&r.host)),
        ("port", span(&r.port)),
        ("tls", span(&r.tls)),
        ("username", span(&r.username)),
        ("password_file", span(&r.password_file)),
        ("password_env", span(&r.password_env)),
        ("ca_file", span(&r.ca_file)),
        ("from", span(&r.from)),
        ("to", span(&r.to)),
    ];
    let file_keys = [("path", span(&r.path))];
    let syslog_keys = [
        ("address", span(&r.address)),
        ("facility", span(&r.facility)),
    ];
    let (format, transport) = match kind {
        "alertmanager" => {
            unused(cx, kind, &http_keys[2..]);
            unused(cx, kind, &smtp_keys);
            unused(cx, kind, &file_keys);
            unused(cx, kind, &syslog_keys);
            let h = http_target(cx, kind, r, at.clone(), timeout);
            (
                SinkFormat::Alertmanager,
                h.map(TransportConfig::Alertmanager),
            )
        }
        "webhook" => {
            unused(cx, kind, &smtp_keys);
            unused(cx, kind, &file_keys);
            unused(cx, kind, &syslog_keys);
            let format = match r.format.as_ref().map(|f| (f, f.get_ref().as_str())) {
                None | Some((_, "json")) => SinkFormat::Json,
                Some((_, "slack")) => SinkFormat::Slack,
                Some((_, "text")) => SinkFormat::Text,
                Some((f, other)) => {
                    cx.err(
                        f.span(),
                        format!("format {other:?}: expected json, slack or text"),
                    );
                    SinkFormat::Json
                }
            };
            let secret = secret(cx, "secret", &r.secret_file, &r.secret_env, base, env);
            let h = http_target(cx, kind, r, at.clone(), timeout);
            (
                format,
                h.map(|http| TransportConfig::Webhook { http, secret }),
            )
        }
        "email" => {
            unused(cx, kind, &http_keys);
            unused(cx, kind, &file_keys);
            unused(cx, kind, &syslog_keys);
            (
                SinkFormat::Email,
                email(cx, r, at.clone(), timeout, base, env),
            )
        }
        "file" | "stdout" => {
            unused(cx, kind, &http_keys);
            unused(cx, kind, &smtp_keys);
            unused(cx, kind, &syslog_keys);
            let t = if kind == "stdout" {
                unused(cx, kind, &file_keys);
                Some(FileTarget::Stdout)
            } else {
                required(cx, kind, "path", &r.path, at.clone()).and_then(|p| {
                    if p.get_ref().is_empty() {
                        cx.err(p.span(), "path is empty");
                        None
                    } else {
                        Some(FileTarget::Path(resolve(base, p.get_ref())))
                    }
                })
            };
            (SinkFormat::JsonLines, t.map(TransportConfig::File))
        }
        "syslog" => {
            unused(cx, kind, &http_keys);
            unused(cx, kind, &smtp_keys);
            unused(cx, kind, &file_keys);
            let target = match &r.address {
                None => Some(SyslogTarget::Unix(PathBuf::from("/dev/log"))),
                Some(a) => match a.get_ref().strip_prefix("udp:") {
                    Some(addr) => addr.parse().map(SyslogTarget::Udp).ok().or_else(|| {
                        cx.err(
                            a.span(),
                            format!("address {:?}: expected udp:IP:PORT", a.get_ref()),
                        );
                        None
                    }),
                    None if a.get_ref().starts_with('/') => {
                        Some(SyslogTarget::Unix(PathBuf::from(a.get_ref())))
                    }
                    None => {
                        cx.err(
                            a.span(),
                            format!(
                                "address {:?}: expected udp:IP:PORT or an absolute socket path",
                                a.get_ref()
                            ),
                        );
                        None
                    }
                },
            };
            let fac = match &r.facility {
                None => Some(10),
                Some(f) => facility(f.get_ref()).or_else(|| {
                    cx.err(
                        f.span(),
                        format!(
                            "facility {:?}: expected auth, authpriv, daemon, user or local0..local7",
                            f.get_ref()
                        ),
                    );
                    None
                }),
            };
            let t = target.zip(fac).map(|(target, facility)| {
                TransportConfig::Syslog(SyslogConfig { target, facility })
            });
            (SinkFormat::Syslog, t)
        }
        other => {
            cx.err(
                r.kind.span(),
                format!(
                    "unknown sink type {other:?}: expected one of {}",
                    TYPES.join(", ")
                ),
            );
            return None;
        }
    };
    if cx.error_count() > errors_before {
        return None;
    }
    Some(SinkConfig {
        name: name.clone(),
        format,
        language,
        filter,
        rate_limit,
        transport: transport?,
    })
}
