//! A streamed call's iterator for Python: the next chunk as JSON, blocking
//! (interpreter released) or for asyncio; the usage once it has ended; and
//! `close`, which drops the response (its connection) early. A failure
//! ends the stream: it raises once, then the stream is over.

use std::sync::Arc;

use futures::StreamExt;
use pyo3::prelude::*;
use tokio::sync::Mutex;

use super::request::to_json;
use super::runtime::{Task, spawn, wait};
use crate::client::ChatStream;
use crate::error::Result;

/// A stream and whether it has ended (kept after the end for its usage).
struct State {
    chunks: Option<ChatStream>,
    ended: bool,
}

/// The chunks of one streamed call.
#[pyclass(frozen, module = "switchboard._native")]
pub struct Stream {
    state: Arc<Mutex<State>>,
    /// The runtime driving its connection, held while the stream lives.
    _runtime: Option<Arc<tokio::runtime::Runtime>>,
}

impl Stream {
    pub(super) fn new(chunks: ChatStream) -> Stream {
        Stream {
            state: Arc::new(Mutex::new(State {
                chunks: Some(chunks),
                ended: false,
            })),
            _runtime: super::runtime::current(),
        }
    }
}

#[pymethods]
impl Stream {
    /// The next chunk as JSON; None once the stream has ended.
    fn next(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let state = self.state.clone();
        wait(py, async move { next_chunk(&state).await })
    }

    /// [`Stream::next`] for asyncio: resolves `future` with the JSON or None.
    fn anext(&self, py: Python<'_>, future: Bound<'_, PyAny>) -> PyResult<Task> {
        let state = self.state.clone();
        spawn(
            py,
            future,
            async move { next_chunk(&state).await },
            |py, chunk| Ok(chunk.into_pyobject(py)?.into_any().unbind()),
        )
    }

    /// Usage and cost of the whole stream (OpenAI's usage object as JSON),
    /// once it has ended normally; None before, or after a failure.
    fn usage(&self) -> Option<String> {
        let st = self.state.try_lock().ok()?;
        let usage = st.chunks.as_ref()?.usage()?;
        to_json(&usage).ok()
    }

    /// Ends the stream now, closing its response. A chunk being read
    /// meanwhile still arrives; the stream ends after it.
    fn close(&self) {
        if let Ok(mut st) = self.state.try_lock() {
            st.chunks = None;
            st.ended = true;
        }
    }
}

/// The next chunk of `state`'s stream as JSON; None at its end.
async fn next_chunk(state: &Mutex<State>) -> Result<Option<String>> {
    let mut st = state.lock().await;
    if st.ended {
        return Ok(None);
    }
    let Some(chunks) = st.chunks.as_mut() else {
        return Ok(None);
    };
    match chunks.next().await {
        Some(Ok(chunk)) => to_json(&chunk).map(Some),
        Some(Err(e)) => {
            st.ended = true;
            st.chunks = None;
            Err(e)
        }
        None => {
            st.ended = true;
            Ok(None)
        }
    }
}
