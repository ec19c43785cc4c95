//! The module-level functions of the native module, over the package's one
//! [`Client`] (litellm's module functions share one state: a model
//! registered with `register_model` prices every later call): chat, streams
//! and embeddings, blocking or for asyncio; cost, model facts, token counts
//! and key checks. Parses and serializes; the work is the library's.

use std::sync::{OnceLock, RwLock};

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyString;

use super::error::to_pyerr;
use super::request::{self, parse, to_json};
use super::runtime::{Task, spawn, wait};
use super::stream::Stream;
use crate::client::{CallOptions, Client};
use crate::cost::{ModelInfo, text_token_counter, token_counter as count_tokens};
use crate::error::Error;
use crate::types::{Message, Usage};

/// The package's Client, made on first use (so `import switchboard` loads
/// no spec).
fn shared() -> std::result::Result<&'static RwLock<Client>, Error> {
    static CLIENT: OnceLock<std::result::Result<RwLock<Client>, Error>> = OnceLock::new();
    CLIENT
        .get_or_init(|| Client::new().map(RwLock::new))
        .as_ref()
        .map_err(Clone::clone)
}

/// A handle on the package's Client (cheap: it shares its specs and prices).
pub(super) fn client(py: Python<'_>) -> PyResult<Client> {
    let lock = shared().map_err(|e| to_pyerr(py, e))?;
    // A panic while registering cannot leave a half-written entry: the
    // price book is replaced whole, so a poisoned lock still holds a whole one.
    let guard = lock.read().unwrap_or_else(|p| p.into_inner());
    Ok(guard.clone())
}

/// A Python str from a Rust one (what an async call resolves to).
pub(super) fn deliver_str(py: Python<'_>, s: String) -> PyResult<Py<PyAny>> {
    Ok(PyString::new(py, &s).into_any().unbind())
}

/// A chat completion: the request body and call settings as JSON, the
/// `chat.completion` object as JSON.
#[pyfunction]
pub(crate) fn completion(
    py: Python<'_>,
    body: PyBackedStr,
    settings: PyBackedStr,
) -> PyResult<String> {
    let client = client(py)?;
    let (req, opts) = request::chat(&client, &body, &settings).map_err(|e| to_pyerr(py, e))?;
    wait(py, async move {
        to_json(&client.completion(&req, &opts).await?)
    })
}

/// [`completion`] for asyncio: resolves `future` with the JSON.
#[pyfunction]
pub(crate) fn acompletion(
    py: Python<'_>,
    body: PyBackedStr,
    settings: PyBackedStr,
    future: Bound<'_, PyAny>,
) -> PyResult<Task> {
    let client = client(py)?;
    let (req, opts) = request::chat(&client, &body, &settings).map_err(|e| to_pyerr(py, e))?;
    let job = async move { to_json(&client.completion(&req, &opts).await?) };
    spawn(py, future, job, deliver_str)
}

/// A streamed chat completion, once its response has begun (a failure
/// before the first chunk raises here).
#[pyfunction]
pub(crate) fn stream(py: Python<'_>, body: PyBackedStr, settings: PyBackedStr) -> PyResult<Stream> {
    let client = client(py)?;
    let (req, opts) = request::chat(&client, &body, &settings).map_err(|e| to_pyerr(py, e))?;
    let chunks = wait(py, async move { client.stream(&req, &opts).await })?;
    Ok(Stream::new(chunks))
}

/// [`stream`] for asyncio: resolves `future` with the `Stream`.
#[pyfunction]
pub(crate) fn astream(
    py: Python<'_>,
    body: PyBackedStr,
    settings: PyBackedStr,
    future: Bound<'_, PyAny>,
) -> PyResult<Task> {
    let client = client(py)?;
    let (req, opts) = request::chat(&client, &body, &settings).map_err(|e| to_pyerr(py, e))?;
    let job = async move { client.stream(&req, &opts).await };
    spawn(py, future, job, |py, chunks| {
        Ok(Py::new(py, Stream::new(chunks))?.into_any())
    })
}

/// Embeddings: the request body and call settings as JSON, OpenAI's
/// `list` object as JSON.
#[pyfunction]
pub(crate) fn embedding(
    py: Python<'_>,
    body: PyBackedStr,
    settings: PyBackedStr,
) -> PyResult<String> {
    let client = client(py)?;
    let (req, opts) = request::embedding(&client, &body, &settings).map_err(|e| to_pyerr(py, e))?;
    wait(
        py,
        async move { to_json(&client.embedding(&req, &opts).await?) },
    )
}

/// [`embedding`] for asyncio: resolves `future` with the JSON.
#[pyfunction]
pub(crate) fn aembedding(
    py: Python<'_>,
    body: PyBackedStr,
    settings: PyBackedStr,
    future: Bound<'_, PyAny>,
) -> PyResult<Task> {
    let client = client(py)?;
    let (req, opts) = request::embedding(&client, &body, &settings).map_err(|e| to_pyerr(py, e))?;
    let job = async move { to_json(&client.embedding(&req, &opts).await?) };
    spawn(py, future, job, deliver_str)
}

