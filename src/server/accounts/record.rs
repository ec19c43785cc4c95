//! A virtual key as stored and reported: its record (allowed models, budget
//! for its life or per period, rpm and tpm limits, expiry, metadata), the
//! admin API's fields that change it (checked here: every span through
//! [`parse_span`], so an absurd one is a 400 naming its field), and the
//! key's identity: a key is shown once, then named by its SHA-256 digest
//! (its token). Pure: reads no clock (the caller says what time it is),
//! touches no database.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::duration::parse_span;
use crate::error::{Error, ErrorKind, Result};

/// A virtual key as stored and reported (never the key itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct KeyRecord {
    /// The key's SHA-256 digest, hex: how the admin API names it.
    pub token: String,
    /// The key with its middle masked (`sk-…ab12`), for display.
    pub key_name: String,
    pub key_alias: Option<String>,
    /// Model groups the key may call; empty: all of them.
    pub models: Vec<String>,
    pub max_budget: Option<f64>,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
    /// Calls of this key in flight at once, in this process (litellm's
    /// `max_parallel_requests`); one more is a 429.
    pub max_parallel_requests: Option<i64>,
    /// Unix milliseconds after which the key is refused.
    pub expires_at: Option<i64>,
    pub metadata: Value,
    /// USD spent so far, over the key's life.
    pub spend: f64,
    pub created_at: i64,
    /// The budget's period (`30s`, `15m`, `12h`, `7d`): `max_budget` caps
    /// each period's spend. None: it caps `spend`.
    pub budget_duration: Option<String>,
    /// Unix milliseconds the first period began; periods follow back to back.
    pub budget_started_at: Option<i64>,
    /// Reported: when the current period ends (Unix milliseconds).
    pub budget_reset_at: Option<i64>,
    /// Reported: USD spent in the current period.
    pub budget_spend: Option<f64>,
}

/// A periodic budget's current period: its number and bounds (Unix ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Period {
    /// When the first period began: with `index`, it names the period.
    pub first: i64,
    pub index: i64,
    pub start: i64,
    pub end: i64,
}

impl KeyRecord {
    /// A new key's record, with nothing set yet.
    pub(crate) fn new(key: &str, now: i64) -> KeyRecord {
        KeyRecord {
            token: hash_key(key),
            key_name: mask(key),
            key_alias: None,
            models: Vec::new(),
            max_budget: None,
            rpm_limit: None,
            tpm_limit: None,
            max_parallel_requests: None,
            expires_at: None,
            metadata: Value::Object(Default::default()),
            spend: 0.0,
            created_at: now,
            budget_duration: None,
            budget_started_at: None,
            budget_reset_at: None,
            budget_spend: None,
        }
    }

    /// The budget period `now` falls in; None without a periodic budget
    /// (or with one the database holds in a form no longer understood).
    pub(crate) fn period(&self, now: i64) -> Option<Period> {
        let every = self
            .budget_duration
            .as_deref()
            .and_then(|d| parse_span(d, "budget_duration").ok())?
            .as_millis()
            .clamp(1, i64::MAX as u128) as i64;
        let first = self.budget_started_at.unwrap_or(self.created_at);
        let index = (now.saturating_sub(first)).max(0) / every;
        let start = first.saturating_add(index.saturating_mul(every));
        Some(Period {
            first,
            index,
            start,
            end: start.saturating_add(every),
        })
    }

