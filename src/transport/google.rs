//! The `google-service-account` auth scheme: a service-account key becomes
//! a short-lived OAuth 2.0 access token, sent as `Authorization: Bearer`.
//! The token comes from a JWT (RS256) signed with the key and exchanged at
//! the key's own `token_uri`; it is cached per key until shortly before it
//! expires, and concurrent calls with one key share a single exchange.
//! Knows no provider: any spec may name the scheme.
//! <https://developers.google.com/identity/protocols/oauth2/service-account#httprest>

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Limits, read_body, transport_error};
use crate::error::{Error, ErrorKind, Result};
use crate::redact::display_url;
use crate::template::helpers::url_encode;

/// The OAuth scope asked for: the whole of Google Cloud, which the
/// service account's IAM roles then narrow.
const SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The OAuth 2.0 grant for a signed JWT assertion (RFC 7523).
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Lifetime of the assertion, the most Google accepts.
const ASSERTION_SECS: u64 = 3600;
/// A cached token is replaced this long before it expires (at most half its
/// lifetime), so a request never leaves with a token about to lapse.
const REFRESH_MARGIN_SECS: u64 = 300;
/// How long a token exchange may take before the call fails (retryable).
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
/// Lifetime assumed when the token endpoint does not say (`expires_in`).
const DEFAULT_EXPIRES_IN: u64 = 3600;
/// The longest lifetime believed; a token endpoint claiming more is refreshed sooner.
const MAX_EXPIRES_IN: u64 = 86_400;
/// Largest token answer read: a token is a few kilobytes.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Seconds since the Unix epoch; injected so tests control expiry.
pub(crate) type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The wall clock.
pub(crate) fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

/// The fields of a service-account key file that the exchange needs.
#[derive(Deserialize)]
struct ServiceAccount {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: String,
    private_key: String,
    private_key_id: Option<String>,
    token_uri: String,
}

/// What a call's key turned out to be.
enum Credential {
    Account(ServiceAccount),
    /// A ready OAuth access token, sent as it is.
    Token(String),
}

/// One key's cache slot; its async lock makes concurrent calls share one exchange.
type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

struct Cached {
    token: String,
    /// When (epoch seconds) to fetch a new token instead.
    refresh_at: u64,
}

