//! The `[actions]` and `[safety]` sections: raw forms mirroring the TOML and
//! their validation, reporting every problem with its line like the rest of the
//! loader. Templates are parsed here, so an unknown placeholder or a program
//! given as a relative path stops the daemon at start-up, not at the first lock.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use toml::Spanned;

use super::load::Cx;
use crate::action::{
    ActionKind, ActionSpec, ActionsConfig, DEFAULT_TIMEOUT, ExecSpec, HttpSpec, NftSpec, Template,
    nft,
};
use crate::decision::DecisionAction;
use crate::rules::Dur;
use crate::safety::SafetyConfig;

/// `[actions]`: a default timeout and a list of actions per decision action.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawActions {
    pub timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub lock_account: Vec<Spanned<RawAction>>,
    #[serde(default)]
    pub block_ip: Vec<Spanned<RawAction>>,
    #[serde(default)]
    pub disable_account: Vec<Spanned<RawAction>>,
    #[serde(default)]
    pub require_password_reset: Vec<Spanned<RawAction>>,
}

/// One `[[actions.<action>]]`: exactly one of `exec`, `http`, `nft`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    pub exec: Option<Spanned<Vec<String>>>,
    pub undo_exec: Option<Spanned<Vec<String>>>,
    pub http: Option<Spanned<RawHttpAction>>,
    pub undo_http: Option<Spanned<RawHttpAction>>,
    pub nft: Option<Spanned<RawNft>>,
    pub timeout: Option<Spanned<String>>,
}

/// An HTTP call.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpAction {
    pub method: Option<Spanned<String>>,
    pub url: Spanned<String>,
    pub headers: Option<Spanned<BTreeMap<String, String>>>,
    pub body: Option<Spanned<String>>,
}

/// An nftables set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNft {
    pub set: Spanned<String>,
    pub table: Option<Spanned<String>>,
    pub family: Option<Spanned<String>>,
    pub program: Option<Spanned<String>>,
}

/// `[safety]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSafety {
    pub exempt_users: Option<Spanned<Vec<String>>>,
    pub exempt_groups: Option<Spanned<Vec<String>>>,
    pub exempt_cidrs: Option<Spanned<Vec<String>>>,
    pub min_admins: Option<Spanned<i64>>,
    pub storm_accounts: Option<Spanned<i64>>,
    pub storm_window: Option<Spanned<String>>,
    pub storm_cooldown: Option<Spanned<String>>,
    pub allow_private: Option<Spanned<bool>>,
    pub allow_own: Option<Spanned<bool>>,
    pub own_addresses: Option<Spanned<Vec<String>>>,
    pub detect_own: Option<Spanned<bool>>,
}

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

fn template(cx: &mut Cx, span: std::ops::Range<usize>, s: &str) -> Option<Template> {
    Template::parse(s).map_err(|m| cx.err(span, m)).ok()
}

/// `[actions]`.
pub(super) fn actions(cx: &mut Cx, raw: &Spanned<RawActions>) -> ActionsConfig {
    let r = raw.get_ref();
    let timeout = duration(cx, "actions.timeout", &r.timeout, DEFAULT_TIMEOUT);
    let mut out = ActionsConfig::default();
    let lists = [
        (DecisionAction::LockAccount, &r.lock_account),
        (DecisionAction::BlockIp, &r.block_ip),
        (DecisionAction::DisableAccount, &r.disable_account),
        (
            DecisionAction::RequirePasswordReset,
            &r.require_password_reset,
        ),
    ];
    for (on, list) in lists {
        for a in list {
            if let Some(spec) = action(cx, on, a, timeout) {
                out.actions.push(spec);
            }
        }
    }
    out
}

