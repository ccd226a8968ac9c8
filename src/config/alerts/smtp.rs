//! The keys of an `email` sink: server, transport security and the CA it
//! trusts, credentials and envelope. Split from [`super::sink`] because TLS
//! trust (reading and checking a PEM file at load) is a topic of its own.

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;
use toml::Spanned;

use super::super::load::{Cx, resolve};
use super::validate::{required, secret};
use super::{RawSink, SmtpConfig, SmtpTls, TlsTrust, TransportConfig};

/// Validates the keys of an `email` sink (the caller refused the keys of
/// other types); `None` when anything is wrong (all of it reported).
pub(super) fn email(
    cx: &mut Cx,
    r: &RawSink,
    at: Range<usize>,
    timeout: Duration,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<TransportConfig> {
    let kind = "email";
    let host = required(cx, kind, "host", &r.host, at.clone());
    let trust = match (&r.ca_file, host) {
        (Some(f), Some(h)) => trust(cx, f, h.get_ref(), base),
        _ => Some(TlsTrust::default()),
    };
    let tls = match r.tls.as_ref().map(|t| (t, t.get_ref().as_str())) {
        None | Some((_, "starttls")) => trust.map(SmtpTls::StartTls),
        Some((_, "tls")) => trust.map(SmtpTls::Tls),
        Some((_, "none")) => {
            if let Some(f) = &r.ca_file {
                cx.err(
                    f.span(),
                    "ca_file needs tls = \"starttls\" or \"tls\" (this sink has tls = \"none\")",
                );
            }
            Some(SmtpTls::None)
        }
        Some((t, other)) => {
            cx.err(
                t.span(),
                format!("tls {other:?}: expected starttls, tls or none"),
            );
            None
        }
    };
    let port = match &r.port {
        None => tls.as_ref().map(|t| match t {
            SmtpTls::Tls(_) => 465,
            SmtpTls::StartTls(_) => 587,
            SmtpTls::None => 25,
        }),
        Some(p) => u16::try_from(*p.get_ref())
            .ok()
            .filter(|p| *p > 0)
            .or_else(|| {
                cx.err(
                    p.span(),
                    format!("port {} is not in 1..=65535", p.get_ref()),
                );
                None
            }),
    };
    let password = secret(cx, "password", &r.password_file, &r.password_env, base, env);
    let credentials = match (&r.username, password) {
        (Some(u), Some(p)) => Some((u.get_ref().clone(), p)),
        (None, None) => None,
        (Some(u), None) => {
            cx.err(u.span(), "username needs password_file or password_env");
            None
        }
        (None, Some(_)) => {
            cx.err(at.clone(), "a password needs a username");
            None
        }
    };
    let mailbox = |cx: &mut Cx, v: &Spanned<String>| {
        let ok = v.get_ref().parse::<lettre::message::Mailbox>().is_ok();
        if !ok {
            cx.err(
                v.span(),
                format!("{:?} is not an e-mail address", v.get_ref()),
            );
        }
        ok
    };
    let from = required(cx, kind, "from", &r.from, at.clone());
    let from_ok = from.is_some_and(|f| mailbox(cx, f));
    let mut to = Vec::new();
    match &r.to {
        Some(t) if !t.get_ref().is_empty() => {
            for a in t.get_ref() {
                if a.parse::<lettre::message::Mailbox>().is_ok() {
                    to.push(a.clone());
                } else {
                    cx.err(t.span(), format!("to: {a:?} is not an e-mail address"));
                }
            }
        }
        _ => cx.err(at, "an email sink needs `to` (one address or more)"),
    }
    match (host, from, port, tls) {
        (Some(h), Some(f), Some(port), Some(tls)) if from_ok => {
            Some(TransportConfig::Email(SmtpConfig {
                host: h.get_ref().clone(),
                port,
                tls,
                credentials,
                from: f.get_ref().clone(),
                to,
                timeout,
            }))
        }
        _ => None,
    }
}

/// Reads `ca_file`: every certificate in it must be a usable trust anchor
/// for a connection to `host`, and there must be at least one (a file with
/// no certificate would silently trust nothing extra).
fn trust(cx: &mut Cx, f: &Spanned<String>, host: &str, base: &Path) -> Option<TlsTrust> {
    let path = resolve(base, f.get_ref());
    let shown = crate::escape::Escaped(&path.display().to_string()).to_string();
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            cx.err(f.span(), format!("ca_file {shown}: cannot read: {e}"));
            return None;
        }
    };
    let certs = match CertificateDer::pem_slice_iter(&bytes).collect::<Result<Vec<_>, _>>() {
        Ok(c) => c,
        Err(e) => {
            cx.err(f.span(), format!("ca_file {shown}: not PEM: {e}"));
            return None;
        }
    };
    if certs.is_empty() {
        cx.err(
            f.span(),
            format!("ca_file {shown}: no \"BEGIN CERTIFICATE\" block in it"),
        );
        return None;
    }
    let t = TlsTrust {
        extra_roots: certs.iter().map(|c| c.as_ref().to_vec()).collect(),
    };
    // Building the TLS parameters parses every certificate as a trust
    // anchor, exactly as the sink will.
    match crate::alert::sink::smtp::tls_parameters(host, &t) {
        Ok(_) => Some(t),
        Err(e) => {
            cx.err(
                f.span(),
                format!("ca_file {shown}: not a usable CA certificate: {e}"),
            );
            None
        }
    }
}