    /// Refuses a call the key may not make at all: expired (401), or to a
    /// model it is not allowed (403).
    pub(crate) fn allows(&self, model: &str, now: i64) -> Result<()> {
        self.check_expiry(now)?;
        if !self.may_call(model) {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                format!(
                    "this API key may not call model {model:?}; allowed models: {}",
                    self.models.join(", ")
                ),
            )
            .with_code(Some("model_not_allowed".into())));
        }
        Ok(())
    }

    /// An expired key is refused (401) on every route.
    pub(crate) fn check_expiry(&self, now: i64) -> Result<()> {
        match self.expires_at {
            Some(at) if now >= at => Err(Error::new(
                ErrorKind::Authentication,
                format!("this API key ({}) has expired", self.key_name),
            )
            .with_code(Some("key_expired".into()))),
            _ => Ok(()),
        }
    }

    /// Whether the key may call model group `model` (no list: every group).
    pub(crate) fn may_call(&self, model: &str) -> bool {
        self.models.is_empty() || self.models.iter().any(|m| m == model || m == "*")
    }
}

/// The fields of `/key/generate` and `/key/update`; absent ones are kept.
/// Any other field is kept in `metadata` by [`fold_other_fields`] first.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyFields {
    /// The key to update (update only): the key itself or its token.
    #[serde(default)]
    pub key: Option<String>,
    pub key_alias: Option<String>,
    pub models: Option<Vec<String>>,
    pub max_budget: Option<f64>,
    pub rpm_limit: Option<i64>,
    pub tpm_limit: Option<i64>,
    pub max_parallel_requests: Option<i64>,
    /// Lifetime from now: `30s`, `15m`, `12h`, `7d`.
    pub duration: Option<String>,
    /// Absolute expiry, Unix milliseconds.
    pub expires_at: Option<i64>,
    pub metadata: Option<Value>,
    /// The budget's period (`30d`…); empty: the budget is for the key's life.
    pub budget_duration: Option<String>,
}

impl KeyFields {
    /// Checks the fields and writes them into `r`, as of `now` (Unix ms);
    /// a bad field is a 400 naming it, and `r` is then left unchanged.
    pub(crate) fn apply(self, r: &mut KeyRecord, now: i64) -> Result<()> {
        let mut next = r.clone();
        if let Some(v) = self.key_alias {
            next.key_alias = Some(v);
        }
        if let Some(v) = self.models {
            next.models = v;
        }
        if let Some(v) = self.max_budget {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::bad_request("max_budget must be a number ≥ 0"));
            }
            next.max_budget = Some(v);
        }
        for (name, value, slot) in [
            ("rpm_limit", self.rpm_limit, &mut next.rpm_limit),
            ("tpm_limit", self.tpm_limit, &mut next.tpm_limit),
            (
                "max_parallel_requests",
                self.max_parallel_requests,
                &mut next.max_parallel_requests,
            ),
        ] {
            if let Some(v) = value {
                // A cap of no call at all would lock the key out.
                let least = i64::from(name == "max_parallel_requests");
                if v < least {
                    return Err(
                        Error::bad_request(format!("{name} must be ≥ {least}")).with_param(name)
                    );
                }
                *slot = Some(v);
            }
        }
        if let Some(d) = self.duration {
            let life = parse_span(&d, "duration")?.as_millis();
            let life = i64::try_from(life).unwrap_or(i64::MAX);
            next.expires_at = Some(now.saturating_add(life));
        }
        if let Some(at) = self.expires_at {
            next.expires_at = Some(at);
        }
        if let Some(m) = self.metadata {
            if !m.is_object() {
                return Err(Error::bad_request("metadata must be a JSON object"));
            }
            next.metadata = m;
        }
        if let Some(d) = self.budget_duration {
            let d = d.trim();
            if d.is_empty() {
                next.budget_duration = None;
                next.budget_started_at = None;
            } else {
                if parse_span(d, "budget_duration")?.is_zero() {
                    return Err(Error::bad_request("budget_duration must be at least 1s"));
                }
                // The first period begins now, also when the period changes.
                if next.budget_duration.as_deref() != Some(d) {
                    next.budget_started_at = Some(now);
                }
                next.budget_duration = Some(d.to_string());
            }
        }
        *r = next;
        Ok(())
    }
}

/// The fields [`KeyFields`] takes.
const FIELDS: [&str; 11] = [
    "key",
    "key_alias",
    "models",
    "max_budget",
    "rpm_limit",
    "tpm_limit",
    "max_parallel_requests",
    "duration",
    "expires_at",
    "metadata",
    "budget_duration",
];

