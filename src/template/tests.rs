use std::collections::HashMap;

use super::*;
use serde_json::{Value, json};

pub(super) fn compile(v: Value) -> Tpl {
    let (t, errors) = compile_with(&HashMap::new(), &v);
    assert!(errors.is_empty(), "{errors:?}");
    t
}

fn compile_with(parts: &HashMap<String, usize>, v: &Value) -> (Tpl, Vec<TemplateError>) {
    let mut cache = Cache::default();
    let mut c = Compiler::new(parts, &mut cache);
    let t = c.compile(v);
    (t, c.errors)
}

fn render(t: Value, input: Value) -> Value {
    Renderer { parts: &[] }.render(&compile(t), &input).unwrap()
}

#[test]
fn single_expression_keeps_json_type() {
    let out = render(
        json!({"n": "{{max_tokens}}", "msgs": "{{messages}}", "s": "{{stream}}"}),
        json!({"max_tokens": 5, "messages": [{"a": 1}], "stream": true}),
    );
    assert_eq!(out, json!({"n": 5, "msgs": [{"a": 1}], "s": true}));
}

#[test]
fn null_values_drop_their_key() {
    let out = render(json!({"a": "{{missing}}", "b": "x"}), json!({}));
    assert_eq!(out, json!({"b": "x"}));
}

#[test]
fn an_object_of_only_null_fields_is_left_out_but_a_literal_empty_one_stays() {
    let out = render(json!({"cfg": {"t": "{{missing}}"}, "empty": {}}), json!({}));
    assert_eq!(out, json!({"empty": {}}));
}

#[test]
fn interpolation_builds_strings() {
    let out = render(json!("models/{{model}}:go"), json!({"model": "g-1"}));
    assert_eq!(out, json!("models/g-1:go"));
}

#[test]
fn user_text_with_template_syntax_is_data() {
    let text = "{{evil}} \"quote\" \\ </script> \u{1F600}\n";
    let out = render(
        json!({"t": "{{text}}", "i": "pre {{text}}"}),
        json!({"text": text}),
    );
    assert_eq!(out["t"], json!(text));
    assert_eq!(out["i"], json!(format!("pre {text}")));
}

#[test]
fn each_maps_items_with_index_and_parent_scope() {
    let out = render(
        json!({"$each": "{{items}}", "$do": {"v": "{{this}}", "i": "{{@index}}", "m": "{{../model}}", "r": "{{@root.model}}"}}),
        json!({"items": ["a", "b"], "model": "m"}),
    );
    assert_eq!(
        out,
        json!([{"v": "a", "i": 0, "m": "m", "r": "m"}, {"v": "b", "i": 1, "m": "m", "r": "m"}])
    );
}

#[test]
fn each_with_flat_splices_the_lists_items_render() {
    // One input item may become several output items (a message and its calls).
    let t = json!({"$each": "{{msgs}}", "$flat": true, "$do": {"$each": "{{parts}}", "$do": "{{this}}"}});
    let out = render(
        t,
        json!({"msgs": [{"parts": ["a", "b"]}, {"parts": []}, {"parts": ["c"]}]}),
    );
    assert_eq!(out, json!(["a", "b", "c"]));
    // Without it the lists stay nested, and an item that is no list stays whole.
    let out = render(
        json!({"$each": "{{msgs}}", "$do": "{{this}}"}),
        json!({"msgs": [["a"], "b"]}),
    );
    assert_eq!(out, json!([["a"], "b"]));
    let out = render(
        json!({"$each": "{{msgs}}", "$flat": true, "$do": "{{this}}"}),
        json!({"msgs": [["a", null], "b", null]}),
    );
    assert_eq!(out, json!(["a", "b"]));
}

#[test]
fn flat_takes_a_boolean_and_belongs_to_each() {
    let (_, errors) = compile_with(
        &HashMap::new(),
        &json!({"$each": "{{x}}", "$do": "{{this}}", "$flat": "yes"}),
    );
    assert!(
        errors[0].message.contains("$flat is true or false"),
        "{errors:?}"
    );
    let (_, errors) = compile_with(&HashMap::new(), &json!({"a": "b", "$flat": true}));
    assert!(
        errors[0].message.contains("$flat has no $each"),
        "{errors:?}"
    );
}

