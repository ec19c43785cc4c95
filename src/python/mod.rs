//! The Python package's native module, `switchboard._native` (the `python`
//! feature; maturin builds it, see `pyproject.toml`). A thin shell over the
//! library for the pure-Python layer in `python/switchboard/`, which owns
//! litellm's names, keyword arguments and object model.
//!
//! Requests and answers cross as JSON text (one `json.dumps` and one
//! `json.loads` a call on the Python side); every wait on the network runs
//! with the interpreter released; an async call is a task on the shared
//! Tokio runtime that resolves an asyncio future through its loop's
//! `call_soon_threadsafe`. No Python object outlives the call that handed
//! it over. Must not: hold business logic (retries, fallbacks, prices are
//! the library's), parse provider JSON, or be named by any other layer.
//!
//! Rooms: `runtime` (the Tokio runtime; blocking and asyncio bridges),
//! `error` (a library error as the package's exception), `request` (a call
//! as the Python layer hands it over), `calls` (the module-level functions
//! over the package's one Client), `stream` (a stream's iterator), `router`
//! (the Router class).

mod calls;
mod error;
mod request;
mod router;
mod runtime;
mod stream;

use pyo3::prelude::*;

/// Hands the module the package's exception factory
/// (`factory(error_json) -> Exception`) and asyncio resolver
/// (`resolve(future, ok, value)`); called once when the package is imported.
#[pyfunction]
pub(crate) fn init(py: Python<'_>, factory: Py<PyAny>, resolve: Py<PyAny>) {
    // A second call (a reload) keeps the first pair: both are module-level
    // functions of the same package.
    let _ = error::FACTORY.set(py, factory);
    let _ = runtime::RESOLVE.set(py, resolve);
}

/// Switchboard's native core: calls, streams, Router, cost. Use the
/// `switchboard` package, not this module.
#[pymodule(name = "_native")]
mod native {
    #[pymodule_export]
    use super::calls::{
        acompletion, aembedding, astream, check_key, completion, cost_per_token, embedding,
        model_info, model_names, register_model, stream, supported_params, token_counter,
    };
    #[pymodule_export]
    use super::init;
    #[pymodule_export]
    use super::router::Router;
    #[pymodule_export]
    use super::runtime::{Task, after_fork, before_fork};
    #[pymodule_export]
    use super::stream::Stream;
}
