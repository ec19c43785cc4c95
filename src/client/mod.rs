//! The library entry point: engine + transport. One attempt of a call
//! (`completion_once`, `stream_once`, `embedding_once`) resolves the model
//! to a spec, builds the canonical request, renders, sends, and maps the
//! answer (or classifies the failure), priced by the client's price book.
//! Reads the clock and the environment here, so the engine never does.
//! Every error it returns has the call's key, and anything shaped like a
//! credential, redacted. The public `completion`, `stream` and `embedding`
//! act on a call's retries and fallbacks too, so they live a layer up, in
//! `router/plain.rs`.
//!
//! Rooms: `options` (per-call settings), `fallback` (a model to fall back
//! to), `key_check` (does a key work), `litellm_args` (litellm's arguments found in a request body),
//! `lookup` (key and provider parameters from outside the request), `pump`
//! (a streamed body to chunks), `stream` (the stream handed to the caller),
//! `mock` (answers without a network), `variant` (which endpoint variant a
//! model's calls go through).

mod count;
mod defaults;
mod fallback;
mod images;
mod key_check;
mod litellm_args;
mod lookup;
mod mock;
mod native;
mod options;
mod policy;
mod pump;
mod stream;
mod variant;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::Value;
use tokio::time::Instant;

pub(crate) use defaults::{check_defaults, check_headers};
pub use fallback::Fallback;
pub use key_check::KeyCheck;
pub(crate) use litellm_args::has_litellm_args;
pub use mock::MockResponse;
pub use native::{Native, NativeFrame};
pub use options::CallOptions;
pub use stream::ChatStream;

use crate::cost::{Catalog, ModelInfo, PriceBook};
use crate::duration;
use crate::engine;
use crate::engine::classify::classify;
use crate::engine::embed::{canonical_embedding, map_embeddings};
use crate::engine::events::ChunkMapper;
use crate::engine::map::{MapCtx, map_response};
use crate::engine::render::{RenderedRequest, no_endpoint, prepare_chat, render_request};
use crate::engine::stream::Decoder;
use crate::error::{Error, ErrorKind, Result};
use crate::redact::{Redactor, display_url};
use crate::spec::{Registry, Spec};
use crate::transport::{BodyStream, Transport, after, earliest, read_body};
use crate::types::*;
use lookup::{api_key, env_base_url, resolve_params};
use mock::{mock_chunks, mock_completion, mock_error, mock_usage};
use pump::{Pricing, Pump};

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
    prices: PriceBook,
}

