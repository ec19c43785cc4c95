//! Who opens a call record and who finishes it: a [`Recorder`] (the state
//! holds one, with its observers) opens a [`Recording`], which owns the
//! record and the call's admission until it is finished — explicitly, or
//! by its `Drop` when the call is abandoned (cancelled) or unwinds (a
//! panic). Finishing is once by construction: it consumes the recording,
//! and the drop after it does nothing.

use std::sync::Arc;
use std::time::Instant;

use super::{CallRecord, Outcome, Route};
use crate::error::{Attempt, ErrorKind};
use crate::server::accounts::{Admission, Caller, Settlement};
use crate::types::Usage;

/// Something told of every finished call: the metrics, a logging callback.
/// Called on the task that finished the call, so it must be quick (count,
/// or hand the record to a queue); it must not panic.
pub(crate) trait Observer: Send + Sync {
    fn finished(&self, call: &CallRecord);
}

/// Opens records whose end the observers are told of.
#[derive(Clone)]
pub(crate) struct Recorder {
    observers: Arc<[Arc<dyn Observer>]>,
}

impl Recorder {
    pub(crate) fn new(observers: Vec<Arc<dyn Observer>>) -> Self {
        Recorder {
            observers: observers.into(),
        }
    }

    /// The same observers, and `observer` after them.
    pub(crate) fn with(&self, observer: Arc<dyn Observer>) -> Self {
        let mut all = self.observers.to_vec();
        all.push(observer);
        Recorder::new(all)
    }

    /// A call on `route` arrives now.
    pub(crate) fn open(&self, route: Route) -> Recording {
        Recording {
            record: CallRecord::new(route, Instant::now()),
            admission: None,
            observers: self.observers.clone(),
            open: true,
        }
    }
}

/// A call in flight: its record, and what its admission reserved.
pub(crate) struct Recording {
    record: CallRecord,
    admission: Option<Admission>,
    observers: Arc<[Arc<dyn Observer>]>,
    /// False once finished.
    open: bool,
}

impl Recording {
    /// The model group the request names.
    pub(crate) fn group(&mut self, group: &str) {
        group.clone_into(&mut self.record.group);
    }

    /// The accounts let the call in (for `key`, with `admission` to settle;
    /// None: a server without a database, which logs and limits nothing).
    pub(crate) fn admitted(&mut self, key: Option<&Caller>, admission: Option<Admission>) {
        self.record.key = key.cloned();
        self.record.admitted = true;
        self.admission = admission;
    }

    /// The Router's answer came from `deployment`, after `attempts`.
    pub(crate) fn served(&mut self, deployment: String, attempts: Vec<Attempt>) {
        self.record.deployment = deployment;
        self.record.attempts = attempts;
    }

    /// The answer is a stream whose first chunk is in hand now.
    pub(crate) fn first_chunk(&mut self) {
        self.record.stream = true;
        self.record.first_byte = Some(self.record.started.elapsed());
    }

    /// The call's usage and cost, as the engine computed them.
    pub(crate) fn usage(&mut self, usage: Option<Usage>) {
        self.record.usage = usage;
    }

    /// The deployment that served (empty until one did).
    pub(crate) fn deployment(&self) -> &str {
        &self.record.deployment
    }

    /// The call succeeded.
    pub(crate) fn succeed(mut self) {
        self.close(Outcome::Success);
    }

    /// The call failed with `kind`, after `attempts` (the Router's, when it
    /// got that far: they replace what was noted).
    pub(crate) fn fail(mut self, kind: ErrorKind, attempts: &[Attempt]) {
        if !attempts.is_empty() {
            self.record.attempts = attempts.to_vec();
        }
        self.close(Outcome::Failed(kind));
    }

    /// The call ended as `outcome`.
    pub(crate) fn finish(mut self, outcome: Outcome) {
        self.close(outcome);
    }

    /// Settles the admission, then tells the observers; once.
    fn close(&mut self, outcome: Outcome) {
        if !std::mem::replace(&mut self.open, false) {
            return;
        }
        let r = &mut self.record;
        r.latency = r.started.elapsed();
        r.outcome = outcome;
        if let Some(admission) = self.admission.take() {
            admission.settle(Settlement {
                group: &r.group,
                deployment: &r.deployment,
                usage: r.usage.as_ref(),
                latency: r.latency,
                success: outcome == Outcome::Success,
            });
        }
        for o in self.observers.iter() {
            o.finished(r);
        }
    }
}

impl Drop for Recording {
    /// Abandoned before it finished: the client went away (the task was
    /// dropped), or handling it panicked (this runs while unwinding).
    fn drop(&mut self) {
        let outcome = if std::thread::panicking() {
            Outcome::Panicked
        } else {
            Outcome::Cancelled
        };
        self.close(outcome);
    }
}
