//! Splits a body that is one JSON array of objects, arriving over time, into
//! one frame per element, each emitted as soon as it closes. This is how
//! Gemini's `streamGenerateContent` streams without `alt=sse`
//! (`[{...}\n,\r\n{...}]`). A body that is a single JSON object instead (an
//! error, say) becomes one frame.
//!
//! Owns only the array's outer syntax: it tracks nesting, strings and escapes
//! so that brackets inside strings do not count, and hands each element's
//! exact text on. Knows no provider JSON and does not validate the elements.

use super::{Bom, Frame, FrameError, utf8};

#[derive(Debug, Default)]
pub(crate) struct JsonArrayDecoder {
    bom: Bom,
    state: State,
    /// The bytes, from earlier chunks, of the element being read.
    partial: Vec<u8>,
    /// How many body bytes were fed before the current chunk, for error positions.
    offset: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing but whitespace yet.
    #[default]
    Start,
    /// Inside the array, between elements: whitespace and commas are skipped.
    BetweenElements,
    /// Inside an element of the array, or inside the body's single object.
    Element { scan: Scan, in_array: bool },
    /// After the array's `]` or the single object's `}`: only whitespace may follow.
    Done,
}

/// Where a scan is inside one element's JSON text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Scan {
    /// Open brackets and braces, counting the element's own.
    depth: usize,
    in_string: bool,
    /// The previous byte was a backslash inside a string.
    escaped: bool,
}

impl Scan {
    /// Reads element bytes; returns how many it took if the element closed
    /// among them.
    fn close_in(&mut self, bytes: &[u8]) -> Option<usize> {
        for (i, &byte) in bytes.iter().enumerate() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            }
        }
        None
    }
}

impl JsonArrayDecoder {
    pub(crate) fn feed(&mut self, bytes: &[u8], out: &mut Vec<Frame>) -> Result<(), FrameError> {
        let (held, rest) = self.bom.skip(bytes);
        // Held bytes are a false start of a BOM, so always the body's first.
        self.feed_at(held, 0, out)?;
        let rest_offset = self.offset + (bytes.len() - rest.len()) as u64;
        self.offset += bytes.len() as u64;
        self.feed_at(rest, rest_offset, out)
    }

    /// Fails unless the body was a complete array or object.
    pub(crate) fn finish(&mut self, out: &mut Vec<Frame>) -> Result<(), FrameError> {
        let held = self.bom.finish();
        self.feed_at(held, 0, out)?;
        match self.state {
            State::Start => Err(FrameError::EmptyJsonBody),
            State::BetweenElements => Err(FrameError::UnclosedArray),
            State::Element { .. } => Err(FrameError::UnterminatedElement),
            State::Done => Ok(()),
        }
    }

    /// Bytes held of an element not yet closed.
    pub(crate) fn pending(&self) -> usize {
        self.partial.len()
    }

    /// Reads `bytes`, which start at byte `offset` of the body.
    fn feed_at(
        &mut self,
        bytes: &[u8],
        offset: u64,
        out: &mut Vec<Frame>,
    ) -> Result<(), FrameError> {
        let mut i = 0;
        // Where in `bytes` the element being read starts, when it started here.
        let mut element_start = 0;
        while let Some(&byte) = bytes.get(i) {
            let unexpected = |expected| FrameError::UnexpectedByte {
                byte,
                offset: offset + i as u64,
                expected,
            };
            match &mut self.state {
                State::Element { scan, in_array } => {
                    let in_array = *in_array;
                    let Some(taken) = scan.close_in(&bytes[i..]) else {
                        break;
                    };
                    i += taken;
                    self.emit(&bytes[element_start..i], out)?;
                    self.state = if in_array {
                        State::BetweenElements
                    } else {
                        State::Done
                    };
                    continue;
                }
                _ if is_whitespace(byte) => {}
                State::Start => match byte {
                    b'[' => self.state = State::BetweenElements,
                    b'{' => self.start_element(&mut element_start, i, false),
                    _ => return Err(unexpected("a JSON array or object")),
                },
                State::BetweenElements => match byte {
                    b',' => {}
                    b']' => self.state = State::Done,
                    b'{' | b'[' => self.start_element(&mut element_start, i, true),
                    _ => return Err(unexpected("an object, `,` or `]`")),
                },
                State::Done => return Err(unexpected("nothing but whitespace after the end")),
            }
            i += 1;
        }
        if matches!(self.state, State::Element { .. }) {
            self.partial.extend_from_slice(&bytes[element_start..]);
        }
        Ok(())
    }