#[test]
fn match_picks_case_and_reports_missing_one() {
    let t = json!({"$match": "{{type}}", "text": {"t": "{{text}}"}});
    assert_eq!(
        render(t.clone(), json!({"type": "text", "text": "hi"})),
        json!({"t": "hi"})
    );
    let err = Renderer { parts: &[] }
        .render(&compile(t), &json!({"type": "audio"}))
        .unwrap_err();
    assert!(err.0.contains("audio"), "{}", err.0);
}

#[test]
fn base_object_is_extended_and_null_removes() {
    let out = render(
        json!({"$base": "{{request}}", "model": "{{model}}", "user": "{{null}}"}),
        json!({"request": {"model": "p/m", "user": "u", "x": 1}, "model": "m"}),
    );
    assert_eq!(out, json!({"model": "m", "x": 1}));
}

#[test]
fn helpers_compose_with_subexpressions() {
    let out = render(
        json!({"n": "{{default max_tokens 4096}}", "e": "{{eq (lower kind) \"a\"}}"}),
        json!({"kind": "A"}),
    );
    assert_eq!(out, json!({"n": 4096, "e": true}));
}

#[test]
fn unknown_helper_and_bad_syntax_are_reported() {
    let (_, errors) = compile_with(
        &HashMap::new(),
        &json!({"a": "{{nope x}}", "b": "{{x}", "c": {"$bogus": 1}}),
    );
    let msgs: Vec<String> = errors
        .iter()
        .map(|e| format!("{:?}: {}", e.at, e.message))
        .collect();
    assert_eq!(msgs.len(), 3, "{msgs:?}");
    assert!(msgs[0].contains("unknown helper `nope`"));
    assert!(msgs[1].contains("handlebars"));
    assert!(msgs[2].contains("$bogus"));
}

/// Compiles named parts (in order) and checks their graph.
fn parts(list: &[(&str, Value)]) -> (Vec<Tpl>, parts::Graph) {
    let index: HashMap<String, usize> = list
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (n.to_string(), i))
        .collect();
    let tpls: Vec<Tpl> = list
        .iter()
        .map(|(_, v)| {
            let (t, errors) = compile_with(&index, v);
            assert!(errors.is_empty(), "{errors:?}");
            t
        })
        .collect();
    let graph = parts::check(&tpls);
    (tpls, graph)
}

#[test]
fn a_part_that_includes_itself_is_a_cycle() {
    let (_, g) = parts(&[("p", json!({"x": "{{> p}}"}))]);
    assert_eq!(g.problems, vec![parts::Problem::Cycle(vec![0, 0])]);
}

#[test]
fn mutually_recursive_parts_are_one_cycle_starting_at_the_first_written() {
    let (_, g) = parts(&[
        ("a", json!("{{model}}")),
        ("q", json!({"y": "{{> p}}"})),
        ("p", json!(["{{> a}}", "{{> q}}"])),
    ]);
    assert_eq!(g.problems, vec![parts::Problem::Cycle(vec![1, 2, 1])]);
}

#[test]
fn a_part_that_includes_itself_inside_each_is_a_cycle() {
    let (_, g) = parts(&[(
        "tree",
        json!({"$each": "{{children}}", "$do": "{{> tree}}"}),
    )]);
    assert!(g.has_cycle(), "{:?}", g.problems);
}