/// What a call resolved to before any I/O.
struct Planned {
    spec: Arc<Spec>,
    model: String,
    prepared: RenderedRequest,
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
            prices: PriceBook::new(Catalog::builtin()?),
        })
    }

    /// The built-in model catalog (without entries registered at run time:
    /// [`Client::model_info`] sees those too).
    pub fn catalog(&self) -> &'static Catalog {
        self.prices.builtin()
    }

    /// Prices, limits and capabilities of `model` (`provider/model` or a
    /// bare name): its registered entry, else the catalog's.
    pub fn model_info(&self, model: &str) -> Option<&ModelInfo> {
        let (spec, name) = self.registry.resolve(model).ok()?;
        self.prices.model_info(&spec.id, &name)
    }

    /// Adds or replaces `model`'s catalog entry for this client (litellm's
    /// `register_model`): its calls, and those of a Router built from it
    /// afterwards, are priced and checked by it. Clones made before keep
    /// what they had. An absurd price is an error naming it.
    ///
    /// ```no_run
    /// # fn run() -> switchboard::Result<()> {
    /// use switchboard::{Client, ModelInfo};
    /// let mut client = Client::new()?;
    /// let info = ModelInfo { context_window: Some(32_000), ..Default::default() }
    ///     .with_token_prices(Some(0.000_000_5), Some(0.000_001_5))?; // USD per token
    /// client.register_model("openai/my-fine-tune", info)?;
    /// # Ok(()) }
    /// ```
    pub fn register_model(&mut self, model: &str, info: ModelInfo) -> Result<()> {
        let (spec, name) = self.registry.resolve(model)?;
        self.prices.register(&spec.id, &name, info)
    }

    /// What `usage` would cost on `model`, with no call made (for budgeting).
    pub fn cost_per_token(&self, model: &str, usage: &Usage) -> Cost {
        match self.registry.resolve(model) {
            Ok((spec, name)) => self.prices.cost(None, &spec.id, [&name, &name], usage),
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

    /// Sets `usage.cost`: at the call's own price when it has one, else the
    /// answering model's, else the requested one's.
    fn attach_cost(
        &self,
        own: Option<&ModelInfo>,
        provider: &str,
        models: [&str; 2],
        usage: Option<&mut Usage>,
    ) {
        if let Some(u) = usage {
            u.cost = Some(self.prices.cost(own, provider, models, u));
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The OpenAI request parameters `model`'s provider carries (litellm's
    /// `get_supported_openai_params`); see [`Registry::supported_openai_params`].
    pub fn supported_openai_params(&self, model: &str) -> Result<Vec<String>> {
        self.registry.supported_openai_params(model)
    }

    /// One attempt of a chat completion (no retries, no fallbacks).
    pub(crate) async fn completion_once(
        &self,
        req: &ChatRequest,
        opts: &CallOptions,
    ) -> Result<ChatResponse> {
        let (spec, model) = self.registry.resolve(&req.model)?;
        match &opts.mock_response {
            Some(MockResponse::Message {
                content,
                tool_calls,
            }) => {
                let answer = (content.as_deref(), tool_calls.as_slice());
                let mut resp = mock_completion(req, &model, answer, fresh_id(), now());
                let own = opts.price.as_deref();
                self.attach_cost(own, &spec.id, [&model, &model], resp.usage.as_mut());
                return Ok(resp);
            }
            Some(MockResponse::Error(kind)) => {
                return Err(mock_error(*kind).at(&spec.id, &model));
            }
            None => {}
        }
        let deadline = answer_deadline(opts);
        let (spec, model) = variant::pick(spec, model, opts.price.as_deref(), &self.prices);
        let req = images::inline_images(&self.transport, &spec, req, opts)
            .await
            .map_err(|e| e.at(&spec.id, &model))?;
        let plan = self.plan(spec, model, &req, false, opts)?;
        let key = plan.api_key.as_deref();
        let at = |e: Error| scrub(e.at(&plan.spec.id, &plan.model), key);
        let json = self
            .send_json(
                &plan.spec,
                &plan.base_url,
                &plan.prepared,
                key,
                opts,
                deadline,
            )
            .await
            .map_err(at)?;
        if let Some(native) = &opts.native {
            native.keep_answer(&json);
        }
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
        let own = opts.price.as_deref();
        let models = [answered.as_str(), plan.model.as_str()];
        self.attach_cost(own, &plan.spec.id, models, resp.usage.as_mut());
        Ok(resp)
    }

    /// One attempt of a streamed chat completion: chunks as they arrive. A
    /// stream that errors, is cut, or falls silent for longer than
    /// `limits.idle` ends with an `Err` item, never silently.
    pub(crate) async fn stream_once(
        &self,
        req: &ChatRequest,
        opts: &CallOptions,
    ) -> Result<ChatStream> {
        let (spec, model) = self.registry.resolve(&req.model)?;
        if let Some(mock) = &opts.mock_response {
            let (content, tool_calls) = match mock {
                MockResponse::Message {
                    content,
                    tool_calls,
                } => (content, tool_calls),
                MockResponse::Error(kind) => return Err(mock_error(*kind).at(&spec.id, &model)),
            };
            let answer = (content.as_deref(), tool_calls.as_slice());
            let mut chunks = mock_chunks(req, &model, answer, fresh_id(), now());
            let usage = mock_usage(req, content.as_deref().unwrap_or_default(), tool_calls);
            let own = opts.price.as_deref();
            let cost = self.prices.cost(own, &spec.id, [&model, &model], &usage);
            for c in chunks.iter_mut().filter_map(|c| c.usage.as_mut()) {
                c.cost = Some(cost);
            }
            let usage = Usage {
                cost: Some(cost),
                ..usage
            };
            return Ok(ChatStream::new(
                futures::stream::iter(chunks.into_iter().map(Ok)),
                Arc::new(Mutex::new(Some(usage))),
            ));
        }
        let started = Instant::now();
        let total_by = after(started, opts.limits.total);
        let head_by = earliest(after(started, opts.timeout), total_by);
        let (spec, model) = variant::pick(spec, model, opts.price.as_deref(), &self.prices);
        let req = images::inline_images(&self.transport, &spec, req, opts)
            .await
            .map_err(|e| e.at(&spec.id, &model))?;
        let plan = self.plan(spec, model, &req, true, opts)?;
        let (provider, model, key) = (
            plan.spec.id.clone(),
            plan.model.clone(),
            plan.api_key.clone(),
        );
        let at = move |e: Error| scrub(e.at(&provider, &model), key.as_deref());
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
                &opts.limits,
                head_by,
            )
            .await
            .map_err(at.clone())?;
        let status = resp.status().as_u16();
        if status >= 400 {
            let mut resp = resp;
            let retry_after = retry_after(&resp, &plan.spec);
            let body = read_body(&mut resp, &opts.limits, head_by).await;
            return Err(at(classify(
                &plan.spec.errors,
                Some(status),
                retry_after,
                body.as_deref().unwrap_or_default(),
            )));
        }
        let content_type = header(&resp, "content-type");
        let decoder = Decoder::for_content_type(content_type.as_deref(), fallback)
            .with_max_frame(opts.limits.max_event_bytes);
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
        let body = BodyStream::new(resp, &opts.limits, total_by);
        let pricing = Pricing {
            book: self.prices.clone(),
            own: opts.price.clone(),
            provider: plan.spec.id.clone(),
            model: plan.model.clone(),
        };
        let state = Pump::new(body, decoder, mapper, pricing, final_usage.clone())
            .keeping(opts.native.clone());
        let inner = futures::stream::unfold(state, move |mut st| {
            let at = at.clone();
            async move {
                let item = st.next_item().await.map(|r| r.map_err(&at))?;
                Some((item, st))
            }
        });
        Ok(ChatStream::new(inner, final_usage))
    }

    /// One attempt of embeddings for one text or a list of texts.
    pub(crate) async fn embedding_once(
        &self,
        req: &EmbeddingRequest,
        opts: &CallOptions,
    ) -> Result<EmbeddingResponse> {
        let (spec, model) = self.registry.resolve(&req.model)?;
        let deadline = answer_deadline(opts);
        let at = |e: Error| e.at(&spec.id, &model);
        let Some(ep) = spec.embeddings.as_ref() else {
            return Err(no_endpoint(&spec, "embeddings"));
        };
        let params = resolve_params(&spec, &opts.params).map_err(at)?;
        let api_key = api_key(&spec, opts).map_err(at)?;
        let key = api_key.as_deref();
        let canon = canonical_embedding(req, &model, params).map_err(at)?;
        let mut prepared = render_request(&spec, &ep.request, None, &canon)?;
        defaults::add_headers(&mut prepared.headers, &opts.extra_headers);
        let env_base = env_base_url(&spec).map_err(at)?;
        let base_url = opts
            .api_base
            .as_deref()
            .or(env_base.as_deref())
            .unwrap_or(&prepared.base_url);
        let body = self
            .send_json(&spec, base_url, &prepared, key, opts, deadline)
            .await
            .map_err(|e| scrub(at(e), key))?;
        let base64 = req.encoding_format.as_deref() == Some("base64");
        let mut resp = map_embeddings(ep, &body, &model, base64).map_err(|e| scrub(at(e), key))?;
        let answered = resp.model.clone();
        let own = opts.price.as_deref();
        self.attach_cost(own, &spec.id, [&answered, &model], resp.usage.as_mut());
        Ok(resp)
    }

    /// Sends a request and returns its JSON body, or the classified error.
    async fn send_json(
        &self,
        spec: &Spec,
        base_url: &str,
        prepared: &RenderedRequest,
        api_key: Option<&str>,
        opts: &CallOptions,
        deadline: Option<Instant>,
    ) -> Result<Value> {
        let mut resp = self
            .transport
            .send(spec, base_url, prepared, api_key, &opts.limits, deadline)
            .await?;
        let status = resp.status().as_u16();
        let retry_after = retry_after(&resp, spec);
        let body = read_body(&mut resp, &opts.limits, deadline).await;
        if status >= 400 {
            return Err(classify(
                &spec.errors,
                Some(status),
                retry_after,
                body.as_deref().unwrap_or_default(),
            ));
        }
        let body = body?;
        serde_json::from_slice(&body).map_err(|e| not_json(resp.url(), status, &body, &e))
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
        policy::check_options(opts).map_err(at)?;
        let req = defaults::with_defaults(req, &opts.defaults).map_err(at)?;
        let (req, policy) = policy::call_policy(&req, opts).map_err(at)?;
        let applied = engine::params::apply(&spec, &req, &policy.policy()).map_err(at)?;
        if !applied.dropped.is_empty() {
            log::debug!(
                "drop_params: {} does not carry {}; dropped",
                spec.id,
                applied.dropped.join(", ")
            );
        }
        let mut prepared = prepare_chat(&spec, &applied.request, &model, params, stream)?;
        engine::params::force_into(&mut prepared.body, &applied.forced);
        defaults::add_headers(&mut prepared.headers, &opts.extra_headers);
        if let Some(native) = &opts.native {
            let dialect = spec.chat.as_ref().and_then(|c| c.dialect.as_deref());
            if let Some(body) = native.begin(dialect, &model) {
                prepared.body = body;
            }
        }
        let base_url = match &opts.api_base {
            Some(b) => b.clone(),
            None => env_base_url(&spec)
                .map_err(at)?
                .unwrap_or_else(|| prepared.base_url.clone()),
        };
        Ok(Planned {
            spec,
            model,
            prepared,
            base_url,
            api_key,
        })
    }
}

/// When a JSON call's answer must be complete: the call's timeout or its
/// total, whichever ends first; None when neither is set (the transport's
/// own first-byte and idle limits still hold).
fn answer_deadline(opts: &CallOptions) -> Option<Instant> {
    if opts.timeout.is_none() && opts.limits.total.is_none() {
        return None;
    }
    let now = Instant::now();
    earliest(after(now, opts.timeout), after(now, opts.limits.total))
}

/// A 2xx answer that is not JSON (an HTML page, garbage): a bad gateway (502).
fn not_json(url: &reqwest::Url, status: u16, body: &Bytes, e: &serde_json::Error) -> Error {
    let mut shown: String = String::from_utf8_lossy(body).chars().take(300).collect();
    if shown.len() < body.len() {
        shown.push('…');
    }
    Error::new(
        ErrorKind::Connection,
        format!(
            "the answer from {} is not JSON ({e}): {shown}",
            display_url(url.as_str())
        ),
    )
    .with_status(status)
}

/// `e` with the call's key taken out, and any text shaped like a credential
/// (an upstream may echo the request's headers in its error).
fn scrub(e: Error, key: Option<&str>) -> Error {
    let Some(key) = key else {
        return e.redacted(&Redactor::default());
    };
    // A key of parts (an AWS `ID:SECRET:TOKEN`) may be echoed a part at a time.
    let parts = (!key.contains(['{', ' ', '\n']))
        .then(|| key.split(':'))
        .into_iter()
        .flatten();
    e.redacted(&Redactor::new(std::iter::once(key).chain(parts)))
}

/// The upstream's Retry-After, read through `duration::retry_after` (a
/// date, a huge or a negative number never becomes an unbounded wait).
fn retry_after(resp: &reqwest::Response, spec: &Spec) -> Option<std::time::Duration> {
    let value = resp
        .headers()
        .get(spec.errors.retry_after_header.as_str())?
        .to_str()
        .ok()?;
    duration::retry_after(value, SystemTime::now())
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