/// What `usage` (OpenAI's usage object as JSON) costs on `model`, with no
/// call: `(prompt_usd, completion_usd, priced)`. The prompt's share is what
/// the prompt alone costs (a per-request fee included); the rest is the
/// completion's.
#[pyfunction]
pub(crate) fn cost_per_token(
    py: Python<'_>,
    model: &str,
    usage: PyBackedStr,
) -> PyResult<(f64, f64, bool)> {
    let client = client(py)?;
    let usage: Usage = parse(&usage, "usage").map_err(|e| to_pyerr(py, e))?;
    let total = client.cost_per_token(model, &usage);
    let prompt_only = Usage {
        completion_tokens: 0,
        total_tokens: usage.prompt_tokens,
        completion_tokens_details: None,
        ..usage
    };
    let prompt = client.cost_per_token(model, &prompt_only);
    Ok((prompt.usd, (total.usd - prompt.usd).max(0.0), total.priced))
}

/// `model`'s provider, its name there, and its catalog entry as JSON
/// (Switchboard's keys: `input`, `context-window`…); None when nothing
/// resolves or prices it.
#[pyfunction]
pub(crate) fn model_info(
    py: Python<'_>,
    model: &str,
) -> PyResult<Option<(String, String, String)>> {
    let client = client(py)?;
    let Ok((spec, name)) = client.registry().resolve(model) else {
        return Ok(None);
    };
    let Some(info) = client.model_info(model) else {
        return Ok(None);
    };
    let json = to_json(info).map_err(|e| to_pyerr(py, e))?;
    Ok(Some((spec.id.clone(), name, json)))
}

/// The OpenAI request parameters `model`'s provider carries (litellm's
/// `get_supported_openai_params`; `model` may also be a provider id, or in
/// litellm's naming); None when no provider is found.
#[pyfunction]
pub(crate) fn supported_params(py: Python<'_>, model: &str) -> PyResult<Option<Vec<String>>> {
    let client = client(py)?;
    let Ok(name) = request::model_name(&client, model) else {
        return Ok(None);
    };
    Ok(client.supported_openai_params(&name).ok())
}

/// Every model of the built-in catalog, as `(provider, model)`, sorted.
#[pyfunction]
pub(crate) fn model_names(py: Python<'_>) -> PyResult<Vec<(String, String)>> {
    let client = client(py)?;
    Ok(client
        .catalog()
        .models()
        .into_iter()
        .map(|(p, m, _)| (p.to_string(), m.to_string()))
        .collect())
}

/// Adds or replaces `model`'s catalog entry (Switchboard's keys, as JSON)
/// for every later call of the package (litellm's `register_model`).
#[pyfunction]
pub(crate) fn register_model(py: Python<'_>, model: &str, info: PyBackedStr) -> PyResult<()> {
    let info: ModelInfo = parse(&info, "model info").map_err(|e| to_pyerr(py, e))?;
    let lock = shared().map_err(|e| to_pyerr(py, e))?;
    let mut guard = lock.write().unwrap_or_else(|p| p.into_inner());
    guard
        .register_model(model, info)
        .map_err(|e| to_pyerr(py, e))
}

/// Tokens of `messages` (a JSON list) or of one plain `text` in `model`'s
/// prompt: `(tokens, exact)`.
#[pyfunction]
#[pyo3(signature = (model, messages=None, text=None))]
pub(crate) fn token_counter(
    py: Python<'_>,
    model: &str,
    messages: Option<PyBackedStr>,
    text: Option<PyBackedStr>,
) -> PyResult<(u64, bool)> {
    let mut tokens = 0;
    let mut exact = true;
    if let Some(messages) = messages {
        let messages: Vec<Message> = parse(&messages, "messages").map_err(|e| to_pyerr(py, e))?;
        let c = count_tokens(model, &messages);
        tokens += c.tokens;
        exact &= c.exact;
    }
    if let Some(text) = text {
        let c = text_token_counter(model, &text);
        tokens += c.tokens;
        exact &= c.exact;
    }
    Ok((tokens, exact))
}

/// Whether `api_key` works for `model` (one cheapest call): `(valid, reason)`,
/// `valid` None when it could not tell.
#[pyfunction]
#[pyo3(signature = (model, api_key=None, api_base=None))]
pub(crate) fn check_key(
    py: Python<'_>,
    model: String,
    api_key: Option<String>,
    api_base: Option<String>,
) -> PyResult<(Option<bool>, String)> {
    let client = client(py)?;
    let opts = CallOptions {
        api_key,
        api_base,
        ..CallOptions::default()
    };
    let found = wait(py, async move {
        Ok::<_, Error>(client.check_key(&model, &opts).await)
    })?;
    Ok((found.valid, found.reason))
}
