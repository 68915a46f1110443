//! The document's schemas and their references, computed once per document: `$ref` resolution,
//! the targets that lie on reference cycles, expanded sizes (what is inlined and what becomes a
//! `$defs` entry), stable `$defs` names, and the warnings of schema handling.

use crate::error::{Error, Result};
use crate::ir::Warning;
use crate::naming::Unique;
use crate::pointer::Pointer;
use crate::schema::node::{DefGraph, Node};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Expanded size (JSON nodes) up to which a referenced schema is inlined rather than put in
/// `$defs`.
pub const INLINE_LIMIT: usize = 400;
/// Nesting depth at which a schema is cut to `{}`.
pub const MAX_DEPTH: usize = 64;

/// Document-wide facts about references, computed once.
pub struct Schemas<'a> {
    pub file: &'a str,
    /// The document (cut down to its schemas, [`crate::spec::prune`]); read it through
    /// [`Schemas::find`].
    pub root: &'a Value,
    /// The `schema` values outside `components.schemas`, by pointer, taken out of the document by
    /// the prune (the maps that led to them, one per path, method, response and media type,
    /// were most of what was left).
    placed: &'a BTreeMap<String, Value>,
    /// Targets (JSON pointers) that are part of a reference cycle.
    recursive: BTreeSet<Pointer>,
    /// Memoised expanded sizes.
    sizes: RefCell<BTreeMap<Pointer, usize>>,
    /// Stable `$defs` names per target pointer: every reference target of the document named
    /// up front, in pointer order ([`def_names`]), so a name never depends on which tool, or
    /// which thread, needed the definition first.
    def_names: RefCell<(BTreeMap<Pointer, String>, Unique)>,
    /// What the schema stages found (each once).
    pub warnings: RefCell<Vec<Warning>>,
    /// Warnings made so far, those already recorded included ([`Schemas::warnings_made`]).
    made: std::cell::Cell<usize>,
    /// Unbounded sizes of definitions and what each reaches, per side of the call ([`crate::schema::bound`]; index [`side`]).
    pub(super) def_graphs: [RefCell<DefGraph>; 2],
    /// Schema nodes converted once per document, per side of the call
    /// ([`crate::schema::bound`]; index [`side`]).
    pub(super) nodes: [RefCell<OwnNodes>; 2],
    /// Schema nodes of shaped copies held by reused nodes (a property of a merged `allOf`),
    /// by the copy's address and depth, with the copy (so the address stays its own).
    pub(super) shared_nodes: [RefCell<SharedNodes>; 2],
}

/// The document-wide facts a [`Schemas`] starts from ([`Schemas::facts`]).
pub struct Facts {
    recursive: BTreeSet<Pointer>,
    names: BTreeMap<Pointer, String>,
    taken: Unique,
    sizes: BTreeMap<Pointer, usize>,
}

/// Nodes of the document's own schemas: place → depth → node.
pub(super) type OwnNodes = BTreeMap<Pointer, BTreeMap<usize, Rc<Node>>>;

/// Nodes of shared schema copies: (address, depth) → (the copy, its node).
pub(super) type SharedNodes = BTreeMap<(usize, usize), (Rc<Value>, Rc<Node>)>;

/// No `schema` values taken out: the whole document is in its root.
#[cfg(test)]
static NONE_PLACED: BTreeMap<String, Value> = BTreeMap::new();

impl<'a> Schemas<'a> {
    /// The schemas of a whole document.
    #[cfg(test)]
    pub fn new(file: &'a str, root: &'a Value) -> Self {
        Self::with_placed(file, root, &NONE_PLACED)
    }

