//! Reading a response body within the call's limits: a body read whole
//! stops at `max_body_bytes` (checked against its Content-Length first, so
//! an oversized answer is refused before it is read), and every wait for the
//! next piece — of a whole body or of a stream — is bounded by the idle gap
//! and by the call's deadline. A stream's timer is moved forward per piece,
//! never made anew. Knows no provider JSON and no framing.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::time::{Instant, Sleep};

use super::Limits;
use super::failure::transport_error;
use crate::error::{Error, ErrorKind, Result};
use crate::redact::display_url;

/// The earlier of two optional instants.
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// `from + d`, or None when that is past what a clock can hold (no deadline then).
pub(crate) fn after(from: Instant, d: Option<Duration>) -> Option<Instant> {
    from.checked_add(d?)
}

/// Reads all of `resp` within `limits`, by `deadline` when there is one.
pub(crate) async fn read_body(
    resp: &mut reqwest::Response,
    limits: &Limits,
    deadline: Option<Instant>,
) -> Result<Bytes> {
    let max = limits.max_body_bytes;
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large(resp.url(), max));
    }
    // Most answers come in one piece: that one is returned as it is, uncopied.
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut len = 0usize;
    loop {
        let by = earliest(after(Instant::now(), Some(limits.idle)), deadline);
        let next = match by {
            Some(by) => tokio::time::timeout_at(by, resp.chunk())
                .await
                .map_err(|_| stalled(resp.url(), limits, deadline))?,
            None => resp.chunk().await,
        };
        let Some(piece) = next.map_err(transport_error)? else {
            break;
        };
        len = len.saturating_add(piece.len());
        if len > max {
            return Err(too_large(resp.url(), max));
        }
        match first.take() {
            None if joined.is_empty() => first = Some(piece),
            held => {
                if let Some(held) = held {
                    joined.extend_from_slice(&held);
                }
                joined.extend_from_slice(&piece);
            }
        }
    }
    Ok(first.unwrap_or_else(|| Bytes::from(joined)))
}

/// A streamed body: each next piece within the idle gap, all of them within
/// the call's total when it has one.
pub(crate) struct BodyStream {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    /// Fires when the next piece is overdue.
    timer: Pin<Box<Sleep>>,
    idle: Duration,
    total_by: Option<Instant>,
    total: Option<Duration>,
    url: reqwest::Url,
}

impl BodyStream {
    /// Starts the idle timer now. `total_by` is when the whole call must end.
    pub(crate) fn new(resp: reqwest::Response, limits: &Limits, total_by: Option<Instant>) -> Self {
        let url = resp.url().clone();
        let idle = limits.idle;
        let first = earliest(after(Instant::now(), Some(idle)), total_by);
        BodyStream {
            body: resp.bytes_stream().boxed(),
            timer: Box::pin(tokio::time::sleep_until(first.unwrap_or_else(far_future))),
            idle,
            total_by,
            total: limits.total,
            url,
        }
    }

    /// The next piece; None at the end of the body.
    pub(crate) async fn next(&mut self) -> Option<Result<Bytes>> {
        tokio::select! {
            biased;
            item = self.body.next() => match item {
                Some(Ok(piece)) => {
                    let next = earliest(after(Instant::now(), Some(self.idle)), self.total_by);
                    self.timer.as_mut().reset(next.unwrap_or_else(far_future));
                    Some(Ok(piece))
                }
                Some(Err(e)) => Some(Err(transport_error(e))),
                None => None,
            },
            () = self.timer.as_mut() => Some(Err(self.overdue())),
        }
    }

    fn overdue(&self) -> Error {
        let at = display_url(self.url.as_str());
        let message = match (self.total_by, self.total) {
            (Some(by), Some(total)) if Instant::now() >= by => format!(
                "the stream from {at} ran past the call's total time limit ({}s)",
                total.as_secs_f64()
            ),
            _ => format!(
                "the stream from {at} sent nothing for {}s (idle limit)",
                self.idle.as_secs_f64()
            ),
        };
        Error::new(ErrorKind::Timeout, message)
    }
}

/// A deadline no call reaches (about 30 years ahead).
fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(86_400 * 365 * 30))
        .unwrap_or(now)
}

fn too_large(url: &reqwest::Url, max: usize) -> Error {
    Error::new(
        ErrorKind::Connection,
        format!(
            "the response from {} is larger than {max} bytes (the body size limit)",
            display_url(url.as_str())
        ),
    )
}

fn stalled(url: &reqwest::Url, limits: &Limits, deadline: Option<Instant>) -> Error {
    let at = display_url(url.as_str());
    let message = if deadline.is_some_and(|d| Instant::now() >= d) {
        format!("the response from {at} did not finish before the call's deadline")
    } else {
        format!(
            "the response from {at} sent nothing for {}s (idle limit)",
            limits.idle.as_secs_f64()
        )
    };
    Error::new(ErrorKind::Timeout, message)
}
