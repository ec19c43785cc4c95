//! The named helpers a template expression may call. Each is generic (knows
//! no provider) and total: it returns a value for any input, never panics.
//! Documented in `providers/README.md`; `lint` rejects any other name.

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Helper {
    Default,
    Or,
    And,
    Not,
    Eq,
    Ne,
    Json,
    ParseJson,
    Join,
    Concat,
    Lower,
    Upper,
    Len,
    Object,
    List,
    First,
    Text,
    TypeOf,
    UrlEncode,
    When,
    Contains,
    Where,
    WhereNot,
    Pluck,
}

/// (name, helper, min args, max args or usize::MAX, one-line doc)
const TABLE: &[(&str, Helper, usize, usize, &str)] = &[
    (
        "default",
        Helper::Default,
        1,
        usize::MAX,
        "first argument that is not null",
    ),
    (
        "or",
        Helper::Or,
        1,
        usize::MAX,
        "first truthy argument, else the last one",
    ),
    (
        "and",
        Helper::And,
        1,
        usize::MAX,
        "true when every argument is truthy",
    ),
    ("not", Helper::Not, 1, 1, "true when the argument is falsy"),
    ("eq", Helper::Eq, 2, 2, "true when both arguments are equal"),
    ("ne", Helper::Ne, 2, 2, "true when the arguments differ"),
    ("json", Helper::Json, 1, 1, "the argument as JSON text"),
    (
        "parse_json",
        Helper::ParseJson,
        1,
        1,
        "parses JSON text; other values pass through unchanged",
    ),
    (
        "join",
        Helper::Join,
        2,
        2,
        "the items of a list as text, joined by a separator",
    ),
    (
        "concat",
        Helper::Concat,
        1,
        usize::MAX,
        "the arguments as text, concatenated",
    ),
    ("lower", Helper::Lower, 1, 1, "lower-case text"),
    ("upper", Helper::Upper, 1, 1, "upper-case text"),
    ("len", Helper::Len, 1, 1, "length of a list, object or text"),
    (
        "object",
        Helper::Object,
        0,
        0,
        "an object of the hash arguments (k=v), null values left out",
    ),
    (
        "list",
        Helper::List,
        0,
        usize::MAX,
        "a list of the non-null arguments",
    ),
    ("first", Helper::First, 1, 1, "first item of a list"),
    (
        "text",
        Helper::Text,
        1,
        1,
        "the argument as text (strings unchanged, others as JSON)",
    ),
    (
        "type_of",
        Helper::TypeOf,
        1,
        1,
        "object, array, string, number, boolean or null",
    ),
    (
        "urlencode",
        Helper::UrlEncode,
        1,
        1,
        "percent-encodes text for a URL path or query (RFC 3986 unreserved kept)",
    ),
    (
        "when",
        Helper::When,
        2,
        3,
        "the second argument when the first is truthy, else the third (or null)",
    ),
    (
        "contains",
        Helper::Contains,
        2,
        2,
        "true when text contains the second argument as text, or a list holds it as an item",
    ),
    (
        "where",
        Helper::Where,
        3,
        3,
        "the items of a list whose field (second argument) equals the third argument",
    ),
    (
        "where_not",
        Helper::WhereNot,
        3,
        3,
        "the items of a list whose field (second argument) does not equal the third argument",
    ),
    (
        "pluck",
        Helper::Pluck,
        2,
        2,
        "the field (second argument) of each item of a list, items without it left out",
    ),
];

/// Every helper name, for diagnostics and docs.
pub(crate) fn names() -> Vec<&'static str> {
    TABLE.iter().map(|row| row.0).collect()
}

pub(crate) fn lookup(name: &str) -> Option<Helper> {
    TABLE.iter().find(|row| row.0 == name).map(|row| row.1)
}

pub(crate) fn check_arity(helper: Helper, n: usize) -> Result<(), String> {
    let Some(&(_, _, min, max, _)) = TABLE.iter().find(|row| row.1 == helper) else {
        return Ok(());
    };
    if n < min {
        return Err(format!("takes at least {min} argument(s), got {n}"));
    }
    if n > max {
        return Err(format!("takes at most {max} argument(s), got {n}"));
    }
    Ok(())
}

