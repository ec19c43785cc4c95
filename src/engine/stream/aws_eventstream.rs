//! Decodes the AWS event stream (`application/vnd.amazon.eventstream`), the
//! binary framing of Amazon Bedrock's streaming APIs, into frames:
//! <https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html#streaming-event-stream>
//! (the same encoding serves every AWS service that streams). Owns the
//! binary layout and both checksums; knows no provider JSON.
//!
//! A message is a 12-byte prelude (total length, headers length, CRC32 of
//! those 8 bytes; big-endian), the headers, the payload, and a CRC32 of
//! everything before it. Each header is a name (1-byte length), a type byte
//! and a typed value: 0 true, 1 false, 2 byte, 3 short, 4 integer, 5 long,
//! 6 byte array and 7 string (2-byte length), 8 timestamp (8 bytes), 9 UUID
//! (16 bytes). A checksum that does not match is an error, never a skipped
//! message: the bytes after it cannot be trusted to be framed right.
//!
//! Each message becomes one [`Frame`], by its `:message-type` header:
//!
//! | `:message-type` | `event` of the frame | `data` |
//! |---|---|---|
//! | `event` (or absent) | the `:event-type` header | the payload text |
//! | `exception` | the `:exception-type` header (e.g. `throttlingException`) | the payload text |
//! | `error` | the `:error-code` header | `{"code": …, "message": …}` from the `:error-code` and `:error-message` headers (these carry no payload) |
//!
//! So a spec matches an exception with `on = { event = "throttlingException" }`
//! and marks it `error = true`.

use super::{Frame, FrameError, utf8};

/// Messages larger than this are refused rather than buffered (AWS caps a
/// message at 16 MiB).
const MAX_MESSAGE: u32 = 16 * 1024 * 1024;
const PRELUDE: usize = 12;
/// Prelude plus the trailing message CRC.
const OVERHEAD: u32 = 16;

#[derive(Debug, Default)]
pub(crate) struct AwsEventStreamDecoder {
    /// Bytes of the messages not yet complete; never holds a whole message.
    buf: Vec<u8>,
}

impl AwsEventStreamDecoder {
    pub(crate) fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) -> Result<(), FrameError> {
        self.buf.extend_from_slice(bytes);
        let mut used = 0;
        let result = loop {
            match message(&self.buf[used..]) {
                Ok(Some((frame, len))) => {
                    out.push(frame);
                    used += len;
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        self.buf.drain(..used);
        result
    }

    /// Bytes held of a message not yet whole.
    pub(crate) fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The body ended: anything still buffered is a message cut short.
    pub(crate) fn finish(&mut self, _out: &mut Vec<Frame>) -> Result<(), FrameError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            let held = self.buf.len();
            self.buf.clear();
            Err(FrameError::EventStreamCut { held })
        }
    }
}

/// Decodes the message at the start of `bytes`: `None` until it is whole,
/// else the frame and the message's length. The prelude is checked as soon
/// as its 12 bytes are there.
fn message(bytes: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    let Some(prelude) = bytes.get(..PRELUDE) else {
        return Ok(None);
    };
    let total = be_u32(&prelude[0..4]);
    let headers_len = be_u32(&prelude[4..8]);
    let crc = be_u32(&prelude[8..12]);
    let actual = crc32fast::hash(&prelude[..8]);
    if crc != actual {
        return Err(FrameError::EventStreamChecksum {
            part: "prelude",
            expected: crc,
            actual,
        });
    }
    if total < OVERHEAD || headers_len > total - OVERHEAD || total > MAX_MESSAGE {
        return Err(FrameError::EventStreamLength { total, headers_len });
    }
    let Some(msg) = bytes.get(..total as usize) else {
        return Ok(None);
    };
    let (body, crc) = msg.split_at(msg.len() - 4);
    let (expected, actual) = (be_u32(crc), crc32fast::hash(body));
    if expected != actual {
        return Err(FrameError::EventStreamChecksum {
            part: "message",
            expected,
            actual,
        });
    }
    let (headers, payload) = body[PRELUDE..].split_at(headers_len as usize);
    let headers = parse_headers(headers)?;
    let text = |name: &str| {
        headers.iter().find_map(|(n, v)| match v {
            HeaderValue::String(s) if n == name => Some(s.clone()),
            _ => None,
        })
    };
    let frame = match text(":message-type").as_deref() {
        Some("exception") => Frame {
            event: text(":exception-type"),
            data: utf8(payload)?.to_owned(),
        },
        Some("error") => {
            let code = text(":error-code");
            Frame {
                data: serde_json::json!({ "code": code, "message": text(":error-message") })
                    .to_string(),
                event: code,
            }
        }
        _ => Frame {
            event: text(":event-type"),
            data: utf8(payload)?.to_owned(),
        },
    };
    Ok(Some((frame, msg.len())))
}

