//! The Router class of the native module: a [`crate::Router`] built from
//! litellm's `Router(model_list=[…], routing_strategy=…, fallbacks=[…])`
//! arguments, read by the same reader as the proxy's litellm `config.yaml`
//! (JSON is YAML): one mapping of litellm's keys, provider prefixes and
//! `os.environ/NAME` references, and a typo is an error naming it. Calls
//! answer `(JSON, deployment id)`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::types::PyTuple;

use super::calls::client;
use super::error::to_pyerr;
use super::request::{self, parse, to_json};
use super::runtime::{Task, spawn, wait};
use super::stream::Stream;
use crate::error::Result;
use crate::server::ServerConfig;
use crate::types::{ChatRequest, EmbeddingRequest};

/// Model groups of deployments with retries, fallbacks and a strategy.
#[pyclass(frozen, module = "switchboard._native")]
pub struct Router {
    inner: Arc<crate::Router>,
    warnings: Vec<String>,
}

/// An answer and the id of the deployment that gave it.
type Answer = (String, String);

fn deliver_answer(py: Python<'_>, (json, deployment): Answer) -> PyResult<Py<PyAny>> {
    Ok(PyTuple::new(py, [json, deployment])?.into_any().unbind())
}

#[pymethods]
impl Router {
    /// `config`: litellm's proxy config as JSON (`model_list`,
    /// `router_settings`).
    #[new]
    fn new(py: Python<'_>, config: PyBackedStr) -> PyResult<Self> {
        let client = client(py)?;
        let built = ServerConfig::from_litellm_yaml(&config, "Router")
            .and_then(|(cfg, warnings)| Ok((crate::Router::new(client, cfg.router)?, warnings)));
        let (router, warnings) = built.map_err(|e| to_pyerr(py, e))?;
        Ok(Router {
            inner: Arc::new(router),
            warnings,
        })
    }

    /// One line per litellm setting given that means nothing here.
    #[getter]
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// The model groups, sorted.
    fn groups(&self) -> Vec<String> {
        self.inner
            .groups()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    fn completion(
        &self,
        py: Python<'_>,
        body: PyBackedStr,
        route: PyBackedStr,
    ) -> PyResult<Answer> {
        let router = self.inner.clone();
        let (req, route) = chat(&body, &route).map_err(|e| to_pyerr(py, e))?;
        wait(py, async move {
            let r = router.completion(&req, &route).await?;
            Ok((to_json(&r.response)?, r.deployment))
        })
    }

    fn acompletion(
        &self,
        py: Python<'_>,
        body: PyBackedStr,
        route: PyBackedStr,
        future: Bound<'_, PyAny>,
    ) -> PyResult<Task> {
        let router = self.inner.clone();
        let (req, route) = chat(&body, &route).map_err(|e| to_pyerr(py, e))?;
        let job = async move {
            let r = router.completion(&req, &route).await?;
            Ok((to_json(&r.response)?, r.deployment))
        };
        spawn(py, future, job, deliver_answer)
    }

    fn stream(
        &self,
        py: Python<'_>,
        body: PyBackedStr,
        route: PyBackedStr,
    ) -> PyResult<(Stream, String)> {
        let router = self.inner.clone();
        let (req, route) = chat(&body, &route).map_err(|e| to_pyerr(py, e))?;
        let r = wait(py, async move { router.stream(&req, &route).await })?;
        Ok((Stream::new(r.response), r.deployment))
    }

    fn astream(
        &self,
        py: Python<'_>,
        body: PyBackedStr,
        route: PyBackedStr,
        future: Bound<'_, PyAny>,
    ) -> PyResult<Task> {
        let router = self.inner.clone();
        let (req, route) = chat(&body, &route).map_err(|e| to_pyerr(py, e))?;
        let job = async move { router.stream(&req, &route).await };
        spawn(py, future, job, |py, r| {
            let stream = Py::new(py, Stream::new(r.response))?;
            Ok(PyTuple::new(
                py,
                [
                    stream.into_any(),
                    r.deployment.into_pyobject(py)?.into_any().unbind(),
                ],
            )?
            .into_any()
            .unbind())
        })
    }

    fn embedding(&self, py: Python<'_>, body: PyBackedStr, route: PyBackedStr) -> PyResult<Answer> {
        let router = self.inner.clone();
        let (req, route) = embed(&body, &route).map_err(|e| to_pyerr(py, e))?;
        wait(py, async move {
            let r = router.embedding(&req, &route).await?;
            Ok((to_json(&r.response)?, r.deployment))
        })
    }

    fn aembedding(
        &self,
        py: Python<'_>,
        body: PyBackedStr,
        route: PyBackedStr,
        future: Bound<'_, PyAny>,
    ) -> PyResult<Task> {
        let router = self.inner.clone();
        let (req, route) = embed(&body, &route).map_err(|e| to_pyerr(py, e))?;
        let job = async move {
            let r = router.embedding(&req, &route).await?;
            Ok((to_json(&r.response)?, r.deployment))
        };
        spawn(py, future, job, deliver_answer)
    }
}

/// A routed chat call: the request (checked) and its routing settings.
fn chat(body: &str, route: &str) -> Result<(ChatRequest, crate::RouteOptions)> {
    let req: ChatRequest = parse(body, "request")?;
    req.validate()?;
    Ok((req, request::route(route)?))
}

fn embed(body: &str, route: &str) -> Result<(EmbeddingRequest, crate::RouteOptions)> {
    Ok((parse(body, "request")?, request::route(route)?))
}