fn action(
    cx: &mut Cx,
    on: DecisionAction,
    raw: &Spanned<RawAction>,
    timeout: Duration,
) -> Option<ActionSpec> {
    let a = raw.get_ref();
    let key = format!("actions.{on}");
    let count = [a.exec.is_some(), a.http.is_some(), a.nft.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if count != 1 {
        cx.err(
            raw.span(),
            format!("[[{key}]]: give exactly one of exec, http, nft"),
        );
        return None;
    }
    let timeout = duration(cx, &format!("{key}.timeout"), &a.timeout, timeout);
    let kind = if let Some(e) = &a.exec {
        ActionKind::Exec(exec(cx, &key, e)?)
    } else if let Some(h) = &a.http {
        ActionKind::Http(http(cx, &key, h)?)
    } else {
        let n = a.nft.as_ref()?;
        if on != DecisionAction::BlockIp {
            cx.err(n.span(), format!("{key}: nft only serves block_ip"));
        }
        if a.undo_exec.is_some() || a.undo_http.is_some() {
            cx.err(
                raw.span(),
                format!("{key}: nft's undo (delete the element) is implied"),
            );
        }
        ActionKind::Nft(nft_spec(cx, &key, n)?)
    };
    let undo = match (&a.undo_exec, &a.undo_http) {
        (Some(_), Some(h)) => {
            cx.err(
                h.span(),
                format!("{key}: give undo_exec or undo_http, not both"),
            );
            None
        }
        (Some(e), None) => Some(ActionKind::Exec(exec(cx, &key, e)?)),
        (None, Some(h)) => Some(ActionKind::Http(http(cx, &key, h)?)),
        (None, None) => None,
    };
    Some(ActionSpec {
        on,
        kind,
        undo,
        timeout,
    })
}

fn exec(cx: &mut Cx, key: &str, raw: &Spanned<Vec<String>>) -> Option<ExecSpec> {
    let argv = raw.get_ref();
    let Some(program) = argv.first() else {
        cx.err(
            raw.span(),
            format!("{key}: exec is empty: give the program and its arguments"),
        );
        return None;
    };
    // The program is fixed: a placeholder there would let a value choose it.
    if !program.starts_with('/') || program.contains('{') {
        cx.err(
            raw.span(),
            format!(
                "{key}: exec program {program:?} must be an absolute path without placeholders"
            ),
        );
    }
    let argv: Vec<_> = argv
        .iter()
        .map(|s| template(cx, raw.span(), s))
        .collect::<Option<_>>()?;
    Some(ExecSpec { argv })
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

fn http(cx: &mut Cx, key: &str, raw: &Spanned<RawHttpAction>) -> Option<HttpSpec> {
    let h = raw.get_ref();
    let method = h
        .method
        .as_ref()
        .map_or("POST".to_owned(), |m| m.get_ref().to_ascii_uppercase());
    if !METHODS.contains(&method.as_str()) {
        let span = h.method.as_ref().map_or(raw.span(), |m| m.span());
        cx.err(
            span,
            format!(
                "{key}: method {method:?}: expected one of {}",
                METHODS.join(", ")
            ),
        );
    }
    let url_s = h.url.get_ref();
    // Scheme and host are fixed text: values only ever go into the path or query.
    let fixed = url_s.split('{').next().unwrap_or_default();
    let host_fixed = ["http://", "https://"]
        .iter()
        .any(|p| fixed.strip_prefix(p).is_some_and(|rest| rest.contains('/')));
    if !host_fixed {
        cx.err(
            h.url.span(),
            format!("{key}: url {url_s:?} must start with http:// or https:// and a host, with placeholders only after the host's '/'"),
        );
    }
    let url = template(cx, h.url.span(), url_s);
    let mut headers = Vec::new();
    if let Some(hs) = &h.headers {
        for (k, v) in hs.get_ref() {
            let token = !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
            if !token || v.chars().any(char::is_control) {
                cx.err(
                    hs.span(),
                    format!("{key}: header {k:?}: bad name or control character in value"),
                );
            }
            headers.push((k.clone(), template(cx, hs.span(), v)?));
        }
    }
    let body = match &h.body {
        Some(b) => Some(template(cx, b.span(), b.get_ref())?),
        None => None,
    };
    Some(HttpSpec {
        method,
        url: url?,
        headers,
        body,
    })
}

fn nft_spec(cx: &mut Cx, key: &str, raw: &Spanned<RawNft>) -> Option<NftSpec> {
    let n = raw.get_ref();
    let name = |cx: &mut Cx, v: &Option<Spanned<String>>, default: &str, what: &str| {
        let s = v
            .as_ref()
            .map_or(default.to_owned(), |v| v.get_ref().clone());
        if !nft::valid_name(&s) {
            let span = v.as_ref().map_or(raw.span(), |v| v.span());
            cx.err(
                span,
                format!("{key}: nft {what} {s:?}: a letter, then letters, digits or '_'"),
            );
        }
        s
    };
    let set = name(cx, &Some(n.set.clone()), "", "set");
    let table = name(cx, &n.table, "filter", "table");
    let family = name(cx, &n.family, "inet", "family");
    if !["inet", "ip", "ip6"].contains(&family.as_str()) {
        let span = n.family.as_ref().map_or(raw.span(), |v| v.span());
        cx.err(
            span,
            format!("{key}: nft family {family:?}: expected inet, ip or ip6"),
        );
    }
    let program = n
        .program
        .as_ref()
        .map_or("nft".to_owned(), |p| p.get_ref().clone());
    Some(NftSpec {
        program,
        family,
        table,
        set,
    })
}

/// `[safety]`.
pub(super) fn safety(cx: &mut Cx, raw: &Spanned<RawSafety>) -> SafetyConfig {
    let r = raw.get_ref();
    let mut s = SafetyConfig::default();
    let list = |v: &Option<Spanned<Vec<String>>>| {
        v.as_ref().map(|v| v.get_ref().clone()).unwrap_or_default()
    };
    s.exempt_users = list(&r.exempt_users);
    s.exempt_groups = list(&r.exempt_groups);
    if let Some(c) = &r.exempt_cidrs {
        for n in c.get_ref() {
            match n
                .parse::<IpNet>()
                .or_else(|_| n.parse::<IpAddr>().map(IpNet::from))
            {
                Ok(net) => s.exempt_cidrs.push(net),
                Err(_) => cx.err(
                    c.span(),
                    format!("safety.exempt_cidrs: {n:?} is not an address or CIDR"),
                ),
            }
        }
    }
    if let Some(a) = &r.own_addresses {
        for n in a.get_ref() {
            match n.parse::<IpAddr>() {
                Ok(ip) => s.own_addresses.push(ip),
                Err(_) => cx.err(
                    a.span(),
                    format!("safety.own_addresses: {n:?} is not an address"),
                ),
            }
        }
    }
    let count = |cx: &mut Cx, v: &Option<Spanned<i64>>, key: &str, min: i64, default: usize| match v
    {
        Some(n) => match usize::try_from(*n.get_ref()) {
            Ok(u) if *n.get_ref() >= min && u <= 1_000_000 => u,
            _ => {
                cx.err(
                    n.span(),
                    format!("{key} {} must be {min}..=1000000", n.get_ref()),
                );
                default
            }
        },
        None => default,
    };
    s.min_admins = count(cx, &r.min_admins, "safety.min_admins", 0, s.min_admins);
    s.storm.max_accounts = count(
        cx,
        &r.storm_accounts,
        "safety.storm_accounts",
        1,
        s.storm.max_accounts,
    );
    s.storm.window = duration(cx, "safety.storm_window", &r.storm_window, s.storm.window);
    s.storm.cooldown = duration(
        cx,
        "safety.storm_cooldown",
        &r.storm_cooldown,
        s.storm.cooldown,
    );
    let flag = |v: &Option<Spanned<bool>>, d: bool| v.as_ref().map_or(d, |v| *v.get_ref());
    s.allow_private = flag(&r.allow_private, s.allow_private);
    s.allow_own = flag(&r.allow_own, s.allow_own);
    s.detect_own = flag(&r.detect_own, s.detect_own);
    s
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::action::ActionKind;
    use crate::config::load_text;

    fn load(text: &str) -> Result<crate::config::Config, crate::config::ConfigErrors> {
        load_text(text, Path::new("/etc/loginwatch/loginwatch.toml"), &|_| {
            None
        })
    }

    #[test]
    fn actions_and_safety_are_read() {
        let c = load(
            "[actions]\ntimeout = \"5s\"\n\
             [[actions.lock_account]]\nexec = [\"/usr/local/bin/lock-user\", \"{user}\"]\n\
             undo_exec = [\"/usr/local/bin/unlock-user\", \"{user}\"]\n\
             [[actions.block_ip]]\nnft = { set = \"lw_block\" }\n\
             [safety]\nexempt_users = [\"root\"]\nexempt_cidrs = [\"10.0.0.0/8\", \"192.0.2.1\"]\n\
             storm_accounts = 5\nstorm_window = \"5m\"\nallow_private = true\n",
        )
        .unwrap();
        assert_eq!(c.actions.actions.len(), 2);
        assert_eq!(c.actions.actions[0].timeout.as_secs(), 5);
        assert!(matches!(
            c.actions.actions[0].undo,
            Some(ActionKind::Exec(_))
        ));
        assert!(
            matches!(&c.actions.actions[1].kind, ActionKind::Nft(n) if n.table == "filter" && n.family == "inet")
        );
        assert_eq!(c.safety.exempt_cidrs.len(), 2);
        assert_eq!(c.safety.storm.max_accounts, 5);
        assert_eq!(c.safety.storm.window.as_secs(), 300);
        assert!(c.safety.allow_private && !c.safety.allow_own);
    }

    #[test]
    fn every_action_and_safety_mistake_is_reported_with_its_line() {
        let errs = load(
            "[[actions.lock_account]]\nexec = [\"lock-user\", \"{usr}\"]\n\
             [[actions.lock_account]]\nhttp = { url = \"https://{user}.example/x\", method = \"BREW\" }\n\
             [[actions.block_ip]]\nnft = { set = \"a;b\", family = \"arp\" }\n\
             [[actions.disable_account]]\ntimeout = \"1s\"\n\
             [safety]\nexempt_cidrs = [\"10.0.0.0/33\"]\nstorm_accounts = 0\nstorm_cooldown = \"soon\"\n",
        )
        .unwrap_err();
        let text = errs.to_string();
        for needle in [
            "absolute path",
            "{usr}",
            "BREW",
            "placeholders only after",
            "\"a;b\"",
            "\"arp\"",
            "exactly one of exec, http, nft",
            "10.0.0.0/33",
            "storm_accounts 0",
            "soon",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
        assert!(errs.0.iter().all(|e| e.line.is_some()), "{text}");
    }
}