/// A decoded header value. Only strings name frames; the rest are parsed so
/// that every well-formed message is read and a malformed one is refused.
#[derive(Debug, Clone, PartialEq)]
enum HeaderValue {
    Bool(bool),
    Byte(i8),
    Short(i16),
    Integer(i32),
    Long(i64),
    Bytes(Vec<u8>),
    String(String),
    /// Milliseconds since the Unix epoch.
    Timestamp(i64),
    Uuid([u8; 16]),
}

fn parse_headers(mut bytes: &[u8]) -> Result<Vec<(String, HeaderValue)>, FrameError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let name_len = usize::from(take(&mut bytes, 1)?[0]);
        let name = utf8(take(&mut bytes, name_len)?)?.to_owned();
        let kind = take(&mut bytes, 1)?[0];
        let value = match kind {
            0 => HeaderValue::Bool(true),
            1 => HeaderValue::Bool(false),
            2 => HeaderValue::Byte(i8::from_be_bytes(array(take(&mut bytes, 1)?))),
            3 => HeaderValue::Short(i16::from_be_bytes(array(take(&mut bytes, 2)?))),
            4 => HeaderValue::Integer(i32::from_be_bytes(array(take(&mut bytes, 4)?))),
            5 => HeaderValue::Long(i64::from_be_bytes(array(take(&mut bytes, 8)?))),
            6 | 7 => {
                let len = usize::from(u16::from_be_bytes(array(take(&mut bytes, 2)?)));
                let raw = take(&mut bytes, len)?;
                if kind == 6 {
                    HeaderValue::Bytes(raw.to_vec())
                } else {
                    HeaderValue::String(utf8(raw)?.to_owned())
                }
            }
            8 => HeaderValue::Timestamp(i64::from_be_bytes(array(take(&mut bytes, 8)?))),
            9 => HeaderValue::Uuid(array(take(&mut bytes, 16)?)),
            other => return Err(FrameError::EventStreamHeaderType(other)),
        };
        out.push((name, value));
    }
    Ok(out)
}

/// Splits `n` bytes off the front of `bytes`; a header running past the
/// headers section is malformed.
fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Result<&'a [u8], FrameError> {
    if bytes.len() < n {
        return Err(FrameError::EventStreamHeaderCut);
    }
    let (head, rest) = bytes.split_at(n);
    *bytes = rest;
    Ok(head)
}

/// `bytes` as an array; callers pass exactly `N` bytes (from `take`).
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(bytes);
    out
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes(array(bytes))
}

#[cfg(test)]
mod tests {
    use super::super::check::{decode, error, frames};
    use super::super::{Frame, FrameError, Framing};
    use super::*;
    use proptest::prelude::*;

