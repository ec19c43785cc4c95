//! A list of rules that `extends` can merge by name: written as a table of
//! named rules (`[errors.rules.overloaded]`, `[chat.stream.events.delta]`),
//! where a child spec adds a rule, changes one field of an inherited one, or
//! removes one with `name = false`; or, deprecated, as an array, which a
//! child can only replace whole.

use std::fmt;
use std::marker::PhantomData;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

/// Rules in order, named or (deprecated) listed.
#[derive(Debug)]
pub(crate) enum RawRules<T> {
    /// `[table.<name>]` rules, in the order written (a parent's first); a
    /// `None` is a rule removed with `<name> = false`.
    Named(Vec<(String, Option<T>)>),
    /// `[[table]]` rules (deprecated: they cannot be merged by name).
    List(Vec<T>),
}

impl<T> Default for RawRules<T> {
    fn default() -> Self {
        RawRules::Named(Vec::new())
    }
}

impl<T> RawRules<T> {
    /// Every rule still in force, with its key in the file (name or index).
    pub(crate) fn iter(&self) -> Vec<(String, &T)> {
        match self {
            RawRules::Named(rules) => rules
                .iter()
                .filter_map(|(name, rule)| rule.as_ref().map(|r| (name.clone(), r)))
                .collect(),
            RawRules::List(rules) => rules
                .iter()
                .enumerate()
                .map(|(i, r)| (i.to_string(), r))
                .collect(),
        }
    }

    pub(crate) fn is_list(&self) -> bool {
        matches!(self, RawRules::List(_))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for RawRules<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RulesVisitor(PhantomData))
    }
}

struct RulesVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for RulesVisitor<T> {
    type Value = RawRules<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table of named rules")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Vec::deserialize(SeqAccessDeserializer::new(seq)).map(RawRules::List)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut rules = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            let Entry(rule) = map.next_value::<Entry<T>>()?;
            rules.push((name, rule));
        }
        Ok(RawRules::Named(rules))
    }
}

/// One named rule: its table, or `false` to remove an inherited one.
struct Entry<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entry<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Entry<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a rule table, or false to remove an inherited rule")
            }

            fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
                if b {
                    return Err(E::invalid_value(de::Unexpected::Bool(true), &self));
                }
                Ok(Entry(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|r| Entry(Some(r)))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The JSON Schema of `RawRules<T>`: a table of named rules (or `false`),
/// or the deprecated array.
#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "Rules_of_{T}")]
#[allow(dead_code)]
pub(crate) enum RulesSchema<T> {
    Named(IndexMap<String, EntrySchema<T>>),
    List(Vec<T>),
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "NamedRule_of_{T}")]
#[allow(dead_code)]
pub(crate) enum EntrySchema<T> {
    Rule(T),
    /// `false` removes an inherited rule of this name.
    Removed(bool),
}