    /// The schemas of a document cut down by [`crate::spec::prune`]: `placed` holds what it took
    /// out of `root`.
    pub fn with_placed(
        file: &'a str,
        root: &'a Value,
        placed: &'a BTreeMap<String, Value>,
    ) -> Self {
        let stage = crate::profile::Stage::start("lower: recursive references");
        let (recursive, targets) = find_recursive(root, placed);
        stage.end();
        let (names, taken) = def_names(targets.clone());
        let schemas = Self::from_facts(
            file,
            root,
            placed,
            Facts {
                recursive,
                names,
                taken,
                sizes: BTreeMap::new(),
            },
        );
        // Every target's expanded size up front, from depth 0 and in pointer order: a size
        // memoised from the depth of its first query would depend on which tool, or which
        // thread, asked first (only where references nest past the depth limit).
        let stage = crate::profile::Stage::start("lower: expanded sizes");
        for t in &targets {
            schemas.expanded_size(t, 0);
        }
        stage.end();
        schemas
    }

    /// What another [`Schemas`] of the same document needs to start from (for lowering on
    /// another thread): the reference facts, the `$defs` names and the targets' expanded
    /// sizes, without the caches.
    pub fn facts(&self) -> Facts {
        let names = self.def_names.borrow();
        Facts {
            recursive: self.recursive.clone(),
            names: names.0.clone(),
            taken: names.1.clone(),
            sizes: self.sizes.borrow().clone(),
        }
    }

    /// The schemas of the same document as the [`Schemas`] `facts` came from.
    pub fn from_facts(
        file: &'a str,
        root: &'a Value,
        placed: &'a BTreeMap<String, Value>,
        facts: Facts,
    ) -> Self {
        Self {
            file,
            root,
            placed,
            recursive: facts.recursive,
            sizes: RefCell::new(facts.sizes),
            def_names: RefCell::new((facts.names, facts.taken)),
            warnings: RefCell::new(Vec::new()),
            made: std::cell::Cell::new(0),
            def_graphs: Default::default(),
            nodes: Default::default(),
            shared_nodes: Default::default(),
        }
    }

    /// Records a warning about the schema at `at` (each once).
    pub fn warn(&self, at: Pointer, message: String) {
        self.made.set(self.made.get() + 1);
        let warning = Warning::spec(at, message);
        let mut w = self.warnings.borrow_mut();
        if !w.contains(&warning) {
            w.push(warning);
        }
    }

    /// How many warnings were made so far, whether or not they were new: a conversion that
    /// made none makes none wherever and whenever it is done again.
    pub fn warnings_made(&self) -> usize {
        self.made.get()
    }

    /// How many warnings there are so far (see [`Schemas::take_warnings_since`]).
    pub fn warning_count(&self) -> usize {
        self.warnings.borrow().len()
    }

    /// The warnings recorded after the first `n`, taken out (see [`Schemas::adopt_warnings`]).
    pub fn take_warnings_since(&self, n: usize) -> Vec<Warning> {
        let mut w = self.warnings.borrow_mut();
        if n >= w.len() {
            return Vec::new();
        }
        w.split_off(n)
    }

    /// Records warnings another [`Schemas`] of the document found (each once).
    pub fn adopt_warnings(&self, found: Vec<Warning>) {
        let mut w = self.warnings.borrow_mut();
        for warning in found {
            if !w.contains(&warning) {
                w.push(warning);
            }
        }
    }

    pub fn is_recursive(&self, pointer: &Pointer) -> bool {
        self.recursive.contains(pointer)
    }

