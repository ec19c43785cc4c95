//! A library [`Error`] as the package's exception: the Python layer's
//! factory (`switchboard.exceptions._from_native`, handed over by `init`)
//! builds the litellm-named class for the error's kind from its OpenAI
//! error JSON (kind, message, status, provider, model, Retry-After, every
//! attempt). The error's text is already free of keys (the library
//! redacts it); nothing is added here.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::error::Error;

/// The exception factory set by `init` (in `mod.rs`).
pub(super) static FACTORY: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// The exception `e` is, built by the package's factory.
pub(crate) fn to_pyerr(py: Python<'_>, e: Error) -> PyErr {
    let Some(factory) = FACTORY.get(py) else {
        return PyRuntimeError::new_err(e.to_string());
    };
    let json = e.to_openai_json().to_string();
    match factory.bind(py).call1((json,)) {
        Ok(exc) => PyErr::from_value(exc),
        Err(broken) => broken,
    }
}
