//! Stream framing: turns raw HTTP body bytes, arriving in chunks of any size,
//! into [`Frame`]s. A chunk may end in the middle of a line, of a UTF-8
//! character or of a JSON string; each decoder buffers only what it cannot
//! yet frame. Knows no provider JSON: a frame's `data` is handed on as text.

mod aws_eventstream;
mod json_array;
mod ndjson;
#[cfg(test)]
mod props;
mod sse;

/// One decoded unit of a streamed body: an SSE event, one NDJSON line, one
/// element of a JSON array, or one AWS event-stream message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The SSE `event:` field, or an AWS event-stream message's event type
    /// (see `aws_eventstream`); `None` when absent, and always for NDJSON and JSON arrays.
    pub(crate) event: Option<String>,
    /// The SSE data (lines joined with `\n`), the trimmed NDJSON line, the
    /// element's exact JSON text, or an AWS event-stream message's payload.
    pub(crate) data: String,
}

pub(crate) use crate::spec::Framing;

/// An incremental decoder for one response body. A frame (or the part of
/// one held while it is incomplete) larger than its limit is an error, so
/// an endless line or event is never buffered whole.
#[derive(Debug)]
pub(crate) struct Decoder {
    inner: Inner,
    max_frame: usize,
}

#[derive(Debug)]
enum Inner {
    Sse(sse::SseDecoder),
    Ndjson(ndjson::NdjsonDecoder),
    JsonArray(json_array::JsonArrayDecoder),
    AwsEventStream(aws_eventstream::AwsEventStreamDecoder),
}

impl Decoder {
    /// A decoder with no frame limit (for a body already in memory).
    pub(crate) fn new(framing: Framing) -> Self {
        let inner = match framing {
            Framing::Sse => Inner::Sse(sse::SseDecoder::default()),
            Framing::Ndjson => Inner::Ndjson(ndjson::NdjsonDecoder::default()),
            Framing::JsonArray => Inner::JsonArray(json_array::JsonArrayDecoder::default()),
            Framing::AwsEventStream => {
                Inner::AwsEventStream(aws_eventstream::AwsEventStreamDecoder::default())
            }
        };
        Decoder {
            inner,
            max_frame: usize::MAX,
        }
    }

    /// Picks the framing from a response content-type when it names one
    /// (`text/event-stream` → `Sse`, `application/x-ndjson` or
    /// `application/jsonl` → `Ndjson`, `application/json` → `JsonArray`,
    /// `application/vnd.amazon.eventstream` → `AwsEventStream`);
    /// otherwise `fallback`.
    pub(crate) fn for_content_type(content_type: Option<&str>, fallback: Framing) -> Self {
        Self::new(content_type.and_then(framing_named_by).unwrap_or(fallback))
    }

    /// The same decoder, refusing any frame of more than `bytes`.
    pub(crate) fn with_max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// The framing this decoder reads.
    #[cfg(test)]
    pub(crate) fn framing(&self) -> Framing {
        match self.inner {
            Inner::Sse(_) => Framing::Sse,
            Inner::Ndjson(_) => Framing::Ndjson,
            Inner::JsonArray(_) => Framing::JsonArray,
            Inner::AwsEventStream(_) => Framing::AwsEventStream,
        }
    }

    /// Feed the next bytes; complete frames are pushed to `out`.
    pub(crate) fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) -> Result<(), FrameError> {
        let before = out.len();
        match &mut self.inner {
            Inner::Sse(decoder) => decoder.feed(bytes, out),
            Inner::Ndjson(decoder) => decoder.feed(bytes, out),
            Inner::JsonArray(decoder) => decoder.feed(bytes, out),
            Inner::AwsEventStream(decoder) => decoder.feed(bytes, out),
        }?;
        self.check_size(out, before)
    }

    /// The body ended: flush what is pending (SSE: dispatch a final event
    /// without trailing blank line; NDJSON: last line without newline).
    /// Returns `Err(FrameError)` if the body stops inside a frame that cannot
    /// be complete (JSON array: unterminated element or missing `]`; an empty
    /// body is an error for a JSON array too; AWS event stream: a message cut short).
    pub(crate) fn finish(&mut self, out: &mut Vec<Frame>) -> Result<(), FrameError> {
        let before = out.len();
        match &mut self.inner {
            Inner::Sse(decoder) => decoder.finish(out),
            Inner::Ndjson(decoder) => decoder.finish(out),
            Inner::JsonArray(decoder) => decoder.finish(out),
            Inner::AwsEventStream(decoder) => decoder.finish(out),
        }?;
        self.check_size(out, before)
    }

    /// Bytes held for a frame not yet complete.
    fn pending(&self) -> usize {
        match &self.inner {
            Inner::Sse(decoder) => decoder.pending(),
            Inner::Ndjson(decoder) => decoder.pending(),
            Inner::JsonArray(decoder) => decoder.pending(),
            Inner::AwsEventStream(decoder) => decoder.pending(),
        }
    }

    /// Fails when what is held, or a frame pushed since `before`, is past the limit.
    fn check_size(&self, out: &[Frame], before: usize) -> Result<(), FrameError> {
        let limit = self.max_frame;
        let largest = out
            .get(before..)
            .unwrap_or_default()
            .iter()
            .map(|f| f.data.len())
            .max()
            .unwrap_or(0);
        if self.pending() > limit || largest > limit {
            return Err(FrameError::TooLarge { limit });
        }
        Ok(())
    }
}

