//! The one Tokio runtime every call of the process runs on, and the two
//! ways Python waits for it: blocking with the interpreter released (and
//! Ctrl-C still heard), or an asyncio future resolved from a runtime task.
//! Knows no request or answer: it moves results and errors across.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use tokio::runtime::Runtime;
use tokio::task::AbortHandle;

use super::error::to_pyerr;
use crate::error::Error;

/// How often a blocked call looks up from its wait to let Python handle a
/// signal (Ctrl-C ends the call with `KeyboardInterrupt`).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// The process's runtime, started on first use (a worker per core). A
/// call holds it for as long as it runs (a stream, as long as it lives), so
/// a fork can tell whether any is in flight (see [`before_fork`]).
static RUNTIME: Mutex<Option<Arc<Runtime>>> = Mutex::new(None);

pub(super) fn runtime() -> PyResult<Arc<Runtime>> {
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(rt) = &*slot {
        return Ok(rt.clone());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("switchboard")
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the Tokio runtime: {e}")))?;
    let rt = Arc::new(rt);
    *slot = Some(rt.clone());
    Ok(rt)
}

/// The runtime if one is running (what a stream holds on to).
pub(super) fn current() -> Option<Arc<Runtime>> {
    RUNTIME.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Called before `fork()` (`os.register_at_fork`). A child gets only the
/// forking thread: runtime threads parked at the fork would leave their
/// locks' global state half-copied, and the child could crash or hang on
/// it. So when no call is in flight, the runtime is shut down (its threads
/// joined) and the HTTP clients dropped from use; the next call, in the
/// parent or the child, starts both anew. With calls in flight it is left
/// running: forking then is as unsafe as forking any threaded process.
#[pyfunction]
pub(crate) fn before_fork(py: Python<'_>) {
    let idle = {
        let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
        let Some(rt) = slot.take() else {
            return;
        };
        match Arc::try_unwrap(rt) {
            Ok(idle) => idle,
            Err(busy) => {
                *slot = Some(busy);
                return;
            }
        }
    };
    // Not under the lock: a thread starting a call meanwhile must not wait
    // on it while holding the interpreter this one needs back.
    py.detach(|| idle.shutdown_timeout(Duration::from_secs(1)));
    crate::transport::after_fork();
}

/// Called in a forked child (`os.register_at_fork`): a runtime the parent
/// kept running (calls were in flight) did not come along, nor did its
/// pooled connections. The next call starts a runtime and makes HTTP
/// clients of its own; the parent's are left as they are — never dropped,
/// as dropping would join threads that do not exist here and deregister
/// sockets the parent still uses.
#[pyfunction]
pub(crate) fn after_fork() {
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(parents) = slot.take() {
        std::mem::forget(parents);
    }
    crate::transport::after_fork();
}

/// Runs `fut` to its end with the interpreter released, so other Python
/// threads run meanwhile. A pending signal is checked every
/// [`SIGNAL_CHECK`]: when its handler raises (Ctrl-C), the call is dropped
/// (its connection closed) and the exception propagates.
pub(super) fn wait<T, F>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = Result<T, Error>> + Send,
    T: Send,
{
    let rt = runtime()?;
    let mut fut = std::pin::pin!(fut);
    loop {
        let step =
            py.detach(|| rt.block_on(async { tokio::time::timeout(SIGNAL_CHECK, &mut fut).await }));
        match step {
            Ok(done) => return done.map_err(|e| to_pyerr(py, e)),
            Err(_elapsed) => py.check_signals()?,
        }
    }
}

/// A call running on the runtime for an asyncio future; `cancel` stops it
/// (the Python layer cancels when the awaiting task is cancelled).
#[pyclass(frozen, module = "switchboard._native")]
pub struct Task {
    abort: AbortHandle,
}

#[pymethods]
impl Task {
    /// Stops the call if it is still running (its connection is closed).
    fn cancel(&self) {
        self.abort.abort();
    }
}

/// The package's resolver, `resolve(future, ok, value)`, set by `init`:
/// sets the future's result (or exception) unless it was cancelled.
pub(super) static RESOLVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Runs `job` on the runtime and resolves the asyncio `future` with what
/// `deliver` makes of its result (or with the exception its error is),
/// through the future's loop. Holds `future` and its loop only until then.
pub(super) fn spawn<T, F>(
    py: Python<'_>,
    future: Bound<'_, PyAny>,
    job: F,
    deliver: fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
) -> PyResult<Task>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let rt = runtime()?;
    let Some(resolve) = RESOLVE.get(py).map(|r| r.clone_ref(py)) else {
        return Err(PyRuntimeError::new_err(
            "switchboard._native.init was not called",
        ));
    };
    let event_loop = future.call_method0("get_loop")?.unbind();
    let future = future.unbind();
    let held = rt.clone();
    let handle = rt.spawn(async move {
        let outcome = job.await;
        Python::attach(move |py| {
            let (ok, value) = match outcome
                .map_err(|e| to_pyerr(py, e))
                .and_then(|v| deliver(py, v))
            {
                Ok(v) => (true, v),
                Err(e) => (false, e.into_value(py).into_any()),
            };
            // A loop closed meanwhile has no one waiting: nothing to tell.
            let _ = event_loop
                .bind(py)
                .call_method1("call_soon_threadsafe", (resolve, future, ok, value));
        });
        // Held until the future is told: a fork waits for this call.
        drop(held);
    });
    Ok(Task {
        abort: handle.abort_handle(),
    })
}
