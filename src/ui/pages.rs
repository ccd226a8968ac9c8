//! The pages behind the sign-in: the list with the search, and the unlock
//! (an account is [`super::account`]). Each reads through the [`AdminBackend`] on tokio's blocking
//! pool (the store is synchronous SQLite), as the API's handlers do.

use axum::Extension;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Value, json};

use super::guard::{self};
use super::session::Session;
use super::{UiState, account_href, text, zone};
use crate::account::normalize::MAX_LINK_CHARS;
use crate::decision::Assessment;
use crate::escape::Escaped;
use crate::helpdesk::{Code, Diagnosis, Language};
use crate::http::{AdminBackend, BackendError, UnlockError};
use crate::state::model::DecisionRecord;
use crate::telemetry::UnlockHow;

/// Runs a backend call on the blocking pool; a failure is the error page.
pub(super) async fn blocking<T: Send + 'static>(
    s: &UiState,
    lang: Language,
    csrf: &str,
    f: impl FnOnce(&dyn AdminBackend) -> Result<T, BackendError> + Send + 'static,
) -> Result<T, Response> {
    let backend = s.app.backend.clone();
    match tokio::task::spawn_blocking(move || f(backend.as_ref())).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            tracing::error!("helpdesk page: {e}");
            let status = match e {
                BackendError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                BackendError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            Err(s.error(status, lang, csrf, &e.to_string()))
        }
        Err(e) => {
            tracing::error!("helpdesk page: backend call failed: {e}");
            Err(s.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                csrf,
                "internal error",
            ))
        }
    }
}

/// `/ui/decisions/{id}/unlock`.
pub(super) fn unlock_href(id: &str) -> String {
    format!(
        "/ui/decisions/{}/unlock",
        percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
    )
}

/// A decision as the list and the account page show it, times in `tz`.
pub(super) fn lock_view(r: &DecisionRecord, lang: Language, tz: Tz) -> Value {
    let time = |t: DateTime<Utc>| zone::show(t, tz);
    let d = &r.decision;
    let target = match (&d.target.user, d.target.ip, d.target.net) {
        (Some(u), _, _) => u.to_string(),
        (None, Some(ip), _) => ip.to_string(),
        (None, None, Some(net)) => net.to_string(),
        (None, None, None) => String::new(),
    };
    json!({
        "id": d.id,
        "at": time(d.at),
        "target": target,
        "href": d.target.user.as_ref().map(|u| account_href(u)),
        "rule": d.rule.to_string(),
        "action": d.action.as_str(),
        "until": d.until.map_or_else(|| text::word(lang, "until_admin").to_owned(), time),
        "mode": d.mode.as_str(),
        "assessment": text::assessment_key(d.assessment),
        "unlock": unlock_href(&d.id),
    })
}

/// `GET /ui/` query.
#[derive(Debug, Default, Deserialize)]
pub struct IndexQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    assessment: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    tz: Option<String>,
}

/// The accounts a search may mean: the name itself when loginwatch knows
/// it, and the accounts `why` would suggest for it (the mistypings
/// [`crate::account::normalize::link`] recognises), from the diagnosis the
/// API gives too.
fn found(q: &str, d: &Diagnosis) -> Vec<String> {
    let mut names = Vec::new();
    if d.account.known {
        names.push(q.to_owned());
    }
    for c in d.causes.iter().filter(|c| c.code == Code::UnknownUser) {
        names.extend(c.evidence.did_you_mean.iter().map(|n| n.to_string()));
    }
    names.dedup();
    names
}

