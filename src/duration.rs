//! Every duration that comes from outside — a config number of seconds, an
//! admin API span such as `"30d"`, an upstream `Retry-After` header, a CLI
//! flag — passes through this one checked type before it becomes a
//! [`Duration`]. Negative, NaN, infinite, overflowing or absurdly long
//! values are refused with an error that names the field (or, for a value an
//! upstream sent, clamped), so no `Duration::from_secs_f64` ever panics and
//! no wait is unbounded. Knows nothing of HTTP, config files or providers.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// The longest duration anyone may configure: ten years. Longer is a typo.
pub const MAX_CONFIGURED: Duration = Duration::from_secs(10 * 365 * 86_400);

/// The longest `Retry-After` honoured from an upstream: one day. A longer
/// one (or an unparsable one) is clamped to this, never trusted as is.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// A checked, finite, non-negative number of seconds, as config files and
/// CLI flags write it (`timeout-secs = 2.5`). Deserializing refuses a bad
/// value, so a config error names its key and line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Seconds(Duration);

impl Seconds {
    /// Checks `secs` (named `what` in the error): finite, ≥ 0 and at most
    /// [`MAX_CONFIGURED`].
    pub fn new(secs: f64, what: &str) -> Result<Seconds> {
        checked_secs(secs, MAX_CONFIGURED)
            .map(Seconds)
            .ok_or_else(|| {
                Error::bad_request(format!(
                    "{what} must be a number of seconds between 0 and {} (got {secs})",
                    MAX_CONFIGURED.as_secs()
                ))
            })
    }

    /// Same, and also more than zero (a timeout of 0 would fail every call).
    pub fn positive(secs: f64, what: &str) -> Result<Seconds> {
        let s = Seconds::new(secs, what)?;
        if s.0.is_zero() {
            return Err(Error::bad_request(format!(
                "{what} must be more than 0 seconds"
            )));
        }
        Ok(s)
    }

    /// Parses a CLI flag's text (`2.5`).
    pub fn parse(text: &str, what: &str) -> Result<Seconds> {
        let secs: f64 = text.trim().parse().map_err(|_| {
            Error::bad_request(format!("{what} must be a number of seconds, not {text:?}"))
        })?;
        Seconds::positive(secs, what)
    }

    pub const fn from_duration(d: Duration) -> Seconds {
        Seconds(d)
    }

    pub fn get(self) -> Duration {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0.as_secs_f64()
    }
}

impl From<Seconds> for Duration {
    fn from(s: Seconds) -> Duration {
        s.0
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}s", self.0.as_secs_f64())
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let secs = f64::deserialize(d)?;
        checked_secs(secs, MAX_CONFIGURED)
            .map(Seconds)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "expected a number of seconds between 0 and {}, got {secs}",
                    MAX_CONFIGURED.as_secs()
                ))
            })
    }
}

impl schemars::JsonSchema for Seconds {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Seconds".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "number",
            "minimum": 0,
            "maximum": MAX_CONFIGURED.as_secs(),
            "description": "seconds (fractions allowed)"
        })
    }
}

/// `secs` as a duration when it is finite, ≥ 0 and at most `max`.
pub fn checked_secs(secs: f64, max: Duration) -> Option<Duration> {
    if !secs.is_finite() || secs < 0.0 || secs > max.as_secs_f64() {
        return None;
    }
    Duration::try_from_secs_f64(secs).ok().filter(|d| *d <= max)
}