    /// Encodes one message (test-only encoder, so bodies are easy to build).
    fn encode(headers: &[(&str, HeaderValue)], payload: &[u8]) -> Vec<u8> {
        let mut h = Vec::new();
        for (name, value) in headers {
            h.push(name.len() as u8);
            h.extend_from_slice(name.as_bytes());
            match value {
                HeaderValue::Bool(true) => h.push(0),
                HeaderValue::Bool(false) => h.push(1),
                HeaderValue::Byte(v) => {
                    h.push(2);
                    h.extend_from_slice(&v.to_be_bytes());
                }
                HeaderValue::Short(v) => {
                    h.push(3);
                    h.extend_from_slice(&v.to_be_bytes());
                }
                HeaderValue::Integer(v) => {
                    h.push(4);
                    h.extend_from_slice(&v.to_be_bytes());
                }
                HeaderValue::Long(v) => {
                    h.push(5);
                    h.extend_from_slice(&v.to_be_bytes());
                }
                HeaderValue::Bytes(v) => {
                    h.push(6);
                    h.extend_from_slice(&(v.len() as u16).to_be_bytes());
                    h.extend_from_slice(v);
                }
                HeaderValue::String(v) => {
                    h.push(7);
                    h.extend_from_slice(&(v.len() as u16).to_be_bytes());
                    h.extend_from_slice(v.as_bytes());
                }
                HeaderValue::Timestamp(v) => {
                    h.push(8);
                    h.extend_from_slice(&v.to_be_bytes());
                }
                HeaderValue::Uuid(v) => {
                    h.push(9);
                    h.extend_from_slice(v);
                }
            }
        }
        let total = (h.len() + payload.len() + 16) as u32;
        let mut m = Vec::new();
        m.extend_from_slice(&total.to_be_bytes());
        m.extend_from_slice(&(h.len() as u32).to_be_bytes());
        let crc = crc32fast::hash(&m);
        m.extend_from_slice(&crc.to_be_bytes());
        m.extend_from_slice(&h);
        m.extend_from_slice(payload);
        let crc = crc32fast::hash(&m);
        m.extend_from_slice(&crc.to_be_bytes());
        m
    }

    fn s(v: &str) -> HeaderValue {
        HeaderValue::String(v.to_owned())
    }

    fn event(kind: &str, payload: &str) -> Vec<u8> {
        encode(
            &[
                (":event-type", s(kind)),
                (":content-type", s("application/json")),
                (":message-type", s("event")),
            ],
            payload.as_bytes(),
        )
    }

    fn named(event: &str, data: &str) -> Frame {
        Frame {
            event: Some(event.to_owned()),
            data: data.to_owned(),
        }
    }

    fn aws(body: &[u8]) -> Vec<Frame> {
        frames(Framing::AwsEventStream, body)
    }

    #[test]
    fn a_recorded_converse_stream_message_decodes() {
        // The first message of a recorded Bedrock ConverseStream body
        // (cassette bedrock/converse_stream_text), byte for byte.
        use base64::Engine;
        let body = base64::engine::general_purpose::STANDARD
            .decode(
                "AAAAjwAAAFLT8cjyCzpldmVudC10eXBlBwAMbWVzc2FnZVN0YXJ0DTpjb250ZW50LXR5cGUHABBhcHBs\
                 aWNhdGlvbi9qc29uDTptZXNzYWdlLXR5cGUHAAVldmVudHsicCI6ImFiY2RlZmdoaWprbG1ub3BxciIs\
                 InJvbGUiOiJhc3Npc3RhbnQifcFrcQs=",
            )
            .unwrap_or_default();
        assert_eq!(body.len(), 143);
        assert_eq!(
            aws(&body),
            vec![named(
                "messageStart",
                r#"{"p":"abcdefghijklmnopqr","role":"assistant"}"#
            )]
        );
    }