    /// An element opens with the bracket at `bytes[i]`, which is counted
    /// here: the scan resumes after it.
    fn start_element(&mut self, element_start: &mut usize, i: usize, in_array: bool) {
        *element_start = i;
        let scan = Scan {
            depth: 1,
            ..Scan::default()
        };
        self.state = State::Element { scan, in_array };
    }

    /// Frames a complete element: `tail` is its last bytes, after any from earlier chunks.
    fn emit(&mut self, tail: &[u8], out: &mut Vec<Frame>) -> Result<(), FrameError> {
        let data = if self.partial.is_empty() {
            utf8(tail)?.to_owned()
        } else {
            self.partial.extend_from_slice(tail);
            let data = utf8(&self.partial).map(str::to_owned);
            self.partial.clear();
            data?
        };
        out.push(Frame { event: None, data });
        Ok(())
    }
}

/// JSON's insignificant whitespace (RFC 8259, section 2).
fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

#[cfg(test)]
mod tests {
    use super::super::check::{data, decode, error, frames};
    use super::super::{Frame, FrameError, Framing};
    use super::JsonArrayDecoder;

    fn elements(body: &str) -> Vec<Frame> {
        frames(Framing::JsonArray, body.as_bytes())
    }

    fn failure(body: &str) -> FrameError {
        error(Framing::JsonArray, body.as_bytes())
    }