/// Access tokens per service-account key, owned by the transport.
pub(crate) struct Tokens {
    http: reqwest::Client,
    clock: Clock,
    /// Keyed by (client_email, token_uri, private key).
    slots: Mutex<HashMap<(String, String, String), Slot>>,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.slots.lock().map_or(0, |s| s.len());
        f.debug_struct("Tokens")
            .field("cached_keys", &n)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub(crate) fn new(http: reqwest::Client, clock: Clock) -> Self {
        Tokens {
            http,
            clock,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The access token to send for `key`: the JSON of a service-account key,
    /// the path of a key file, or else a ready access token.
    pub(crate) async fn access_token(&self, key: &str) -> Result<String> {
        let account = match credential(key).await? {
            Credential::Token(token) => return Ok(token),
            Credential::Account(account) => account,
        };
        let slot = self.slot(&account);
        let mut cached = slot.lock().await;
        let now = (self.clock)();
        if let Some(c) = cached.as_ref().filter(|c| now < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let fresh = self.exchange(&account, now).await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    fn slot(&self, a: &ServiceAccount) -> Slot {
        let key = (
            a.client_email.clone(),
            a.token_uri.clone(),
            a.private_key.clone(),
        );
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.entry(key).or_default().clone()
    }

    /// Signs an assertion and trades it for an access token.
    async fn exchange(&self, a: &ServiceAccount, now: u64) -> Result<Cached> {
        let assertion = sign_assertion(a, now)?;
        let form = format!(
            "grant_type={}&assertion={}",
            url_encode(GRANT_TYPE),
            url_encode(&assertion)
        );
        let mut resp = self
            .http
            .post(&a.token_uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .timeout(EXCHANGE_TIMEOUT)
            .send()
            .await
            .map_err(transport_error)?;
        let status = resp.status().as_u16();
        let limits = Limits {
            max_body_bytes: MAX_ANSWER_BYTES,
            ..Limits::default()
        };
        let body = read_body(&mut resp, &limits, None).await?;
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status >= 400 {
            // A refusal (bad key, revoked account, clock skew) is an
            // authentication error; an outage keeps its retryable kind.
            let kind = match status {
                429 | 500.. => ErrorKind::from_status(status),
                _ => ErrorKind::Authentication,
            };
            return Err(Error::new(
                kind,
                format!(
                    "the token endpoint {} refused the service-account key of {}: {}",
                    display_url(&a.token_uri),
                    a.client_email,
                    endpoint_message(&json, &body)
                ),
            )
            .with_status(status));
        }
        let Some(token) = json["access_token"].as_str().filter(|t| !t.is_empty()) else {
            return Err(auth_error(format!(
                "the token endpoint {} answered without an access_token: {}",
                display_url(&a.token_uri),
                endpoint_message(&json, &body)
            )));
        };
        let expires_in = json["expires_in"]
            .as_u64()
            .unwrap_or(DEFAULT_EXPIRES_IN)
            .min(MAX_EXPIRES_IN);
        Ok(Cached {
            token: token.to_string(),
            refresh_at: now.saturating_add(expires_in - REFRESH_MARGIN_SECS.min(expires_in / 2)),
        })
    }
}

/// The claims Google's token endpoint expects in the assertion.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct Claims {
    pub(crate) iss: String,
    pub(crate) scope: String,
    pub(crate) aud: String,
    pub(crate) iat: u64,
    pub(crate) exp: u64,
}

fn sign_assertion(a: &ServiceAccount, now: u64) -> Result<String> {
    let key = EncodingKey::from_rsa_pem(a.private_key.as_bytes()).map_err(|e| {
        auth_error(format!(
            "the private_key of {} is not an RSA key in PEM form: {e}",
            a.client_email
        ))
    })?;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = a.private_key_id.clone();
    let claims = Claims {
        iss: a.client_email.clone(),
        scope: SCOPE.to_string(),
        aud: a.token_uri.clone(),
        iat: now,
        exp: now.saturating_add(ASSERTION_SECS),
    };
    jsonwebtoken::encode(&header, &claims, &key)
        .map_err(|e| auth_error(format!("cannot sign the token request: {e}")))
}

/// The key rule: JSON text is the key itself; else a path to an existing
/// file is read as the key; else the text is a ready access token — unless
/// it looks like a path (a `/` or `\`, or ending in `.json`), which is then
/// a missing file.
async fn credential(key: &str) -> Result<Credential> {
    let key = key.trim();
    if key.starts_with('{') {
        return parse_account(key, "the key").map(Credential::Account);
    }
    if tokio::fs::metadata(key).await.is_ok_and(|m| m.is_file()) {
        let text = tokio::fs::read_to_string(key).await.map_err(|e| {
            auth_error(format!(
                "cannot read the service-account key file {key}: {e}"
            ))
        })?;
        return parse_account(&text, key).map(Credential::Account);
    }
    if key.contains('/') || key.contains('\\') || key.ends_with(".json") {
        return Err(auth_error(format!("no service-account key file at {key}")));
    }
    Ok(Credential::Token(key.to_string()))
}

fn parse_account(text: &str, what: &str) -> Result<ServiceAccount> {
    let account: ServiceAccount = serde_json::from_str(text).map_err(|e| {
        auth_error(format!(
            "{what} is not a service-account key (JSON with client_email, private_key and token_uri): {e}"
        ))
    })?;
    match account.kind.as_deref() {
        None | Some("service_account") => Ok(account),
        Some(other) => Err(auth_error(format!(
            "{what} holds a {other:?} credential; this scheme takes a service-account key"
        ))),
    }
}

/// The endpoint's own words: OAuth's `error` and `error_description`, else the body.
fn endpoint_message(json: &Value, body: &[u8]) -> String {
    let code = json["error"].as_str();
    let desc = json["error_description"]
        .as_str()
        .or_else(|| json["error"]["message"].as_str());
    match (code, desc) {
        (Some(c), Some(d)) => format!("{c}: {d}"),
        (Some(c), None) => c.to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) => String::from_utf8_lossy(body).chars().take(300).collect(),
    }
}

fn auth_error(message: String) -> Error {
    Error::new(ErrorKind::Authentication, message)
}

#[cfg(test)]
mod tests;