/// The framing a content-type names, ignoring parameters and case; `None` for any other type.
fn framing_named_by(content_type: &str) -> Option<Framing> {
    let essence = content_type
        .split_once(';')
        .map_or(content_type, |(essence, _)| essence)
        .trim();
    let is = |name: &str| essence.eq_ignore_ascii_case(name);
    if is("text/event-stream") {
        Some(Framing::Sse)
    } else if is("application/x-ndjson") || is("application/jsonl") {
        Some(Framing::Ndjson)
    } else if is("application/json") {
        Some(Framing::JsonArray)
    } else if is("application/vnd.amazon.eventstream") {
        Some(Framing::AwsEventStream)
    } else {
        None
    }
}

/// Why a body could not be cut into frames.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum FrameError {
    #[error("invalid UTF-8 in stream")]
    InvalidUtf8,
    #[error("stream ended before a JSON array or object began (empty body)")]
    EmptyJsonBody,
    #[error("stream ended inside a JSON array element")]
    UnterminatedElement,
    #[error("stream ended before the closing `]` of the JSON array")]
    UnclosedArray,
    #[error("unexpected {} at byte {offset} of a JSON stream, expected {expected}", ShownByte(*.byte))]
    UnexpectedByte {
        byte: u8,
        /// Position in the body, counting a leading byte-order mark.
        offset: u64,
        expected: &'static str,
    },
    #[error(
        "AWS event stream: {part} checksum mismatch (CRC32 {expected:08x} sent, {actual:08x} computed)"
    )]
    EventStreamChecksum {
        /// `prelude` or `message`.
        part: &'static str,
        expected: u32,
        actual: u32,
    },
    #[error("AWS event stream: impossible message lengths (total {total}, headers {headers_len})")]
    EventStreamLength { total: u32, headers_len: u32 },
    #[error("AWS event stream: a header runs past the end of the headers")]
    EventStreamHeaderCut,
    #[error("AWS event stream: unknown header value type {0}")]
    EventStreamHeaderType(u8),
    #[error("AWS event stream: the body ended inside a message ({held} byte(s) of it received)")]
    EventStreamCut { held: usize },
    #[error("a stream event is larger than {limit} bytes (the event size limit)")]
    TooLarge { limit: usize },
}

/// Shows a byte in an error: printable ASCII as itself in backticks, anything else in hex.
struct ShownByte(u8);

impl std::fmt::Display for ShownByte {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "`{}`", char::from(self.0))
        } else {
            write!(f, "byte 0x{:02X}", self.0)
        }
    }
}

