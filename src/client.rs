//! The library entry point: engine + transport. `completion` and `stream`
//! resolve the model to a spec, build the canonical request, render, send,
//! and map the answer (or classify the failure). Reads the clock and the
//! environment here, so the engine never does.

use std::collections::{BTreeMap, VecDeque};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::{Stream, StreamExt};
use serde_json::{Map, Value};

use crate::cost::{Catalog, ModelInfo};
use crate::engine::classify::classify;
use crate::engine::embed::{canonical_embedding, map_embeddings};
use crate::engine::events::ChunkMapper;
use crate::engine::map::{MapCtx, map_response};
use crate::engine::render::{Prepared, no_endpoint, prepare_chat, render_request};
use crate::engine::stream::{Decoder, Frame};
use crate::error::{Error, ErrorKind, Result};
use crate::spec::{Registry, Spec};
use crate::transport::{Transport, transport_error};
use crate::types::*;

/// What [`Client::check_key`] found: `valid` is None when it could not tell.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KeyCheck {
    pub valid: Option<bool>,
    pub reason: String,
}

/// Per-call settings; all optional.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// API key; otherwise the spec's environment variable.
    pub api_key: Option<String>,
    /// Replaces the spec's base URL (everything before the endpoint path).
    pub api_base: Option<String>,
    /// Total time for the call, stream included.
    pub timeout: Option<Duration>,
    /// Provider parameters by name (e.g. `api_version`); otherwise env var or default.
    pub params: BTreeMap<String, String>,
    /// Answer with this text without touching the network (like litellm's `mock_response`).
    pub mock_response: Option<String>,
}

/// Calls providers through their specs.
///
/// ```no_run
/// # async fn run() -> switchboard::Result<()> {
/// use switchboard::{CallOptions, ChatRequest, Client};
/// let client = Client::new()?;
/// let req = ChatRequest::new("anthropic/claude-3-5-haiku-latest").user("Say hi");
/// let resp = client.completion(&req, &CallOptions::default()).await?;
/// println!("{}", resp.text().unwrap_or_default());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    registry: Arc<Registry>,
    transport: Transport,
    catalog: &'static Catalog,
}

/// What a call resolved to before any I/O.
struct Planned {
    spec: Arc<Spec>,
    model: String,
    prepared: Prepared,
    base_url: String,
    api_key: Option<String>,
}

impl Client {
    /// A client over the built-in specs.
    pub fn new() -> Result<Self> {
        Self::with_registry(Registry::builtin()?)
    }

    /// A client over the built-in specs plus the `*.toml` specs in `dir`.
    pub fn with_spec_dir(dir: impl AsRef<Path>) -> Result<Self> {
        Self::with_registry(Registry::with_dir(dir)?)
    }

    pub fn with_registry(registry: Registry) -> Result<Self> {
        Ok(Client {
            registry: Arc::new(registry),
            transport: Transport::new()?,
            catalog: Catalog::builtin()?,
        })
    }