/// Handlebars truthiness: null, false, 0, "" and [] are false.
pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Appends a value as text: strings verbatim, null as nothing, others as JSON.
pub(crate) fn append_text(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Null => {}
        other => out.push_str(&other.to_string()),
    }
}

fn as_text(v: &Value) -> String {
    let mut s = String::new();
    append_text(&mut s, v);
    s
}

pub(crate) fn call(helper: Helper, args: &[Value], hash: &[(&str, Value)]) -> Value {
    let arg = |i: usize| args.get(i).unwrap_or(&Value::Null);
    match helper {
        Helper::Default => args
            .iter()
            .find(|v| !v.is_null())
            .cloned()
            .unwrap_or(Value::Null),
        Helper::Or => args
            .iter()
            .find(|v| truthy(v))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        Helper::And => Value::Bool(args.iter().all(truthy)),
        Helper::Not => Value::Bool(!truthy(arg(0))),
        Helper::Eq => Value::Bool(arg(0) == arg(1)),
        Helper::Ne => Value::Bool(arg(0) != arg(1)),
        Helper::Json => Value::String(arg(0).to_string()),
        Helper::ParseJson => match arg(0) {
            Value::String(s) => {
                serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
            }
            other => other.clone(),
        },
        Helper::Join => match arg(0) {
            Value::Array(items) => {
                let sep = as_text(arg(1));
                Value::String(items.iter().map(as_text).collect::<Vec<_>>().join(&sep))
            }
            Value::Null => Value::Null,
            other => Value::String(as_text(other)),
        },
        Helper::Concat => Value::String(args.iter().map(as_text).collect()),
        Helper::Lower => match arg(0) {
            Value::String(s) => Value::String(s.to_lowercase()),
            other => other.clone(),
        },
        Helper::Upper => match arg(0) {
            Value::String(s) => Value::String(s.to_uppercase()),
            other => other.clone(),
        },
        Helper::Len => match arg(0) {
            Value::Array(a) => Value::from(a.len()),
            Value::Object(m) => Value::from(m.len()),
            Value::String(s) => Value::from(s.chars().count()),
            _ => Value::from(0),
        },
        Helper::Object => Value::Object(
            hash.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<Map<_, _>>(),
        ),
        Helper::List => Value::Array(args.iter().filter(|v| !v.is_null()).cloned().collect()),
        Helper::First => match arg(0) {
            Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
            other => other.clone(),
        },
        Helper::TypeOf => Value::String(
            match arg(0) {
                Value::Null => "null",
                Value::Bool(_) => "boolean",
                Value::Number(_) => "number",
                Value::String(_) => "string",
                Value::Array(_) => "array",
                Value::Object(_) => "object",
            }
            .into(),
        ),
        Helper::UrlEncode => match arg(0) {
            Value::Null => Value::Null,
            other => Value::String(url_encode(&as_text(other))),
        },
        Helper::When => {
            if truthy(arg(0)) {
                arg(1).clone()
            } else {
                arg(2).clone()
            }
        }
        Helper::Contains => Value::Bool(match (arg(0), arg(1)) {
            (Value::String(_), Value::Null) => false,
            (Value::String(s), needle) => s.contains(as_text(needle).as_str()),
            (Value::Array(items), needle) => items.contains(needle),
            _ => false,
        }),
        Helper::Text => match arg(0) {
            Value::Null => Value::Null,
            other => Value::String(as_text(other)),
        },
        Helper::Pluck => match (arg(0), arg(1)) {
            (Value::Array(items), Value::String(field)) => Value::Array(
                items
                    .iter()
                    .filter_map(|item| item.get(field.as_str()))
                    .filter(|v| !v.is_null())
                    .cloned()
                    .collect(),
            ),
            _ => Value::Null,
        },
        Helper::Where | Helper::WhereNot => {
            let keep = helper == Helper::Where;
            match (arg(0), arg(1)) {
                (Value::Array(items), Value::String(field)) => Value::Array(
                    items
                        .iter()
                        .filter(|item| {
                            (item.get(field.as_str()).unwrap_or(&Value::Null) == arg(2)) == keep
                        })
                        .cloned()
                        .collect(),
                ),
                _ => Value::Null,
            }
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parse_json_keeps_invalid_text() {
        assert_eq!(
            call(Helper::ParseJson, &[json!("{\"a\":1}")], &[]),
            json!({"a": 1})
        );
        assert_eq!(
            call(Helper::ParseJson, &[json!("{oops")], &[]),
            json!("{oops")
        );
    }

    #[test]
    fn urlencode_keeps_unreserved_only() {
        assert_eq!(
            url_encode("us.amazon.nova-v1:0/x y"),
            "us.amazon.nova-v1%3A0%2Fx%20y"
        );
    }

    #[test]
    fn when_picks_by_truthiness() {
        let host = |loc: &str| {
            let not_global = call(Helper::Ne, &[json!(loc), json!("global")], &[]);
            let prefix = call(Helper::Concat, &[json!(loc), json!("-")], &[]);
            call(Helper::When, &[not_global, prefix], &[])
        };
        assert_eq!(host("us-central1"), json!("us-central1-"));
        assert_eq!(host("global"), Value::Null);
        assert_eq!(
            call(Helper::When, &[json!(0), json!("a"), json!("b")], &[]),
            json!("b")
        );
        assert_eq!(
            check_arity(Helper::When, 1),
            Err("takes at least 2 argument(s), got 1".into())
        );
    }

    #[test]
    fn contains_finds_text_in_text_and_items_in_lists() {
        let has = |a: Value, b: Value| call(Helper::Contains, &[a, b], &[]);
        assert_eq!(
            has(json!("us.acme.embed-v4:0"), json!("acme.")),
            json!(true)
        );
        assert_eq!(
            has(json!("zeta.embed-text-v2:0"), json!("acme.")),
            json!(false)
        );
        assert_eq!(has(json!(["a", 1]), json!(1)), json!(true));
        assert_eq!(has(json!(["a", 1]), json!("1")), json!(false));
        assert_eq!(has(json!("abc"), Value::Null), json!(false));
        assert_eq!(has(Value::Null, json!("a")), json!(false));
        assert_eq!(has(json!({"a": 1}), json!("a")), json!(false));
    }

    #[test]
    fn when_builds_a_host_prefix_in_a_template() {
        use crate::template::{Cache, Compiler, Renderer};
        let parts = std::collections::HashMap::new();
        let mut cache = Cache::default();
        let mut compiler = Compiler::new(&parts, &mut cache);
        let tpl = compiler.compile(&json!(
            "https://{{when (ne params.loc \"global\") (concat params.loc \"-\")}}api.example.com"
        ));
        assert!(compiler.errors.is_empty());
        let host = |loc: &str| {
            Renderer { parts: &[] }
                .render(&tpl, &json!({"params": {"loc": loc}}))
                .ok()
        };
        assert_eq!(
            host("eu-west1"),
            Some(json!("https://eu-west1-api.example.com"))
        );
        assert_eq!(host("global"), Some(json!("https://api.example.com")));
    }

    #[test]
    fn pluck_takes_one_field_of_each_item() {
        let items = serde_json::json!([{"text": "a"}, {"other": 1}, {"text": "b"}, "x"]);
        assert_eq!(
            call(Helper::Pluck, &[items, "text".into()], &[]),
            serde_json::json!(["a", "b"])
        );
        assert_eq!(
            call(Helper::Pluck, &[Value::Null, "text".into()], &[]),
            Value::Null
        );
    }

    #[test]
    fn object_drops_null_values() {
        let out = call(Helper::Object, &[], &[("a", json!(1)), ("b", Value::Null)]);
        assert_eq!(out, json!({"a": 1}));
    }
}