    #[test]
    fn event_type_names_the_frame_and_payload_is_the_data() {
        let mut body = event("contentBlockDelta", r#"{"delta":{"text":"Hi"}}"#);
        body.extend(event("messageStop", r#"{"stopReason":"end_turn"}"#));
        assert_eq!(
            aws(&body),
            vec![
                named("contentBlockDelta", r#"{"delta":{"text":"Hi"}}"#),
                named("messageStop", r#"{"stopReason":"end_turn"}"#),
            ]
        );
    }

    #[test]
    fn an_exception_is_named_by_its_exception_type() {
        let body = encode(
            &[
                (":exception-type", s("throttlingException")),
                (":content-type", s("application/json")),
                (":message-type", s("exception")),
            ],
            br#"{"message":"Too many requests"}"#,
        );
        assert_eq!(
            aws(&body),
            vec![named(
                "throttlingException",
                r#"{"message":"Too many requests"}"#
            )]
        );
    }

    #[test]
    fn an_error_message_carries_its_headers_as_json() {
        let body = encode(
            &[
                (":message-type", s("error")),
                (":error-code", s("InternalFailure")),
                (":error-message", s("boom \"quoted\"")),
            ],
            b"",
        );
        assert_eq!(
            aws(&body),
            vec![named(
                "InternalFailure",
                r#"{"code":"InternalFailure","message":"boom \"quoted\""}"#
            )]
        );
    }

    #[test]
    fn a_message_without_event_type_has_no_event_name() {
        let body = encode(&[(":message-type", s("event"))], b"{}");
        assert_eq!(
            aws(&body),
            vec![Frame {
                event: None,
                data: "{}".into()
            }]
        );
    }

    #[test]
    fn every_header_type_is_parsed() {
        let body = encode(
            &[
                ("t", HeaderValue::Bool(true)),
                ("f", HeaderValue::Bool(false)),
                ("b", HeaderValue::Byte(-2)),
                ("sh", HeaderValue::Short(-300)),
                ("i", HeaderValue::Integer(70_000)),
                ("l", HeaderValue::Long(-5_000_000_000)),
                ("ba", HeaderValue::Bytes(vec![0, 255, 7])),
                ("ts", HeaderValue::Timestamp(1_700_000_000_000)),
                ("id", HeaderValue::Uuid([9; 16])),
                (":event-type", s("chunk")),
            ],
            b"{\"x\":1}",
        );
        assert_eq!(aws(&body), vec![named("chunk", "{\"x\":1}")]);
        let headers_len = be_u32(&body[4..8]) as usize;
        let parsed = parse_headers(&body[12..12 + headers_len]).unwrap_or_default();
        assert_eq!(parsed.len(), 10);
        assert_eq!(parsed[3], ("sh".to_string(), HeaderValue::Short(-300)));
        assert_eq!(
            parsed[5],
            ("l".to_string(), HeaderValue::Long(-5_000_000_000))
        );
        assert_eq!(
            parsed[6],
            ("ba".to_string(), HeaderValue::Bytes(vec![0, 255, 7]))
        );
        assert_eq!(parsed[8], ("id".to_string(), HeaderValue::Uuid([9; 16])));
    }

    #[test]
    fn a_bad_prelude_crc_is_an_error() {
        let mut body = event("a", "{}");
        body[8] ^= 0xFF;
        assert!(matches!(
            error(Framing::AwsEventStream, &body),
            FrameError::EventStreamChecksum {
                part: "prelude",
                ..
            }
        ));
    }

    #[test]
    fn a_bad_message_crc_is_an_error_after_the_good_messages() {
        let mut body = event("first", "{}");
        let mut bad = event("second", r#"{"a":1}"#);
        let last = bad.len() - 6;
        bad[last] ^= 0x01; // flip a payload bit
        body.extend(bad);
        body.extend(event("third", "{}"));
        let (frames, result) =
            super::super::check::decode_every_way(Framing::AwsEventStream, &body);
        assert_eq!(frames, vec![named("first", "{}")]);
        assert!(matches!(
            result,
            Err(FrameError::EventStreamChecksum {
                part: "message",
                ..
            })
        ));
    }

    #[test]
    fn a_body_cut_inside_a_message_is_an_error() {
        let mut body = event("a", "{}");
        body.extend(&event("b", "{}")[..20]);
        assert_eq!(
            decode(Framing::AwsEventStream, &[&body]),
            (
                vec![named("a", "{}")],
                Err(FrameError::EventStreamCut { held: 20 })
            )
        );
        assert_eq!(
            error(Framing::AwsEventStream, &body[..5]),
            FrameError::EventStreamCut { held: 5 }
        );
    }

    #[test]
    fn impossible_lengths_are_errors() {
        let mut prelude = Vec::new();
        prelude.extend_from_slice(&10u32.to_be_bytes()); // shorter than the overhead
        prelude.extend_from_slice(&0u32.to_be_bytes());
        let crc = crc32fast::hash(&prelude);
        prelude.extend_from_slice(&crc.to_be_bytes());
        assert_eq!(
            error(Framing::AwsEventStream, &prelude),
            FrameError::EventStreamLength {
                total: 10,
                headers_len: 0
            }
        );
    }

    #[test]
    fn a_header_running_past_its_section_is_an_error() {
        // A string header claiming 50 bytes in a 10-byte headers section.
        let headers = [1, b'x', 7, 0, 50, b'a', b'b', b'c', b'd', b'e'];
        let total = (headers.len() + 16) as u32;
        let mut m = Vec::new();
        m.extend_from_slice(&total.to_be_bytes());
        m.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        let crc = crc32fast::hash(&m);
        m.extend_from_slice(&crc.to_be_bytes());
        m.extend_from_slice(&headers);
        let crc = crc32fast::hash(&m);
        m.extend_from_slice(&crc.to_be_bytes());
        assert_eq!(
            error(Framing::AwsEventStream, &m),
            FrameError::EventStreamHeaderCut
        );
    }

    #[test]
    fn an_unknown_header_type_is_an_error() {
        let body = encode(&[], b"");
        let mut m = body[..12].to_vec();
        m[..4].copy_from_slice(&(16u32 + 3).to_be_bytes());
        m[4..8].copy_from_slice(&3u32.to_be_bytes());
        let crc = crc32fast::hash(&m[..8]);
        m[8..12].copy_from_slice(&crc.to_be_bytes());
        m.extend_from_slice(&[1, b'x', 42]);
        let crc = crc32fast::hash(&m);
        m.extend_from_slice(&crc.to_be_bytes());
        assert_eq!(
            error(Framing::AwsEventStream, &m),
            FrameError::EventStreamHeaderType(42)
        );
    }

    #[test]
    fn invalid_utf8_in_a_payload_is_an_error() {
        let body = encode(&[(":event-type", s("a"))], b"\xFF");
        assert_eq!(
            error(Framing::AwsEventStream, &body),
            FrameError::InvalidUtf8
        );
    }

    #[test]
    fn empty_body_yields_no_frames() {
        assert_eq!(aws(b""), vec![]);
    }

    #[test]
    fn same_frames_at_every_split_point() {
        // `frames` checks every single split, every pair of splits and 1-byte pieces.
        let mut body = event("messageStart", r#"{"role":"assistant"}"#);
        body.extend(event("contentBlockDelta", "{\"t\":\"h\u{E9}\u{1F600}\"}"));
        body.extend(encode(&[(":event-type", s("e"))], b""));
        assert_eq!(
            aws(&body),
            vec![
                named("messageStart", r#"{"role":"assistant"}"#),
                named("contentBlockDelta", "{\"t\":\"h\u{E9}\u{1F600}\"}"),
                named("e", ""),
            ]
        );
    }

    #[test]
    fn a_decoder_holds_only_the_incomplete_message() {
        let mut decoder = AwsEventStreamDecoder::default();
        let mut out = Vec::new();
        let mut body = event("a", "{}");
        let second = event("b", "{}");
        body.extend(&second[..7]);
        assert_eq!(decoder.feed(&body, &mut out), Ok(()));
        assert_eq!(out, vec![named("a", "{}")]);
        assert_eq!(decoder.buf.len(), 7);
    }

    proptest! {
        #[test]
        fn any_messages_split_anywhere_decode_the_same(
            messages in prop::collection::vec(("[a-zA-Z]{1,12}", "\\PC{0,40}"), 0..6),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            let mut body = Vec::new();
            for (kind, payload) in &messages {
                body.extend(event(kind, payload));
            }
            let mut offsets: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
            offsets.sort_unstable();
            let mut chunks: Vec<&[u8]> = Vec::new();
            let mut at = 0;
            for o in offsets {
                chunks.push(&body[at..o]);
                at = o;
            }
            chunks.push(&body[at..]);
            let want: Vec<Frame> = messages.iter().map(|(k, p)| named(k, p)).collect();
            prop_assert_eq!(decode(Framing::AwsEventStream, &chunks), (want, Ok(())));
        }
    }
}
