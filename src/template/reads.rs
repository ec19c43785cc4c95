//! What a template reads from its root (the top scope): every path
//! evaluated there, through the parts it includes, and every `$base` over a
//! root value with the keys that override it. Scopes are followed as the
//! evaluator opens them (`$each` and `$with` open one; `../` and `@root`
//! climb), so `{{text}}` inside `$each messages` is no read of the root.
//! Lint uses it to check what a spec says it carries. Evaluates nothing.

use std::collections::{BTreeSet, HashSet};

use super::{Expr, Piece, Tpl};

/// Root reads of one template.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Reads {
    /// The first two segments of each root path read (`["extra", "n"]`, `["temperature"]`).
    pub(crate) paths: BTreeSet<Vec<String>>,
    /// Each `$base` over a root path: the path, and the keys written beside
    /// it (the path is not in `paths` for it).
    pub(crate) bases: Vec<(Vec<String>, BTreeSet<String>)>,
}

/// The root reads of `tpl`, whose `{{> part}}`s index `parts`.
pub(crate) fn root_reads(tpl: &Tpl, parts: &[Tpl]) -> Reads {
    let mut w = Walker {
        parts,
        seen: HashSet::new(),
        out: Reads::default(),
    };
    w.tpl(tpl, 0);
    w.out
}

struct Walker<'t> {
    parts: &'t [Tpl],
    /// Parts already walked at a scope depth (a part is the same at the same depth).
    seen: HashSet<(usize, usize)>,
    out: Reads,
}

impl Walker<'_> {
    fn tpl(&mut self, tpl: &Tpl, depth: usize) {
        match tpl {
            Tpl::Lit(_) => {}
            Tpl::Expr(e) => self.expr(e, depth),
            Tpl::Interp(pieces) => {
                for p in pieces {
                    if let Piece::Expr(e) = p {
                        self.expr(e, depth);
                    }
                }
            }
            Tpl::Part(i) => {
                if self.seen.insert((*i, depth))
                    && let Some(part) = self.parts.get(*i)
                {
                    self.tpl(part, depth);
                }
            }
            Tpl::Array(items) => items.iter().for_each(|t| self.tpl(t, depth)),
            Tpl::Object { base, fields } => {
                if let Some(b) = base {
                    match root_path(b, depth) {
                        Some(path) => {
                            let keys = fields.iter().map(|(k, _)| k.clone()).collect();
                            self.out.bases.push((path, keys));
                        }
                        None => self.expr(b, depth),
                    }
                }
                fields.iter().for_each(|(_, t)| self.tpl(t, depth));
            }
            Tpl::Each { over, body, .. } => {
                self.expr(over, depth);
                self.tpl(body, depth + 1);
            }
            Tpl::With { value, body } => {
                self.expr(value, depth);
                self.tpl(body, depth + 1);
            }
            Tpl::If {
                cond,
                then,
                otherwise,
            } => {
                self.expr(cond, depth);
                self.tpl(then, depth);
                if let Some(o) = otherwise {
                    self.tpl(o, depth);
                }
            }
            Tpl::Match { on, cases, default } => {
                self.expr(on, depth);
                cases.iter().for_each(|(_, t)| self.tpl(t, depth));
                if let Some(d) = default {
                    self.tpl(d, depth);
                }
            }
        }
    }

    fn expr(&mut self, e: &Expr, depth: usize) {
        match e {
            Expr::Path(_) => {
                if let Some(mut path) = root_path(e, depth) {
                    path.truncate(2);
                    self.out.paths.insert(path);
                }
            }
            Expr::Call { args, hash, .. } => {
                args.iter().for_each(|a| self.expr(a, depth));
                hash.iter().for_each(|(_, a)| self.expr(a, depth));
            }
            Expr::Local { .. } | Expr::Lit(_) => {}
        }
    }
}

/// The segments of a path expression that reads the root at scope `depth`.
fn root_path(e: &Expr, depth: usize) -> Option<Vec<String>> {
    let Expr::Path(p) = e else { return None };
    (p.root || p.up >= depth).then(|| p.segs.clone())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;
    use crate::template::{Cache, Compiler};

    fn reads(body: serde_json::Value, parts: &[(&str, serde_json::Value)]) -> Reads {
        let index: HashMap<String, usize> = parts
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.to_string(), i))
            .collect();
        let mut cache = Cache::default();
        let mut c = Compiler::new(&index, &mut cache);
        let parts: Vec<Tpl> = parts.iter().map(|(_, v)| c.compile(v)).collect();
        let tpl = c.compile(&body);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        root_reads(&tpl, &parts)
    }

    fn paths(r: &Reads) -> Vec<String> {
        r.paths.iter().map(|p| p.join(".")).collect()
    }

    #[test]
    fn paths_inside_a_loop_are_the_items_not_the_root() {
        let r = reads(
            json!({
                "t": "{{temperature}}",
                "msgs": {"$each": "{{messages}}", "$do": {"x": "{{text}}", "m": "{{../model}}", "k": "{{@root.extra.top_k}}"}},
                "p": "{{> gen}}"
            }),
            &[(
                "gen",
                json!({"n": "{{default extra.n 1}}", "s": "pre {{stop.[0]}}"}),
            )],
        );
        assert_eq!(
            paths(&r),
            [
                "extra.n",
                "extra.top_k",
                "messages",
                "model",
                "stop.0",
                "temperature"
            ]
        );
    }

    #[test]
    fn a_base_over_the_request_names_the_keys_it_overrides() {
        let r = reads(
            json!({"$base": "{{request}}", "model": "{{model}}", "user": "{{null}}"}),
            &[],
        );
        assert_eq!(
            r.bases,
            [(
                vec!["request".to_string()],
                BTreeSet::from(["model".to_string(), "user".to_string()])
            )]
        );
        assert_eq!(paths(&r), ["model"]);
    }

    #[test]
    fn a_with_scope_reads_its_value_at_the_root_and_fields_below_it() {
        let r = reads(
            json!({"tc": {"$with": "{{tool_choice}}", "$do": {"m": "{{mode}}", "p": "{{../parallel_tool_calls}}"}}}),
            &[],
        );
        assert_eq!(paths(&r), ["parallel_tool_calls", "tool_choice"]);
    }
}