/// litellm's `/key/generate` fields for what this proxy has no concept of
/// (users, teams, tags, per-model limits, …), and why each is only kept.
const LITELLM_ONLY: [(&str, &str); 18] = [
    ("user_id", "this proxy has no users"),
    ("team_id", "this proxy has no teams"),
    ("organization_id", "this proxy has no organizations"),
    ("tags", "this proxy does not route or report by tag"),
    ("soft_budget", "this proxy sends no budget alerts"),
    (
        "model_max_budget",
        "this proxy has no per-model budgets: max_budget caps every model",
    ),
    (
        "model_rpm_limit",
        "this proxy has no per-model limits: rpm_limit covers every model",
    ),
    (
        "model_tpm_limit",
        "this proxy has no per-model limits: tpm_limit covers every model",
    ),
    ("aliases", "this proxy has no per-key model aliases"),
    ("config", "this proxy has no per-key config"),
    (
        "permissions",
        "this proxy has no per-key permissions beyond models",
    ),
    (
        "allowed_routes",
        "a virtual key reaches the API routes only",
    ),
    ("allowed_cache_controls", "this proxy has no response cache"),
    ("guardrails", "this proxy runs no guardrails"),
    (
        "enforced_params",
        "this proxy enforces no request parameters",
    ),
    ("blocked", "delete the key (/key/delete) to block it"),
    ("send_invite_email", "this proxy sends no email"),
    ("spend", "spend is counted from the spend log"),
];

/// Moves every field of an admin request body that [`KeyFields`] does not
/// take into its `metadata` object (created if absent), so litellm's
/// fields and unknown ones are stored rather than refused; returns a
/// warning for each. A body whose `metadata` is not an object is left for
/// [`KeyFields::apply`] to refuse.
pub(crate) fn fold_other_fields(body: &mut serde_json::Map<String, Value>) -> Vec<String> {
    let others: Vec<String> = body
        .keys()
        .filter(|k| !FIELDS.contains(&k.as_str()))
        .cloned()
        .collect();
    if others.is_empty()
        || body
            .get("metadata")
            .is_some_and(|m| !m.is_object() && !m.is_null())
    {
        return Vec::new();
    }
    let mut metadata = match body.remove("metadata") {
        Some(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    let mut warnings = Vec::new();
    for field in others {
        let Some(value) = body.remove(&field) else {
            continue;
        };
        let why = LITELLM_ONLY
            .iter()
            .find(|(f, _)| *f == field)
            .map_or("not a field this proxy knows", |(_, why)| why);
        warnings.push(format!(
            "{field} is stored in metadata, not enforced: {why}"
        ));
        metadata.insert(field, value);
    }
    body.insert("metadata".into(), Value::Object(metadata));
    warnings
}

/// A key's stored name: the hex SHA-256 of the key.
pub(crate) fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A token passes as is; anything else is a key to hash.
pub(crate) fn token_of(key_or_token: &str) -> String {
    let t = key_or_token.trim();
    if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        t.to_ascii_lowercase()
    } else {
        hash_key(t)
    }
}

/// Equal-length digests compared without an early exit.
pub(crate) fn same_digest(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// `sk-` and 48 random hex digits.
pub(crate) fn new_key() -> Result<String> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::new(ErrorKind::Internal, format!("no randomness for a key: {e}")))?;
    Ok(format!("sk-{}", hex::encode(bytes)))
}

