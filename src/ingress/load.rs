//! Compiles door files: TOML syntax, the schema (every unknown key, typed),
//! every template (with the file's parts, checked for cycles and size),
//! error kinds and statuses, routes. Every finding is placed at
//! `file:line:col` in the file. Evaluates nothing.

use std::collections::HashMap;

use serde_json::Value;

use super::raw::{RawDoor, RawStream};
use super::{Door, Hook, Reject};
use crate::error::ErrorKind;
use crate::spec::diagnostic::{line_col, locate};
use crate::spec::{Diagnostic, Severity, Source};
use crate::template::{Cache, Compiler, Tpl, parts};

/// Every door that compiled, and every finding (doors with an error are left out).
pub(crate) fn compile_doors(sources: &[Source]) -> (Vec<Door>, Vec<Diagnostic>) {
    let mut doors: Vec<Door> = Vec::new();
    let mut found = Vec::new();
    let mut cache = Cache::default();
    let mut routes: HashMap<String, String> = HashMap::new();
    for src in sources {
        let mut c = Check {
            src,
            found: Vec::new(),
        };
        let door = c.door(&mut cache);
        if let Some(door) = &door {
            for p in door.paths.iter().chain(door.count_path.iter()) {
                if let Some(other) = routes.insert(p.clone(), door.id.clone())
                    && other != door.id
                {
                    c.push(
                        &["path"],
                        "spec",
                        format!("route {p} is also door {other}'s"),
                    );
                }
            }
        }
        let failed = c.found.iter().any(|d| d.severity == Severity::Error);
        found.extend(c.found);
        if let Some(door) = door.filter(|_| !failed) {
            doors.retain(|d| d.id != door.id);
            doors.push(door);
        }
    }
    found.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
    (doors, found)
}

struct Check<'s> {
    src: &'s Source,
    found: Vec<Diagnostic>,
}

