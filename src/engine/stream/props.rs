//! Properties every decoder keeps, on any input: bytes of any kind, split
//! at any points, never panic and decode the same however they are split; a
//! valid stream gives back exactly the frames it was made from, however it
//! is split; a frame limit holds. Run longer with `PROPTEST_CASES=…`.

use proptest::prelude::*;
use proptest::sample::Index;

use super::check::decode;
use super::{Decoder, Frame, Framing};

const FRAMINGS: [Framing; 4] = [
    Framing::Sse,
    Framing::Ndjson,
    Framing::JsonArray,
    Framing::AwsEventStream,
];

/// Pieces that mean something to some decoder, so random bodies reach
/// deep into each one's states (field names, line ends, brackets, escapes,
/// a BOM, a split UTF-8 character, invalid UTF-8).
const TOKENS: &[&[u8]] = &[
    b"data:",
    b"data: ",
    b"event:",
    b"id: 1",
    b":",
    b" ",
    b"\n",
    b"\r",
    b"\r\n",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b"\"",
    b"\\",
    b"x",
    b"1",
    b"\xC3",
    b"\xA9",
    b"\xFF",
    b"\xEF\xBB\xBF",
    b"\x00\x00\x00\x10",
];

/// Bodies: raw bytes, or a run of meaningful pieces.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(prop::sample::select(TOKENS), 0..80).prop_map(|t| t.concat()),
    ]
}

/// `body` cut at the given points.
fn split<'a>(body: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
    at.sort_unstable();
    let mut chunks = Vec::with_capacity(at.len() + 1);
    let mut from = 0;
    for to in at {
        chunks.push(&body[from..to]);
        from = to;
    }
    chunks.push(&body[from..]);
    chunks
}

fn cuts() -> impl Strategy<Value = Vec<Index>> {
    prop::collection::vec(any::<Index>(), 0..10)
}

/// A JSON object as a provider would send it, and its exact text.
fn object() -> impl Strategy<Value = String> {
    prop::collection::btree_map("[a-z_]{1,8}", "\\PC{0,24}", 0..4)
        .prop_map(|m| serde_json::to_string(&m).unwrap_or_default())
}

fn frame(event: Option<&str>, data: &str) -> Frame {
    Frame {
        event: event.map(str::to_owned),
        data: data.to_owned(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn any_bytes_split_anywhere_decode_the_same(
        framing in prop::sample::select(&FRAMINGS[..]),
        body in body(),
        cuts in cuts(),
    ) {
        let whole = decode(framing, &[&body]);
        prop_assert_eq!(decode(framing, &split(&body, &cuts)), whole);
    }

    #[test]
    fn a_frame_limit_holds_on_any_bytes(
        framing in prop::sample::select(&FRAMINGS[..]),
        body in body(),
        cuts in cuts(),
        limit in 0usize..64,
    ) {
        let mut decoder = Decoder::new(framing).with_max_frame(limit);
        let mut out = Vec::new();
        let mut result = Ok(());
        for chunk in split(&body, &cuts) {
            result = decoder.feed(chunk, &mut out);
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            result = decoder.finish(&mut out);
        }
        if result.is_ok() {
            prop_assert!(out.iter().all(|f| f.data.len() <= limit), "{out:?}");
        }
    }

    #[test]
    fn valid_sse_decodes_to_its_events_however_split(
        events in prop::collection::vec(
            (prop::option::of("[a-zA-Z_]{1,12}"), prop::collection::vec("[^\r\n]{0,24}", 1..3), any::<bool>()),
            0..6,
        ),
        line_end in prop::sample::select(&["\n", "\r\n", "\r"][..]),
        cuts in cuts(),
    ) {
        let mut body = String::new();
        for (name, lines, comment) in &events {
            if *comment {
                body.push_str(": keep-alive");
                body.push_str(line_end);
            }
            if let Some(name) = name {
                body.push_str(&format!("event: {name}{line_end}"));
            }
            for line in lines {
                body.push_str(&format!("data: {line}{line_end}"));
            }
            body.push_str(line_end);
        }
        let want: Vec<Frame> = events
            .iter()
            .map(|(name, lines, _)| frame(name.as_deref(), &lines.join("\n")))
            .collect();
        prop_assert_eq!(decode(Framing::Sse, &split(body.as_bytes(), &cuts)), (want, Ok(())));
    }

    #[test]
    fn valid_ndjson_decodes_to_its_lines_however_split(
        lines in prop::collection::vec((object(), any::<bool>()), 0..6),
        crlf in any::<bool>(),
        final_newline in any::<bool>(),
        cuts in cuts(),
    ) {
        let end = if crlf { "\r\n" } else { "\n" };
        let mut body = String::new();
        for (i, (text, blank_after)) in lines.iter().enumerate() {
            body.push_str(text);
            if i + 1 < lines.len() || final_newline {
                body.push_str(end);
            }
            if *blank_after && i + 1 < lines.len() {
                body.push_str("  ");
                body.push_str(end);
            }
        }
        let want: Vec<Frame> = lines.iter().map(|(text, _)| frame(None, text)).collect();
        prop_assert_eq!(decode(Framing::Ndjson, &split(body.as_bytes(), &cuts)), (want, Ok(())));
    }

    #[test]
    fn a_valid_json_array_decodes_to_its_elements_however_split(
        elements in prop::collection::vec(object(), 0..6),
        separator in prop::sample::select(&[",", ",\n", "\n,\r\n", " , "][..]),
        bom in any::<bool>(),
        cuts in cuts(),
    ) {
        let body = format!(
            "{}[{}]\n",
            if bom { "\u{FEFF}" } else { "" },
            elements.join(separator)
        );
        let want: Vec<Frame> = elements.iter().map(|text| frame(None, text)).collect();
        prop_assert_eq!(decode(Framing::JsonArray, &split(body.as_bytes(), &cuts)), (want, Ok(())));
    }
}
