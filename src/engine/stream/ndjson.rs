//! Decodes newline-delimited JSON (NDJSON, JSON Lines) into frames: one per
//! non-blank line, trimmed, with no event name. Owns line splitting only;
//! knows no provider JSON and does not parse the lines.

use super::{Bom, Frame, FrameError, utf8};

#[derive(Debug, Default)]
pub(crate) struct NdjsonDecoder {
    bom: Bom,
    /// The incomplete last line of the bytes fed so far; never holds a `\n`.
    tail: Vec<u8>,
}

impl NdjsonDecoder {
    pub(crate) fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) -> Result<(), FrameError> {
        let (held, rest) = self.bom.skip(bytes);
        self.feed_lines(held, out)?;
        self.feed_lines(rest, out)
    }

    /// Frames the last line, which needs no newline after it.
    pub(crate) fn finish(&mut self, out: &mut Vec<Frame>) -> Result<(), FrameError> {
        let held = self.bom.finish();
        self.feed_lines(held, out)?;
        let result = line(&self.tail, out);
        self.tail.clear();
        result
    }

    /// Bytes held of a line not yet ended.
    pub(crate) fn pending(&self) -> usize {
        self.tail.len()
    }

    fn feed_lines(&mut self, mut bytes: &[u8], out: &mut Vec<Frame>) -> Result<(), FrameError> {
        // `\r\n` needs no care: the `\r` is trimmed with the line.
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            if self.tail.is_empty() {
                line(&bytes[..end], out)?;
            } else {
                self.tail.extend_from_slice(&bytes[..end]);
                let result = line(&self.tail, out);
                self.tail.clear();
                result?;
            }
            bytes = &bytes[end + 1..];
        }
        self.tail.extend_from_slice(bytes);
        Ok(())
    }
}

/// Frames one line, without its `\n`, unless it is blank.
fn line(line: &[u8], out: &mut Vec<Frame>) -> Result<(), FrameError> {
    let text = utf8(line)?.trim();
    if !text.is_empty() {
        out.push(Frame {
            event: None,
            data: text.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::check::{data, decode, error, frames};
    use super::super::{Frame, FrameError, Framing};
    use super::NdjsonDecoder;

    fn ndjson(body: &str) -> Vec<Frame> {
        frames(Framing::Ndjson, body.as_bytes())
    }

    #[test]
    fn each_line_is_one_frame() {
        assert_eq!(
            ndjson("{\"a\":1}\n{\"b\":2}\n"),
            vec![data(r#"{"a":1}"#), data(r#"{"b":2}"#)]
        );
    }

    #[test]
    fn frames_have_no_event_name() {
        assert!(
            ndjson("event: x\n")
                .iter()
                .all(|frame| frame.event.is_none())
        );
    }

    #[test]
    fn blank_lines_are_skipped() {
        assert_eq!(ndjson("\n\n1\n \t\n\r\n2\n\n"), vec![data("1"), data("2")]);
    }

    #[test]
    fn lines_are_trimmed_including_the_cr_of_crlf() {
        assert_eq!(
            ndjson("  {\"a\":1} \r\n\t2\t\r\n"),
            vec![data(r#"{"a":1}"#), data("2")]
        );
    }

    #[test]
    fn last_line_without_newline_is_framed_at_finish() {
        assert_eq!(ndjson("1\n2"), vec![data("1"), data("2")]);
        assert_eq!(ndjson("only"), vec![data("only")]);
    }

    #[test]
    fn a_line_is_framed_as_soon_as_its_newline_arrives() {
        let mut decoder = NdjsonDecoder::default();
        let mut out = Vec::new();
        assert_eq!(decoder.feed(b"1\n2", &mut out), Ok(()));
        assert_eq!(out, vec![data("1")]);
        assert_eq!(decoder.tail, b"2");
    }

    #[test]
    fn empty_body_yields_no_frames() {
        assert_eq!(ndjson(""), vec![]);
    }

    #[test]
    fn bom_at_the_very_start_is_skipped() {
        assert_eq!(ndjson("\u{FEFF}{}\n"), vec![data("{}")]);
    }

    #[test]
    fn utf8_character_split_across_chunks_is_kept_whole() {
        let body = "\"\u{1F600}\"\n".as_bytes();
        let (a, b) = body.split_at(3);
        assert_eq!(
            decode(Framing::Ndjson, &[a, b]),
            (vec![data("\"\u{1F600}\"")], Ok(()))
        );
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert_eq!(
            error(Framing::Ndjson, b"1\n\xFF\n2\n"),
            FrameError::InvalidUtf8
        );
        assert_eq!(
            decode(Framing::Ndjson, &[b"1\n\xFF\n2\n"]).0,
            vec![data("1")]
        );
    }

    #[test]
    fn same_frames_at_every_split_point() {
        // `frames` checks every single split, every pair of splits and 1-byte pieces.
        let body =
            "\u{FEFF}{\"t\":\"h\u{E9}\u{1F600}\"}\r\n\n  {\"n\":[1,2]}  \n\r\n{\"end\":true}";
        assert_eq!(
            ndjson(body),
            vec![
                data("{\"t\":\"h\u{E9}\u{1F600}\"}"),
                data(r#"{"n":[1,2]}"#),
                data(r#"{"end":true}"#),
            ]
        );
    }
}
