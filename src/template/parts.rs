//! The part graph of one set of templates, checked once at load: no part
//! may include itself, directly or through others (it would render
//! forever), and no template may expand, every include inlined, past
//! [`MAX_EXPANSION`] nodes or [`MAX_DEPTH`] levels (parts that each include
//! the next twice double at every level). Walks without unbounded recursion.

use super::{MAX_DEPTH, MAX_EXPANSION, Tpl};

/// What a template becomes with every part it includes inlined.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Expansion {
    pub(crate) nodes: usize,
    pub(crate) depth: usize,
}

impl Expansion {
    /// Whether it passes a limit.
    pub(crate) fn over(self) -> bool {
        self.nodes > MAX_EXPANSION || self.depth > MAX_DEPTH
    }

    /// What passes the limit, for a message.
    pub(crate) fn describe(self) -> String {
        if self.nodes > MAX_EXPANSION {
            format!(
                "expands to {} template nodes through the parts it includes (the limit is {MAX_EXPANSION})",
                shown_count(self.nodes)
            )
        } else {
            format!(
                "nests {} levels deep through the parts it includes (the limit is {MAX_DEPTH})",
                shown_count(self.depth)
            )
        }
    }
}

fn shown_count(n: usize) -> String {
    if n == usize::MAX {
        "more than 2^64".to_string()
    } else {
        n.to_string()
    }
}

/// A problem in the part graph, by part index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Parts that include each other in a ring, starting and ending with the
    /// same part (the one written first).
    Cycle(Vec<usize>),
    /// A part over a limit while every part it includes is within them.
    Over(usize, Expansion),
}

/// The checked part graph: problems, and each part's expansion (all zero
/// when there is a cycle, since nothing can be expanded then).
#[derive(Debug, Default)]
pub(crate) struct Graph {
    pub(crate) problems: Vec<Problem>,
    pub(crate) expansions: Vec<Expansion>,
}

impl Graph {
    #[cfg(test)]
    pub(crate) fn has_cycle(&self) -> bool {
        self.problems.iter().any(|p| matches!(p, Problem::Cycle(_)))
    }

    /// The expansion of a template over these parts.
    pub(crate) fn expand(&self, tpl: &Tpl) -> Expansion {
        expand(tpl, &self.expansions)
    }
}

/// At most this many cycles are reported for one set of parts.
const MAX_CYCLES_REPORTED: usize = 8;

/// Checks the parts (`parts[i]` is part `i`).
pub(crate) fn check(parts: &[Tpl]) -> Graph {
    let edges: Vec<Vec<usize>> = parts.iter().map(includes).collect();
    let (order, cycles) = depth_first(&edges);
    if !cycles.is_empty() {
        return Graph {
            problems: cycles.into_iter().map(Problem::Cycle).collect(),
            expansions: vec![Expansion::default(); parts.len()],
        };
    }
    let mut expansions = vec![Expansion::default(); parts.len()];
    let mut problems = Vec::new();
    // Post-order: every part is expanded after the parts it includes.
    for i in order {
        let e = expand(&parts[i], &expansions);
        if e.over()
            && edges[i]
                .iter()
                .all(|&j| !expansions.get(j).is_some_and(|x| x.over()))
        {
            problems.push(Problem::Over(i, e));
        }
        expansions[i] = e;
    }
    Graph {
        problems,
        expansions,
    }
}

/// The parts a template includes, in order, each once.
fn includes(tpl: &Tpl) -> Vec<usize> {
    let mut out = Vec::new();
    let mut stack = vec![tpl];
    while let Some(t) = stack.pop() {
        if let Tpl::Part(i) = t
            && !out.contains(i)
        {
            out.push(*i);
        }
        stack.extend(t.children());
    }
    out
}

/// Iterative depth-first search over every part: the post-order, and the
/// cycles met (each as the ring of parts, starting at its first-written one).
fn depth_first(edges: &[Vec<usize>]) -> (Vec<usize>, Vec<Vec<usize>>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark = vec![Mark::New; edges.len()];
    let mut order = Vec::with_capacity(edges.len());
    let mut cycles: Vec<Vec<usize>> = Vec::new();
    for start in 0..edges.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // (part, next edge to follow)
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::Open;
        while let Some(top) = path.last_mut() {
            let node = top.0;
            let Some(&to) = edges[node].get(top.1) else {
                mark[node] = Mark::Done;
                order.push(node);
                path.pop();
                continue;
            };
            top.1 += 1;
            match mark.get(to) {
                Some(Mark::New) => {
                    mark[to] = Mark::Open;
                    path.push((to, 0));
                }
                Some(Mark::Open) if cycles.len() < MAX_CYCLES_REPORTED => {
                    let from = path.iter().position(|&(p, _)| p == to).unwrap_or(0);
                    let mut ring: Vec<usize> = path[from..].iter().map(|&(p, _)| p).collect();
                    let first = ring
                        .iter()
                        .enumerate()
                        .min_by_key(|&(_, p)| *p)
                        .map_or(0, |(i, _)| i);
                    ring.rotate_left(first);
                    ring.push(ring[0]);
                    if !cycles.contains(&ring) {
                        cycles.push(ring);
                    }
                }
                // Done, an index out of range, or enough cycles already.
                _ => {}
            }
        }
    }
    (order, cycles)
}

/// The expansion of `tpl`, given the expansion of every part. Recurses as
/// deep as the template itself nests, which the compiler bounds.
fn expand(tpl: &Tpl, parts: &[Expansion]) -> Expansion {
    if let Tpl::Part(i) = tpl {
        let inner = parts.get(*i).copied().unwrap_or_default();
        return Expansion {
            nodes: inner.nodes.saturating_add(1),
            depth: inner.depth.saturating_add(1),
        };
    }
    let mut out = Expansion { nodes: 1, depth: 1 };
    for child in tpl.children() {
        let e = expand(child, parts);
        out.nodes = out.nodes.saturating_add(e.nodes);
        out.depth = out.depth.max(e.depth.saturating_add(1));
    }
    out
}