fn mask(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("sk-...{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(json: Value) -> KeyFields {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn budget_periods_follow_back_to_back_from_their_start() {
        let mut r = KeyRecord::new("sk-x", 500);
        r.max_budget = Some(1.0);
        assert_eq!(r.period(10_000), None);
        r.budget_duration = Some("10s".into());
        // Without a start of its own, the first period starts with the key.
        let p = r.period(10_499).unwrap();
        assert_eq!((p.first, p.index, p.start, p.end), (500, 0, 500, 10_500));
        r.budget_started_at = Some(1_000);
        let p = r.period(31_000).unwrap();
        assert_eq!((p.index, p.start, p.end), (3, 31_000, 41_000));
        assert_eq!(r.period(40_999).unwrap().index, 3);
        // A clock behind the start counts as the first period.
        assert_eq!(r.period(0).unwrap().index, 0);
        // A period the database holds in an unknown form is no period.
        r.budget_duration = Some("1é".into());
        assert_eq!(r.period(0), None);
    }

    /// Issue 10: these panicked (slicing inside a character) or wrapped into
    /// a key born expired; each is now refused, naming its field, and the
    /// record is left as it was.
    #[test]
    fn absurd_spans_are_refused_naming_their_field() {
        let mut r = KeyRecord::new("sk-x", 1_000);
        let before = r.clone();
        for (json, field) in [
            (
                serde_json::json!({"budget_duration": "1é"}),
                "budget_duration",
            ),
            (serde_json::json!({"duration": "5日"}), "duration"),
            (
                serde_json::json!({"duration": "18446744073709551615d"}),
                "duration",
            ),
            (serde_json::json!({"duration": "soon"}), "duration"),
            (
                serde_json::json!({"budget_duration": "0s"}),
                "budget_duration",
            ),
            (
                serde_json::json!({"max_budget": 2.0, "budget_duration": "9999999d"}),
                "budget_duration",
            ),
        ] {
            let e = fields(json.clone()).apply(&mut r, 1_000).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BadRequest, "{json}");
            assert!(e.message().starts_with(field), "{json}: {e}");
            assert_eq!(r, before, "{json} changed the record");
        }
        // The longest span allowed ends far ahead, never in the past.
        fields(serde_json::json!({"duration": "3650d"}))
            .apply(&mut r, i64::MAX - 5)
            .unwrap();
        assert_eq!(r.expires_at, Some(i64::MAX));
    }

    #[test]
    fn a_new_period_starts_when_the_period_changes() {
        let mut r = KeyRecord::new("sk-x", 0);
        fields(serde_json::json!({"budget_duration": "1h"}))
            .apply(&mut r, 50)
            .unwrap();
        assert_eq!(r.budget_started_at, Some(50));
        fields(serde_json::json!({"budget_duration": "1h", "max_budget": 1.0}))
            .apply(&mut r, 70)
            .unwrap();
        assert_eq!(r.budget_started_at, Some(50), "same period, same start");
        fields(serde_json::json!({"budget_duration": ""}))
            .apply(&mut r, 90)
            .unwrap();
        assert_eq!(
            (r.budget_duration.clone(), r.budget_started_at),
            (None, None)
        );
    }

    #[test]
    fn expired_keys_and_other_models_are_refused() {
        let mut r = KeyRecord::new("sk-x", 0);
        r.expires_at = Some(100);
        r.models = vec!["chat".into()];
        assert!(r.allows("chat", 99).is_ok());
        let e = r.allows("chat", 100).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Authentication);
        let e = r.allows("other", 0).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied);
        assert!(e.message().contains("\"other\""), "{e}");
    }

    #[test]
    fn tokens_and_keys_name_the_same_record() {
        let key = "sk-abc";
        let token = hash_key(key);
        assert_eq!(token_of(key), token);
        assert_eq!(token_of(&token), token);
        assert!(same_digest(token.as_bytes(), hash_key(key).as_bytes()));
        assert!(!same_digest(
            token.as_bytes(),
            hash_key("sk-abd").as_bytes()
        ));
    }

    #[test]
    fn generated_keys_differ_and_are_masked() {
        let (a, b) = (new_key().unwrap(), new_key().unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with("sk-") && a.len() == 51);
        assert_eq!(mask("sk-0123456789"), "sk-...6789");
    }
}
