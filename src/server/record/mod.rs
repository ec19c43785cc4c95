//! The record room: one [`CallRecord`] per proxied chat or embeddings call,
//! and the one way it ends.
//!
//! A handler opens the record when the call arrives ([`Recorder::open`]:
//! route and start time), notes what it learns in order — the model group,
//! the admission (the virtual key and what the accounts reserved), the
//! deployment that served and every attempt the Router made, the usage and
//! cost the engine computed, the time to the first chunk of a stream — and
//! the record is finished exactly once, by whoever holds it last: the
//! handler for a JSON answer or a refusal, the [`Recorded`] stream for a
//! stream (at its end, at its error, or when the client goes away and the
//! stream is dropped), the unwinding of a panic otherwise ([`Recording`]'s
//! `Drop`). Finishing settles the admission with the accounts (its
//! reservation and its spend row), then hands the finished record to every
//! [`Observer`]: the metrics, and whatever logging callbacks the state holds.
//!
//! Nothing reaches the record sideways: no task-local, no response header
//! read back, no second meter. Imports the accounts (below it) and the
//! client's stream; knows no HTTP and no Prometheus.

mod recorder;
mod stream;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

pub(crate) use recorder::{Observer, Recorder, Recording};
pub(crate) use stream::Recorded;

use crate::error::{Attempt, ErrorKind};
use crate::server::accounts::Caller;
use crate::types::Usage;

/// Which API a call used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Chat,
    Embeddings,
}

impl Route {
    /// The route a request path is for; None for paths that are not calls.
    pub(crate) fn of_path(path: &str) -> Option<Route> {
        if path.ends_with("/chat/completions") {
            Some(Route::Chat)
        } else if path.ends_with("/embeddings") {
            Some(Route::Embeddings)
        } else {
            None
        }
    }

    /// `chat` or `embeddings`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Route::Chat => "chat",
            Route::Embeddings => "embeddings",
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    /// Refused or failed with an error of this kind (before or after the
    /// answer began: a stream cut mid-way fails too).
    Failed(ErrorKind),
    /// The client went away before the answer was complete.
    Cancelled,
    /// Handling the call panicked (a bug; the client got a 500 or an error event).
    Panicked,
}

impl Outcome {
    /// `success`, `error` or `cancelled` (a panic is an error).
    pub(crate) fn label(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed(_) | Outcome::Panicked => "error",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// The unified error kind of a failure (a panic is internal).
    pub(crate) fn kind(self) -> Option<ErrorKind> {
        match self {
            Outcome::Failed(kind) => Some(kind),
            Outcome::Panicked => Some(ErrorKind::Internal),
            Outcome::Success | Outcome::Cancelled => None,
        }
    }
}

/// One call, as the proxy learned it. Observers see it finished.
#[derive(Debug)]
pub(crate) struct CallRecord {
    pub(crate) route: Route,
    /// When the call arrived.
    pub(crate) started: Instant,
    /// The model group asked for (empty when the request named none).
    pub(crate) group: String,
    /// The virtual key it was admitted with (None: the master key or an
    /// open server, or not admitted).
    pub(crate) key: Option<Caller>,
    /// Whether the accounts let it in (a refused call never reaches the Router).
    pub(crate) admitted: bool,
    /// Whether its answer is a stream.
    pub(crate) stream: bool,
    /// The deployment that served it (empty when none did).
    pub(crate) deployment: String,
    /// Every attempt the Router made, the serving one last.
    pub(crate) attempts: Vec<Attempt>,
    /// Tokens and cost, as the engine computed them (a stream's once it
    /// ended normally, whether or not the client asked to see them).
    pub(crate) usage: Option<Usage>,
    /// Streams: from arrival to the first chunk in hand.
    pub(crate) first_byte: Option<Duration>,
    /// From arrival to the end (set when finished).
    pub(crate) latency: Duration,
    /// How it ended (set when finished; until then, what a drop would mean).
    pub(crate) outcome: Outcome,
}

impl CallRecord {
    fn new(route: Route, started: Instant) -> Self {
        CallRecord {
            route,
            started,
            group: String::new(),
            key: None,
            admitted: false,
            stream: false,
            deployment: String::new(),
            attempts: Vec::new(),
            usage: None,
            first_byte: None,
            latency: Duration::ZERO,
            outcome: Outcome::Cancelled,
        }
    }
}
