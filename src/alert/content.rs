//! What an alert says, before any template: [`alert_for`] builds the [`Alert`]
//! of a decision, and [`View`] is the one typed, already escaped and
//! time-zoned context every template and every JSON format reads.
//!
//! Escaping happens here, once, so no template can forget it: user names, rule
//! names, inventory fields, sample lines and the assessment's reason (which
//! names the user) are attacker- or operator-controlled and have their control
//! characters escaped ([`Escaped`]); HTML and Slack escaping on top is the
//! renderer's (per output format).
//!
//! The view is in the alert's language only where code has the words: the
//! assessment's reason is one sentence that `crate::decision::Why`
//! says in English or Japanese. Every other word is the templates'.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::alert::render::Language;
use crate::alert::zone::DisplayZone;
use crate::alert::{Alert, AlertStatus, Resolution};
use crate::decision::{Decision, Unlock};
use crate::escape::Escaped;
use crate::event::{Account, Geo, rfc3339};

/// Sample log lines an alert carries at most, whatever it is given (the
/// daemon passes `[alert] samples` of them, 5 by default).
pub const MAX_SAMPLES: usize = crate::alert::config::MAX_SAMPLES;

/// Distinct addresses or users an alert lists at most; the rest are counted.
pub const MAX_LISTED: usize = 20;

/// The alert of a decision, firing. `samples` are raw log lines, oldest first:
/// the last (most recent) [`MAX_SAMPLES`] are kept, with control characters
/// escaped.
///
/// The key is `<rule>:<target>` (e.g. `account-lockout:user=alice`,
/// `password-spray:ip=192.0.2.7`), escaped: the same rule against the same
/// target is the same ongoing situation, so its repeated decisions update one
/// alert instead of adding one each, and its resolution replaces it. The
/// decision id is deliberately not part of it (it changes with every trigger).
pub fn alert_for(
    decision: &Decision,
    account: Option<Arc<Account>>,
    geo: Option<Arc<Geo>>,
    samples: Vec<String>,
) -> Alert {
    Alert {
        key: alert_key(decision),
        status: AlertStatus::Firing,
        decision: decision.clone(),
        account,
        geo,
        samples: samples
            .iter()
            .skip(samples.len().saturating_sub(MAX_SAMPLES))
            .map(|s| Escaped(s).to_string())
            .collect(),
        resolution: None,
    }
}

/// The same alert, resolved (an auto-unlock or an admin's unlock). The key stays,
/// so receivers replace the firing alert.
pub fn resolve(mut alert: Alert, resolution: Resolution) -> Alert {
    alert.status = AlertStatus::Resolved;
    alert.resolution = Some(resolution);
    alert
}

/// The grouping key of a decision's alert (see [`alert_for`]).
pub fn alert_key(d: &Decision) -> String {
    format!("{}:{}", Escaped(&d.rule), Escaped(&d.target.to_string()))
}

/// Where the admin API listens, for the unlock instructions: the daemon's
/// default listen address.
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:9464";

/// The template context: everything an alert says, as display-ready strings.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    /// `firing` or `resolved`.
    pub status: &'static str,
    pub resolved: bool,
    pub key: String,
    pub rule: String,
    pub severity: &'static str,
    pub action: &'static str,
    pub mode: &'static str,
    pub enforced: bool,
    /// True when the target is exempt: reported, never locked or blocked.
    pub exempt: bool,
    /// `user_error`, `attack` or `unclear`: the templates word it, the
    /// Alertmanager label carries it as is.
    pub assessment: &'static str,
    /// Why, one sentence in the alert's language, escaped (it names the
    /// user). Empty for decisions stored before assessments existed. A decision
    /// read back from `replay --json` only has the English sentence.
    pub assessment_reason: String,
    /// Target user, escaped.
    pub user: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    /// True when the inventory says the account is an admin.
    pub admin: bool,
    /// Target address (or network, `192.0.2.0/24`); for a user target, the
    /// single source address of the evidence if there is exactly one, else
    /// the first one when GeoIP described it (`country`/`asn` are its).
    pub ip: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    /// `AS4134 Chinanet`, when known.
    pub asn: Option<String>,
    pub evidence: EvidenceView,
    pub samples: Vec<String>,
    pub decision: DecisionView,
    pub resolution: Option<ResolutionView>,
    /// How to unlock now.
    pub unlock_cli: String,
    pub unlock_api: String,
    /// The zone times are shown in (`Asia/Tokyo`).
    pub zone: String,
}

/// The evidence, display-ready.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceView {
    pub count: u64,
    pub first: String,
    pub last: String,
    /// Up to [`MAX_LISTED`] addresses; `ips_more` counts the rest.
    pub ips: Vec<String>,
    pub ips_more: usize,
    pub users: Vec<String>,
    pub users_more: usize,
}

/// The decision, display-ready.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionView {
    pub id: String,
    pub at: String,
    /// When it ends by itself, if it does.
    pub until: Option<String>,
    /// `auto` or `admin`.
    pub unlock: &'static str,
    /// True for locks and blocks (they have an end or need an unlock).
    pub lasts: bool,
    /// RFC 3339 forms, for machine formats.
    pub at_rfc3339: String,
    pub until_rfc3339: Option<String>,
}

