//! LINE WORKS service-account authentication (API 2.0, "Service Account
//! authentication (JWT)"): the app's Client ID and Client Secret, the
//! Service Account id and its private key, all from the Developer Console.
//!
//! The documented exchange: a JWT signed with RS256 by the service account's
//! private key, claims `iss` = Client ID, `sub` = Service Account id, `iat`
//! and `exp` (at most 60 minutes after `iat`), POSTed form-encoded to
//! `https://auth.worksmobile.com/oauth2/v2.0/token` with
//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`, `client_id`,
//! `client_secret` and `scope`; the reply is JSON with `access_token` and
//! `expires_in` (seconds; LINE WORKS writes it as a string, `"86400"`, so a
//! number or a numeric string is accepted). The audit API needs scope
//! `audit.read`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Secret, wire};

/// The scope of the audit log download API.
pub const SCOPE: &str = "audit.read";

/// How long an assertion is valid (the service accepts at most 60 minutes).
const ASSERTION_LIFETIME: i64 = 30 * 60;

/// A token is renewed this long before the service says it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(5 * 60);

/// The service account, as the credentials file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: Secret,
    pub service_account: String,
    /// PEM (PKCS#8 `BEGIN PRIVATE KEY`, as the Developer Console issues it,
    /// or PKCS#1 `BEGIN RSA PRIVATE KEY`).
    pub private_key: Secret,
}

/// Where the private key is, in the credentials file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyIn {
    /// `private_key`: the PEM text itself.
    Inline(Secret),
    /// `private_key_file`: a path (relative to the credentials file's directory).
    File(PathBuf),
}

/// The credentials file as written (TOML, or JSON when it starts with `{`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredentials {
    client_id: String,
    client_secret: String,
    service_account: String,
    private_key: Option<String>,
    private_key_file: Option<String>,
}

/// What is wrong with a credentials file. No variant carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("not valid {format}: {message}")]
    Syntax {
        format: &'static str,
        message: String,
    },
    #[error("{0} is empty")]
    Empty(&'static str),
    #[error("give the key as private_key (the PEM text) or private_key_file (its path), not both")]
    BothKeys,
    #[error("no private key: add private_key (the PEM text) or private_key_file (its path)")]
    NoKey,
    #[error(
        "the private key is not an RSA key in PEM ({0}); use the key file the Developer Console issued for the service account"
    )]
    BadKey(String),
}

/// Parses a credentials file's text: the fields and where the key is.
pub fn parse(text: &str) -> Result<(Credentials, KeyIn), CredentialsError> {
    let raw: RawCredentials = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| CredentialsError::Syntax {
            format: "JSON",
            // Line and column only: serde's message can quote a value.
            message: format!("line {} column {}", e.line(), e.column()),
        })?
    } else {
        toml::from_str(text).map_err(|e| CredentialsError::Syntax {
            format: "TOML",
            // The message without the snippet toml adds, which could be a secret.
            message: e.message().to_owned(),
        })?
    };
    for (v, name) in [
        (&raw.client_id, "client_id"),
        (&raw.client_secret, "client_secret"),
        (&raw.service_account, "service_account"),
    ] {
        if v.trim().is_empty() {
            return Err(CredentialsError::Empty(name));
        }
    }
    let key = match (raw.private_key, raw.private_key_file) {
        (Some(_), Some(_)) => return Err(CredentialsError::BothKeys),
        (Some(k), None) => KeyIn::Inline(Secret::new(k)),
        (None, Some(f)) => KeyIn::File(PathBuf::from(f)),
        (None, None) => return Err(CredentialsError::NoKey),
    };
    let creds = Credentials {
        client_id: raw.client_id.trim().to_owned(),
        client_secret: Secret::new(raw.client_secret.trim()),
        service_account: raw.service_account.trim().to_owned(),
        private_key: Secret::new(""),
    };
    Ok((creds, key))
}

/// Checks that `pem` is an RSA private key the signer can use.
pub fn check_key(pem: &str) -> Result<(), CredentialsError> {
    jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes())
        .map(drop)
        .map_err(|e| CredentialsError::BadKey(e.to_string()))
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    iat: i64,
    exp: i64,
}

/// The signed assertion at `now` (Unix seconds).
pub fn assertion(c: &Credentials, now: i64) -> Result<String, CredentialsError> {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(c.private_key.expose().as_bytes())
        .map_err(|e| CredentialsError::BadKey(e.to_string()))?;
    let claims = Claims {
        iss: &c.client_id,
        sub: &c.service_account,
        iat: now,
        exp: now + ASSERTION_LIFETIME,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .map_err(|e| CredentialsError::BadKey(e.to_string()))
}

/// An access token and when to renew it.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub token: Secret,
    pub renew_at: Instant,
}

/// Why no token was had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// The service refused the credentials (a 4xx): fix the configuration.
    Refused(String),
    /// The exchange failed (network, 5xx, a reply not understood): retry.
    Failed(String),
}

/// The token the service returns, read leniently (see the module header).
fn read_reply(body: &str, now: Instant) -> Result<AccessToken, TokenError> {
    let v: serde_json::Value = serde_json::from_str(body)
        .map_err(|_| TokenError::Failed("the token reply is not JSON".into()))?;
    let token = v
        .get("access_token")
        .and_then(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| TokenError::Failed("the token reply has no access_token".into()))?;
    let secs = match v.get("expires_in") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
    // Without a lifetime: renew after an hour, the shortest documented one.
    .unwrap_or(3600);
    let life = Duration::from_secs(secs);
    Ok(AccessToken {
        token: Secret::new(token),
        renew_at: now + life.saturating_sub(RENEW_BEFORE).max(life / 2),
    })
}

/// Gets an access token from `token_url`.
pub fn fetch(
    agent: &ureq::Agent,
    token_url: &str,
    c: &Credentials,
    scope: &str,
) -> Result<AccessToken, TokenError> {
    let unix = chrono::Utc::now().timestamp();
    let jwt = assertion(c, unix).map_err(|e| TokenError::Refused(e.to_string()))?;
    let sent = agent.post(token_url).send_form([
        ("assertion", jwt.as_str()),
        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
        ("client_id", c.client_id.as_str()),
        ("client_secret", c.client_secret.expose()),
        ("scope", scope),
    ]);
    let resp =
        sent.map_err(|e| TokenError::Failed(format!("token request: {}", wire::transport(&e))))?;
    let status = resp.status().as_u16();
    match status {
        200 => {
            let body = wire::text(resp, 1024 * 1024).map_err(TokenError::Failed)?;
            read_reply(&body, Instant::now())
        }
        400..=499 if status != 408 && status != 429 => Err(TokenError::Refused(format!(
            "the token endpoint refused the service account ({status} {})",
            wire::snippet(resp)
        ))),
        _ => Err(TokenError::Failed(format!(
            "token request: HTTP {status} {}",
            wire::snippet(resp)
        ))),
    }
}

#[cfg(test)]
mod tests;
