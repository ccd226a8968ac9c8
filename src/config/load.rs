//! Configuration files into a validated [`Config`], every mistake with its line.
//!
//! The file is parsed into toml's spanned document tree, then each top-level key
//! (and each `[[source]]` table) is deserialized on its own, as the rule loader
//! does: a wrong type in one key then hides nothing in the others. The values are
//! checked afterwards, each check recording an error and going on.
//!
//! Relative paths are resolved against the directory of the configuration file, so
//! a config means the same thing whatever directory the daemon is started from
//! (systemd starts it in `/`).

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde::de::IntoDeserializer;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::raw::{RawConfig, RawHttp, RawSource};
use super::{Config, ConfigError, ConfigErrors, HttpConfig, defaults};
use crate::decision::Mode;
use crate::parse::Format;
use crate::rules::Dur;

/// Longest accepted source name: names are metric labels and checkpoint keys.
pub(super) const MAX_NAME: usize = 64;

/// Loads the configuration: the file at `path`, or the embedded defaults when
/// `None`. Token environment variables are read from the process environment.
/// A file without `[[source]]` gets the embedded default source chosen for
/// this host (`defaults::host_source`: the auth log, else the journal).
pub fn load(path: Option<&Path>) -> Result<Config, ConfigErrors> {
    let Some(path) = path else {
        return Ok(Config::default_embedded());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: Some(path.to_path_buf()),
            line: None,
            column: None,
            message: format!("cannot read: {e}"),
        }])
    })?;
    let mut c = load_text(&text, path, &|k| std::env::var(k).ok())?;
    if c.sources.iter().any(|s| s.chosen.is_some()) {
        c.sources = vec![defaults::host_source()];
    }
    Ok(c)
}

/// Validates the text of the file at `file` (used for messages and as the base of
/// relative paths); `env` looks up environment variables (injected for tests).
pub fn load_text(
    text: &str,
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigErrors> {
    let mut cx = Cx {
        file,
        text,
        errors: Vec::new(),
    };
    let raw = read_raw(&mut cx);
    let base = file.parent().unwrap_or(Path::new("."));
    let config = validate(&mut cx, raw, base, env);
    if cx.errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(cx.errors))
    }
}

/// Where errors go: knows the file and its text, for line numbers.
pub(super) struct Cx<'a> {
    file: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Cx<'_> {
    /// The 1-based line and column (in characters) of a byte offset.
    fn place_of(&self, offset: usize) -> (usize, usize) {
        crate::rules::sink::place(self.text, offset)
    }

    pub(super) fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = self.place_of(span.start);
        self.err_at(Some((line, column)), message);
    }

    /// How many problems were recorded so far.
    pub(super) fn error_count(&self) -> usize {
        self.errors.len()
    }

    fn err_at(&mut self, place: Option<(usize, usize)>, message: impl Into<String>) {
        self.errors.push(ConfigError {
            file: Some(self.file.to_path_buf()),
            line: place.map(|(l, _)| l),
            column: place.map(|(_, c)| c),
            message: message.into(),
        });
    }

    /// Deserializes one value, recording serde's error (with its line) on failure.
    fn de<T: for<'de> Deserialize<'de>>(
        &mut self,
        key: &str,
        v: &Spanned<DeValue<'_>>,
    ) -> Option<T> {
        match T::deserialize(v.clone().into_deserializer()) {
            Ok(t) => Some(t),
            Err(e) => {
                let span = e.span().unwrap_or(v.span());
                self.err(span, format!("{key}: {}", e.message()));
                None
            }
        }
    }
}

/// The raw file, key by key.
fn read_raw(cx: &mut Cx) -> RawConfig {
    let mut raw = RawConfig::default();
    let doc = match DeTable::parse(cx.text) {
        Ok(d) => d,
        Err(e) => {
            let place = e.span().map(|s| cx.place_of(s.start));
            cx.err_at(place, format!("TOML syntax: {}", e.message()));
            return raw;
        }
    };
    for (k, v) in doc.get_ref().iter() {
        let key = k.get_ref().as_ref();
        match key {
            "mode" => raw.mode = cx.de(key, v),
            "rules_dir" => raw.rules_dir = cx.de(key, v),
            "profile" => raw.profile = cx.de(key, v),
            "state_path" => raw.state_path = cx.de(key, v),
            "year" => raw.year = cx.de(key, v),
            "poll_interval" => raw.poll_interval = cx.de(key, v),
            "checkpoint_interval" => raw.checkpoint_interval = cx.de(key, v),
            "http" => raw.http = cx.de::<Spanned<RawHttp>>("[http]", v),
            "geoip" => raw.geoip = cx.de(key, v),
            "inventory" => raw.inventory = cx.de("[inventory]", v),
            "actions" => raw.actions = cx.de("[actions]", v),
            "safety" => raw.safety = cx.de("[safety]", v),
            "alert" => raw.alert = cx.de("[alert]", v),
            "ui" => raw.ui = cx.de("[ui]", v),
            "fleet" => raw.fleet = cx.de("[fleet]", v),
            "ip_list" => match v.get_ref() {
                DeValue::Array(a) if a.iter().all(|e| e.get_ref().is_table()) => {
                    raw.ip_list = a.iter().filter_map(|t| cx.de("[[ip_list]]", t)).collect();
                }
                _ => cx.err(
                    v.span(),
                    "ip_list must be an array of tables: write [[ip_list]]",
                ),
            },
            "source" => match v.get_ref() {
                DeValue::Array(a) if a.iter().all(|e| e.get_ref().is_table()) => {
                    raw.source = a.iter().filter_map(|t| cx.de("[[source]]", t)).collect();
                }
                _ => cx.err(
                    v.span(),
                    "source must be an array of tables: write [[source]]",
                ),
            },
            other => cx.err(
                k.span(),
                format!(
                    "unknown key {other:?}: expected one of {}",
                    RawConfig::KEYS.join(", ")
                ),
            ),
        }
    }
    raw
}

