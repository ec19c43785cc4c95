//! Findings with a place: `file:line:col: error[code]: reason`. A finding
//! found by key path (after `extends` merged files) is located in the first
//! file of the chain that writes that key, using toml_edit's spans.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use super::Source;

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based; 0 when the finding is about the whole file (it cannot be read).
    pub line: usize,
    pub col: usize,
    pub severity: Severity,
    /// A short class: toml, schema, template, jsonpath, regex, extends,
    /// render, spec, deprecated, pricing, io.
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.line == 0 {
            return write!(f, "{}: {sev}[{}]: {}", self.file, self.code, self.message);
        }
        write!(
            f,
            "{}:{}:{}: {sev}[{}]: {}",
            self.file, self.line, self.col, self.code, self.message
        )
    }
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Byte offset where `path` is written in a TOML text, if it is.
pub fn locate(text: &str, path: &[String]) -> Option<usize> {
    let doc = toml_edit::Document::parse(text).ok()?;
    locate_in(&doc, path)
}

fn locate_in(doc: &toml_edit::Document<&str>, path: &[String]) -> Option<usize> {
    let mut node = Node::Item(doc.as_item());
    let mut at = None;
    for seg in path {
        let (next, span) = node.child(seg)?;
        at = span.or(at);
        node = next;
    }
    at.or(Some(0))
}

/// Places key paths in the files of a load, parsing each file once.
#[derive(Default)]
pub(crate) struct Places {
    docs: HashMap<usize, Option<toml_edit::Document<String>>>,
}

impl Places {
    /// Where a key path is written: the first file of the chain that has it,
    /// at the deepest key found.
    pub(crate) fn place(
        &mut self,
        sources: &[Source],
        chain: &[usize],
        at: &[String],
    ) -> (String, usize, usize) {
        let Some(&own) = chain.first() else {
            return (String::new(), 1, 1);
        };
        for depth in (0..=at.len()).rev() {
            for &i in chain {
                if depth == 0 && i != own {
                    continue;
                }
                let Some(src) = sources.get(i) else { continue };
                let doc = self
                    .docs
                    .entry(i)
                    .or_insert_with(|| toml_edit::Document::parse(src.text.clone()).ok());
                let Some(doc) = doc.as_ref() else { continue };
                let mut node = Node::Item(doc.as_item());
                let mut found = Some(None);
                for seg in &at[..depth] {
                    match node.child(seg) {
                        Some((next, span)) => {
                            found = found.map(|f: Option<usize>| span.or(f));
                            node = next;
                        }
                        None => {
                            found = None;
                            break;
                        }
                    }
                }
                if let Some(off) = found {
                    let (line, col) = line_col(&src.text, off.unwrap_or(0));
                    return (src.name.clone(), line, col);
                }
            }
        }
        let name = sources.get(own).map_or(String::new(), |s| s.name.clone());
        (name, 1, 1)
    }
}

/// A place in a parsed TOML document that may have children.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a toml_edit::Item),
    Value(&'a toml_edit::Value),
    Table(&'a toml_edit::Table),
}

impl<'a> Node<'a> {
    fn child(self, seg: &str) -> Option<(Node<'a>, Option<usize>)> {
        let table: Option<&dyn toml_edit::TableLike> = match self {
            Node::Item(i) => i.as_table_like(),
            Node::Value(v) => v.as_inline_table().map(|t| t as &dyn toml_edit::TableLike),
            Node::Table(t) => Some(t),
        };
        if let Some(t) = table {
            let (key, item) = t.get_key_value(seg)?;
            let span = key.span().or_else(|| item.span()).map(|r| r.start);
            return Some((Node::Item(item), span));
        }
        let index: usize = seg.parse().ok()?;
        match self {
            Node::Item(i) => {
                if let Some(aot) = i.as_array_of_tables() {
                    let t = aot.get(index)?;
                    return Some((Node::Table(t), t.span().map(|r| r.start)));
                }
                let v = i.as_array()?.get(index)?;
                Some((Node::Value(v), v.span().map(|r| r.start)))
            }
            Node::Value(v) => {
                let v = v.as_array()?.get(index)?;
                Some((Node::Value(v), v.span().map(|r| r.start)))
            }
            Node::Table(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys_and_array_tables() {
        let text = "a = 1\n[chat]\npath = \"/x\"\n[chat.body]\nmodel = \"{{m}}\"\n[[chat.events]]\ncontent = \"$.a\"\n";
        let p = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let at = locate(text, &p(&["chat", "body", "model"])).unwrap();
        assert_eq!(line_col(text, at), (5, 1));
        let at = locate(text, &p(&["chat", "events", "0", "content"])).unwrap();
        assert_eq!(line_col(text, at), (7, 1));
    }
}
