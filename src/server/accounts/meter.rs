//! One call's accounting, from admission to its spend row: a [`Meter`]
//! holds the call's spend-log slot and its key's reservation; finishing it
//! records a success, dropping it unfinished records a failure (an error,
//! a cut stream), so every call settles its reservation and writes its row
//! exactly once. The Router's retries happen inside one call, so nothing
//! is charged twice. [`Metered`] finishes a stream's meter at its end.
//!
//! This is the seam the one call record of a later step grows from.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;

use super::clock::WallClock;
use super::key::KeyState;
use super::limits::{Limits, Reservation, Spent};
use super::redis::Shared;
use super::spend_log::{Slot, SpendLog, SpendRow};
use crate::error::Result;
use crate::types::{ChatChunk, ChatRequest, Usage};

/// One call's accounting; does nothing for a server without a database.
#[derive(Debug)]
pub(crate) struct Meter(Option<Box<Metering>>);

#[derive(Debug)]
struct Metering {
    log: SpendLog,
    /// Taken when the row is sent.
    slot: Option<Slot>,
    clock: WallClock,
    /// The virtual key, what it reserved, and where its counters live.
    key: Option<(Arc<KeyState>, Reservation)>,
    redis: Option<Shared>,
    group: String,
    deployment: String,
    started: i64,
}

/// What [`Meter::start`] needs to know of an admitted call.
pub(crate) struct Admitted<'a> {
    pub log: &'a SpendLog,
    pub slot: Slot,
    pub clock: &'a WallClock,
    pub key: Option<(Arc<KeyState>, Reservation)>,
    pub redis: Option<&'a Shared>,
    pub group: &'a str,
    pub started: i64,
}

impl Meter {
    /// A meter that records nothing (no database).
    pub(crate) fn none() -> Meter {
        Meter(None)
    }

    pub(crate) fn start(a: Admitted<'_>) -> Meter {
        Meter(Some(Box::new(Metering {
            log: a.log.clone(),
            slot: Some(a.slot),
            clock: a.clock.clone(),
            key: a.key,
            redis: a.redis.cloned(),
            group: a.group.to_string(),
            deployment: String::new(),
            started: a.started,
        })))
    }

    /// Names the deployment that answered (a stream is finished later).
    pub(crate) fn served_by(&mut self, deployment: &str) {
        if let Some(m) = &mut self.0 {
            m.deployment = deployment.to_string();
        }
    }

    /// Records a success with the response's usage and cost.
    pub(crate) fn finish(mut self, deployment: &str, usage: Option<&Usage>) {
        if let Some(mut m) = self.0.take() {
            m.deployment = deployment.to_string();
            m.record("success", usage);
        }
    }

    /// Asks a stream for its usage chunk when this call is logged, so the
    /// cost is known at the end; true when the client had not asked (the
    /// chunk is then kept from it).
    pub(crate) fn want_usage(&self, req: &mut ChatRequest) -> bool {
        if self.0.is_none() || req.include_usage() {
            return false;
        }
        let mut options = req.stream_options.clone().unwrap_or_default();
        options.include_usage = Some(true);
        req.stream_options = Some(options);
        true
    }
}

impl Metering {
    fn record(&mut self, status: &str, usage: Option<&Usage>) {
        let cost = usage.and_then(|u| u.cost).map_or(0.0, |c| c.usd).max(0.0);
        let cost = if cost.is_finite() { cost } else { 0.0 };
        let total = usage.map_or(0, |u| u.total_tokens);
        let now = self.clock.now_ms();
        let key_hash = self.key.take().map(|(key, reservation)| {
            let limits = match &self.redis {
                Some(shared) => Limits::Redis(shared),
                None => Limits::Local,
            };
            let spent = Spent {
                usd: cost,
                tokens: total,
            };
            if let Some(sent) = limits.settle(&key, reservation, spent, now) {
                // Counted in the fleet moments after the call ends, off its path.
                match tokio::runtime::Handle::try_current() {
                    Ok(rt) => drop(rt.spawn(sent)),
                    Err(_) => key.settle_done(),
                }
            }
            key.token()
        });
        if let Some(slot) = self.slot.take() {
            let row = row(self, key_hash, status, usage, cost, now);
            self.log.send(row, slot);
        }
    }
}

fn row(
    m: &mut Metering,
    key_hash: Option<String>,
    status: &str,
    usage: Option<&Usage>,
    cost: f64,
    now: i64,
) -> SpendRow {
    let tokens = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    SpendRow {
        request_id: request_id(now),
        key_hash,
        model_group: std::mem::take(&mut m.group),
        deployment: std::mem::take(&mut m.deployment),
        prompt_tokens: usage.map_or(0, |u| tokens(u.prompt_tokens)),
        completion_tokens: usage.map_or(0, |u| tokens(u.completion_tokens)),
        total_tokens: usage.map_or(0, |u| tokens(u.total_tokens)),
        cost,
        latency_ms: now.saturating_sub(m.started).max(0),
        status: status.to_string(),
        created_at: now,
    }
}

impl Drop for Meter {
    fn drop(&mut self) {
        if let Some(mut m) = self.0.take() {
            m.record("failure", None);
        }
    }
}

/// A unique row id: time and randomness.
fn request_id(now: i64) -> String {
    let mut bytes = [0u8; 12];
    let _ = getrandom::fill(&mut bytes);
    format!("{:x}-{}", now.max(0), hex::encode(bytes))
}

/// A chat stream that finishes its [`Meter`] when it ends, with the usage
/// chunk's usage and cost; cut short or failed, the meter records a failure.
pub(crate) struct Metered<S> {
    inner: S,
    meter: Option<Meter>,
    usage: Option<Usage>,
    /// Keep the usage chunk from the client (it did not ask for one).
    hide_usage: bool,
}

impl<S> Metered<S> {
    pub(crate) fn new(inner: S, meter: Meter, hide_usage: bool) -> Self {
        Metered {
            inner,
            meter: Some(meter),
            usage: None,
            hide_usage,
        }
    }
}

impl<S: Stream<Item = Result<ChatChunk>> + Unpin> Stream for Metered<S> {
    type Item = Result<ChatChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let this = &mut *self;
            let polled = Pin::new(&mut this.inner).poll_next(cx);
            match polled {
                Poll::Ready(Some(Ok(mut chunk))) => {
                    if let Some(u) = &chunk.usage {
                        this.usage = Some(u.clone());
                        if this.hide_usage {
                            if chunk.choices.is_empty() {
                                continue;
                            }
                            chunk.usage = None;
                        }
                    }
                    return Poll::Ready(Some(Ok(chunk)));
                }
                Poll::Ready(None) => {
                    if let Some(mut meter) = this.meter.take()
                        && let Some(m) = &mut meter.0
                    {
                        let deployment = std::mem::take(&mut m.deployment);
                        meter.finish(&deployment, this.usage.as_ref());
                    }
                    return Poll::Ready(None);
                }
                Poll::Ready(Some(Err(e))) => {
                    this.meter.take();
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
