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

mod properties {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::super::*;

    /// `cases` by default; `PROPTEST_CASES` raises it (scripts/fuzz.sh).
    fn config(cases: u32) -> ProptestConfig {
        let mut c = ProptestConfig::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            c.cases = cases;
        }
        c
    }

    const NAMES: &[&str] = &["a", "b", "type", "text", "n", "x_1"];

    fn name() -> impl Strategy<Value = String> {
        prop::sample::select(NAMES).prop_map(String::from)
    }

    /// A JSON document over a few names, so paths find things.
    fn doc() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-3i64..4).prop_map(Value::from),
            prop_oneof![Just(2.0f64), Just(-0.5)].prop_map(Value::from),
            prop::sample::select(vec!["text", "a", "", "null", "'"]).prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::btree_map(name(), inner, 0..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A literal as a filter writes it, and the value it stands for.
    fn literal() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "'text'", "'a'", "''", "1", "-3", "2.0", "2", "true", "false", "null", "\"a\"",
        ])
        .prop_map(String::from)
    }

    fn member() -> impl Strategy<Value = String> {
        prop::collection::vec(name(), 1..3).prop_map(|keys| format!("@.{}", keys.join(".")))
    }

    fn condition() -> impl Strategy<Value = String> {
        prop_oneof![
            member(),
            member().prop_map(|m| format!("!{m}")),
            (member(), literal()).prop_map(|(m, l)| format!("{m} == {l}")),
        ]
    }

    /// A path in the subset the native walk handles.
    fn simple_path() -> impl Strategy<Value = String> {
        let step = prop_oneof![
            name().prop_map(|n| format!(".{n}")),
            name().prop_map(|n| format!("['{n}']")),
            (-3i64..4).prop_map(|i| format!("[{i}]")),
            Just(".*".to_string()),
            Just("[*]".to_string()),
            prop::collection::vec(condition(), 1..3).prop_map(|c| format!("[?{}]", c.join(" && "))),
            prop::collection::vec(condition(), 1..3)
                .prop_map(|c| format!("[?({})]", c.join(" && "))),
        ];
        prop::collection::vec(step, 0..5).prop_map(|steps| format!("${}", steps.concat()))
    }

    /// Anything: fragments of JSONPath syntax in any order.
    fn any_path() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("$".to_string()),
            Just(".".to_string()),
            Just("..".to_string()),
            Just("[".to_string()),
            Just("]".to_string()),
            Just("(".to_string()),
            Just(")".to_string()),
            Just("?".to_string()),
            Just("@".to_string()),
            Just("*".to_string()),
            Just("'".to_string()),
            Just("==".to_string()),
            Just("&&".to_string()),
            Just("||".to_string()),
            Just(":".to_string()),
            Just("length(".to_string()),
            name(),
            (-9i64..10).prop_map(|i| i.to_string()),
            any::<String>(),
        ];
        prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(config(256))]

        /// Any text parses or is refused, and any parsed path evaluates on any document.
        #[test]
        fn random_paths_never_panic(path in any_path(), doc in doc()) {
            if let Ok(p) = JsonPath::parse(&path) {
                let all = p.all(&doc);
                prop_assert_eq!(p.first(&doc), all.first().copied());
                let paths = Paths(vec![p]);
                let _ = (paths.sum(&doc), paths.text(&doc), paths.first(&doc));
            }
        }

        /// Where the native walk applies, it selects exactly what jsonpath-rust does.
        #[test]
        fn the_native_walk_agrees_with_jsonpath_rust(path in simple_path(), doc in doc()) {
            let Ok(reference) = jsonpath_rust::query::js_path(&path, &doc) else {
                // Not RFC 9535 (e.g. a literal it does not take): refused by both.
                prop_assert!(JsonPath::parse(&path).is_err(), "{} parsed", path);
                return Ok(());
            };
            let p = JsonPath::parse(&path).map_err(TestCaseError::fail)?;
            let want: Vec<&Value> = reference
                .into_iter()
                .map(|r| r.val())
                .filter(|v| !v.is_null())
                .collect();
            prop_assert!(!matches!(p.kind, Kind::Query(_)), "{} is not walked natively", path);
            prop_assert_eq!(p.all(&doc), want, "{}", path);
        }
    }
}