/// How a resolved alert ended, display-ready.
#[derive(Debug, Clone, Serialize)]
pub struct ResolutionView {
    /// `auto` or `admin`.
    pub how: String,
    pub at: String,
    pub by: Option<String>,
    pub reason: Option<String>,
}

fn esc(s: &str) -> String {
    Escaped(s).to_string()
}

fn capped(items: Vec<String>) -> (Vec<String>, usize) {
    let more = items.len().saturating_sub(MAX_LISTED);
    (items.into_iter().take(MAX_LISTED).collect(), more)
}

impl View {
    /// The view of `alert` in `lang` with times in `zone`; `api_url` is where the
    /// admin API listens (for the unlock call).
    pub fn new(alert: &Alert, lang: Language, zone: &DisplayZone, api_url: &str) -> View {
        let d = &alert.decision;
        let acc = alert.account.as_deref();
        let geo = alert.geo.as_deref();
        // The target address; for a user target, the one address the attempts
        // came from, when there was only one (GeoIP then describes it).
        let single = match d.evidence.source_ips.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        let ip = d
            .target
            .ip
            .map(|ip| ip.to_string())
            .or_else(|| d.target.net.map(|n| n.to_string()))
            .or_else(|| single.map(|ip| ip.to_string()))
            .or_else(|| {
                geo.and(d.evidence.source_ips.first())
                    .map(|ip| ip.to_string())
            });
        let (ips, ips_more) = capped(
            d.evidence
                .source_ips
                .iter()
                .map(|i| i.to_string())
                .collect(),
        );
        let (users, users_more) = capped(d.evidence.users.iter().map(|u| esc(u)).collect());
        let asn = geo.and_then(|g| match (g.as_number, &g.as_organization) {
            (Some(n), Some(o)) => Some(format!("AS{n} {}", Escaped(o))),
            (Some(n), None) => Some(format!("AS{n}")),
            (None, Some(o)) => Some(esc(o)),
            (None, None) => None,
        });
        let show = |t: &DateTime<Utc>| zone.show(t);
        let reason = match lang {
            Language::En => d.why.sentence_en(),
            Language::Ja => d.why.sentence_ja(),
        };
        View {
            status: match alert.status {
                AlertStatus::Firing => "firing",
                AlertStatus::Resolved => "resolved",
            },
            resolved: alert.status == AlertStatus::Resolved,
            key: alert.key.clone(),
            rule: esc(&d.rule),
            severity: d.severity.as_str(),
            action: d.action.as_str(),
            mode: d.mode.as_str(),
            enforced: d.mode == crate::decision::Mode::Enforce && !d.exempt,
            exempt: d.exempt,
            assessment: d.assessment.as_str(),
            assessment_reason: esc(reason.trim()),
            user: d.target.user.as_deref().map(esc),
            email: acc.and_then(|a| a.email.as_deref()).map(esc),
            display_name: acc.and_then(|a| a.display_name.as_deref()).map(esc),
            admin: acc.is_some_and(|a| a.admin),
            ip,
            country: geo.and_then(|g| g.country_iso_code.as_deref()).map(esc),
            city: geo.and_then(|g| g.city_name.as_deref()).map(esc),
            asn,
            evidence: EvidenceView {
                count: d.evidence.count,
                first: show(&d.evidence.first),
                last: show(&d.evidence.last),
                ips,
                ips_more,
                users,
                users_more,
            },
            samples: alert.samples.iter().map(|s| esc(s)).collect(),
            decision: DecisionView {
                id: esc(&d.id),
                at: show(&d.at),
                until: d.until.as_ref().map(show),
                unlock: d.unlock.as_str(),
                lasts: d.action.lasts() && !(d.until.is_none() && d.unlock == Unlock::Auto),
                at_rfc3339: rfc3339(&d.at),
                until_rfc3339: d.until.as_ref().map(rfc3339),
            },
            resolution: alert.resolution.as_ref().map(|r| resolution_view(r, zone)),
            unlock_cli: unlock_cli(&d.id),
            unlock_api: unlock_api(&d.id, api_url),
            zone: zone.name().to_string(),
        }
    }
}

fn resolution_view(r: &Resolution, zone: &DisplayZone) -> ResolutionView {
    ResolutionView {
        how: esc(&r.how),
        at: zone.show(&r.at),
        by: r.by.as_deref().map(esc),
        reason: r.reason.as_deref().map(esc),
    }
}

/// The exact command that unlocks now. Ids are hex digits; anything else is
/// single-quoted so the command stays one argument whatever it holds.
fn unlock_cli(id: &str) -> String {
    format!(
        "loginwatch decisions unlock {} --reason \"...\"",
        shell_word(id)
    )
}

fn unlock_api(id: &str, api_url: &str) -> String {
    format!(
        "curl -X POST -H 'Authorization: Bearer ...' -H 'Content-Type: application/json' {}/api/v1/decisions/{}/unlock -d '{{\"by\":\"...\",\"reason\":\"...\"}}'",
        esc(api_url.trim_end_matches('/')),
        shell_word(id)
    )
}

fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        s.to_string()
    } else {
        format!("'{}'", Escaped(&s.replace('\'', r"'\''")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::DecisionSetters;
    use chrono::TimeZone;

    fn decision(user: &str) -> Decision {
        let at = Utc.with_ymd_and_hms(2026, 11, 14, 6, 25, 0).unwrap();
        crate::test_support::decision()
            .with_id("00112233aabbccdd")
            .with_rule("account-lockout")
            .with_user(user)
            .with_at(at)
            .with_until(Some(at + chrono::Duration::minutes(15)))
            .with_unlock(Unlock::Auto)
            .with_evidence(&["192.0.2.7"], &[user])
    }

    #[test]
    fn key_groups_by_rule_and_target_and_escapes() {
        let a = alert_for(&decision("alice"), None, None, vec![]);
        assert_eq!(a.key, "account-lockout:user=alice");
        let mut later = decision("alice");
        later.id = "ffff".into();
        assert_eq!(alert_for(&later, None, None, vec![]).key, a.key);
        let evil = alert_for(&decision("x\u{1b}[2J"), None, None, vec![]);
        assert_eq!(evil.key, "account-lockout:user=x\\u{1b}[2J");
    }

    #[test]
    fn samples_are_capped_and_escaped() {
        let raw: Vec<String> = (0..MAX_SAMPLES + 4)
            .map(|i| format!("line {i}\u{7}"))
            .collect();
        let a = alert_for(&decision("bob"), None, None, raw);
        assert_eq!(a.samples.len(), MAX_SAMPLES);
        assert_eq!(a.samples[0], "line 4\\u{7}");
    }

    #[test]
    fn geo_of_a_user_target_names_the_address_it_describes() {
        let mut d = decision("alice");
        d.evidence.source_ips = vec![
            "198.51.100.1".parse().unwrap(),
            "198.51.100.2".parse().unwrap(),
        ];
        let zone = DisplayZone::new("UTC".parse().unwrap());
        // Several addresses and no geo: no single source to name.
        let v = View::new(
            &alert_for(&d, None, None, vec![]),
            Language::En,
            &zone,
            DEFAULT_API_URL,
        );
        assert_eq!(v.ip, None);
        let geo = Arc::new(Geo {
            country_iso_code: Some(Arc::from("JP")),
            as_number: Some(64500),
            ..Geo::default()
        });
        let v = View::new(
            &alert_for(&d, None, Some(geo), vec![]),
            Language::En,
            &zone,
            DEFAULT_API_URL,
        );
        assert_eq!(v.ip.as_deref(), Some("198.51.100.1"));
        assert_eq!(v.country.as_deref(), Some("JP"));
        assert_eq!(v.asn.as_deref(), Some("AS64500"));
    }

    #[test]
    fn view_is_escaped_and_zoned() {
        let a = alert_for(&decision("bad\nuser"), None, None, vec![]);
        let v = View::new(
            &a,
            Language::En,
            &DisplayZone::new("Asia/Tokyo".parse().unwrap()),
            DEFAULT_API_URL,
        );
        assert_eq!(v.user.as_deref(), Some("bad\\nuser"));
        assert_eq!(v.decision.at, "2026-11-14 15:25:00 JST");
        assert_eq!(v.decision.until.as_deref(), Some("2026-11-14 15:40:00 JST"));
        assert_eq!(
            v.unlock_cli,
            "loginwatch decisions unlock 00112233aabbccdd --reason \"...\""
        );
        assert!(
            v.unlock_api
                .contains("http://127.0.0.1:9464/api/v1/decisions/00112233aabbccdd/unlock")
        );
        assert_eq!(shell_word("a'b"), "'a'\\''b'");
    }

    #[test]
    fn the_reason_is_in_the_alert_language_and_escaped() {
        let mut d = decision("mal\u{1b}[2Jlory");
        d.why = crate::decision::Why::NewSource {
            user: Arc::from("mal\u{1b}[2Jlory"),
            ip: "192.0.2.7".parse().unwrap(),
        };
        d.assessment = d.why.assessment();
        let zone = DisplayZone::new("UTC".parse().unwrap());
        let a = alert_for(&d, None, None, vec![]);
        let en = View::new(&a, Language::En, &zone, DEFAULT_API_URL);
        assert_eq!(en.assessment, "attack");
        assert_eq!(
            en.assessment_reason,
            "192.0.2.7 is an address mal\\u{1b}[2Jlory has never logged in from."
        );
        let ja = View::new(&a, Language::Ja, &zone, DEFAULT_API_URL);
        assert_eq!(
            ja.assessment_reason,
            "192.0.2.7 は mal\\u{1b}[2Jlory が一度もログインしたことのないアドレスです。"
        );
        // Not assessed (stored before assessments existed): no reason at all.
        let v = View::new(
            &alert_for(&decision("alice"), None, None, vec![]),
            Language::Ja,
            &zone,
            DEFAULT_API_URL,
        );
        assert_eq!(
            (v.assessment, v.assessment_reason.as_str()),
            ("unclear", "")
        );
    }
}