    /// The model catalog prices come from.
    pub fn catalog(&self) -> &'static Catalog {
        self.catalog
    }

    /// Prices, limits and capabilities of `model` (`provider/model` or a bare name).
    pub fn model_info(&self, model: &str) -> Option<&'static ModelInfo> {
        let (spec, name) = self.registry.resolve(model).ok()?;
        self.catalog.model_info(&spec.id, &name)
    }

    /// What `usage` would cost on `model`, with no call made (for budgeting).
    pub fn cost_per_token(&self, model: &str, usage: &Usage) -> Cost {
        match self.registry.resolve(model) {
            Ok((spec, name)) => self.catalog.cost(&spec.id, &name, usage),
            Err(_) => Cost::default(),
        }
    }

    /// What a response cost: the cost it carries, else priced from its model and usage.
    pub fn completion_cost(&self, resp: &ChatResponse) -> Cost {
        match &resp.usage {
            Some(u) => u
                .cost
                .unwrap_or_else(|| self.cost_per_token(&resp.model, u)),
            None => Cost::default(),
        }
    }

    /// Sets `usage.cost` from the catalog: the answering model's price, else the requested one's.
    fn attach_cost(&self, provider: &str, models: [&str; 2], usage: Option<&mut Usage>) {
        if let Some(u) = usage {
            u.cost = Some(price(self.catalog, provider, models, u));
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// One chat completion.
    pub async fn completion(&self, req: &ChatRequest, opts: &CallOptions) -> Result<ChatResponse> {
        let (spec, model) = self.registry.resolve(&req.model)?;
        if let Some(text) = &opts.mock_response {
            let mut resp = mock_completion(req, &model, text);
            self.attach_cost(&spec.id, [&model, &model], resp.usage.as_mut());
            return Ok(resp);
        }
        let plan = self.plan(spec, model, req, false, opts)?;
        let at = |e: Error| e.at(&plan.spec.id, &plan.model);
        let json = self
            .send_json(
                &plan.spec,
                &plan.base_url,
                &plan.prepared,
                plan.api_key.as_deref(),
                opts.timeout,
            )
            .await
            .map_err(at)?;
        let id = fresh_id();
        let Some(chat) = plan.spec.chat.as_ref() else {
            return Err(no_endpoint(&plan.spec, "chat"));
        };
        let mut resp = map_response(
            chat,
            &json,
            &MapCtx {
                model: &plan.model,
                now: now(),
                fallback_id: &id,
            },
        );
        let answered = resp.model.clone();
        self.attach_cost(&plan.spec.id, [&answered, &plan.model], resp.usage.as_mut());
        Ok(resp)
    }

    /// A streamed chat completion: chunks as they arrive. A stream that
    /// errors or is cut ends with an `Err` item, never silently.
    pub async fn stream(&self, req: &ChatRequest, opts: &CallOptions) -> Result<ChatStream> {
        let (spec, model) = self.registry.resolve(&req.model)?;
        if let Some(text) = &opts.mock_response {
            let mut chunks = mock_chunks(req, &model, text);
            let usage = mock_usage(req, text);
            let cost = price(self.catalog, &spec.id, [&model, &model], &usage);
            for c in chunks.iter_mut().filter_map(|c| c.usage.as_mut()) {
                c.cost = Some(cost);
            }
            return Ok(ChatStream {
                inner: Box::pin(futures::stream::iter(chunks.into_iter().map(Ok))),
                usage: Arc::new(Mutex::new(Some(Usage {
                    cost: Some(cost),
                    ..usage
                }))),
            });
        }
        let plan = self.plan(spec, model, req, true, opts)?;
        let (provider, model) = (plan.spec.id.clone(), plan.model.clone());
        let at = move |e: Error| e.at(&provider, &model);
        let Some(stream_spec) = plan.spec.chat.as_ref().and_then(|c| c.stream.as_ref()) else {
            return Err(at(Error::bad_request(
                "this provider's spec has no streaming",
            )));
        };
        let fallback = stream_spec.framing;
        let resp = self
            .transport
            .send(
                &plan.spec,
                &plan.base_url,
                &plan.prepared,
                plan.api_key.as_deref(),
                opts.timeout,
            )
            .await
            .map_err(at.clone())?;
        let status = resp.status().as_u16();
        if status >= 400 {
            let retry_after = header(&resp, &plan.spec.errors.retry_after_header);
            let body = resp.bytes().await.map_err(|e| at(transport_error(e)))?;
            return Err(at(classify(
                &plan.spec.errors,
                Some(status),
                retry_after.as_deref(),
                &body,
            )));
        }
        let content_type = header(&resp, "content-type");
        let decoder = Decoder::for_content_type(content_type.as_deref(), fallback);
        let id = fresh_id();
        let Some(mapper) = ChunkMapper::new(
            plan.spec.clone(),
            &plan.model,
            &id,
            now(),
            req.include_usage(),
        ) else {
            return Err(at(Error::bad_request(
                "this provider's spec has no streaming",
            )));
        };
        let final_usage = Arc::new(Mutex::new(None));
        let state = Pump {
            body: resp.bytes_stream().boxed(),
            decoder,
            mapper,
            frames: Vec::new(),
            ready: VecDeque::new(),
            error: None,
            done: false,
            pricing: (self.catalog, plan.spec.id.clone(), plan.model.clone()),
            final_usage: final_usage.clone(),
        };
        let inner = futures::stream::unfold(state, move |mut st| {
            let at = at.clone();
            async move {
                let item = st.next_item().await.map(|r| r.map_err(&at))?;
                Some((item, st))
            }
        });
        Ok(ChatStream {
            inner: Box::pin(inner),
            usage: final_usage,
        })
    }

    /// Whether a key works, with the cheapest call the provider allows (a
    /// one-token chat, or a one-word embedding) — litellm's `check_valid_key`.
    pub async fn check_key(&self, model: &str, opts: &CallOptions) -> KeyCheck {
        let (spec, _) = match self.registry.resolve(model) {
            Ok(found) => found,
            Err(e) => {
                return KeyCheck {
                    valid: None,
                    reason: e.to_string(),
                };
            }
        };
        let result = if spec.chats() {
            let mut req = ChatRequest::new(model).user("hi");
            req.max_tokens = Some(1);
            self.completion(&req, opts).await.map(|_| ())
        } else {
            let req = EmbeddingRequest {
                model: model.to_string(),
                input: EmbeddingInput::One("hi".into()),
                ..Default::default()
            };
            self.embedding(&req, opts).await.map(|_| ())
        };
        match result {
            Ok(()) => KeyCheck {
                valid: Some(true),
                reason: format!("{} accepted the key", spec.name()),
            },
            Err(e) => match e.kind() {
                ErrorKind::Authentication | ErrorKind::PermissionDenied => KeyCheck {
                    valid: Some(false),
                    reason: e.to_string(),
                },
                ErrorKind::RateLimit
                | ErrorKind::NotFound
                | ErrorKind::BadRequest
                | ErrorKind::ContextWindowExceeded
                | ErrorKind::ContentPolicy => KeyCheck {
                    valid: Some(true),
                    reason: format!("the key was accepted; the test call itself failed: {e}"),
                },
                _ => KeyCheck {
                    valid: None,
                    reason: format!("could not tell: {e}"),
                },
            },
        }
    }

    /// Embeddings for one text or a list of texts.
    pub async fn embedding(
        &self,
        req: &EmbeddingRequest,
        opts: &CallOptions,
    ) -> Result<EmbeddingResponse> {
        let (spec, model) = self.registry.resolve(&req.model)?;
        let at = |e: Error| e.at(&spec.id, &model);
        let Some(ep) = spec.embeddings.as_ref() else {
            return Err(no_endpoint(&spec, "embeddings"));
        };
        let params = resolve_params(&spec, &opts.params).map_err(at)?;
        let api_key = api_key(&spec, opts).map_err(at)?;
        let canon = canonical_embedding(req, &model, params).map_err(at)?;
        let prepared = render_request(&spec, &ep.request, None, &canon)?;
        let base_url = opts.api_base.as_deref().unwrap_or(&prepared.base_url);
        let body = self
            .send_json(&spec, base_url, &prepared, api_key.as_deref(), opts.timeout)
            .await
            .map_err(at)?;
        let base64 = req.encoding_format.as_deref() == Some("base64");
        let mut resp = map_embeddings(ep, &body, &model, base64).map_err(at)?;
        let answered = resp.model.clone();
        self.attach_cost(&spec.id, [&answered, &model], resp.usage.as_mut());
        Ok(resp)
    }

    /// Sends a request and returns its JSON body, or the classified error.
    async fn send_json(
        &self,
        spec: &Spec,
        base_url: &str,
        prepared: &Prepared,
        api_key: Option<&str>,
        timeout: Option<Duration>,
    ) -> Result<Value> {
        let resp = self
            .transport
            .send(spec, base_url, prepared, api_key, timeout)
            .await?;
        let status = resp.status().as_u16();
        let retry_after = header(&resp, &spec.errors.retry_after_header);
        let body = resp.bytes().await.map_err(transport_error)?;
        if status >= 400 {
            return Err(classify(
                &spec.errors,
                Some(status),
                retry_after.as_deref(),
                &body,
            ));
        }
        serde_json::from_slice(&body).map_err(|e| {
            let shown: String = String::from_utf8_lossy(&body).chars().take(300).collect();
            Error::new(
                ErrorKind::Internal,
                format!("the response is not JSON ({e}): {shown}"),
            )
            .with_status(status)
        })
    }

    fn plan(
        &self,
        spec: Arc<Spec>,
        model: String,
        req: &ChatRequest,
        stream: bool,
        opts: &CallOptions,
    ) -> Result<Planned> {
        let at = |e: Error| e.at(&spec.id, &model);
        let params = resolve_params(&spec, &opts.params).map_err(at)?;
        let api_key = api_key(&spec, opts).map_err(at)?;
        let prepared = prepare_chat(&spec, req, &model, params, stream)?;
        let base_url = opts
            .api_base
            .clone()
            .unwrap_or_else(|| prepared.base_url.clone());
        Ok(Planned {
            spec,
            model,
            prepared,
            base_url,
            api_key,
        })
    }
}

/// Provider parameters: the call's value, else the env var, else the default.
fn resolve_params(spec: &Spec, given: &BTreeMap<String, String>) -> Result<Map<String, Value>> {
    for name in given.keys() {
        if !spec.params.iter().any(|p| &p.name == name) {
            let known: Vec<&str> = spec.params.iter().map(|p| p.name.as_str()).collect();
            return Err(Error::bad_request(format!(
                "unknown parameter {name:?} (this provider takes: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let mut out = Map::new();
    for p in &spec.params {
        let value = given
            .get(&p.name)
            .cloned()
            .or_else(|| p.env.as_ref().and_then(|e| std::env::var(e).ok()))
            .or_else(|| p.default.clone());
        match value {
            Some(v) => {
                out.insert(p.name.clone(), Value::String(v));
            }
            None if p.required => {
                let env = p
                    .env
                    .as_ref()
                    .map(|e| format!(" or set {e}"))
                    .unwrap_or_default();
                return Err(Error::bad_request(format!(
                    "missing parameter {0:?}: pass --param {0}=…{env}",
                    p.name
                )));
            }
            None => {}
        }
    }
    Ok(out)
}

/// The call's key, else the spec's environment variable; missing is an error unless optional.
fn api_key(spec: &Spec, opts: &CallOptions) -> Result<Option<String>> {
    let key = match &opts.api_key {
        Some(k) => Some(k.clone()),
        None => spec
            .auth
            .env
            .as_ref()
            .and_then(|v| std::env::var(v).ok())
            .filter(|k| !k.is_empty()),
    };
    // A scheme that finds its own credentials (aws-sigv4) reports a missing one itself.
    if key.is_none() && !spec.auth.optional && spec.auth.scheme.needs_key() {
        let env = spec
            .auth
            .env
            .as_deref()
            .unwrap_or("the provider's key variable");
        return Err(Error::new(
            ErrorKind::Authentication,
            format!("no API key: set {env} or pass an api_key"),
        ));
    }
    Ok(key)
}

fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers().get(name)?.to_str().ok().map(str::to_string)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh id for responses whose provider gives none.
fn fresh_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "chatcmpl-{nanos:x}{:x}",
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drives one streamed body: bytes → frames → chunks.
struct Pump {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    decoder: Decoder,
    mapper: ChunkMapper,
    frames: Vec<Frame>,
    ready: VecDeque<ChatChunk>,
    error: Option<Error>,
    done: bool,
    /// Catalog, provider and requested model, to price the usage.
    pricing: (&'static Catalog, String, String),
    final_usage: Arc<Mutex<Option<Usage>>>,
}

impl Pump {
    async fn next_item(&mut self) -> Option<Result<ChatChunk>> {
        loop {
            if let Some(c) = self.ready.pop_front() {
                return Some(Ok(c));
            }
            if let Some(e) = self.error.take() {
                return Some(Err(e));
            }
            if self.done {
                return None;
            }
            let step = match self.body.next().await {
                Some(Ok(bytes)) => self
                    .decoder
                    .feed(&bytes, &mut self.frames)
                    .map_err(frame_error),
                Some(Err(e)) => Err(transport_error(e)),
                None => {
                    self.done = true;
                    self.decoder.finish(&mut self.frames).map_err(frame_error)
                }
            };
            let mut out = Vec::new();
            let mapped = step.and_then(|()| {
                for f in self.frames.drain(..) {
                    self.mapper.frame(&f, &mut out)?;
                }
                if self.done || self.mapper.is_complete() {
                    self.done = true;
                    self.mapper.finish(&mut out)?;
                    self.record_usage(&mut out);
                }
                Ok(())
            });
            self.ready.extend(out);
            if let Err(e) = mapped {
                // What arrived before the error is delivered first, then the error.
                self.done = true;
                self.error = Some(e);
            }
        }
    }
}

impl Pump {
    /// Prices the finished stream's usage, on its usage chunk and for [`ChatStream::usage`].
    fn record_usage(&mut self, out: &mut [ChatChunk]) {
        let Some(mut usage) = self.mapper.usage() else {
            return;
        };
        let (catalog, provider, model) = &self.pricing;
        let answered = out.last().map(|c| c.model.clone()).unwrap_or_default();
        let cost = price(catalog, provider, [&answered, model], &usage);
        usage.cost = Some(cost);
        for c in out.iter_mut().filter_map(|c| c.usage.as_mut()) {
            c.cost = Some(cost);
        }
        if let Ok(mut slot) = self.final_usage.lock() {
            *slot = Some(usage);
        }
    }
}

/// The cost of `usage` at the first of `models` the catalog prices.
fn price(catalog: &Catalog, provider: &str, models: [&str; 2], usage: &Usage) -> Cost {
    models
        .iter()
        .map(|m| catalog.cost(provider, m, usage))
        .find(|c| c.priced)
        .unwrap_or_default()
}

fn frame_error(e: crate::engine::stream::FrameError) -> Error {
    Error::new(ErrorKind::Internal, format!("malformed stream: {e}"))
}

/// A stream of chunks (see [`Client::stream`]).
pub struct ChatStream {
    inner: Pin<Box<dyn Stream<Item = Result<ChatChunk>> + Send>>,
    usage: Arc<Mutex<Option<Usage>>>,
}

impl ChatStream {
    /// `first`, then the rest of `rest` (a Router that already read the first chunk).
    pub(crate) fn prepend(first: ChatChunk, rest: ChatStream) -> ChatStream {
        let usage = rest.usage.clone();
        ChatStream {
            inner: Box::pin(futures::stream::once(async move { Ok(first) }).chain(rest)),
            usage,
        }
    }

    /// Usage and cost of the whole stream, once it has finished normally
    /// (whether or not `stream_options.include_usage` asked for a usage chunk).
    pub fn usage(&self) -> Option<Usage> {
        self.usage.lock().ok()?.clone()
    }
}

impl Stream for ChatStream {
    type Item = Result<ChatChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

/// Rough token estimate for mock responses: one token per four characters.
fn estimate_tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

fn mock_usage(req: &ChatRequest, text: &str) -> Usage {
    let prompt: u64 = req
        .messages
        .iter()
        .map(|m| match &m.content {
            Some(Content::Text(t)) => estimate_tokens(t),
            Some(Content::Parts(p)) => p.len() as u64 * 4,
            None => 0,
        } + 4)
        .sum();
    let completion = estimate_tokens(text);
    Usage {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        ..Default::default()
    }
}

fn mock_completion(req: &ChatRequest, model: &str, text: &str) -> ChatResponse {
    ChatResponse {
        id: fresh_id(),
        object: "chat.completion".into(),
        created: now(),
        model: model.to_string(),
        choices: vec![Choice {
            index: 0,
            message: ResponseMessage {
                role: "assistant".into(),
                content: Some(text.to_string()),
                reasoning_content: None,
                thinking_blocks: Vec::new(),
                tool_calls: Vec::new(),
            },
            finish_reason: Some("stop".into()),
        }],
        usage: Some(mock_usage(req, text)),
    }
}

fn mock_chunks(req: &ChatRequest, model: &str, text: &str) -> Vec<ChatChunk> {
    let (id, created) = (fresh_id(), now());
    let chunk = |delta: Delta, finish: Option<&str>| ChatChunk {
        id: id.clone(),
        object: "chat.completion.chunk".into(),
        created,
        model: model.to_string(),
        choices: vec![ChunkChoice {
            index: 0,
            delta,
            finish_reason: finish.map(str::to_string),
        }],
        usage: None,
    };
    let mut out: Vec<ChatChunk> = text
        .split_inclusive(' ')
        .enumerate()
        .map(|(i, piece)| {
            chunk(
                Delta {
                    role: (i == 0).then(|| "assistant".to_string()),
                    content: Some(piece.to_string()),
                    ..Default::default()
                },
                None,
            )
        })
        .collect();
    out.push(chunk(Delta::default(), Some("stop")));
    if req.include_usage() {
        let mut last = chunk(Delta::default(), None);
        last.choices.clear();
        last.usage = Some(mock_usage(req, text));
        out.push(last);
    }
    out
}
