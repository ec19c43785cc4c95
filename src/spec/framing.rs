//! How a streamed body is cut into frames, as a spec names it
//! (`[chat.stream] framing = "sse"`). Only the name lives here; the
//! decoders that do the cutting are the engine's (`engine::stream`).

/// How a streamed body is cut into frames, as named in a provider spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Framing {
    /// Server-sent events (`text/event-stream`): one frame per dispatched event.
    Sse,
    /// Newline-delimited JSON: one frame per non-blank line.
    Ndjson,
    /// One JSON array whose elements arrive over time: one frame per element.
    JsonArray,
    /// The AWS binary event stream (`application/vnd.amazon.eventstream`):
    /// one frame per message, named by its event or exception type.
    AwsEventStream,
}
