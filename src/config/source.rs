//! One `[[source]]` table checked: files (`path`, a glob), network syslog
//! (`listen`) or a pulled API (`pull`, in [`super::pull`]), its format, zone and name, every mistake reported at its line.

use std::path::Path;

use toml::Spanned;

use super::load::{Cx, MAX_NAME, resolve};
use super::raw::RawSource;
use super::{SourceConfig, defaults};
use crate::parse::Zone;
use crate::source::net::Listen;

/// One `[[source]]`.
pub(super) fn source(
    cx: &mut Cx,
    s: &Spanned<RawSource>,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<SourceConfig> {
    let raw = s.get_ref();
    if raw.pull.is_some() {
        return super::pull::source(cx, s, base, env);
    }
    if raw.journal.is_some() || raw.journal_dir.is_some() || raw.matches.is_some() {
        return super::journal::source(cx, s, base);
    }
    let mut ok = super::pull::no_pull_keys(cx, raw);
    let (path, listen) = match (&raw.path, &raw.listen) {
        (Some(p), None) => {
            let path = p.get_ref();
            if path.is_empty() {
                cx.err(p.span(), "source path is empty");
                ok = false;
            } else if let Err(e) = glob::Pattern::new(path) {
                cx.err(p.span(), format!("source path {path:?}: bad glob: {e}"));
                ok = false;
            }
            (path.as_str(), None)
        }
        (None, Some(l)) => match l.get_ref().parse::<Listen>() {
            Ok(listen) => ("", Some(listen)),
            Err(e) => {
                cx.err(l.span(), format!("listen {e}"));
                return None;
            }
        },
        (Some(_), Some(l)) => {
            cx.err(
                l.span(),
                "a source reads files (`path`) or receives syslog (`listen`), not both",
            );
            return None;
        }
        (None, None) => {
            cx.err(
                s.span(),
                "a source needs `path` (files) or `listen` (\"udp://IP:PORT\" or \"tcp://IP:PORT\")",
            );
            return None;
        }
    };
    let format = match &raw.format {
        Some(f) if f.get_ref().trim().is_empty() => {
            cx.err(f.span(), "format is empty");
            ok = false;
            String::new()
        }
        // Formats declared in rule files are only known once the rules are
        // loaded; the daemon and `config check` resolve those.
        Some(f) => f.get_ref().clone(),
        None => defaults::FORMAT.to_owned(),
    };
    let zone = match &raw.tz {
        Some(t) => t.get_ref().parse::<Zone>().unwrap_or_else(|m| {
            cx.err(t.span(), m);
            ok = false;
            Zone::Local
        }),
        None => Zone::Local,
    };
    let name = match &raw.name {
        Some(n) => {
            let v = n.get_ref();
            if v.is_empty() || v.chars().count() > MAX_NAME || v.chars().any(char::is_control) {
                cx.err(
                    n.span(),
                    format!("source name {v:?}: 1 to {MAX_NAME} characters, no control characters"),
                );
                ok = false;
            }
            v.clone()
        }
        None => match listen {
            Some(l) => defaults::listen_name(&l),
            None => defaults::source_name(path),
        },
    };
    let (once, settle) = super::exports::keys(cx, raw, listen.is_some(), &mut ok);
    let path = match listen {
        Some(_) => String::new(),
        None => resolve(base, path).to_string_lossy().into_owned(),
    };
    ok.then_some(SourceConfig {
        name,
        path,
        listen,
        format,
        zone,
        once,
        settle,
        pull: None,
        journal: None,
        chosen: None,
    })
}