#[test]
fn parts_that_double_at_each_level_are_stopped_where_they_pass_the_limit() {
    let mut list: Vec<(String, Value)> = (0..40)
        .map(|i| {
            (
                format!("p{i}"),
                json!([
                    format!("{{{{> p{}}}}}", i + 1),
                    format!("{{{{> p{}}}}}", i + 1)
                ]),
            )
        })
        .collect();
    list.push(("p40".into(), json!("{{model}}")));
    let named: Vec<(&str, Value)> = list.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
    let (_, g) = parts(&named);
    // p(k) expands to 2^(42-k) - 3 nodes: p25 is the first over 100,000.
    let over: Vec<usize> = g
        .problems
        .iter()
        .filter_map(|p| match p {
            parts::Problem::Over(i, _) => Some(*i),
            parts::Problem::Cycle(_) => None,
        })
        .collect();
    assert_eq!(over, vec![25], "{:?}", g.problems);
    assert!(g.expansions[0].nodes > MAX_EXPANSION);
}

#[test]
fn parts_chained_past_the_depth_limit_are_reported() {
    let mut list: Vec<(String, Value)> = (0..80)
        .map(|i| {
            (
                format!("p{i}"),
                json!({"x": format!("{{{{> p{}}}}}", i + 1)}),
            )
        })
        .collect();
    list.push(("p80".into(), json!("{{model}}")));
    let named: Vec<(&str, Value)> = list.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
    let (_, g) = parts(&named);
    assert_eq!(g.problems.len(), 1, "{:?}", g.problems);
    let parts::Problem::Over(_, e) = g.problems[0] else {
        panic!("{:?}", g.problems)
    };
    assert!(e.describe().contains("levels deep"), "{}", e.describe());
}

#[test]
fn thousands_of_nested_subexpressions_are_refused_before_parsing() {
    let source = format!("{{{{len {}x{}}}}}", "(len ".repeat(5000), ")".repeat(5000));
    let (_, errors) = compile_with(&HashMap::new(), &json!({ "a": source }));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].message.contains("nest more than 16 deep"),
        "{}",
        errors[0].message
    );
    assert!(
        errors[0].message.len() < 300,
        "the message quotes a short start"
    );
    // Parentheses in literal text or in a string literal are not nesting.
    let ok = format!("((({{{{concat \"((((\" model}}}}))) {}", "(".repeat(40));
    assert!(compile_with(&HashMap::new(), &json!(ok)).1.is_empty());
}

#[test]
fn a_template_nested_past_the_depth_limit_is_refused() {
    let mut v = json!("{{model}}");
    for _ in 0..200 {
        v = json!({ "a": v });
    }
    let (_, errors) = compile_with(&HashMap::new(), &v);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].message.contains("more than 64"),
        "{}",
        errors[0].message
    );
}

#[test]
fn a_render_past_the_size_limit_fails_instead_of_growing() {
    // Every item repeats the whole list: quadratic in the input.
    let t = compile(json!({"$each": "{{items}}", "$do": "{{@root.items}}"}));
    let big = "x".repeat(4096);
    let items: Vec<Value> = (0..4096).map(|_| json!(big)).collect();
    let err = Renderer { parts: &[] }
        .render(&t, &json!({ "items": items }))
        .unwrap_err();
    assert!(err.0.contains("larger than 64 MiB"), "{}", err.0);
}

#[test]
fn a_part_cycle_built_by_hand_fails_at_render_instead_of_overflowing() {
    let parts = [Tpl::Array(vec![Tpl::Part(0)])];
    let err = Renderer { parts: &parts }
        .render(&Tpl::Part(0), &json!({}))
        .unwrap_err();
    assert!(err.0.contains("nests more than"), "{}", err.0);
}

mod properties {
    use std::collections::HashMap;

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::super::*;

