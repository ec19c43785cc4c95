//! Endpoint variants (`[chat.variants.<name>]`): what a compiled spec keeps
//! of them (each variant's own compiled spec, and the catalog modes that
//! select it) and the checks of what a variant writes beside its endpoint
//! keys. Building a variant's spec from the tables is the loader's; picking
//! one for a call is the client's. Knows no provider and no mode's meaning.

use std::sync::Arc;

use super::Spec;
use super::compiler::{Ctx, sub};
use crate::spec::raw::{RawNames, RawRules, RawVariant};

/// The modes a catalog model may have (`mode` in pricing/): what a
/// variant's `when-mode` may name.
pub(crate) const MODES: &[&str] = &["chat", "completion", "embedding", "responses"];

/// One variant of a spec's chat endpoint.
#[derive(Debug)]
pub(crate) struct Variant {
    pub(crate) name: String,
    /// Catalog modes whose models it serves (`when-mode`).
    pub(crate) modes: Vec<String>,
    /// The spec with the variant's chat endpoint, `[errors]` and
    /// `[openai-params]` in place of the endpoint's (same id, auth, params).
    pub(crate) spec: Arc<Spec>,
}

/// What a variant writes that its endpoint's compile does not see: its
/// name, `when-mode` and `path` (the loader compiles the rest as an
/// endpoint of its own).
pub(super) fn check(cx: &mut Ctx, ep: &[String], variants: &RawRules<RawVariant>) {
    for (name, v) in variants.iter() {
        let at = sub(ep, &["variants", &name]);
        let ok_name = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok_name {
            cx.push(
                &at,
                "spec",
                "a variant's name is 1 to 64 letters, digits, _ or -",
            );
        }
        for (i, mode) in v.when_mode.iter().flat_map(RawNames::list).enumerate() {
            if !MODES.contains(&mode.as_str()) {
                let mut loc = sub(&at, &["when-mode"]);
                if matches!(v.when_mode, Some(RawNames::Many(_))) {
                    loc.push(i.to_string());
                }
                cx.push(
                    &loc,
                    "spec",
                    format!(
                        "unknown catalog mode {mode:?} (known: {})",
                        MODES.join(", ")
                    ),
                );
            }
        }
        if let Some(path) = &v.path
            && !path.starts_with('/')
        {
            cx.push(
                &sub(&at, &["path"]),
                "spec",
                format!(
                    "a variant's path starts with `/` (it is appended to base-url), got {path:?}"
                ),
            );
        }
    }
}
