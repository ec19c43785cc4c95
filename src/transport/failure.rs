//! Transport failures typed as errors: a timeout, a refused or reset
//! connection, a request that could not be built. The URL is shown as
//! scheme, host and path only — never its query, where a key may ride — and
//! any credential-looking text in the cause is redacted. Knows no provider
//! and reads no response: an upstream's own error body is the engine's to
//! classify.

use crate::error::{Error, ErrorKind};
use crate::redact::{display_url, redact_credentials};

/// Types a reqwest failure: timeout, connection, or a request that cannot be built.
pub(crate) fn transport_error(e: reqwest::Error) -> Error {
    let at = e
        .url()
        .map(|u| format!(" ({})", display_url(u.as_str())))
        .unwrap_or_default();
    let (timeout, connect, builder) = (e.is_timeout(), e.is_connect(), e.is_builder());
    let e = e.without_url();
    let mut cause = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        cause.push_str(": ");
        cause.push_str(&s.to_string());
        src = s.source();
    }
    let cause = redact_credentials(&cause);
    if timeout && connect {
        Error::new(
            ErrorKind::Timeout,
            format!("could not connect in time{at}: {cause}"),
        )
    } else if timeout {
        Error::new(
            ErrorKind::Timeout,
            format!("no answer in time{at}: {cause}"),
        )
    } else if builder {
        Error::bad_request(format!("cannot build the request{at}: {cause}"))
    } else {
        Error::new(ErrorKind::Connection, format!("{cause}{at}"))
    }
}
