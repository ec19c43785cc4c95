//! Prometheus metrics at `GET /metrics` (text format 0.0.4): requests by
//! model group, deployment and outcome; latency per model group (and time
//! to first byte for streams); prompt and completion tokens; cost in USD;
//! errors by unified kind; request tasks that panicked; open client
//! connections and how often their limit was reached.
//!
//! The metrics are an [`Observer`] of the call records: each finished
//! chat or embeddings call counts once, from its record (group, deployment,
//! outcome, latency, time to first chunk, usage and cost). Reads the record
//! room; never the handlers.
//!
//! Metric names (prefix `switchboard_`): `requests_total{route, model_group,
//! deployment, outcome}`, `request_duration_seconds{route, model_group}`,
//! `time_to_first_byte_seconds{model_group}`, `prompt_tokens_total`,
//! `completion_tokens_total` and `cost_usd_total{model_group, deployment}`,
//! `errors_total{route, model_group, kind}`, `panics_total{route}`,
//! `open_connections`, `connection_limit_reached_total`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64};

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::error::{ErrorKind, Result};
use crate::server::AppState;
use crate::server::record::{CallRecord, Observer};

/// Latency buckets in seconds: 5 ms to 5 min.
const LATENCY_BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    model_group: String,
    deployment: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    route: &'static str,
    model_group: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GroupLabels {
    model_group: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UsageLabels {
    model_group: String,
    deployment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    route: &'static str,
    model_group: String,
    kind: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The server's metrics and the registry that renders them.
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histograms<LatencyLabels>,
    ttfb: Histograms<GroupLabels>,
    prompt_tokens: Family<UsageLabels, Counter>,
    completion_tokens: Family<UsageLabels, Counter>,
    cost: Family<UsageLabels, Counter<f64, AtomicU64>>,
    errors: Family<ErrorLabels, Counter>,
    panics: Family<RouteLabels, Counter>,
    open_connections: Gauge<i64, AtomicI64>,
    connection_limit_reached: Counter,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "Chat and embeddings requests, by model group, deployment and outcome",
            requests.clone(),
        );
        let latency: Histograms<LatencyLabels> = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "request_duration",
            "Time from request to the last byte of the answer",
            Unit::Seconds,
            latency.clone(),
        );
        let ttfb: Histograms<GroupLabels> = Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "time_to_first_byte",
            "Streams: time from request to the first chunk",
            Unit::Seconds,
            ttfb.clone(),
        );
        let prompt_tokens = Family::<UsageLabels, Counter>::default();
        registry.register(
            "prompt_tokens",
            "Prompt tokens billed",
            prompt_tokens.clone(),
        );
        let completion_tokens = Family::<UsageLabels, Counter>::default();
        registry.register(
            "completion_tokens",
            "Completion tokens billed",
            completion_tokens.clone(),
        );
        let cost = Family::<UsageLabels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "cost_usd",
            "Cost in USD at catalog prices (unpriced models add nothing)",
            cost.clone(),
        );
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "errors",
            "Failed requests, by unified error kind",
            errors.clone(),
        );
        let panics = Family::<RouteLabels, Counter>::default();
        registry.register(
            "panics",
            "Request tasks that panicked and were answered 500 (each one is a bug)",
            panics.clone(),
        );
        let open_connections = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "open_connections",
            "Client connections open now",
            open_connections.clone(),
        );
        let connection_limit_reached = Counter::default();
        registry.register(
            "connection_limit_reached",
            "Times new connections had to wait for one to close ([server] max-connections)",
            connection_limit_reached.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            ttfb,
            prompt_tokens,
            completion_tokens,
            cost,
            errors,
            panics,
            open_connections,
            connection_limit_reached,
        }
    }

    /// A request task panicked on `route` (`chat`, `embeddings`, `other`).
    pub(crate) fn panicked(&self, route: &'static str) {
        self.panics.get_or_create(&RouteLabels { route }).inc();
    }

    /// A client connection opened (`+1`) or closed (`-1`).
    pub(crate) fn connections(&self, change: i64) {
        self.open_connections.inc_by(change);
    }

    pub(crate) fn open_connections(&self) -> i64 {
        self.open_connections.get()
    }

    /// The connection limit was reached.
    pub(crate) fn connection_limit_reached(&self) {
        self.connection_limit_reached.inc();
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> Result<String> {
        let mut out = String::new();
        prometheus_text::encode(&mut out, &self.registry).map_err(|e| {
            crate::Error::new(ErrorKind::Internal, format!("metrics encoding: {e}"))
        })?;
        Ok(out)
    }
}

impl Observer for Metrics {
    /// One finished call (latency is the whole call).
    fn finished(&self, call: &CallRecord) {
        let route = call.route.label();
        self.requests
            .get_or_create(&RequestLabels {
                route,
                model_group: call.group.clone(),
                deployment: call.deployment.clone(),
                outcome: call.outcome.label(),
            })
            .inc();
        self.latency
            .get_or_create(&LatencyLabels {
                route,
                model_group: call.group.clone(),
            })
            .observe(call.latency.as_secs_f64());
        if let Some(first) = call.first_byte {
            self.ttfb
                .get_or_create(&GroupLabels {
                    model_group: call.group.clone(),
                })
                .observe(first.as_secs_f64());
        }
        if let Some(kind) = call.outcome.kind() {
            self.errors
                .get_or_create(&ErrorLabels {
                    route,
                    model_group: call.group.clone(),
                    kind: kind.as_str(),
                })
                .inc();
        }
        if let Some(usage) = &call.usage {
            let labels = UsageLabels {
                model_group: call.group.clone(),
                deployment: call.deployment.clone(),
            };
            self.prompt_tokens
                .get_or_create(&labels)
                .inc_by(usage.prompt_tokens);
            self.completion_tokens
                .get_or_create(&labels)
                .inc_by(usage.completion_tokens);
            if let Some(cost) = usage.cost.filter(|c| c.priced && c.usd > 0.0) {
                self.cost.get_or_create(&labels).inc_by(cost.usd);
            }
        }
    }
}

/// `GET /metrics`.
pub(crate) async fn render(State(state): State<Arc<AppState>>) -> Response {
    match state.metrics.render() {
        Ok(text) => {
            let mut resp = text.into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(prometheus_text::CONTENT_TYPE),
            );
            resp
        }
        Err(e) => super::error::ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::record::{Outcome, Recorder, Route};

    #[test]
    fn a_finished_call_renders_in_the_prometheus_text_format() {
        let metrics = Arc::new(Metrics::new());
        let mut call = Recorder::new(vec![metrics.clone()]).open(Route::Chat);
        call.group("g");
        call.served("d".into(), Vec::new());
        call.first_chunk();
        call.usage(Some(crate::types::Usage {
            prompt_tokens: 3,
            completion_tokens: 4,
            total_tokens: 7,
            ..Default::default()
        }));
        call.finish(Outcome::Failed(ErrorKind::Timeout));
        metrics.panicked("chat");
        let text = metrics.render().unwrap();
        for line in [
            "# TYPE switchboard_requests_total counter",
            "switchboard_requests_total{route=\"chat\",model_group=\"g\",deployment=\"d\",outcome=\"error\"} 1",
            "switchboard_errors_total{route=\"chat\",model_group=\"g\",kind=\"timeout\"} 1",
            "# TYPE switchboard_request_duration_seconds histogram",
            "switchboard_time_to_first_byte_seconds_count{model_group=\"g\"} 1",
            "switchboard_completion_tokens_total{model_group=\"g\",deployment=\"d\"} 4",
            "switchboard_panics_total{route=\"chat\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line}\n{text}");
        }
    }
}
