//! Compiles the choice-level keys of a mapping: `choices` (the choice
//! nodes, and the named mapping read in each), `logprobs`, `annotations`
//! and `provider-fields`; and overlays them when one mapping starts from
//! another (`map`): `choices`, `annotations` and `logprobs` tables field by
//! field, provider fields name by name.

use super::compiler::{At, Ctx, sub};
use super::mapping::{Named, Prefix};
use super::{AnnotationsMap, ChoicesMap, LogprobsMap, LogprobsTable, Mapping};
use crate::jsonpath::Paths;
use crate::spec::raw::{RawLogprobs, RawMapping};

fn set(dst: &mut Option<Paths>, src: Option<Paths>) {
    if src.is_some() {
        *dst = src;
    }
}

impl Mapping {
    /// Overlays the choice-level keys `top` has.
    pub(super) fn overlay_choice(&mut self, top: &mut Mapping) {
        if let Some(t) = top.choices.take() {
            let c = self.choices.get_or_insert_with(ChoicesMap::default);
            set(&mut c.each, t.each);
            set(&mut c.index, t.index);
            if t.map.is_some() {
                c.map = t.map;
            }
        }
        match (self.logprobs.as_mut(), top.logprobs.take()) {
            (Some(LogprobsMap::Table(a)), Some(LogprobsMap::Table(b))) => {
                set(&mut a.each, b.each);
                set(&mut a.token, b.token);
                set(&mut a.logprob, b.logprob);
                set(&mut a.bytes, b.bytes);
                set(&mut a.top, b.top);
            }
            (_, Some(t)) => self.logprobs = Some(t),
            (_, None) => {}
        }
        if let Some(t) = top.annotations.take() {
            let a = self.annotations.get_or_insert_with(AnnotationsMap::default);
            set(&mut a.each, t.each);
            set(&mut a.url, t.url);
            set(&mut a.title, t.title);
            set(&mut a.start_index, t.start_index);
            set(&mut a.end_index, t.end_index);
        }
        for (name, paths) in std::mem::take(&mut top.provider_fields) {
            match self.provider_fields.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = paths,
                None => self.provider_fields.push((name, paths)),
            }
        }
    }
}

impl Ctx<'_> {
    /// The choice-level keys a mapping writes itself.
    pub(super) fn own_choice(
        &mut self,
        at: &At,
        raw: &RawMapping,
        named: &Named,
        stack: &mut Vec<String>,
        prefix: Option<&Prefix>,
        out: &mut Mapping,
    ) {
        if let Some(c) = &raw.choices {
            let c_at = sub(at, &["choices"]);
            let map = c.map.as_deref().and_then(|name| {
                let m = self.named_mapping(&sub(&c_at, &["map"]), name, named, stack, None)?;
                if m.choices.is_some() {
                    self.push(
                        &sub(&c_at, &["map"]),
                        "spec",
                        format!(
                            "mapping {name:?} is read in each choice, and has `choices` of its own"
                        ),
                    );
                }
                Some(Box::new(m))
            });
            out.choices = Some(ChoicesMap {
                each: self.field(&c_at, &["each"], c.each.as_ref(), prefix),
                index: self.paths(&c_at, &["index"], c.index.as_ref()),
                map,
            });
        }
        out.logprobs = raw.logprobs.as_ref().map(|l| {
            let l_at = sub(at, &["logprobs"]);
            match l {
                RawLogprobs::Node(p) => LogprobsMap::Node(
                    self.field(&l_at, &[], Some(p), prefix)
                        .unwrap_or(Paths(Vec::new())),
                ),
                RawLogprobs::Table(t) => LogprobsMap::Table(LogprobsTable {
                    each: self.field(&l_at, &["each"], t.each.as_ref(), prefix),
                    token: self.paths(&l_at, &["token"], t.token.as_ref()),
                    logprob: self.paths(&l_at, &["logprob"], t.logprob.as_ref()),
                    bytes: self.paths(&l_at, &["bytes"], t.bytes.as_ref()),
                    top: self.field(&l_at, &["top"], t.top.as_ref(), prefix),
                }),
            }
        });
        out.annotations = raw.annotations.as_ref().map(|a| {
            let a_at = sub(at, &["annotations"]);
            AnnotationsMap {
                each: self.field(&a_at, &["each"], a.each.as_ref(), prefix),
                url: self.paths(&a_at, &["url"], a.url.as_ref()),
                title: self.paths(&a_at, &["title"], a.title.as_ref()),
                start_index: self.paths(&a_at, &["start-index"], a.start_index.as_ref()),
                end_index: self.paths(&a_at, &["end-index"], a.end_index.as_ref()),
            }
        });
        for (name, p) in &raw.provider_fields {
            let f_at = sub(at, &["provider-fields"]);
            if let Some(paths) = self.field(&f_at, &[name], Some(p), prefix) {
                out.provider_fields.push((name.clone(), paths));
            }
        }
    }

    /// Tables of nodes (`choices`, `annotations`, a `logprobs` table) need an `each`.
    pub(super) fn check_choice(&mut self, at: &At, raw: &RawMapping, out: &Mapping) {
        let missing = |name: &str| format!("`{name}` needs `each`: the JSONPath of its nodes");
        if raw.choices.is_some() && out.choices.as_ref().is_some_and(|c| c.each.is_none()) {
            self.push(&sub(at, &["choices"]), "spec", missing("choices"));
        }
        if raw.annotations.is_some() && out.annotations.as_ref().is_some_and(|a| a.each.is_none()) {
            self.push(&sub(at, &["annotations"]), "spec", missing("annotations"));
        }
        if let (Some(RawLogprobs::Table(_)), Some(LogprobsMap::Table(t))) =
            (&raw.logprobs, &out.logprobs)
            && t.each.is_none()
        {
            self.push(&sub(at, &["logprobs"]), "spec", missing("logprobs"));
        }
    }
}
