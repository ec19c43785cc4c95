//! Decodes server-sent events (`text/event-stream`) into frames, following
//! the WHATWG event-stream interpretation:
//! <https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation>.
//! Owns line splitting and the `event`/`data` fields; knows no provider JSON.
//!
//! One deliberate departure from the spec: an event still pending when the
//! body ends is dispatched rather than dropped, since some upstreams close
//! the stream without the final blank line.

use super::{Bom, Frame, FrameError, utf8};

#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    bom: Bom,
    /// The incomplete last line of the bytes fed so far; never holds a line end.
    tail: Vec<u8>,
    /// The bytes fed so far end in `\r`: a `\n` starting the next chunk ends that same line.
    after_cr: bool,
    event: PendingEvent,
}

/// The fields of the event being built, up to the blank line that dispatches it.
#[derive(Debug, Default)]
struct PendingEvent {
    /// The `event:` field; empty means none.
    event: String,
    data: String,
    /// A `data` field was seen, so the event is dispatched even if its data is empty.
    has_data: bool,
}

impl SseDecoder {
    pub(crate) fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) -> Result<(), FrameError> {
        let (held, rest) = self.bom.skip(bytes);
        self.feed_lines(held, out)?;
        self.feed_lines(rest, out)
    }

    /// Dispatches what the body's end completes: its last line, and the event
    /// pending even without a blank line after it.
    pub(crate) fn finish(&mut self, out: &mut Vec<Frame>) -> Result<(), FrameError> {
        let held = self.bom.finish();
        self.feed_lines(held, out)?;
        if !self.tail.is_empty() {
            self.event.line(&self.tail, out)?;
            self.tail.clear();
        }
        self.after_cr = false;
        self.event.dispatch(out);
        Ok(())
    }

    /// Bytes held for the event being built: its fields and a line not yet ended.
    pub(crate) fn pending(&self) -> usize {
        self.tail.len() + self.event.data.len() + self.event.event.len()
    }

    fn feed_lines(&mut self, mut bytes: &[u8], out: &mut Vec<Frame>) -> Result<(), FrameError> {
        if bytes.is_empty() {
            return Ok(());
        }
        if std::mem::take(&mut self.after_cr) {
            bytes = bytes.strip_prefix(b"\n").unwrap_or(bytes);
        }
        while let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            let (line, rest) = bytes.split_at(end);
            if self.tail.is_empty() {
                self.event.line(line, out)?;
            } else {
                self.tail.extend_from_slice(line);
                let result = self.event.line(&self.tail, out);
                self.tail.clear();
                result?;
            }
            bytes = match rest {
                [b'\r', b'\n', rest @ ..] => rest,
                [b'\r'] => {
                    self.after_cr = true;
                    &[]
                }
                [_, rest @ ..] => rest,
                [] => &[],
            };
        }
        self.tail.extend_from_slice(bytes);
        Ok(())
    }
}

