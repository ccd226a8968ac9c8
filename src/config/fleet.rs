//! `[fleet]`: the NATS servers, this host's name in the fleet, credentials,
//! and the names of the stream and the decisions bucket. Secrets are never
//! written in the file itself: a password comes from a file only its owner
//! may read or from the environment, as the admin token does.

use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::load::{Cx, resolve};
use crate::fleet::{self, Auth, FleetConfig, Secret};

/// One server or several (a cluster).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawUrls {
    One(String),
    Many(Vec<String>),
}

/// `[fleet]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFleet {
    pub url: Option<Spanned<RawUrls>>,
    pub host: Option<Spanned<String>>,
    pub user: Option<Spanned<String>>,
    pub password_file: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
    pub nkey_file: Option<Spanned<String>>,
    pub creds_file: Option<Spanned<String>>,
    pub tls_ca: Option<Spanned<String>>,
    pub stream: Option<Spanned<String>>,
    pub subject_prefix: Option<Spanned<String>>,
    pub decisions_bucket: Option<Spanned<String>>,
    pub decisions_replicas: Option<Spanned<i64>>,
    pub group: Option<Spanned<String>>,
    pub members: Option<Spanned<i64>>,
    pub member: Option<Spanned<i64>>,
    pub buffer_max_bytes: Option<Spanned<i64>>,
    pub replicas: Option<Spanned<i64>>,
    pub lifted_keep: Option<Spanned<String>>,
}