/// Validates the bytes of one frame (or field) as UTF-8.
fn utf8(bytes: &[u8]) -> Result<&str, FrameError> {
    std::str::from_utf8(bytes).map_err(|_| FrameError::InvalidUtf8)
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Skips a UTF-8 byte-order mark at the very start of a body, even one split
/// across chunks. Bytes held back as a possible BOM that turn out not to be
/// one are handed back, so the decoder still sees every body byte once.
#[derive(Debug, Default)]
struct Bom {
    /// How many leading body bytes matched the BOM so far.
    matched: usize,
    /// The BOM was skipped, or the body is known not to start with one.
    settled: bool,
}

impl Bom {
    /// Splits `bytes` into bytes held back earlier that must now be decoded
    /// first (always the body's first bytes), and the rest of `bytes`.
    fn skip<'a>(&mut self, bytes: &'a [u8]) -> (&'static [u8], &'a [u8]) {
        if self.settled {
            return (&[], bytes);
        }
        for (i, &byte) in bytes.iter().enumerate() {
            if BOM.get(self.matched) != Some(&byte) {
                self.settled = true;
                return (&BOM[..self.matched], &bytes[i..]);
            }
            self.matched += 1;
            if self.matched == BOM.len() {
                self.settled = true;
                return (&[], &bytes[i + 1..]);
            }
        }
        (&[], &[])
    }

    /// The body ended: hands back a partial BOM still held.
    fn finish(&mut self) -> &'static [u8] {
        if self.settled {
            return &[];
        }
        self.settled = true;
        &BOM[..self.matched]
    }
}

/// Helpers shared by the decoders' tests.
#[cfg(test)]
mod check {
    use super::{Decoder, Frame, FrameError, Framing};

    pub(super) type Outcome = (Vec<Frame>, Result<(), FrameError>);

    /// Feeds `chunks` in order and finishes, stopping at the first error.
    pub(super) fn decode(framing: Framing, chunks: &[&[u8]]) -> Outcome {
        let mut decoder = Decoder::new(framing);
        let mut out = Vec::new();
        for chunk in chunks {
            if let Err(error) = decoder.feed(chunk, &mut out) {
                return (out, Err(error));
            }
        }
        let result = decoder.finish(&mut out);
        (out, result)
    }

    /// Decodes `body` whole, split at every offset, split at every pair of
    /// offsets, and in 1-byte pieces; asserts all agree and returns the outcome.
    pub(super) fn decode_every_way(framing: Framing, body: &[u8]) -> Outcome {
        let whole = decode(framing, &[body]);
        for i in 0..=body.len() {
            let (a, b) = body.split_at(i);
            assert_eq!(decode(framing, &[a, b]), whole, "split at {i}");
            for j in i..=body.len() {
                let (b, c) = body[i..].split_at(j - i);
                assert_eq!(decode(framing, &[a, b, c]), whole, "split at {i} and {j}");
            }
        }
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(decode(framing, &bytes), whole, "1-byte pieces");
        whole
    }

    /// The frames of a body that must decode without error, every way.
    pub(super) fn frames(framing: Framing, body: &[u8]) -> Vec<Frame> {
        let (frames, result) = decode_every_way(framing, body);
        assert_eq!(result, Ok(()), "frames so far: {frames:?}");
        frames
    }

    /// The error a body must end in, every way.
    pub(super) fn error(framing: Framing, body: &[u8]) -> FrameError {
        match decode_every_way(framing, body) {
            (_, Err(error)) => error,
            (frames, Ok(())) => panic!("expected an error, got frames {frames:?}"),
        }
    }