    /// Follows `$ref` chains from `s` (at `at`) to a schema that is not a bare reference.
    /// Returns the final pointer and value. Errors on a missing target.
    pub fn resolve<'v>(&'v self, s: &'v Value, at: &Pointer) -> Result<(Pointer, &'v Value)> {
        let mut cur = s;
        let mut cur_at = at.clone();
        for _ in 0..MAX_DEPTH {
            match cur.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let (p, t) = self.target(r, &cur_at)?;
                    cur = t;
                    cur_at = p;
                }
                None => return Ok((cur_at, cur)),
            }
        }
        Err(Error::invalid(
            self.file,
            at,
            format!("$ref chain longer than {MAX_DEPTH} links (or a reference to itself)"),
        ))
    }

    /// The value at `p` in the document.
    pub fn find(&self, p: &Pointer) -> Option<&'a Value> {
        find_in(self.root, self.placed, p)
    }

    /// Looks up a `$ref` target.
    pub fn target(&self, r: &str, at: &Pointer) -> Result<(Pointer, &'a Value)> {
        let Some(p) = Pointer::from_ref(r) else {
            return Err(Error::invalid(
                self.file,
                &at.join("$ref"),
                format!(
                    "unsupported $ref `{r}`: only local JSON-pointer and relative-file references are supported"
                ),
            ));
        };
        match self.find(&p) {
            Some(t) => Ok((p, t)),
            None => Err(Error::invalid(
                self.file,
                &at.join("$ref"),
                format!("$ref target `{r}` not found"),
            )),
        }
    }

    /// JSON nodes of the target at `pointer` with its references expanded, up to
    /// [`INLINE_LIMIT`] + 1 (a target on a cycle counts as too large).
    /// How many expanded sizes are known (each is computed once, at the depth of its first
    /// query: [`Schemas::expanded_size`]).
    pub(crate) fn sizes_known(&self) -> usize {
        self.sizes.borrow().len()
    }

    pub fn expanded_size(&self, pointer: &Pointer, depth: usize) -> usize {
        if let Some(n) = self.sizes.borrow().get(pointer) {
            return *n;
        }
        let n = if self.recursive.contains(pointer) || depth > MAX_DEPTH {
            INLINE_LIMIT + 1
        } else {
            match self.find(pointer) {
                Some(v) => self.count(v, depth),
                None => 1,
            }
        };
        self.sizes.borrow_mut().insert(pointer.clone(), n);
        n
    }

    fn count(&self, v: &Value, depth: usize) -> usize {
        match v {
            Value::Object(m) => {
                if let Some(p) = m
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(Pointer::from_ref)
                {
                    return self.expanded_size(&p, depth + 1).min(INLINE_LIMIT + 1);
                }
                let mut n = 1;
                for c in m.values() {
                    n += self.count(c, depth + 1);
                    if n > INLINE_LIMIT {
                        return INLINE_LIMIT + 1;
                    }
                }
                n
            }
            Value::Array(a) => {
                let mut n = 1;
                for c in a {
                    n += self.count(c, depth + 1);
                    if n > INLINE_LIMIT {
                        return INLINE_LIMIT + 1;
                    }
                }
                n
            }
            _ => 1,
        }
    }

    /// The stable `$defs` name of the target at `pointer`.
    pub fn def_name(&self, pointer: &Pointer) -> String {
        let mut guard = self.def_names.borrow_mut();
        if let Some(n) = guard.0.get(pointer) {
            return n.clone();
        }
        // Not a target the document's references name (none is left out by the walk): named
        // now, after all of them.
        let name = guard.1.claim(&def_base(pointer), "_", usize::MAX);
        guard.0.insert(pointer.clone(), name.clone());
        name
    }
}

/// The `$defs` names of the reference targets, claimed in pointer order.
fn def_names(targets: Vec<Pointer>) -> (BTreeMap<Pointer, String>, Unique) {
    let mut names = Unique::new();
    let mut by_target = BTreeMap::new();
    for p in targets {
        let name = names.claim(&def_base(&p), "_", usize::MAX);
        by_target.insert(p, name);
    }
    (by_target, names)
}

/// What a `$defs` name is made from: a component schema's key; anything else's whole pointer.
fn def_base(pointer: &Pointer) -> String {
    let components = Pointer::root().join("components").join("schemas");
    let base = match pointer.last() {
        Some(name) if pointer.parent().as_ref() == Some(&components) => name,
        _ => pointer.as_str().trim_start_matches('/').to_string(),
    };
    crate::naming::safe_key(&base)
}

/// The value at `p`: under the first `schema` token, in `placed` when the prune took that value
/// out, else in `root`.
fn find_in<'v>(
    root: &'v Value,
    placed: &'v BTreeMap<String, Value>,
    p: &Pointer,
) -> Option<&'v Value> {
    if !placed.is_empty() {
        let s = p.as_str();
        let mut from = 0;
        while let Some(i) = s[from..].find("/schema") {
            let end = from + i + "/schema".len();
            if end == s.len() || s.as_bytes()[end] == b'/' {
                if let Some(v) = placed.get(&s[..end]) {
                    return if end == s.len() {
                        Some(v)
                    } else {
                        crate::pointer::lookup(v, &s[end..])
                    };
                }
                break;
            }
            from = end;
        }
    }
    p.find(root)
}