/// The validated table; `None` when it has errors (each recorded at its line).
pub(super) fn fleet(
    cx: &mut Cx,
    f: &Spanned<RawFleet>,
    base: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<FleetConfig> {
    let before = cx.error_count();
    let raw = f.get_ref();
    let servers = servers(cx, f);
    let host = match &raw.host {
        Some(h) if fleet::is_name(h.get_ref()) => h.get_ref().clone(),
        Some(h) => {
            cx.err(
                h.span(),
                format!(
                    "host {:?}: one subject token of 1 to 64 letters, digits, `-` or `_` \
                     (no dots: write web1 or web1_example_com)",
                    h.get_ref()
                ),
            );
            String::new()
        }
        None => fleet::host_token(
            &hostname::get()
                .map(|h| h.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ),
    };
    let auth = auth(cx, raw, base, env);
    let tls_ca = raw.tls_ca.as_ref().map(|c| {
        let p = resolve(base, c.get_ref());
        if !p.is_file() {
            cx.err(c.span(), format!("tls_ca {} is not a file", p.display()));
        }
        p
    });
    let stream = name(cx, "stream", &raw.stream, fleet::DEFAULT_STREAM);
    let decisions_bucket = name(
        cx,
        "decisions_bucket",
        &raw.decisions_bucket,
        fleet::DEFAULT_DECISIONS_BUCKET,
    );
    let decisions_replicas = match &raw.decisions_replicas {
        Some(r) if !(1..=5).contains(r.get_ref()) => {
            cx.err(
                r.span(),
                format!(
                    "decisions_replicas {}: 1 to 5 (JetStream keeps at most 5 copies)",
                    r.get_ref()
                ),
            );
            1
        }
        Some(r) => *r.get_ref() as usize,
        None => 1,
    };
    let subject_prefix = match &raw.subject_prefix {
        Some(p) if !p.get_ref().split('.').all(fleet::is_name) => {
            cx.err(
                p.span(),
                format!(
                    "subject_prefix {:?}: tokens of letters, digits, `-` or `_` joined by dots \
                     (no wildcards), e.g. \"loginwatch.events\"",
                    p.get_ref()
                ),
            );
            String::new()
        }
        Some(p) => p.get_ref().clone(),
        None => fleet::DEFAULT_SUBJECT_PREFIX.to_owned(),
    };
    let shard = shard::shard(cx, f);
    let buffer_max_bytes = buffer_max_bytes(cx, &raw.buffer_max_bytes);
    let replicas = replicas(cx, &raw.replicas);
    let lifted_keep = lifted_keep(cx, &raw.lifted_keep);
    (cx.error_count() == before).then_some(FleetConfig {
        servers,
        host,
        auth,
        tls_ca,
        stream,
        subject_prefix,
        decisions_bucket,
        decisions_replicas,
        shard,
        buffer_max_bytes,
        replicas,
        lifted_keep,
    })
}

/// `lifted_keep`: how long a lifted decision's key stays in the bucket, at
/// least a second (`"7d"` by default).
fn lifted_keep(cx: &mut Cx, v: &Option<Spanned<String>>) -> std::time::Duration {
    let Some(v) = v else {
        return fleet::DEFAULT_LIFTED_KEEP;
    };
    match crate::rules::duration::Dur::parse(v.get_ref()) {
        Ok(d) if d.ms() >= 1000 => std::time::Duration::from_millis(d.ms() as u64),
        Ok(_) => {
            cx.err(
                v.span(),
                format!("lifted_keep {:?}: at least \"1s\"", v.get_ref()),
            );
            fleet::DEFAULT_LIFTED_KEEP
        }
        Err(m) => {
            cx.err(v.span(), format!("lifted_keep: {m}"));
            fleet::DEFAULT_LIFTED_KEEP
        }
    }
}

/// `buffer_max_bytes`: the agent's spool bound, at least
/// [`fleet::MIN_BUFFER_BYTES`].
fn buffer_max_bytes(cx: &mut Cx, v: &Option<Spanned<i64>>) -> u64 {
    let Some(v) = v else {
        return fleet::DEFAULT_BUFFER_BYTES;
    };
    match u64::try_from(*v.get_ref()) {
        Ok(n) if n >= fleet::MIN_BUFFER_BYTES => n,
        _ => {
            cx.err(
                v.span(),
                format!(
                    "buffer_max_bytes {}: at least {} (1 MiB); the default is {} (256 MiB)",
                    v.get_ref(),
                    fleet::MIN_BUFFER_BYTES,
                    fleet::DEFAULT_BUFFER_BYTES
                ),
            );
            0
        }
    }
}

/// `replicas`: the stream's copies when fleet mode creates it, 1 to 5 (the
/// most JetStream keeps).
fn replicas(cx: &mut Cx, v: &Option<Spanned<i64>>) -> usize {
    let Some(v) = v else {
        return 1;
    };
    match *v.get_ref() {
        n @ 1..=5 => n as usize,
        n => {
            cx.err(
                v.span(),
                format!(
                    "replicas {n}: 1 to 5 (1 for one server; 3 in a cluster of three keeps \
                     the stream through the loss of a node)"
                ),
            );
            1
        }
    }
}

/// `url`: required, each `nats://` or `tls://`.
fn servers(cx: &mut Cx, f: &Spanned<RawFleet>) -> Vec<String> {
    let Some(url) = &f.get_ref().url else {
        cx.err(
            f.span(),
            "[fleet] needs url: the NATS server(s), e.g. url = \"nats://127.0.0.1:4222\"",
        );
        return Vec::new();
    };
    let list = match url.get_ref() {
        RawUrls::One(u) => vec![u.clone()],
        RawUrls::Many(v) => v.clone(),
    };
    if list.is_empty() {
        cx.err(url.span(), "url: name at least one server");
    }
    for u in &list {
        if let Err(m) = fleet::connect::check_server(u) {
            cx.err(url.span(), format!("url {u:?}: {m}"));
        }
    }
    list
}

/// A stream or bucket name.
fn name(cx: &mut Cx, key: &str, v: &Option<Spanned<String>>, default: &str) -> String {
    match v {
        Some(n) if fleet::is_name(n.get_ref()) => n.get_ref().clone(),
        Some(n) => {
            cx.err(
                n.span(),
                format!(
                    "{key} {:?}: 1 to 64 letters, digits, `-` or `_`",
                    n.get_ref()
                ),
            );
            String::new()
        }
        None => default.to_owned(),
    }
}

/// The one way of authenticating the table chooses, read now so that a
/// missing or readable-by-others secret is a configuration error.
fn auth(cx: &mut Cx, raw: &RawFleet, base: &Path, env: &dyn Fn(&str) -> Option<String>) -> Auth {
    let password = raw.password_file.as_ref().or(raw.password_env.as_ref());
    let chosen: Vec<(&str, &Spanned<String>)> = [
        ("user", raw.user.as_ref()),
        ("nkey_file", raw.nkey_file.as_ref()),
        ("creds_file", raw.creds_file.as_ref()),
    ]
    .into_iter()
    .filter_map(|(k, v)| Some((k, v?)))
    .collect();
    if let [(first, _), (second, v), ..] = chosen.as_slice() {
        cx.err(
            v.span(),
            format!("{first} and {second} are both set: choose one way to authenticate"),
        );
        return Auth::None;
    }
    if let (Some(p), None) = (password, &raw.user) {
        cx.err(p.span(), "a password needs its user: set user too");
        return Auth::None;
    }
    if let (Some(_), Some(e)) = (&raw.password_file, &raw.password_env) {
        cx.err(
            e.span(),
            "password_file and password_env are both set: choose one",
        );
        return Auth::None;
    }
    let secret_file = |cx: &mut Cx, key: &str, v: &Spanned<String>| {
        crate::private::read_secret(&resolve(base, v.get_ref()))
            .map_err(|e| cx.err(v.span(), format!("{key} {e}")))
            .ok()
    };
    match chosen.first() {
        None => Auth::None,
        Some(("user", user)) => {
            let password = match (&raw.password_file, &raw.password_env) {
                (Some(f), _) => secret_file(cx, "password_file", f),
                (None, Some(e)) => match env(e.get_ref()).filter(|p| !p.is_empty()) {
                    Some(p) => Some(p),
                    None => {
                        cx.err(
                            e.span(),
                            format!(
                                "password_env: environment variable {:?} is not set or empty",
                                e.get_ref()
                            ),
                        );
                        None
                    }
                },
                (None, None) => {
                    cx.err(user.span(), "user needs password_file or password_env");
                    None
                }
            };
            Auth::UserPassword {
                user: user.get_ref().clone(),
                password: Secret(password.unwrap_or_default()),
            }
        }
        Some(("nkey_file", f)) => match secret_file(cx, "nkey_file", f) {
            Some(seed) if seed.starts_with('S') => Auth::Nkey(Secret(seed)),
            Some(_) => {
                cx.err(
                    f.span(),
                    "nkey_file must hold an nkey seed (it starts with S, e.g. SUA...)",
                );
                Auth::None
            }
            None => Auth::None,
        },
        Some((_, f)) => {
            // The client reads it at connect; checked here for its mode.
            secret_file(cx, "creds_file", f);
            Auth::Creds(resolve(base, f.get_ref()))
        }
    }
}

mod shard;

#[cfg(test)]
mod tests;
