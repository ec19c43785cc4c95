use super::*;
use serde_json::json;

#[test]
fn direct_and_filter_paths_agree() {
    let v = json!({"content": [{"type": "text", "text": "a"}, {"type": "x"}, {"type": "text", "text": "b"}]});
    let p = JsonPath::parse("$.content[?@.type == 'text'].text").unwrap();
    let got: Vec<&Value> = p.all(&v);
    assert_eq!(got, vec![&json!("a"), &json!("b")]);
    let d = JsonPath::parse("$.content[2].text").unwrap();
    assert_eq!(JsonPath::parse("$.content").unwrap().all(&v).len(), 1);
    assert!(matches!(d.kind, Kind::Direct(_)));
    assert_eq!(d.first(&v), Some(&json!("b")));
}

#[test]
fn sums_present_numbers_only() {
    let v = json!({"a": 3, "b": null, "c": 4});
    let paths = Paths(vec![
        JsonPath::parse("$.a").unwrap(),
        JsonPath::parse("$.b").unwrap(),
        JsonPath::parse("$.c").unwrap(),
    ]);
    assert_eq!(paths.sum(&v), Some(7));
    assert_eq!(Paths(vec![JsonPath::parse("$.z").unwrap()]).sum(&v), None);
}

#[test]
fn a_sum_of_huge_counts_saturates() {
    let v = json!({"a": u64::MAX, "b": u64::MAX});
    let paths = Paths(vec![
        JsonPath::parse("$.a").unwrap(),
        JsonPath::parse("$.b").unwrap(),
    ]);
    assert_eq!(paths.sum(&v), Some(u64::MAX));
}

#[test]
fn simple_filters_are_walked_here_and_agree_with_jsonpath_rust() {
    let doc = json!({"candidates": [{"content": {"parts": [
        {"text": "thinking", "thought": true},
        {"text": "answer"},
        {"functionCall": {"name": "f", "args": {}}},
        {"text": "", "thoughtSignature": "x"},
        {"type": "text", "n": 2}
    ]}}], "content": [{"type": "text", "text": "a"}, {"type": "tool_use", "name": "t"}]});
    for path in [
        "$.candidates[0].content.parts[?@.text && !@.thought].text",
        "$.candidates[0].content.parts[?@.thought == true].text",
        "$.candidates[0].content.parts[?@.functionCall].functionCall",
        "$.content[?@.type == 'text'].text",
        "$.content[?(@.type == 'tool_use')]",
        "$.candidates[*].content.parts[?@.n == 2.0]",
        "$.content[*].name",
    ] {
        let fast = JsonPath::parse(path).unwrap();
        assert!(
            matches!(fast.kind, Kind::Walk(_)),
            "{path} should be walked here"
        );
        let reference = jsonpath_rust::query::js_path(path, &doc).unwrap();
        let want: Vec<&Value> = reference.into_iter().map(|r| r.val()).collect();
        assert_eq!(fast.all(&doc), want, "{path}");
    }
    assert!(matches!(
        JsonPath::parse("$..text").unwrap().kind,
        Kind::Query(_)
    ));
    assert!(matches!(
        JsonPath::parse("$.a[?@.b || @.c]").unwrap().kind,
        Kind::Query(_)
    ));
}

#[test]
fn bad_path_is_an_error() {
    assert!(JsonPath::parse("$.a[?").is_err());
}

#[test]
fn a_path_too_long_or_nested_too_deep_is_refused_before_parsing() {
    let long = format!("$.{}", "a".repeat(MAX_PATH_LEN));
    let e = JsonPath::parse(&long).unwrap_err();
    assert!(e.contains("the limit is 1024"), "{e}");
    let deep = format!("$[?{}@.a{}]", "(".repeat(100), ")".repeat(100));
    let e = JsonPath::parse(&deep).unwrap_err();
    assert!(e.contains("more than 16 deep"), "{e}");
    // Brackets inside a string literal are data.
    assert!(JsonPath::parse("$[?@.a == '[[[[[[[[[[[[[[[[[[[[']").is_ok());
}

#[test]
fn negative_indices_count_from_the_end_and_never_overflow() {
    let v = json!({"a": [1, 2, 3]});
    assert_eq!(
        JsonPath::parse("$.a[-1]").unwrap().first(&v),
        Some(&json!(3))
    );
    assert_eq!(JsonPath::parse("$.a[-4]").unwrap().first(&v), None);
    let min = format!("$.a[{}]", i64::MIN + 1);
    if let Ok(p) = JsonPath::parse(&min) {
        assert_eq!(p.first(&v), None);
    }
}