    /// `cases` by default; `PROPTEST_CASES` raises it (scripts/fuzz.sh).
    fn config(cases: u32) -> ProptestConfig {
        let mut c = ProptestConfig::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            c.cases = cases;
        }
        c
    }

    /// Pieces of template text: syntax, helpers, paths, parts, directives.
    fn text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("{{".to_string()),
            Just("}}".to_string()),
            Just("{{> p}}".to_string()),
            Just("{{> q}}".to_string()),
            Just("{{#if a}}".to_string()),
            Just("{{/if}}".to_string()),
            Just("(".to_string()),
            Just(")".to_string()),
            Just(" ".to_string()),
            Just("\"".to_string()),
            Just("this".to_string()),
            Just("../a".to_string()),
            Just("@root.items".to_string()),
            Just("@index".to_string()),
            Just("a.b".to_string()),
            Just("items".to_string()),
            Just("items.[0]".to_string()),
            Just("x=".to_string()),
            prop::sample::select(helpers::names()).prop_map(String::from),
            Just("{{a}}".to_string()),
            Just("{{default a \"z\"}}".to_string()),
            Just("{{concat a (json items)}}".to_string()),
            any::<String>(),
        ];
        prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
    }

    const KEYS: &[&str] = &[
        "a", "b", "$each", "$do", "$flat", "$concat", "$if", "$then", "$else", "$match",
        "$default", "$with", "$base", "$bogus", "text", "x",
    ];

    /// A template value: strings of template text inside tables and lists.
    fn template() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            4 => text().prop_map(Value::String),
            1 => Just(Value::Null),
            1 => (-2i64..3).prop_map(Value::from),
            1 => any::<bool>().prop_map(Value::Bool),
        ];
        leaf.prop_recursive(4, 40, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..4).prop_map(
                    |m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
                ),
            ]
        })
    }

    /// A root to render against: the names templates read, holding anything.
    fn root() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            Just(json!("{{a}} \" \\ </script>")),
        ];
        let value = leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop::sample::select(vec!["a", "b", "text", "x"]),
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
            ]
        });
        (
            value.clone(),
            prop::collection::vec(value.clone(), 0..4),
            value,
        )
            .prop_map(|(a, items, b)| json!({"a": a, "items": items, "b": b}))
    }

    /// Compiles `value` with parts `p` and `q`; None when anything is refused.
    fn compiled(value: &Value, p: &Value, q: &Value) -> Option<(Tpl, Vec<Tpl>)> {
        let index: HashMap<String, usize> = [("p".to_string(), 0), ("q".to_string(), 1)].into();
        let mut cache = Cache::default();
        let mut c = Compiler::new(&index, &mut cache);
        let parts = vec![c.compile(p), c.compile(q)];
        let tpl = c.compile(value);
        let graph = parts::check(&parts);
        let ok = c.errors.is_empty() && graph.problems.is_empty() && !graph.expand(&tpl).over();
        ok.then_some((tpl, parts))
    }

    proptest! {
        #![proptest_config(config(256))]

        /// Any template compiles or is refused; any accepted one renders any
        /// root to a value, or fails cleanly, and never panics.
        #[test]
        fn random_templates_never_panic(t in template(), p in template(), q in template(), root in root()) {
            if let Some((tpl, parts)) = compiled(&t, &p, &q)
                && let Ok(out) = (Renderer { parts: &parts }).render(&tpl, &root)
            {
                let text = serde_json::to_string(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let back: Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(back, out);
            }
        }

        /// User text is data: whatever it holds, it comes out unchanged, as
        /// a whole value and inside interpolated text, in valid JSON.
        #[test]
        fn hostile_text_renders_as_data(user in any::<String>(), syntax in text()) {
            let hostile = format!("{syntax}{user}");
            let t = super::compile(json!({
                "whole": "{{a}}",
                "inside": "<{{a}}>",
                "each": {"$each": "{{items}}", "$do": {"v": "{{this}}", "i": "{{@index}}"}},
                "json": "{{json a}}",
            }));
            let root = json!({"a": hostile, "items": [hostile, hostile]});
            let out = (Renderer { parts: &[] }).render(&t, &root).map_err(|e| TestCaseError::fail(e.0))?;
            let text = serde_json::to_string(&out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let back: Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&back, &out);
            prop_assert_eq!(&out["whole"], &json!(hostile));
            prop_assert_eq!(&out["inside"], &json!(format!("<{hostile}>")));
            prop_assert_eq!(&out["each"][1]["v"], &json!(hostile));
            prop_assert_eq!(&out["json"], &json!(json!(hostile).to_string()));
        }
    }
}
