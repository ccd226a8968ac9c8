//! `GET /ui/accounts/{user}`: `why`'s causes and next steps, the account's
//! state (loginwatch's locks with an unlock form each, the system's lock
//! with the command that lifts it, the blocks on addresses the user comes
//! from with their own unlock), the timeline of the last attempts and the
//! chart of the last week, every time in the admin's zone.

use axum::Extension;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Value, json};

use super::pages::{blocking, lock_view, unlock_href};
use super::session::Session;
use super::{UiState, chart, guard, text, zone};
use crate::account::History;
use crate::account::history::Attempt;
use crate::helpdesk::{Code, Diagnosis, LockedBy};

/// Longest decision id taken from `?unlocked=` (ids are 16 hex digits).
const MAX_ID: usize = 64;

/// `GET /ui/accounts/{user}` query.
#[derive(Debug, Default, Deserialize)]
pub struct AccountQuery {
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    tz: Option<String>,
    /// The decision just unlocked here: its audit trail is shown.
    #[serde(default)]
    unlocked: Option<String>,
}

/// One attempt of the timeline.
fn attempt_view(a: &Attempt, tz: Tz) -> Value {
    let at = Utc.timestamp_opt(a.at, 0).single().unwrap_or_default();
    json!({
        "at": zone::show_secs(at, tz),
        "action": a.action.as_str(),
        "outcome": a.outcome.as_str(),
        "reason": a.reason.map(|r| r.as_str()),
        "detail": a.detail.map(|d| d.as_str()),
        "ip": a.ip.map(|ip| ip.to_string()),
        "country": a.country.as_deref(),
        "asn": a.asn.as_ref().map(|n| match &n.organization {
            Some(o) => format!("AS{} {o}", n.number),
            None => format!("AS{}", n.number),
        }),
        "device": a.device.as_deref(),
        "service": a.service.as_deref(),
        "typed": a.typed.as_deref(),
        "known_source": a.known_source,
    })
}

/// The system's lock and the address blocks, from `why`'s lock causes
/// (loginwatch's locks on the account itself come with their records).
fn state_view(d: &Diagnosis, tz: Tz, until_admin: &str) -> (Vec<Value>, Vec<Value>) {
    let (mut os, mut blocks) = (Vec::new(), Vec::new());
    for c in d.causes.iter().filter(|c| c.code == Code::Locked) {
        let e = &c.evidence;
        let since = c.since.map(|t| zone::show(t, tz));
        match (e.by, e.blocked_ip, &e.decision_id) {
            (Some(LockedBy::Os), _, _) => os.push(json!({
                "since": since,
                "module": e.lock_module,
                "command": e.unlock,
                "next_step": c.next_step,
            })),
            (Some(LockedBy::Loginwatch), Some(ip), Some(id)) => blocks.push(json!({
                "ip": ip.to_string(),
                "id": id,
                "since": since,
                "rule": e.rule.as_deref(),
                "until": e.until.map_or_else(|| until_admin.to_owned(), |u| zone::show(u, tz)),
                "mode": e.mode.map(|m| m.as_str()),
                "assessment": e.assessment.map(|a| a.as_str()),
                "unlock": unlock_href(id),
            })),
            _ => {}
        }
    }
    (os, blocks)
}

/// Whether the decision unlocked from this page is about this account: its
/// user, or an address the account's attempts came from.
fn about(r: &crate::state::model::DecisionRecord, user: &str, h: Option<&History>) -> bool {
    let d = &r.decision;
    d.target.user.as_deref() == Some(user)
        || d.target
            .ip
            .is_some_and(|ip| h.is_some_and(|h| h.recent.iter().any(|a| a.ip == Some(ip))))
}

pub async fn account(
    State(s): State<UiState>,
    Extension(session): Extension<Session>,
    Path(user): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    q: Result<Query<AccountQuery>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let (lang, cookie) = guard::language(&s, &headers, q.lang.as_deref());
    let (tz, tz_cookie) = zone::choose(&headers, q.tz.as_deref(), s.zone, s.secure);
    let csrf = session.csrf.clone();
    let until_admin = super::text::word(lang, "until_admin");
    let r = async {
        let u = user.clone();
        let unlocked = q.unlocked.clone().filter(|id| id.len() <= MAX_ID);
        let now = Utc::now();
        let (diagnosis, account, history, done) = blocking(&s, lang, &csrf, move |b| {
            let history = b.history(&u)?;
            // The decision just unlocked, to show its audit trail: only one
            // about this account (the id comes from the address bar).
            let done = match unlocked {
                Some(id) => b
                    .decision(&id)?
                    .filter(|(r, _)| about(r, &u, history.as_ref())),
                None => None,
            };
            Ok((b.why(&u, now, lang)?, b.account(&u)?, history, done))
        })
        .await?;
        let audit: Vec<Value> = done
            .iter()
            .flat_map(|(_, trail)| trail)
            .map(|a| {
                json!({
                    "at": zone::show(a.at, tz),
                    "what": a.what,
                    "who": a.who,
                    "credential": a.credential.clone().unwrap_or_default(),
                    "detail": a.detail,
                })
            })
            .collect();
        let locks: Vec<Value> = account
            .map(|(_, active)| active.iter().map(|r| lock_view(r, lang, tz)).collect())
            .unwrap_or_default();
        let causes: Vec<Value> = diagnosis
            .causes
            .iter()
            .map(|c| {
                // Re-worded with the admin's zone (`why` answers in UTC), and
                // a loginwatch lock's way out is this page's button, not the
                // command line `why` names for a terminal.
                let mut ev = c.evidence.clone();
                if ev.by == Some(LockedBy::Loginwatch) && ev.unlock.is_some() {
                    ev.unlock = Some(text::word(lang, "unlock_here").to_owned());
                }
                let (summary, next_step) =
                    crate::helpdesk::text::explain_in(lang, tz, &user, c.code, &ev);
                json!({ "code": c.code.as_str(), "summary": summary, "next_step": next_step })
            })
            .collect();
        let (os_locks, blocks) = state_view(&diagnosis, tz, until_admin);
        let timeline: Vec<Value> = history
            .iter()
            .flat_map(|h| h.recent.iter().rev())
            .map(|a| attempt_view(a, tz))
            .collect();
        let chart = history
            .as_ref()
            .map(|h| chart::chart(h.hours.iter(), now, tz))
            .filter(|c| !c.bars.is_empty());
        let ctx = json!({
            "user": user,
            // The form's way back, percent-encoded as in the page's URL: the
            // name as typed may hold control or bidi characters, which stay
            // out of the HTML even in a hidden field.
            "user_q": percent_encoding::utf8_percent_encode(&user, percent_encoding::NON_ALPHANUMERIC).to_string(),
            "causes": causes,
            "locks": locks,
            "os_locks": os_locks,
            "blocks": blocks,
            "timeline": timeline,
            "chart": chart,
            "unlocked": done.is_some(),
            "audit": audit,
            "nav": super::nav(&uri, lang, tz, s.zone),
        });
        Ok::<_, Response>(s.page(StatusCode::OK, "account.html", lang, &csrf, ctx))
    }
    .await;
    let r = guard::with_cookie(r.unwrap_or_else(|e| e), cookie);
    guard::with_cookie(r, tz_cookie)
}
