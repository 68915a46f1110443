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

    /// How many expanded sizes are known (each is computed once, at the depth of its first
    /// query: [`Schemas::expanded_size`]).
    pub(crate) fn sizes_known(&self) -> usize {
        self.sizes.borrow().len()
    }

    /// JSON nodes of the target at `pointer` with its references expanded, up to
    /// [`INLINE_LIMIT`] + 1 (a target on a cycle counts as too large).
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
    let ((mut queue, mut entries), of_placed) = crate::beside(
        "mcpgen-refs",
        || {
            let mut queue = Vec::new();
            let entries = collect_document_refs(root, &mut queue);
            (queue, entries)
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
    // A target that is an entry of `components.schemas` has the references found inside it by
    // the walk of the document (the same walk from the entry): most targets are.
    let mut walk = Vec::new();
    for p in first {
        match (entries.remove(p), find_in(root, placed, p)) {
            (Some((entry, mut out)), Some(t)) if std::ptr::eq(entry, t) => {
                out.sort();
                out.dedup();
                edges.insert(p.clone(), out);
            }
            _ => walk.push(p),
        }
    }
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
    let (half, other_half) = walk.split_at(walk.len() / 2);
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

/// The references of the whole document (into `out`, as [`collect_refs`] from the root finds
/// them), with those inside each entry of `components.schemas` by the entry's pointer, with the
/// entry: a walk from the entry finds the same (an entry nesting deep enough for the depth
/// limit to leave part of it out is not listed).
fn collect_document_refs<'v>(
    root: &'v Value,
    out: &mut Vec<Pointer>,
) -> BTreeMap<Pointer, (&'v Value, Vec<Pointer>)> {
    let mut entries = BTreeMap::new();
    let schemas = root
        .get("components")
        .and_then(|c| c.get("schemas"))
        .and_then(Value::as_object);
    let Some(schemas) = schemas else {
        collect_refs(root, out, 0);
        return entries;
    };
    // In the order of the walk from the root: the root's, `components`' and
    // `components.schemas`' own references, and what lies beside and below them (the entries
    // three levels below the root).
    let own_ref = |v: &Value, out: &mut Vec<Pointer>| {
        if let Some(p) = v
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(Pointer::from_ref)
        {
            out.push(p);
        }
    };
    own_ref(root, out);
    for (k, v) in root.as_object().into_iter().flatten() {
        if k != "components" {
            collect_refs(v, out, 1);
            continue;
        }
        own_ref(v, out);
        for (kind, m) in v.as_object().into_iter().flatten() {
            if kind != "schemas" {
                collect_refs(m, out, 2);
                continue;
            }
            own_ref(m, out);
            for (name, entry) in schemas {
                let mut found = Vec::new();
                let whole = collect_refs_to(entry, &mut found, 3);
                out.extend(found.iter().cloned());
                if whole {
                    let at = Pointer::root()
                        .join("components")
                        .join("schemas")
                        .join(name);
                    entries.insert(at, (entry, found));
                }
            }
        }
    }
    entries
}

fn collect_refs(v: &Value, out: &mut Vec<Pointer>, depth: usize) {
    collect_refs_to(v, out, depth);
}

/// [`collect_refs`]; whether it walked `v` whole (no value below it past the depth limit).
fn collect_refs_to(v: &Value, out: &mut Vec<Pointer>, depth: usize) -> bool {
    if depth > 512 {
        return false;
    }
    let mut whole = true;
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
                whole &= collect_refs_to(c, out, depth + 1);
            }
        }
        Value::Array(a) => {
            for c in a {
                whole &= collect_refs_to(c, out, depth + 1);
            }
        }
        _ => {}
    }
    whole
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A document whose `components.schemas` has entries that reference each other, themselves,
    /// places inside entries, other components and the placed schemas; one entry nested past
    /// the depth limit from the root (not from itself) and one called `$ref`.
    fn document() -> (Value, BTreeMap<String, Value>) {
        let mut deep = json!({"$ref": "#/components/schemas/C"});
        // 511 levels: within the limit from the entry, past it from the root.
        for _ in 0..511 {
            deep = json!({"items": deep});
        }
        let root = json!({
            "$ref": "#/components/schemas/A",
            "openapi": "3.1.0",
            "components": {
                "$ref": "#/components/schemas/B",
                "schemas": {
                    "$ref": "#/components/schemas/C",
                    "A": {"properties": {"b": {"$ref": "#/components/schemas/B"}, "x": {"type": "string"}}},
                    "B": {"items": {"$ref": "#/components/schemas/A"}},
                    "C": {"properties": {"self": {"$ref": "#/components/schemas/C"}, "into": {"$ref": "#/components/schemas/A/properties/x"}}},
                    "D": {"allOf": [{"$ref": "#/components/parameters/P/schema"}, {"$ref": "#/placed/one"}]},
                    "Deep": deep,
                    "Unreferenced": {"$ref": "#/components/schemas/D"}
                },
                "parameters": {"P": {"schema": {"$ref": "#/components/schemas/D"}}}
            }
        });
        let placed = BTreeMap::from([(
            "/placed/one".to_string(),
            json!({"items": {"$ref": "#/components/schemas/Deep"}}),
        )]);
        (root, placed)
    }

    /// The document's walk finds what the walk from the root finds, in the same order, and for
    /// each entry it lists what a walk from the entry finds; an entry the depth limit cuts short
    /// is not listed.
    #[test]
    fn the_documents_walk_lists_each_entrys_references() {
        let (root, _) = document();
        let mut whole = Vec::new();
        collect_refs(&root, &mut whole, 0);
        let mut out = Vec::new();
        let entries = collect_document_refs(&root, &mut out);
        assert_eq!(out, whole);
        let schemas = root["components"]["schemas"].as_object().unwrap();
        for (name, entry) in schemas {
            let at = Pointer::root()
                .join("components")
                .join("schemas")
                .join(name);
            let mut from_entry = Vec::new();
            let all = collect_refs_to(entry, &mut from_entry, 0);
            match entries.get(&at) {
                Some((listed, found)) => {
                    assert!(std::ptr::eq(*listed, entry), "{name}");
                    assert_eq!(found, &from_entry, "{name}");
                }
                None => {
                    assert_eq!(name, "Deep");
                    assert!(all && from_entry.len() == 1, "the walk from Deep finds C");
                }
            }
        }
        assert_eq!(entries.len(), schemas.len() - 1);
        // Without `components.schemas` nothing is listed and the walk is the root's.
        for root in [
            json!({"components": {"parameters": {}}}),
            json!([{"$ref": "#/x"}]),
        ] {
            let (mut out, mut whole) = (Vec::new(), Vec::new());
            assert!(collect_document_refs(&root, &mut out).is_empty());
            collect_refs(&root, &mut whole, 0);
            assert_eq!(out, whole);
        }
    }

    /// The targets and the cycles among them: entries, places inside entries and outside
    /// `components.schemas`, the placed schemas.
    #[test]
    fn recursive_targets_are_found_through_entries_and_elsewhere() {
        let (root, placed) = document();
        let (recursive, targets) = find_recursive(&root, &placed);
        let names =
            |ps: Vec<&Pointer>| -> Vec<String> { ps.iter().map(|p| p.to_string()).collect() };
        assert_eq!(
            names(recursive.iter().collect()),
            [
                "/components/parameters/P/schema",
                "/components/schemas/A",
                "/components/schemas/B",
                "/components/schemas/C",
                "/components/schemas/D",
            ]
        );
        assert_eq!(
            names(targets.iter().collect()),
            [
                "/components/parameters/P/schema",
                "/components/schemas/A",
                "/components/schemas/A/properties/x",
                "/components/schemas/B",
                "/components/schemas/C",
                "/components/schemas/D",
                "/components/schemas/Deep",
                "/placed/one",
            ]
        );
    }
}