/// A span as the admin API writes it: a whole number and one unit, `s`,
/// `m`, `h` or `d` (`30s`, `15m`, `12h`, `7d`). Anything else — another
/// unit, a character that is not ASCII, a number past [`MAX_CONFIGURED`] —
/// is an error naming `what`.
pub fn parse_span(text: &str, what: &str) -> Result<Duration> {
    let bad = |why: &str| {
        Error::bad_request(format!(
            "{what}: {text:?} {why} (write a whole number and s, m, h or d: 30s, 15m, 12h, 7d)"
        ))
    };
    let t = text.trim();
    let Some(unit) = t.chars().last() else {
        return Err(bad("is empty"));
    };
    let per_unit: u64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return Err(bad("has no known unit")),
    };
    // The unit is one ASCII byte, so this slice ends on a char boundary.
    let digits = &t[..t.len() - 1];
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("is not a whole number followed by a unit"));
    }
    let n: u64 = digits.parse().map_err(|_| bad("is too long"))?;
    match n.checked_mul(per_unit) {
        Some(secs) if secs <= MAX_CONFIGURED.as_secs() => Ok(Duration::from_secs(secs)),
        _ => Err(bad(&format!(
            "is longer than {} days",
            MAX_CONFIGURED.as_secs() / 86_400
        ))),
    }
}

/// An upstream's `Retry-After` value: delta-seconds (fractions tolerated) or
/// an HTTP date, relative to `now`. A date in the past is zero; a value past
/// [`MAX_RETRY_AFTER`] is clamped to it; garbage, negative or NaN is None.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        if secs.is_nan() || secs < 0.0 {
            return None;
        }
        return Some(checked_secs(secs, MAX_RETRY_AFTER).unwrap_or(MAX_RETRY_AFTER));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    let left = at.duration_since(now).unwrap_or(Duration::ZERO);
    Some(left.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_seconds_refuse_what_would_panic() {
        for bad in [-1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e30, 1e20] {
            let e = Seconds::new(bad, "timeout-secs").unwrap_err();
            assert!(e.message().starts_with("timeout-secs must be"), "{e}");
        }
        assert_eq!(
            Seconds::new(2.5, "t").unwrap().get(),
            Duration::from_millis(2500)
        );
        assert!(Seconds::positive(0.0, "t").is_err());
        assert!(Seconds::parse("NaN", "--timeout").is_err());
        assert!(Seconds::parse("abc", "--timeout").is_err());
        assert_eq!(
            Seconds::parse(" 3 ", "--timeout").unwrap().get(),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn configured_seconds_deserialize_with_a_reason() {
        #[derive(Deserialize, Debug)]
        struct T {
            #[allow(dead_code)]
            t: Seconds,
        }
        let e = toml::from_str::<T>("t = -1").unwrap_err();
        assert!(e.to_string().contains("number of seconds"), "{e}");
        assert!(toml::from_str::<T>("t = nan").is_err());
        assert!(toml::from_str::<T>("t = inf").is_err());
        assert!(toml::from_str::<T>("t = 1e30").is_err());
        assert!(toml::from_str::<T>("t = 0.25").is_ok());
    }

    #[test]
    fn spans_take_one_ascii_unit_and_a_whole_number() {
        assert_eq!(parse_span("30s", "d").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_span("2h", "d").unwrap(), Duration::from_secs(7200));
        assert_eq!(
            parse_span(" 7d ", "d").unwrap(),
            Duration::from_secs(604_800)
        );
        for bad in [
            "",
            "s",
            "7w",
            "1é",
            "5日",
            "é",
            "-5s",
            "1.5h",
            "18446744073709551615d",
            "99999999999999999999999s",
            "3651d",
            " ",
            "+5s",
        ] {
            let e = parse_span(bad, "duration").unwrap_err();
            assert!(e.message().starts_with("duration: "), "{bad:?}: {e}");
        }
        assert!(parse_span("3650d", "d").is_ok());
    }

    #[test]
    fn retry_after_is_clamped_never_trusted() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(retry_after("2", now), Some(Duration::from_secs(2)));
        assert_eq!(retry_after("0.5", now), Some(Duration::from_millis(500)));
        for huge in ["1e20", "inf", "1e308", "18446744073709551616"] {
            assert_eq!(retry_after(huge, now), Some(MAX_RETRY_AFTER), "{huge}");
        }
        for bad in ["-1", "NaN", "nan", "soon", "", "-inf"] {
            assert_eq!(retry_after(bad, now), None, "{bad}");
        }
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(retry_after(&later, now), Some(Duration::from_secs(30)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(retry_after(&past, now), Some(Duration::ZERO));
    }
}