impl PendingEvent {
    /// Interprets one line, without its line end.
    fn line(&mut self, line: &[u8], out: &mut Vec<Frame>) -> Result<(), FrameError> {
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(0) => return Ok(()), // a comment
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None if line.is_empty() => {
                self.dispatch(out);
                return Ok(());
            }
            None => (line, &[][..]),
        };
        // Only fields that become part of a frame are validated as UTF-8;
        // `id`, `retry` and unknown fields are ignored unread.
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(utf8(value)?);
                self.has_data = true;
            }
            b"event" => {
                self.event.clear();
                self.event.push_str(utf8(value)?);
            }
            _ => {}
        }
        Ok(())
    }

    /// Ends the event: pushes it if it had data, and starts afresh either way.
    fn dispatch(&mut self, out: &mut Vec<Frame>) {
        let event = std::mem::take(&mut self.event);
        if std::mem::take(&mut self.has_data) {
            out.push(Frame {
                event: (!event.is_empty()).then_some(event),
                data: std::mem::take(&mut self.data),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::check::{data, decode, error, frames};
    use super::super::{Frame, FrameError, Framing};
    use super::SseDecoder;

    fn sse(body: &str) -> Vec<Frame> {
        frames(Framing::Sse, body.as_bytes())
    }

    fn named(event: &str, data: &str) -> Frame {
        Frame {
            event: Some(event.to_owned()),
            data: data.to_owned(),
        }
    }

    #[test]
    fn blank_line_dispatches_an_event() {
        assert_eq!(sse("data: hello\n\n"), vec![data("hello")]);
    }

    #[test]
    fn data_lines_join_with_newline() {
        assert_eq!(sse("data: a\ndata: b\ndata: c\n\n"), vec![data("a\nb\nc")]);
    }

    #[test]
    fn event_field_names_the_frame() {
        assert_eq!(
            sse("event: message_start\ndata: {}\n\n"),
            vec![named("message_start", "{}")]
        );
    }

    #[test]
    fn event_name_does_not_carry_over_to_the_next_event() {
        assert_eq!(
            sse("event: ping\ndata: 1\n\ndata: 2\n\n"),
            vec![named("ping", "1"), data("2")]
        );
    }

    #[test]
    fn last_event_field_wins() {
        assert_eq!(
            sse("event: a\nevent: b\ndata: x\n\n"),
            vec![named("b", "x")]
        );
    }

    #[test]
    fn empty_event_field_means_no_event_name() {
        assert_eq!(sse("event:\ndata: x\n\n"), vec![data("x")]);
    }

    #[test]
    fn one_leading_space_after_the_colon_is_stripped() {
        assert_eq!(
            sse("data:no space\n\ndata: one\n\ndata:  two\n\n"),
            vec![data("no space"), data("one"), data(" two")]
        );
    }

    #[test]
    fn colons_inside_the_value_are_kept() {
        assert_eq!(
            sse("data: {\"a\":\"b:c\"}\n\n"),
            vec![data(r#"{"a":"b:c"}"#)]
        );
    }

    #[test]
    fn field_without_colon_has_an_empty_value() {
        assert_eq!(sse("data\ndata\n\n"), vec![data("\n")]);
    }

    #[test]
    fn empty_data_field_dispatches_empty_data() {
        assert_eq!(sse("data:\n\n"), vec![data("")]);
    }

    #[test]
    fn event_without_data_lines_is_not_dispatched() {
        assert_eq!(
            sse("event: ping\n\n: keep-alive\n\ndata: x\n\n"),
            vec![data("x")]
        );
    }

    #[test]
    fn comment_lines_are_ignored() {
        assert_eq!(
            sse(": PROCESSING\ndata: a\n:comment: with colon\ndata: b\n\n"),
            vec![data("a\nb")]
        );
    }

    #[test]
    fn id_retry_and_unknown_fields_are_ignored() {
        assert_eq!(
            sse("id: 7\nretry: 1000\nfoo: bar\ndata: x\n\n"),
            vec![data("x")]
        );
    }

    #[test]
    fn field_names_are_case_sensitive() {
        assert_eq!(sse("Data: no\nEVENT: no\ndata: yes\n\n"), vec![data("yes")]);
    }

    #[test]
    fn lf_crlf_and_cr_all_end_lines() {
        assert_eq!(
            sse("data: a\n\ndata: b\r\n\r\ndata: c\r\rdata: d\r\ndata: e\n\r\n"),
            vec![data("a"), data("b"), data("c"), data("d\ne")]
        );
    }

    #[test]
    fn crlf_split_across_chunks_is_one_line_end() {
        let chunks: [&[u8]; 3] = [b"data: a\r", b"\ndata: b\r", b"\n\r\n"];
        assert_eq!(decode(Framing::Sse, &chunks), (vec![data("a\nb")], Ok(())));
    }

    #[test]
    fn cr_then_cr_across_chunks_is_two_line_ends() {
        let chunks: [&[u8]; 3] = [b"data: a\r", b"\r", b"data: b\r\r"];
        assert_eq!(
            decode(Framing::Sse, &chunks),
            (vec![data("a"), data("b")], Ok(()))
        );
    }

    #[test]
    fn cr_is_remembered_across_an_empty_chunk() {
        let chunks: [&[u8]; 4] = [b"data: a\r", b"", b"\n", b"data: b\n\n"];
        assert_eq!(decode(Framing::Sse, &chunks), (vec![data("a\nb")], Ok(())));
    }

    #[test]
    fn utf8_character_split_across_chunks_is_kept_whole() {
        let body = "data: h\u{E9}llo \u{1F600}\n\n".as_bytes();
        let emoji = body.len() - 4;
        let (a, b) = body.split_at(emoji);
        let (b, c) = b.split_at(2);
        assert_eq!(
            decode(Framing::Sse, &[a, b, c]),
            (vec![data("h\u{E9}llo \u{1F600}")], Ok(()))
        );
    }

    #[test]
    fn bom_at_the_very_start_is_skipped() {
        assert_eq!(sse("\u{FEFF}data: x\n\n"), vec![data("x")]);
    }

    #[test]
    fn bom_after_the_start_is_not_skipped() {
        // The second BOM makes the field name "\u{FEFF}data", an unknown field.
        assert_eq!(
            sse("\u{FEFF}\u{FEFF}data: x\n\ndata: y\n\n"),
            vec![data("y")]
        );
    }

    #[test]
    fn final_event_without_blank_line_is_dispatched_at_finish() {
        assert_eq!(sse("data: a\n\ndata: b"), vec![data("a"), data("b")]);
        assert_eq!(sse("event: done\ndata: c\n"), vec![named("done", "c")]);
    }

    #[test]
    fn event_is_dispatched_as_soon_as_its_blank_line_arrives() {
        let mut decoder = SseDecoder::default();
        let mut out = Vec::new();
        assert_eq!(decoder.feed(b"data: a\n\ndata: b\n", &mut out), Ok(()));
        assert_eq!(out, vec![data("a")]);
    }

    #[test]
    fn only_the_incomplete_tail_is_buffered() {
        let mut decoder = SseDecoder::default();
        let mut out = Vec::new();
        assert_eq!(
            decoder.feed(b"data: a\n\ndata: b\n\ndata: par", &mut out),
            Ok(())
        );
        assert_eq!(decoder.tail, b"data: par");
        assert_eq!(decoder.feed(b"tial\n", &mut out), Ok(()));
        assert!(decoder.tail.is_empty());
    }

    #[test]
    fn done_sentinel_is_plain_data() {
        assert_eq!(sse("data: [DONE]\n\n"), vec![data("[DONE]")]);
    }

    #[test]
    fn empty_body_yields_no_frames() {
        assert_eq!(sse(""), vec![]);
        assert_eq!(sse("\n\n\r\n"), vec![]);
    }

    #[test]
    fn invalid_utf8_in_data_is_an_error() {
        assert_eq!(
            error(Framing::Sse, b"data: a\n\ndata: \xFF\n\n"),
            FrameError::InvalidUtf8
        );
        assert_eq!(
            decode(Framing::Sse, &[b"data: a\n\ndata: \xC3"]).0,
            vec![data("a")]
        );
    }

    #[test]
    fn invalid_utf8_in_an_ignored_line_is_ignored() {
        assert_eq!(
            frames(Framing::Sse, b": \xFF\nid: \xFE\ndata: x\n\n"),
            vec![data("x")]
        );
    }

    #[test]
    fn same_frames_at_every_split_point() {
        // `frames` checks every single split, every pair of splits and 1-byte pieces.
        let body = "\u{FEFF}: comment\r\nevent: delta\r\ndata: {\"t\":\"h\u{E9}\u{1F600}\"}\r\n\r\n\
                    data: a\rdata: b\r\rid: 1\nretry: 5\ndata:\n\ndata: last";
        assert_eq!(
            sse(body),
            vec![
                named("delta", "{\"t\":\"h\u{E9}\u{1F600}\"}"),
                data("a\nb"),
                data(""),
                data("last"),
            ]
        );
    }
}
