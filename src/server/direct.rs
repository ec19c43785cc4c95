//! A group's deployments called one by one, without the Router: for
//! embeddings (the Router routes chat only) and for chat with a base URL the
//! client supplied (only when the config allows it). Starts at a rotating
//! deployment and moves to the next when a failure may be that deployment's
//! own; no retries with backoff, no cooldowns.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::client::{CallOptions, ChatStream, Client};
use crate::error::{Error, ErrorKind, Result};
use crate::router::RouterConfig;
use crate::types::{ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};

pub(crate) struct Direct {
    client: Client,
    groups: HashMap<String, Vec<Target>>,
    turn: AtomicUsize,
}

/// One deployment: its id (as the Router names it), model and call options.
#[derive(Clone)]
struct Target {
    id: String,
    model: String,
    options: CallOptions,
}

impl Direct {
    pub(crate) fn new(client: Client, config: &RouterConfig) -> Result<Self> {
        let mut groups: HashMap<String, Vec<Target>> = HashMap::new();
        for (n, d) in config.deployments.iter().enumerate() {
            let options = CallOptions {
                // A mock answer is chat text: the Router's alone.
                mock_response: None,
                ..d.call_options(&config.router)?
            };
            groups.entry(d.group.clone()).or_default().push(Target {
                id: d.id_at(n),
                model: d.model.clone(),
                options,
            });
        }
        Ok(Direct {
            client,
            groups,
            turn: AtomicUsize::new(0),
        })
    }

    /// Embeddings from the group named by `req.model`.
    pub(crate) async fn embedding(
        &self,
        req: &EmbeddingRequest,
        api_base: Option<String>,
    ) -> Result<(EmbeddingResponse, String)> {
        self.each(&req.model, api_base, |t| async move {
            let mut req = req.clone();
            req.model = t.model;
            self.client.embedding_once(&req, &t.options).await
        })
        .await
    }

    /// A chat completion from the group, at the client's base URL.
    pub(crate) async fn completion(
        &self,
        req: &ChatRequest,
        api_base: String,
    ) -> Result<(ChatResponse, String)> {
        self.each(&req.model, Some(api_base), |t| async move {
            let mut req = req.clone();
            req.model = t.model;
            self.client.completion_once(&req, &t.options).await
        })
        .await
    }

    /// A streamed chat completion from the group, at the client's base URL.
    pub(crate) async fn stream(
        &self,
        req: &ChatRequest,
        api_base: String,
    ) -> Result<(ChatStream, String)> {
        self.each(&req.model, Some(api_base), |t| async move {
            let mut req = req.clone();
            req.model = t.model;
            self.client.stream_once(&req, &t.options).await
        })
        .await
    }

    /// Calls the group's deployments from a rotating start until one answers
    /// or a failure is the request's own.
    async fn each<T, F, Fut>(
        &self,
        group: &str,
        api_base: Option<String>,
        call: F,
    ) -> Result<(T, String)>
    where
        F: Fn(Target) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let Some(targets) = self.groups.get(group) else {
            let mut known: Vec<&str> = self.groups.keys().map(String::as_str).collect();
            known.sort_unstable();
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no model group {group:?} (groups: {})", known.join(", ")),
            ));
        };
        let start = self.turn.fetch_add(1, Ordering::Relaxed);
        let mut last = None;
        for k in 0..targets.len() {
            let mut t = targets[(start + k) % targets.len()].clone();
            if let Some(base) = &api_base {
                t.options.api_base = Some(base.clone());
            }
            let id = t.id.clone();
            match call(t).await {
                Ok(v) => return Ok((v, id)),
                Err(e) => {
                    let next_may_help = e.kind().is_retryable()
                        || matches!(
                            e.kind(),
                            ErrorKind::Authentication
                                | ErrorKind::PermissionDenied
                                | ErrorKind::NotFound
                        );
                    if !next_may_help {
                        return Err(e);
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::new(ErrorKind::NotFound, "no deployment to call")))
    }
}