/// Resolves a path written in the file against the file's directory.
pub(super) fn resolve(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// A duration key (`"1s"`, `"500ms"` is not accepted: whole seconds, like rules).
fn duration(cx: &mut Cx, key: &str, v: &Option<Spanned<String>>, default: Duration) -> Duration {
    let Some(v) = v else { return default };
    match Dur::parse(v.get_ref()) {
        Ok(d) => Duration::from_millis(u64::try_from(d.ms()).unwrap_or(0)),
        Err(m) => {
            cx.err(v.span(), format!("{key}: {m}"));
            default
        }
    }
}

/// Raw into validated, recording every problem.
fn validate(
    cx: &mut Cx,
    raw: RawConfig,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Config {
    let mut c = Config::defaults_with_state(PathBuf::new());
    if let Some(m) = &raw.mode {
        match Mode::parse_configured(m.get_ref()) {
            Some(mode) => c.mode = mode,
            None => cx.err(
                m.span(),
                format!(
                    "unknown mode {:?}: expected one of {}",
                    m.get_ref(),
                    Mode::CONFIGURED.join(", ")
                ),
            ),
        }
    }
    if let Some(d) = &raw.rules_dir {
        let p = resolve(base, d.get_ref());
        if !p.is_dir() {
            cx.err(
                d.span(),
                format!("rules_dir {} is not a directory", p.display()),
            );
        }
        c.rules_dir = Some(p);
    }
    if let Some(p) = &raw.profile {
        if !crate::rules::profile_names().contains(&p.get_ref().as_str()) {
            cx.err(
                p.span(),
                format!(
                    "unknown profile {:?}: expected one of {}",
                    p.get_ref(),
                    crate::rules::profile_names().join(", ")
                ),
            );
        } else if raw.rules_dir.is_some() {
            cx.err(
                p.span(),
                "profile and rules_dir exclude each other: a profile is a complete rule set",
            );
        }
        c.profile = Some(p.get_ref().clone());
    }
    c.state_path = match &raw.state_path {
        Some(s) if s.get_ref().is_empty() => {
            cx.err(s.span(), "state_path is empty");
            PathBuf::new()
        }
        Some(s) => resolve(base, s.get_ref()),
        None => defaults::state_path(),
    };
    if let Some(y) = &raw.year {
        match i32::try_from(*y.get_ref()) {
            Ok(v) if (1970..=9999).contains(&v) => c.year = Some(v),
            _ => cx.err(
                y.span(),
                format!("year {} is not in 1970..=9999", y.get_ref()),
            ),
        }
    }
    c.poll_interval = duration(cx, "poll_interval", &raw.poll_interval, c.poll_interval);
    c.checkpoint_interval = duration(
        cx,
        "checkpoint_interval",
        &raw.checkpoint_interval,
        c.checkpoint_interval,
    );
    if let Some(h) = &raw.http {
        c.http = http(cx, h, base, env);
    }
    if !raw.source.is_empty() {
        c.sources.clear();
        let mut declared = Declared::NotLoaded;
        for r in &raw.source {
            check_format(cx, r, &c, &mut declared);
            let Some(s) = super::source::source(cx, r, base, env) else {
                continue;
            };
            if c.sources.iter().any(|o| o.name == s.name) {
                let msg = format!(
                    "two sources are named {:?}: give each a distinct `name`",
                    s.name
                );
                cx.err(r.span(), msg);
            }
            c.sources.push(s);
        }
    }
    if let Some(g) = &raw.geoip {
        c.geoip = super::enrich::geoip(cx, g, base);
    }
    c.ip_lists = super::enrich::ip_lists(cx, &raw.ip_list, base);
    if let Some(i) = &raw.inventory {
        c.inventory = Some(super::enrich::inventory(cx, i, base));
    }
    if let Some(a) = &raw.actions {
        c.actions = super::actions::actions(cx, a);
    }
    if let Some(s) = &raw.safety {
        c.safety = super::actions::safety(cx, s);
    }
    if let Some(a) = &raw.alert {
        c.alert = super::alerts::alert(cx, a, base, env);
    }
    if let Some(u) = &raw.ui {
        c.ui = super::ui::ui(cx, u);
    }
    if let Some(f) = &raw.fleet {
        c.fleet = super::fleet::fleet(cx, f, base, env);
        // In fleet mode the file's [[source]]s are all there is: none makes
        // it the detector's (`run` consumes the stream), not a daemon of
        // the default auth.log.
        if raw.source.is_empty() {
            c.sources.clear();
        }
    }
    c
}

/// `[http]`: the listen address and the admin token, read now so that a missing
/// token file is a configuration error, not a failure at the first unlock.
fn http(
    cx: &mut Cx,
    h: &Spanned<RawHttp>,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> HttpConfig {
    let raw = h.get_ref();
    let mut out = HttpConfig {
        listen: defaults::LISTEN,
        admin_token: None,
        set: true,
    };
    if let Some(l) = &raw.listen {
        match l.get_ref().parse() {
            Ok(a) => out.listen = a,
            Err(_) => cx.err(
                l.span(),
                format!(
                    "listen {:?} is not an address: write IP:PORT, e.g. \"127.0.0.1:9464\" or \"[::1]:9464\"",
                    l.get_ref()
                ),
            ),
        }
    }
    match (&raw.admin_token_file, &raw.admin_token_env) {
        (Some(_), Some(e)) => cx.err(
            e.span(),
            "admin_token_file and admin_token_env are both set: choose one",
        ),
        (Some(f), None) => {
            // Refused when others can read it: the token may already be known.
            let p = resolve(base, f.get_ref());
            match crate::private::read_secret(&p) {
                Ok(t) => out.admin_token = Some(t),
                Err(e) => cx.err(f.span(), format!("admin_token_file {e}")),
            }
        }
        (None, Some(e)) => match env(e.get_ref()) {
            Some(t) => out.admin_token = token(cx, e.span(), t, "the variable is empty"),
            None => cx.err(
                e.span(),
                format!(
                    "admin_token_env: environment variable {:?} is not set",
                    e.get_ref()
                ),
            ),
        },
        (None, None) => {}
    }
    if out.admin_token.is_none() && !out.listen.ip().is_loopback() {
        let span = raw.listen.as_ref().map_or(h.span(), |l| l.span());
        cx.err(
            span,
            format!(
                "listen {} is not a loopback address: the admin API needs a token there \
                 (set admin_token_file or admin_token_env)",
                out.listen
            ),
        );
    }
    out
}

/// A token as read: surrounding whitespace (the file's newline) is not part of it.
fn token(cx: &mut Cx, span: Range<usize>, t: String, empty: &str) -> Option<String> {
    let t = t.trim();
    if t.is_empty() {
        cx.err(span, format!("admin token: {empty}"));
        None
    } else {
        Some(t.to_owned())
    }
}

/// The formats declared in the rules, loaded once and only when a source
/// names a format that is not built in.
enum Declared {
    NotLoaded,
    Loaded(Vec<String>),
    /// The rules do not load (their own errors are reported by whoever loads them).
    Unavailable,
}

/// Reports a source's unknown `format` at its line, in the same pass as every
/// other mistake: the rules (where formats are declared) are chosen from the
/// `rules_dir` / `profile` validated above.
fn check_format(cx: &mut Cx, s: &Spanned<RawSource>, c: &Config, declared: &mut Declared) {
    let Some(f) = &s.get_ref().format else { return };
    let name = f.get_ref();
    if name.trim().is_empty() || is_builtin_format(name) {
        return;
    }
    if let Declared::NotLoaded = declared {
        *declared = match super::select_rules(None, Some(c)) {
            Ok((set, _)) => {
                Declared::Loaded(set.formats.iter().map(|d| d.name().to_owned()).collect())
            }
            Err(_) => Declared::Unavailable,
        };
    }
    let message = match declared {
        Declared::Loaded(names) if names.iter().any(|n| n == name) => return,
        Declared::Loaded(names) => format!(
            "unknown format {name:?} (built-in: {}; declared in the rules: {})",
            Format::builtin_names().join(", "),
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ),
        _ => format!(
            "unknown format {name:?}: not built in ({}), and the rules that could declare it \
             do not load (see `loginwatch rules check`)",
            Format::builtin_names().join(", ")
        ),
    };
    cx.err(f.span(), message);
}

/// Whether `format` names a built-in format (the rest must be declared in rules).
pub fn is_builtin_format(format: &str) -> bool {
    Format::by_name(format, &[]).is_some()
}

#[cfg(test)]
mod tests;
