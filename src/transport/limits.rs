//! How long one call may wait and how much it may bring back. Every limit
//! has a finite default, so a stalled or endless upstream always ends in a
//! typed error: a connect timeout, a time to the response head, an idle gap
//! between two pieces of a body (the liveness of a stream: a healthy stream
//! of any length is never cut while its events keep coming), an optional
//! total, and caps on a body read whole and on one stream event. Plain
//! data: enforcing them is the transport's and the stream pump's job.

use std::time::Duration;

/// Time and size limits of one call. `Limits::default()` is what a call
/// gets when nothing is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time to open a connection (TCP and TLS). Default 10 s.
    pub connect: Duration,
    /// Time from sending the request to the response head (status and
    /// headers). A JSON answer's head comes only once the whole answer is
    /// generated, hence a long default: 600 s.
    pub first_byte: Duration,
    /// Longest silence between two pieces of a response body, stream events
    /// included. Default 300 s.
    pub idle: Duration,
    /// The longest the whole call may take, a stream to its last event
    /// included. Default: none (a stream lives while its events come).
    pub total: Option<Duration>,
    /// Largest response body read whole (a JSON answer, an error). Default 32 MiB.
    pub max_body_bytes: usize,
    /// Largest single stream event. Default 32 MiB.
    pub max_event_bytes: usize,
}

/// 32 MiB: far above any answer a model gives, far below what hurts.
const DEFAULT_MAX_BYTES: usize = 32 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(600),
            idle: Duration::from_secs(300),
            total: None,
            max_body_bytes: DEFAULT_MAX_BYTES,
            max_event_bytes: DEFAULT_MAX_BYTES,
        }
    }
}