pub async fn index(
    State(s): State<UiState>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    uri: Uri,
    q: Result<Query<IndexQuery>, QueryRejection>,
) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let (lang, cookie) = guard::language(&s, &headers, q.lang.as_deref());
    let (tz, tz_cookie) = zone::choose(&headers, q.tz.as_deref(), s.zone, s.secure);
    let csrf = session.csrf.clone();
    let filter = q.assessment.as_deref().and_then(Assessment::parse);
    let search = q.q.unwrap_or_default();
    let term = search.trim().to_owned();
    let r = async {
        let locks = blocking(&s, lang, &csrf, |b| b.decisions(true)).await?;
        let mut locks: Vec<&DecisionRecord> = locks
            .iter()
            .filter(|r| filter.is_none_or(|a| r.decision.assessment == a))
            .collect();
        locks.sort_by_key(|r| std::cmp::Reverse(r.decision.at));
        let locks: Vec<Value> = locks.into_iter().map(|r| lock_view(r, lang, tz)).collect();
        let results = if term.is_empty() || term.chars().count() > MAX_LINK_CHARS {
            Vec::new()
        } else {
            let t = term.clone();
            let d = blocking(&s, lang, &csrf, move |b| b.why(&t, Utc::now(), lang)).await?;
            found(&term, &d)
                .into_iter()
                .map(|n| json!({ "href": account_href(&n), "name": n }))
                .collect()
        };
        let ctx = json!({
            "q": search,
            "assessment": filter.map_or("", |a| a.as_str()),
            "locks": locks,
            "results": results,
            "nav": super::nav(&uri, lang, tz, s.zone),
        });
        Ok::<_, Response>(s.page(StatusCode::OK, "index.html", lang, &csrf, ctx))
    }
    .await;
    let r = guard::with_cookie(r.unwrap_or_else(|e| e), cookie);
    guard::with_cookie(r, tz_cookie)
}

/// The unlock form's fields.
#[derive(Debug, Default, Deserialize)]
pub struct UnlockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    /// The account page the form is on (an address block's unlock goes
    /// back there; a lock on an account goes back to that account's),
    /// percent-encoded as in that page's URL.
    #[serde(default)]
    user: String,
}

/// Unlocks through the backend call the API's unlock makes, with the same
/// checks of `by` and `reason`; back to the account page.
pub async fn unlock(
    State(s): State<UiState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    headers: HeaderMap,
    f: Result<Form<UnlockForm>, FormRejection>,
) -> Response {
    let (lang, _) = guard::language(&s, &headers, None);
    let csrf = session.csrf.clone();
    let f = f.map(|Form(f)| f).unwrap_or_default();
    if let Some(r) = guard::csrf(&s, lang, &session, &f.csrf) {
        return r;
    }
    // The API's body check, so both doors accept exactly the same values.
    let body = json!({ "by": session.by, "reason": f.reason }).to_string();
    let (by, reason) = match crate::http::unlock_body(body.as_bytes()) {
        Ok(v) => v,
        Err(m) => return s.error(StatusCode::BAD_REQUEST, lang, &csrf, &m),
    };
    let credential = format!("ui:{}", session.credential);
    let (id2, by2, reason2, cred2) = (id.clone(), by.clone(), reason.clone(), credential.clone());
    let backend = s.app.backend.clone();
    let result =
        tokio::task::spawn_blocking(move || backend.unlock(&id2, &by2, &reason2, &cred2)).await;
    match result {
        Ok(Ok(record)) => {
            s.app.metrics.unlock(UnlockHow::Admin);
            tracing::info!(
                credential = %credential,
                "decision {} unlocked by {}: {}",
                Escaped(&id),
                Escaped(&by),
                Escaped(&reason)
            );
            let back = percent_encoding::percent_decode_str(&f.user)
                .decode_utf8()
                .ok()
                .filter(|u| !u.is_empty() && u.len() <= 1024);
            let to = match record.decision.target.user.as_deref().or(back.as_deref()) {
                Some(u) => format!(
                    "{}?unlocked={}",
                    account_href(u),
                    percent_encoding::utf8_percent_encode(&id, percent_encoding::NON_ALPHANUMERIC)
                ),
                None => "/ui/".to_owned(),
            };
            Redirect::to(&to).into_response()
        }
        Ok(Err(UnlockError::NotFound)) => s.error(
            StatusCode::NOT_FOUND,
            lang,
            &csrf,
            "no decision with this id",
        ),
        Ok(Err(e @ UnlockError::NotActive(_))) => {
            s.error(StatusCode::CONFLICT, lang, &csrf, &e.to_string())
        }
        Ok(Err(UnlockError::Other(e))) => {
            tracing::error!("helpdesk page: {e}");
            s.error(StatusCode::SERVICE_UNAVAILABLE, lang, &csrf, &e.to_string())
        }
        Err(e) => {
            tracing::error!("helpdesk page: backend call failed: {e}");
            s.error(
                StatusCode::INTERNAL_SERVER_ERROR,
                lang,
                &csrf,
                "internal error",
            )
        }
    }
}