    #[test]
    fn each_element_is_one_frame_with_its_exact_text() {
        assert_eq!(
            elements(r#"[{"a": 1}, { "b" : [2, 3] }]"#),
            vec![data(r#"{"a": 1}"#), data(r#"{ "b" : [2, 3] }"#)]
        );
    }

    #[test]
    fn comma_and_crlf_separators_between_elements_are_skipped() {
        assert_eq!(
            elements("[{\"a\":1}\n,\r\n{\"b\":2}\n]\n"),
            vec![data(r#"{"a":1}"#), data(r#"{"b":2}"#)]
        );
    }

    #[test]
    fn frames_have_no_event_name() {
        assert!(elements("[{}]").iter().all(|frame| frame.event.is_none()));
    }

    #[test]
    fn braces_inside_strings_do_not_count() {
        assert_eq!(
            elements(r#"[{"text":"} ] { [ , "},{"b":"]"}]"#),
            vec![data(r#"{"text":"} ] { [ , "}"#), data(r#"{"b":"]"}"#)]
        );
    }

    #[test]
    fn escaped_quotes_and_backslashes_do_not_end_strings() {
        assert_eq!(
            elements(r#"[{"a":"\"}"},{"b":"\\"},{"c":"\\\"}"}]"#),
            vec![
                data(r#"{"a":"\"}"}"#),
                data(r#"{"b":"\\"}"#),
                data(r#"{"c":"\\\"}"}"#)
            ]
        );
    }

    #[test]
    fn nested_objects_and_arrays_stay_in_one_element() {
        assert_eq!(
            elements(r#"[{"a":{"b":[{"c":[]}]}},[1,[2]]]"#),
            vec![data(r#"{"a":{"b":[{"c":[]}]}}"#), data("[1,[2]]")]
        );
    }

    #[test]
    fn element_is_emitted_as_soon_as_it_closes() {
        let mut decoder = JsonArrayDecoder::default();
        let mut out = Vec::new();
        assert_eq!(decoder.feed(b"[{\"a\":1}\n,{\"b\"", &mut out), Ok(()));
        assert_eq!(out, vec![data(r#"{"a":1}"#)]);
        assert_eq!(decoder.partial, b"{\"b\"");
    }

    #[test]
    fn single_object_body_is_one_frame() {
        let body = "{\"error\":{\"code\":429,\"message\":\"Resource exhausted\"}}\n";
        assert_eq!(elements(body), vec![data(body.trim_end())]);
    }

    #[test]
    fn empty_array_yields_no_frames() {
        assert_eq!(elements(" [ ] "), vec![]);
    }

    #[test]
    fn empty_body_is_an_error() {
        assert_eq!(failure(""), FrameError::EmptyJsonBody);
        assert_eq!(failure(" \r\n"), FrameError::EmptyJsonBody);
    }

    #[test]
    fn missing_closing_bracket_is_an_error() {
        assert_eq!(failure("[{\"a\":1},"), FrameError::UnclosedArray);
        assert_eq!(
            decode(Framing::JsonArray, &[b"[{\"a\":1}\n"]),
            (vec![data(r#"{"a":1}"#)], Err(FrameError::UnclosedArray))
        );
    }

    #[test]
    fn unterminated_element_is_an_error() {
        assert_eq!(failure("[{\"a\":{}"), FrameError::UnterminatedElement);
        assert_eq!(failure("[{\"a\":\"}]"), FrameError::UnterminatedElement);
        assert_eq!(failure("{\"a\":1"), FrameError::UnterminatedElement);
    }

    #[test]
    fn non_json_body_is_an_error_naming_the_byte() {
        let error = failure("<html>");
        assert_eq!(
            error,
            FrameError::UnexpectedByte {
                byte: b'<',
                offset: 0,
                expected: "a JSON array or object",
            }
        );
        assert_eq!(
            error.to_string(),
            "unexpected `<` at byte 0 of a JSON stream, expected a JSON array or object"
        );
    }

    #[test]
    fn scalar_elements_are_an_error() {
        assert_eq!(
            failure("[{}, 42]"),
            FrameError::UnexpectedByte {
                byte: b'4',
                offset: 5,
                expected: "an object, `,` or `]`",
            }
        );
    }

    #[test]
    fn data_after_the_end_is_an_error() {
        assert_eq!(
            failure("[{}] x"),
            FrameError::UnexpectedByte {
                byte: b'x',
                offset: 5,
                expected: "nothing but whitespace after the end",
            }
        );
        assert!(matches!(
            failure("{}{}"),
            FrameError::UnexpectedByte { offset: 2, .. }
        ));
    }

    #[test]
    fn error_offsets_count_a_leading_bom() {
        assert!(matches!(
            failure("\u{FEFF}[x"),
            FrameError::UnexpectedByte {
                byte: b'x',
                offset: 4,
                ..
            }
        ));
    }

    #[test]
    fn bom_at_the_very_start_is_skipped() {
        assert_eq!(elements("\u{FEFF}[{}]"), vec![data("{}")]);
    }

    #[test]
    fn utf8_character_split_across_chunks_is_kept_whole() {
        let body = "[{\"t\":\"\u{1F600}\"}]".as_bytes();
        let (a, b) = body.split_at(9);
        assert_eq!(
            decode(Framing::JsonArray, &[a, b]),
            (vec![data("{\"t\":\"\u{1F600}\"}")], Ok(()))
        );
    }

    #[test]
    fn invalid_utf8_inside_an_element_is_an_error() {
        assert_eq!(
            error(Framing::JsonArray, b"[{\"a\":1},{\"t\":\"\xFF\"}]"),
            FrameError::InvalidUtf8
        );
        assert_eq!(
            decode(Framing::JsonArray, &[b"[{\"a\":1},{\"t\":\"\xFF\"}]"]).0,
            vec![data(r#"{"a":1}"#)]
        );
    }

    #[test]
    fn same_frames_at_every_split_point() {
        // `frames` checks every single split, every pair of splits and 1-byte pieces.
        let body = "\u{FEFF}[{\"candidates\":[{\"text\":\"h\u{E9}\u{1F600} } ] \\\" \\\\\"}]}\n\
                    ,\r\n{\"n\":{\"m\":[1,{}]}}\n,\r\n{\"s\":\"[\"}\n]\n";
        assert_eq!(
            elements(body),
            vec![
                data("{\"candidates\":[{\"text\":\"h\u{E9}\u{1F600} } ] \\\" \\\\\"}]}"),
                data(r#"{"n":{"m":[1,{}]}}"#),
                data(r#"{"s":"["}"#),
            ]
        );
    }

    #[test]
    fn errors_are_the_same_at_every_split_point() {
        assert_eq!(
            failure("[{\"a\":\"x\"} , {\"b\":2} ; ]").to_string(),
            "unexpected `;` at byte 21 of a JSON stream, expected an object, `,` or `]`"
        );
    }
}