    pub(super) fn data(data: &str) -> Frame {
        Frame {
            event: None,
            data: data.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check::{data, decode, frames};
    use super::*;

    fn framing_for(content_type: Option<&str>) -> Framing {
        Decoder::for_content_type(content_type, Framing::Ndjson).framing()
    }

    #[test]
    fn content_type_names_the_framing() {
        assert_eq!(framing_for(Some("text/event-stream")), Framing::Sse);
        assert_eq!(framing_for(Some("application/x-ndjson")), Framing::Ndjson);
        assert_eq!(framing_for(Some("application/jsonl")), Framing::Ndjson);
        assert_eq!(framing_for(Some("application/json")), Framing::JsonArray);
        assert_eq!(
            framing_for(Some("application/vnd.amazon.eventstream")),
            Framing::AwsEventStream
        );
    }

    #[test]
    fn content_type_parameters_and_case_are_ignored() {
        assert_eq!(
            framing_for(Some("Text/Event-Stream; charset=utf-8")),
            Framing::Sse
        );
        assert_eq!(
            framing_for(Some(" application/json ;charset=UTF-8")),
            Framing::JsonArray
        );
    }

    #[test]
    fn missing_or_unknown_content_type_uses_the_fallback() {
        assert_eq!(framing_for(None), Framing::Ndjson);
        assert_eq!(framing_for(Some("")), Framing::Ndjson);
        assert_eq!(framing_for(Some("text/plain")), Framing::Ndjson);
        assert_eq!(framing_for(Some("application/json-seq")), Framing::Ndjson);
    }

    #[test]
    fn framing_is_written_in_kebab_case() {
        let parse = |text| serde_json::from_str::<Framing>(text).ok();
        assert_eq!(parse(r#""sse""#), Some(Framing::Sse));
        assert_eq!(parse(r#""ndjson""#), Some(Framing::Ndjson));
        assert_eq!(parse(r#""json-array""#), Some(Framing::JsonArray));
        assert_eq!(parse(r#""json_array""#), None);
        assert_eq!(
            parse(r#""aws-event-stream""#),
            Some(Framing::AwsEventStream)
        );
    }

    #[test]
    fn errors_read_clearly() {
        assert_eq!(
            FrameError::InvalidUtf8.to_string(),
            "invalid UTF-8 in stream"
        );
        assert_eq!(
            FrameError::UnterminatedElement.to_string(),
            "stream ended inside a JSON array element"
        );
        let unexpected = |byte| FrameError::UnexpectedByte {
            byte,
            offset: 0,
            expected: "a JSON array or object",
        };
        assert_eq!(
            unexpected(b'<').to_string(),
            "unexpected `<` at byte 0 of a JSON stream, expected a JSON array or object"
        );
        assert_eq!(
            unexpected(0x00).to_string(),
            "unexpected byte 0x00 at byte 0 of a JSON stream, expected a JSON array or object"
        );
    }

    #[test]
    fn a_bom_split_across_chunks_is_skipped() {
        let chunks: [&[u8]; 3] = [b"\xEF", b"\xBB", b"\xBF{\"a\":1}\n"];
        assert_eq!(
            decode(Framing::Ndjson, &chunks),
            (vec![data(r#"{"a":1}"#)], Ok(()))
        );
    }

    #[test]
    fn a_false_start_of_a_bom_is_decoded_as_body() {
        // EF BB 80 is U+FEC0, a valid character that merely begins like a BOM.
        assert_eq!(
            frames(Framing::Ndjson, "\u{FEC0}x\n".as_bytes()),
            vec![data("\u{FEC0}x")]
        );
    }

    #[test]
    fn a_lone_partial_bom_is_invalid_utf8() {
        let chunks: [&[u8]; 1] = [b"\xEF\xBB"];
        assert_eq!(
            decode(Framing::Ndjson, &chunks),
            (vec![], Err(FrameError::InvalidUtf8))
        );
    }

    #[test]
    fn a_line_past_the_limit_is_refused_before_it_ends() {
        for framing in [Framing::Sse, Framing::Ndjson, Framing::JsonArray] {
            let mut d = Decoder::new(framing).with_max_frame(64);
            let mut out = Vec::new();
            let start: &[u8] = match framing {
                Framing::Sse => b"data: ",
                Framing::Ndjson => b"",
                _ => b"[{\"a\":\"",
            };
            assert_eq!(d.feed(start, &mut out), Ok(()));
            let mut result = Ok(());
            for _ in 0..10 {
                result = d.feed(&[b'x'; 16], &mut out);
                if result.is_err() {
                    break;
                }
            }
            assert_eq!(
                result,
                Err(FrameError::TooLarge { limit: 64 }),
                "{framing:?}"
            );
            assert!(out.is_empty());
        }
    }

    #[test]
    fn an_sse_event_of_many_small_lines_is_limited_as_a_whole() {
        let mut d = Decoder::new(Framing::Sse).with_max_frame(64);
        let mut out = Vec::new();
        let mut result = Ok(());
        for _ in 0..20 {
            result = d.feed(b"data: xxxxxxxx\n", &mut out);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(FrameError::TooLarge { limit: 64 }));
    }

    #[test]
    fn a_frame_within_the_limit_passes() {
        let mut d = Decoder::new(Framing::Ndjson).with_max_frame(8);
        let mut out = Vec::new();
        assert_eq!(d.feed(b"12345678\n1234", &mut out), Ok(()));
        assert_eq!(out, vec![data("12345678")]);
        assert_eq!(
            d.feed(b"56789\n", &mut out),
            Err(FrameError::TooLarge { limit: 8 })
        );
    }

    #[test]
    fn only_the_first_bom_is_skipped() {
        assert_eq!(
            frames(Framing::Ndjson, "\u{FEFF}\u{FEFF}x".as_bytes()),
            vec![data("\u{FEFF}x")]
        );
    }
}