/// Finds every `$ref` target that lies on a reference cycle (Tarjan's SCC, iterative so a long
/// chain of references cannot overflow the stack); also returns every target, in order.
fn find_recursive(
    root: &Value,
    placed: &BTreeMap<String, Value>,
) -> (BTreeSet<Pointer>, Vec<Pointer>) {
    // Nodes: every local ref target; edges: refs inside a target's subtree (not following refs).
    let mut edges: BTreeMap<Pointer, Vec<Pointer>> = BTreeMap::new();
    // The references of the document and of the placed schemas, then the edges of the targets
    // they name, each on two threads (the walks are most of this function's time; the edges
    // are the same whichever thread found them).
    let (mut queue, of_placed) = crate::beside(
        "mcpgen-refs",
        || {
            let mut queue = Vec::new();
            collect_refs(root, &mut queue, 0);
            queue
        },
        || {
            let mut queue = Vec::new();
            for v in placed.values() {
                collect_refs(v, &mut queue, 0);
            }
            queue
        },
    );
    queue.extend(of_placed);
    let mut first: Vec<&Pointer> = queue.iter().collect();
    first.sort();
    first.dedup();
    let edges_of = |targets: &[&Pointer]| -> Vec<(Pointer, Vec<Pointer>)> {
        targets
            .iter()
            .map(|p| {
                let mut out = Vec::new();
                if let Some(t) = find_in(root, placed, p) {
                    collect_refs(t, &mut out, 0);
                }
                out.sort();
                out.dedup();
                ((*p).clone(), out)
            })
            .collect()
    };
    let (half, other_half) = first.split_at(first.len() / 2);
    let (mine, theirs) = crate::beside("mcpgen-refs", || edges_of(half), || edges_of(other_half));
    for (p, out) in mine.into_iter().chain(theirs) {
        edges.insert(p, out);
    }
    // The targets the first ones lead to, one by one.
    for out in edges.values() {
        queue.extend(out.iter().filter(|o| !edges.contains_key(*o)).cloned());
    }
    while let Some(p) = queue.pop() {
        if edges.contains_key(&p) {
            continue;
        }
        let mut out = Vec::new();
        if let Some(t) = find_in(root, placed, &p) {
            collect_refs(t, &mut out, 0);
        }
        out.sort();
        out.dedup();
        for o in &out {
            if !edges.contains_key(o) {
                queue.push(o.clone());
            }
        }
        edges.insert(p, out);
    }
    let nodes: Vec<&Pointer> = edges.keys().collect();
    let index_of: BTreeMap<&Pointer, usize> =
        nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let adj: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            edges[*n]
                .iter()
                .filter_map(|t| index_of.get(t).copied())
                .collect()
        })
        .collect();
    let n = nodes.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut next = 0usize;
    let mut recursive = BTreeSet::new();
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(start, 0)];
        index[start] = next;
        low[start] = next;
        next += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(&mut (v, ref mut ei)) = call.last_mut() {
            if *ei < adj[v].len() {
                let w = adj[v][*ei];
                *ei += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                call.pop();
                if let Some(&(parent, _)) = call.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    let cyclic = component.len() > 1 || adj[v].contains(&v);
                    if cyclic {
                        for w in component {
                            recursive.insert(nodes[w].clone());
                        }
                    }
                }
            }
        }
    }
    drop(nodes);
    (recursive, edges.into_keys().collect())
}

fn collect_refs(v: &Value, out: &mut Vec<Pointer>, depth: usize) {
    if depth > 512 {
        return;
    }
    match v {
        Value::Object(m) => {
            if let Some(p) = m
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(Pointer::from_ref)
            {
                out.push(p);
            }
            for c in m.values() {
                collect_refs(c, out, depth + 1);
            }
        }
        Value::Array(a) => {
            for c in a {
                collect_refs(c, out, depth + 1);
            }
        }
        _ => {}
    }
}