impl Check<'_> {
    fn push(&mut self, at: &[&str], code: &str, message: String) {
        let at: Vec<String> = at.iter().map(|s| s.to_string()).collect();
        self.push_at(&at, code, message);
    }

    fn push_at(&mut self, at: &[String], code: &str, message: String) {
        // The deepest key of `at` that is written in the file.
        let off = (0..=at.len())
            .rev()
            .find_map(|n| locate(&self.src.text, &at[..n]))
            .unwrap_or(0);
        let (line, col) = line_col(&self.src.text, off);
        self.found.push(Diagnostic {
            file: self.src.name.clone(),
            line,
            col,
            severity: Severity::Error,
            code: code.into(),
            message: if at.is_empty() {
                message
            } else {
                format!("{}: {message}", at.join("."))
            },
        });
    }

    fn door(&mut self, cache: &mut Cache) -> Option<Door> {
        let raw: RawDoor = match toml::from_str(&self.src.text) {
            Ok(r) => r,
            Err(e) => {
                let (line, col) = line_col(&self.src.text, e.span().map_or(0, |r| r.start));
                let code = if toml::from_str::<toml::Table>(&self.src.text).is_err() {
                    "toml"
                } else {
                    "schema"
                };
                self.found.push(Diagnostic {
                    file: self.src.name.clone(),
                    line,
                    col,
                    severity: Severity::Error,
                    code: code.into(),
                    message: e.message().trim().to_string(),
                });
                return None;
            }
        };
        let id = raw.id.clone().unwrap_or_else(|| self.src.id_of());
        let mut paths = vec![raw.path.clone()];
        paths.extend(raw.aliases.iter().cloned());
        for (i, p) in paths.iter().enumerate() {
            if !p.starts_with('/') || p.contains(['{', '*', '?', '#', ' ']) {
                let at = if i == 0 {
                    vec!["path".to_string()]
                } else {
                    vec!["aliases".into(), (i - 1).to_string()]
                };
                self.push_at(&at, "spec", format!("{p:?} is not a plain route (it starts with / and has no {{, *, ?, # or space)"));
            }
        }
        let index: HashMap<String, usize> = raw
            .parts
            .keys()
            .enumerate()
            .map(|(i, k)| (k.clone(), i))
            .collect();
        let part_tpls: Vec<Tpl> = raw
            .parts
            .iter()
            .map(|(k, v)| self.template(cache, &["parts", k], &index, v))
            .collect();
        let names: Vec<&String> = raw.parts.keys().collect();
        for problem in parts::check(&part_tpls).problems {
            match problem {
                parts::Problem::Cycle(ring) => {
                    let shown: Vec<&str> = ring.iter().map(|&i| names[i].as_str()).collect();
                    self.push(
                        &["parts", shown[0]],
                        "template",
                        format!("parts include each other: {}", shown.join(" → ")),
                    );
                }
                parts::Problem::Over(i, e) => {
                    self.push(
                        &["parts", names[i]],
                        "template",
                        format!("part `{}` {}", names[i], e.describe()),
                    );
                }
            }
        }
        let request = self.template(cache, &["request"], &index, &raw.request);
        let reject = raw
            .reject
            .iter()
            .enumerate()
            .map(|(i, r)| Reject {
                when: self.template(cache, &["reject", &i.to_string(), "when"], &index, &r.when),
                message: r.message.clone(),
                param: r.param.clone(),
            })
            .collect();
        let response = self.template(cache, &["response"], &index, &raw.response);
        let error_body = self.template(cache, &["errors", "body"], &index, &raw.errors.body);
        let mut error_types = HashMap::new();
        for (k, v) in &raw.errors.types {
            match ErrorKind::parse(k) {
                Some(kind) => {
                    error_types.insert(kind, v.clone());
                }
                None => self.unknown_kind(&["errors", "types", k], k),
            }
        }
        let mut error_status = HashMap::new();
        for (k, v) in &raw.errors.status {
            if !(400..=599).contains(v) {
                self.push(
                    &["errors", "status", k],
                    "spec",
                    format!("{v} is not an error status (400 to 599)"),
                );
            }
            match ErrorKind::parse(k) {
                Some(kind) => {
                    error_status.insert(kind, *v);
                }
                None => self.unknown_kind(&["errors", "status", k], k),
            }
        }
        let hooks = self.hooks(cache, &index, &raw.stream);
        let (count_path, count) = match &raw.count_tokens {
            Some(c) => {
                if !c.path.starts_with('/') {
                    self.push(
                        &["count-tokens", "path"],
                        "spec",
                        format!("{:?} does not start with /", c.path),
                    );
                }
                let tpl = self.template(cache, &["count-tokens", "body"], &index, &c.body);
                (Some(c.path.clone()), Some(tpl))
            }
            None => (None, None),
        };
        if let Some(seq) = &raw.stream.sequence
            && seq.is_empty()
        {
            self.push(&["stream", "sequence"], "spec", "names no field".into());
        }
        Some(Door {
            name: raw.name.clone().unwrap_or_else(|| id.clone()),
            id,
            dialect: raw.dialect.clone(),
            paths,
            count_path,
            parts: part_tpls,
            reject,
            merge_roles: raw.merge_roles.clone(),
            request,
            response,
            count,
            error_body,
            error_types,
            error_status,
            hooks,
            stream_done: raw.stream.done.clone(),
            stream_sequence: raw.stream.sequence.clone(),
        })
    }

    fn unknown_kind(&mut self, at: &[&str], k: &str) {
        let known: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        self.push(
            at,
            "schema",
            format!("unknown error kind `{k}` (known: {})", known.join(", ")),
        );
    }

    fn hooks(
        &mut self,
        cache: &mut Cache,
        index: &HashMap<String, usize>,
        s: &RawStream,
    ) -> Vec<(Hook, Tpl)> {
        let written = [
            (Hook::Start, &s.start),
            (Hook::BlockStart, &s.block_start),
            (Hook::BlockDelta, &s.block_delta),
            (Hook::BlockStop, &s.block_stop),
            (Hook::Finish, &s.finish),
            (Hook::End, &s.end),
            (Hook::Error, &s.error),
        ];
        written
            .into_iter()
            .filter_map(|(hook, v)| {
                let v = v.as_ref()?;
                Some((
                    hook,
                    self.template(cache, &["stream", hook.name()], index, v),
                ))
            })
            .collect()
    }

    fn template(
        &mut self,
        cache: &mut Cache,
        at: &[&str],
        index: &HashMap<String, usize>,
        value: &Value,
    ) -> Tpl {
        let mut c = Compiler::new(index, cache);
        let tpl = c.compile(value);
        let errors = std::mem::take(&mut c.errors);
        for e in errors {
            let mut loc: Vec<String> = at.iter().map(|s| s.to_string()).collect();
            loc.extend(e.at);
            self.push_at(&loc, "template", e.message);
        }
        tpl
    }
}
