//! The record of one API call in flight, as the HTTP surface learns it: its
//! route, model group, the deployment that answered, its usage, and whether
//! its answer is a stream. The handlers write it; the metrics layer reads it
//! when the call ends. Knows no Prometheus, no accounts, no provider.
//!
//! This is the seam for the one call record (issue 11): today the record
//! reaches the handlers through a task-local set by the metrics layer, and
//! the spend meter keeps its own copy of the same facts; the later design
//! creates it at admission and hands it down, and metrics, the spend log and
//! logging callbacks all read this one record.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::types::Usage;

/// One call in flight.
#[derive(Debug)]
pub(crate) struct Call {
    /// `chat` or `embeddings`.
    pub(crate) route: &'static str,
    pub(crate) started: Instant,
    group: Mutex<Option<String>>,
    deployment: Mutex<Option<String>>,
    usage: Mutex<Option<Usage>>,
    /// Its answer is a stream, finished when the stream ends.
    streaming: AtomicBool,
}

impl Call {
    pub(crate) fn new(route: &'static str, started: Instant) -> Self {
        Call {
            route,
            started,
            group: Mutex::new(None),
            deployment: Mutex::new(None),
            usage: Mutex::new(None),
            streaming: AtomicBool::new(false),
        }
    }

    pub(crate) fn group(&self) -> String {
        read(&self.group).unwrap_or_default()
    }

    pub(crate) fn deployment(&self) -> String {
        read(&self.deployment).unwrap_or_default()
    }

    pub(crate) fn usage(&self) -> Option<Usage> {
        read(&self.usage)
    }

    pub(crate) fn is_streaming(&self) -> bool {
        self.streaming.load(Ordering::Relaxed)
    }

    pub(crate) fn set_group(&self, group: &str) {
        write(&self.group, group.to_string());
    }

    pub(crate) fn set_deployment(&self, deployment: &str) {
        write(&self.deployment, deployment.to_string());
    }

    pub(crate) fn set_usage(&self, usage: Option<Usage>) {
        if let Ok(mut u) = self.usage.lock() {
            *u = usage;
        }
    }

    pub(crate) fn set_streaming(&self) {
        self.streaming.store(true, Ordering::Relaxed);
    }
}

fn read<T: Clone>(m: &Mutex<Option<T>>) -> Option<T> {
    m.lock().ok().and_then(|v| v.clone())
}

fn write<T>(m: &Mutex<Option<T>>, value: T) {
    if let Ok(mut v) = m.lock() {
        *v = Some(value);
    }
}

tokio::task_local! {
    static CALL: Arc<Call>;
}

/// Runs `f` with `call` as the call in flight.
pub(crate) async fn scope<F: Future>(call: Arc<Call>, f: F) -> F::Output {
    CALL.scope(call, f).await
}

/// The call in flight, if this task runs one.
pub(crate) fn current() -> Option<Arc<Call>> {
    CALL.try_with(Arc::clone).ok()
}

/// Names the model group of the call in flight.
pub(crate) fn note_group(group: &str) {
    let _ = CALL.try_with(|c| c.set_group(group));
}

/// Names the deployment that answered the call in flight.
pub(crate) fn note_deployment(deployment: &str) {
    let _ = CALL.try_with(|c| c.set_deployment(deployment));
}

/// Records the usage (tokens, cost) of the call in flight.
pub(crate) fn note_usage(usage: Option<&Usage>) {
    let _ = CALL.try_with(|c| c.set_usage(usage.cloned()));
}
