//! Tool schemas with a bound: outputs within [`OUTPUT_BOUND`], inputs within [`INPUT_BOUND`]
//! (every argument kept, cut parts described: [`cut_form`]). A tool's `outputSchema` is there
//! so a client can validate and use `structuredContent`; it does not need the API's whole object
//! graph (Stripe's responses each reach most of its 1,300 schemas: 0.9 MB per tool unbounded),
//! and an `inputSchema` need not carry every entity an entity graph's request body reaches. The conversion therefore
//! takes schema nodes breadth-first under a byte budget and a depth bound, and whatever does not
//! fit is replaced by the permissive schema `{}`, so that every response valid under the full
//! schema is still valid under the bounded one. The bound applies while converting: a node is
//! converted on its own (its child schemas stand in as placeholders, [`placeholder`]), weighed,
//! and either taken — its children join the queue one level further — or cut. Near parts are
//! thus kept before far ones, and nothing past the bound is ever built.
//!
//! - Shared definitions stay `$defs` entries, once per tool; a definition's body is a node one
//!   level below the first reference to it. A cut definition is `{}`.
//! - A node that does not fit with its annotations (`title`, `description`, `examples`,
//!   `default`) is taken without them when that fits: structure before prose.
//! - Soundness where a weaker part could reject what the full schema accepts (a schema is
//!   *weakened* when anything in it, or in a definition it references, was cut): a weakened
//!   `not` or `if` is dropped (with `then`/`else`), a `oneOf` with a weakened branch becomes an
//!   `anyOf` (two branches may now both match), `maxContains` beside a weakened `contains` is
//!   dropped, and `unevaluatedProperties`/`unevaluatedItems` beside any weakened subschema are
//!   dropped (a cut subschema evaluates nothing). Property names are never cut, so
//!   `additionalProperties: false` keeps admitting every property; `required`, `const` and `enum`
//!   are kept as they are, since they constrain only their own node.
//! - The root of each schema is always taken (without annotations if need be, and cut to
//!   `{"type": "object", "properties": {}}` if even that is too large), so whether the result is
//!   wrapped as `{"result": ...}` never depends on the bound.
//!
//! The unbounded size is still reported (`inspect`): it is summed node by node, with each
//! definition's size computed once per document and what each strongly connected component of
//! the definitions reaches summed once ([`crate::schema::node::DefGraph`]), never built.

use crate::error::Result;
use crate::ir::budget::{json_len, str_len};
use crate::pointer::Pointer;
use crate::schema::convert::{Conversion, Deferred};
use crate::schema::json_text;
use crate::schema::keywords::{SCHEMA_ARRAY_KEYWORDS, SCHEMA_KEYWORDS, SCHEMA_MAP_KEYWORDS};
use crate::schema::node::{Closure, Def, Node, REUSE_DEPTH, placeholder, slot_of};
use crate::schema::refs::{MAX_DEPTH, Schemas};
use crate::schema::shape::Mode;
use serde_json::{Map, Value};
use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;

/// Places of cut subschemas a [`Bounded`] lists (it counts them all).
pub const CUT_LISTED: usize = 20;

/// A bound on one converted schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// Compact JSON bytes of the whole schema (`$defs` included).
    pub bytes: usize,
    /// Schema levels below the root (a property, an `items`, a branch, a definition's body one
    /// level below its first reference); deeper nodes are cut.
    pub depth: usize,
}

/// The bound of every tool's `outputSchema`: 8 KiB of compact JSON (2,048 tokens at bytes / 4)
/// and 12 levels. The issue allows 32 KB per tool and 10 MB for Stripe's whole `tools.json`
/// (450 tools); `tools.json` is pretty-printed, about 1.9 times its compact size for these
/// schemas, so 450 × 8 KiB × 1.9 ≈ 7 MB leaves room for descriptions and input schemas, where
/// 16 KiB gave 12.9 MB on the Stripe-shaped benchmark. One output schema is then at most a tenth
/// of the 20,000 tokens past which `auto` lists discovery tools instead. 8 KiB holds a resource's
/// own fields with most of their descriptions and the first level of what they reference —
/// what a client validates and a model reads; 12 levels (about five nested objects, as each
/// property, array item and union branch is a level) keep real response shapes and stop
/// hostile nesting long before serde's recursion limit.
pub const OUTPUT_BOUND: Bound = Bound {
    bytes: 8 * 1024,
    depth: 12,
};

/// The bound of every tool's `inputSchema`: 40 KiB of compact JSON and 32 levels. Every
/// parameter and body property stays an argument (the roots are always taken); what lies
/// beyond the bound in their nested schemas is not expanded, and the generated server's typed
/// arguments still check every call in full before anything is sent upstream. It leaves the
/// input schemas of ordinary APIs as they are (the largest real one at hand, GitHub Enterprise
/// Cloud's enterprise ruleset body, is 32.5 KiB and 8 levels deep; api.github.com's largest is
/// 22.4 KiB; Directus nests its definitions 16 levels deep: no tool of these changes; the
/// depth only stops hostile nesting, the bytes bound the rest), and stops an entity graph's request bodies (Microsoft Graph: a body reaches
/// most of the thousands of entities through navigation properties) from carrying the whole
/// graph as `$defs` in every tool, whose total grew with the square of the API's size.
pub const INPUT_BOUND: Bound = Bound {
    bytes: 40 * 1024,
    depth: 32,
};

/// What a cut part says in an input schema (see [`cut_form`]).
pub use crate::ir::NOT_EXPANDED;

/// A part an input bound cut (`node`: its converted node, when it was converted), as clients
/// see it: permissive (it accepts every value the full schema accepts), an object schema with
/// the node's own `required` when the part is a plain object, with [`NOT_EXPANDED`], so a model
/// knows there is more to it than "anything".
fn cut_form(node: Option<&Node>) -> Value {
    let Some(n) = node.filter(|n| n.plain) else {
        return serde_json::json!({ "description": NOT_EXPANDED });
    };
    let mut m = Map::new();
    m.insert("type".into(), Value::String("object".into()));
    m.insert("properties".into(), Value::Object(Map::new()));
    if let Some(r) = &n.required {
        m.insert("required".into(), (**r).clone());
    }
    m.insert("description".into(), Value::String(NOT_EXPANDED.into()));
    Value::Object(m)
}

/// The share of an input bound kept for the descriptions of its cut parts (the nearest ones,
/// while they fit; cut parts past it are `{}`), so a described schema stays within the bound.
fn marker_reserve(mode: Mode, bound: Bound) -> usize {
    match mode {
        Mode::Input => bound.bytes / 8,
        Mode::Output => 0,
    }
}

/// Bytes kept back for what the tool wraps around the converted roots (`{"type": "object",
/// "properties": {"result": ..}, "required": ["result"]}`, an `anyOf` of several responses).
const RESERVE: usize = 192;

/// Where a keyword's value sits in a converted schema: one schema, a list or a map of them, or
/// plain data (never walked: a `const` may hold anything).
enum Kind {
    One,
    List,
    Map,
    Data,
}

fn kind(k: &str) -> Kind {
    if k == "items" || SCHEMA_KEYWORDS.contains(&k) {
        Kind::One
    } else if SCHEMA_ARRAY_KEYWORDS.contains(&k) {
        Kind::List
    } else if k == "$defs" || SCHEMA_MAP_KEYWORDS.contains(&k) {
        Kind::Map
    } else {
        Kind::Data
    }
}

/// The schemas directly beneath `m`'s keywords, mutably.
fn subschemas_mut(m: &mut Map<String, Value>) -> Vec<(&String, &mut Value)> {
    let mut out = Vec::new();
    for (k, v) in m.iter_mut() {
        match (kind(k), v) {
            (Kind::One, v) => out.push((k, v)),
            (Kind::List, Value::Array(a)) => out.extend(a.iter_mut().map(|c| (k, c))),
            (Kind::Map, Value::Object(o)) => out.extend(o.values_mut().map(|c| (k, c))),
            _ => {}
        }
    }
    out
}

/// The schemas directly beneath `m`'s keywords.
fn subschemas(m: &Map<String, Value>) -> Vec<&Value> {
    let mut out = Vec::new();
    for (k, v) in m {
        match (kind(k), v) {
            (Kind::One, v) => out.push(v),
            (Kind::List, Value::Array(a)) => out.extend(a.iter()),
            (Kind::Map, Value::Object(o)) => out.extend(o.values()),
            _ => {}
        }
    }
    out
}

/// Counts the placeholders in a node, stopping at each (they are its children).
fn count_slots(v: &mut Value, occ: &mut BTreeMap<usize, usize>) {
    if let Some(id) = slot_of(v) {
        *occ.entry(id).or_default() += 1;
        return;
    }
    if let Value::Object(m) = v {
        for (_, c) in subschemas_mut(m) {
            count_slots(c, occ);
        }
    }
}

/// Annotation keywords a node may lose to fit.
const DROPPABLE: &[&str] = &["title", "description", "examples", "default"];

/// Drops the annotations of a node's own schema objects; returns whether any was there.
fn strip_annotations(v: &mut Value) -> bool {
    if slot_of(v).is_some() {
        return false;
    }
    let Value::Object(m) = v else {
        return false;
    };
    let mut any = false;
    for k in DROPPABLE {
        any |= m.remove(*k).is_some();
    }
    for (_, c) in subschemas_mut(m) {
        any |= strip_annotations(c);
    }
    any
}

/// Compact JSON bytes of a node, each placeholder counted as the `{}` it becomes when cut.
fn node_bytes(v: &Value, occ: &BTreeMap<usize, usize>) -> usize {
    let raw = json_len(v);
    let per_slot: usize = occ
        .keys()
        .map(|id| json_len(&placeholder(*id)).saturating_sub(2) * occ[id])
        .sum();
    raw.saturating_sub(per_slot)
}

/// Bytes a `$defs` entry adds besides its body: `"Name":` and a comma.
fn entry_bytes(name: &str) -> usize {
    str_len(name) + 2
}

/// Bytes of `,"$defs":{}` around the entries.
const DEFS_BYTES: usize = 11;

/// Whether a converted root is a plain object schema (the tool's result is not wrapped).
pub fn is_plain_object(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("object")
        && !["anyOf", "oneOf", "allOf", "$ref", "not", "if"]
            .iter()
            .any(|k| v.get(*k).is_some())
}

/// One schema to convert: the spec's schema, where it is, its path for notes (`output`), and
/// the bytes the caller puts around it (an argument's name and description), counted in the
/// bound.
pub struct Root<'v> {
    pub schema: &'v Value,
    pub at: Pointer,
    pub path: String,
    pub extra: usize,
}

/// A bounded conversion's result.
#[derive(Debug, Default)]
pub struct Bounded {
    /// The converted roots, in order, as compact JSON.
    pub roots: Vec<String>,
    /// Whether each root is a plain object schema, decided before any cut.
    pub plain: Vec<bool>,
    /// The `$defs` the roots reference, in name order, as compact JSON.
    pub defs: Vec<(String, String)>,
    /// Paths of the first [`CUT_LISTED`] subschemas replaced by `{}` (or described), nearest
    /// first.
    pub cut: Vec<String>,
    /// How many subschemas were.
    pub cuts: usize,
    /// Nodes kept without their annotations.
    pub stripped: usize,
}

impl Bounded {
    /// The `$defs` as a compact JSON object.
    pub fn defs_text(&self) -> String {
        format!("{{{}}}", self.def_entries().join(","))
    }

    /// The `$defs` entries as compact JSON: `"Name":{...}` each.
    pub fn def_entries(&self) -> Vec<String> {
        self.defs
            .iter()
            .map(|(name, text)| {
                let mut entry = String::with_capacity(name.len() + text.len() + 3);
                json_text::push_str_json(&mut entry, name);
                entry.push(':');
                entry.push_str(text);
                entry
            })
            .collect()
    }
}

/// Where a node waiting in the queue comes from: a root (by number), a child of a node taken
/// (by its number among the node's children), a definition a node taken references (by its
/// number among the node's references). The node it is read from holds its schema, place and
/// path segment, so nothing is copied per node queued.
#[derive(Clone)]
enum Source {
    Root(usize),
    Child(Rc<Node>, usize),
    Def(Rc<Node>, usize),
}

/// A node waiting in the queue.
struct Pending {
    id: usize,
    source: Source,
    /// Its path for notes and cuts, in [`Paths`].
    path: usize,
    depth: usize,
    level: usize,
    mult: usize,
    root: bool,
    /// A child of a node reused (see [`Conversion::node`]).
    shared: bool,
}

/// The paths of the nodes queued in one conversion, each made only when it is needed (a cut
/// listed, a note, a node converted): its source and the path it is below.
struct Paths<'r> {
    roots: &'r [Root<'r>],
    parts: Vec<(usize, Source)>,
}

impl Paths<'_> {
    fn push(&mut self, parent: usize, source: Source) -> usize {
        self.parts.push((parent, source));
        self.parts.len() - 1
    }

    fn get(&self, mut i: usize) -> String {
        let mut segs: Vec<&str> = Vec::new();
        let head = loop {
            let Some((parent, source)) = self.parts.get(i) else {
                break String::new();
            };
            match source {
                Source::Root(r) => {
                    break self
                        .roots
                        .get(*r)
                        .map(|r| r.path.clone())
                        .unwrap_or_default();
                }
                Source::Def(n, d) => break format!("$defs.{}", n.refs[*d].0),
                Source::Child(n, c) => segs.push(&n.children[*c].3),
            }
            i = *parent;
        };
        let mut out = head;
        for seg in segs.iter().rev() {
            out.push_str(seg);
        }
        out
    }
}

/// What a node taken is: a converted node (without annotations when `lean`) whose placeholders
/// are numbered from `offset` on in this conversion, or the least a root too large becomes.
enum Part {
    Node {
        node: Rc<Node>,
        lean: bool,
        offset: usize,
    },
    Least(Value),
}

/// A node taken (with its value) or cut (`None`; then what stands for it, `{}` when `None`).
#[derive(Default)]
struct Taken {
    value: Option<Part>,
    cut: Option<Value>,
    children: Vec<usize>,
    refs: Vec<usize>,
}

/// The key under which a node that converts the same at every depth up to [`REUSE_DEPTH`]
/// ([`Node::any_depth`]) is cached.
const ANY_DEPTH: usize = usize::MAX;

impl Conversion<'_, '_> {
    /// Converts one node with its children deferred; the notes it makes are returned apart.
    fn convert_one(&mut self, raw: &Value, at: &Pointer, path: &str, depth: usize) -> Result<Node> {
        let before = self.take_notes();
        self.set_path(path.to_string());
        self.defer = Some(Deferred::default());
        self.deepest = depth;
        let sizes_known = self.schemas().sizes_known();
        let converted = self.convert_node(raw, at, depth);
        // Nothing the depth decides was reached (the depth limit, an expanded size computed
        // from this depth): the node is the same at every depth up to `REUSE_DEPTH`.
        let any_depth = self.deepest - depth + REUSE_DEPTH <= MAX_DEPTH
            && self.schemas().sizes_known() == sizes_known;
        let deferred = self.defer.take().unwrap_or_default();
        let notes = self.take_notes();
        self.restore_notes(before);
        let mut value = converted?;
        let mut occ = BTreeMap::new();
        count_slots(&mut value, &mut occ);
        let text = serde_json::to_string(&value).unwrap_or_default();
        let slots = json_text::slots(&text);
        // Every placeholder text is a subschema's placeholder, unless a spec's string looks
        // like one: then the value is kept to tell them apart.
        let odd = slots.len() != occ.values().sum::<usize>();
        let bytes = if odd {
            node_bytes(&value, &occ)
        } else {
            text.len()
                - slots
                    .iter()
                    .map(|(s, e, _)| (e - s) as usize - 2)
                    .sum::<usize>()
        };
        debug_assert_eq!(bytes, node_bytes(&value, &occ));
        let mut lean = value.clone();
        let (has_lean, lean_bytes) = if strip_annotations(&mut lean) {
            (true, node_bytes(&lean, &occ))
        } else {
            (false, bytes)
        };
        drop(lean);
        let plain = is_plain_object(&value);
        let required = match value.get("required") {
            Some(Value::Array(r)) if plain && !r.is_empty() => {
                Some(Box::new(Value::Array(r.clone())))
            }
            _ => None,
        };
        let sensitive = sensitive(&value);
        let deferred_children = deferred.children.len();
        let mut refs: Vec<(String, Pointer)> = Vec::new();
        for r in deferred.refs {
            if !refs.contains(&r) {
                refs.push(r);
            }
        }
        Ok(Node {
            text: text.into(),
            slots: if odd { Box::default() } else { slots.into() },
            value: odd.then(|| Box::new(value)),
            sensitive,
            plain,
            required,
            has_lean,
            bytes,
            lean_bytes,
            occ,
            width: deferred.next,
            children: deferred
                .children
                .into_iter()
                .map(|(id, raw, at, p, d)| {
                    let seg = p.strip_prefix(path).unwrap_or(&p).to_string();
                    (id, raw.map(Rc::new), at, seg, d.saturating_sub(depth))
                })
                .collect(),
            memo: (0..deferred_children + refs.len())
                .map(|_| OnceCell::new())
                .collect(),
            refs,
            notes: notes.into_iter().map(|n| (n.kind, n.detail)).collect(),
            any_depth,
        })
    }

    /// The node of `raw` at `at` (`None`: the document's own node there): converted, or
    /// reused when it is the document's own or `shared` (a child schema of a node reused: a
    /// part of a shaped copy, such as a property of a merged `allOf`, held by that node and so
    /// the same value wherever it is reached). Returns whether the node is reused, so that its
    /// children are shared too.
    fn node(
        &mut self,
        raw: Option<&Rc<Value>>,
        at: &Pointer,
        path: impl FnOnce() -> String,
        depth: usize,
        shared: bool,
    ) -> Result<(Rc<Node>, bool)> {
        let mode = self.mode();
        if depth > REUSE_DEPTH || (raw.is_some() && !shared) {
            let raw = match raw {
                Some(r) => r.as_ref(),
                None => self.schemas().find(at).unwrap_or(&Value::Null),
            };
            return Ok((Rc::new(self.convert_one(raw, at, &path(), depth)?), false));
        }
        if let Some(n) = self.schemas().converted_node(mode, raw, at, depth) {
            return Ok((n, true));
        }
        let n = match raw {
            Some(r) => Rc::new(self.convert_one(r, at, &path(), depth)?),
            None => {
                let own = self.schemas().find(at).unwrap_or(&Value::Null);
                Rc::new(self.convert_one(own, at, &path(), depth)?)
            }
        };
        self.schemas()
            .keep_converted_node(mode, raw, at, depth, n.clone());
        Ok((n, true))
    }

    /// Converts `roots` within `bound`, sharing one `$defs` (see the module docs).
    pub fn convert_bounded(&mut self, roots: &[Root], bound: Bound) -> Result<Bounded> {
        let input = self.mode() == Mode::Input;
        let reserve = marker_reserve(self.mode(), bound);
        let budget = bound.bytes.saturating_sub(RESERVE + reserve);
        // Bytes the descriptions of cut parts take (input schemas), within `reserve`.
        let mut marks = 0usize;
        // The least a description of a cut part takes: past the reserve, none is built.
        let least_mark = json_len(&cut_form(None)).saturating_sub(2);
        let mut mark = |node: Option<&Node>, mult: usize| -> Option<Value> {
            if !input || marks + mult * least_mark > reserve {
                return None;
            }
            let v = cut_form(node);
            let extra = mult * json_len(&v).saturating_sub(2);
            (marks + extra <= reserve).then(|| {
                marks += extra;
                v
            })
        };
        let root_raws: Vec<Rc<Value>> = roots.iter().map(|r| Rc::new(r.schema.clone())).collect();
        let mut paths = Paths {
            roots,
            parts: Vec::new(),
        };
        let mut queue = VecDeque::new();
        for id in 0..roots.len() {
            let path = paths.push(usize::MAX, Source::Root(id));
            queue.push_back(Pending {
                id,
                source: Source::Root(id),
                path,
                depth: 0,
                level: 0,
                mult: 1,
                root: true,
                shared: false,
            });
        }
        let mut next = roots.len();
        let mut used = roots.iter().map(|r| 2 + r.extra).sum::<usize>();
        let mut taken: Vec<Option<Taken>> = Vec::new();
        let mut order: Vec<usize> = Vec::new();
        let mut defs: BTreeMap<String, usize> = BTreeMap::new();
        let mut seen: BTreeSet<Pointer> = BTreeSet::new();
        let mut out = Bounded {
            plain: vec![false; roots.len()],
            ..Bounded::default()
        };
        let cut_at = |out: &mut Bounded, paths: &Paths, path: usize| {
            out.cuts += 1;
            if out.cut.len() < CUT_LISTED {
                out.cut.push(paths.get(path));
            }
        };
        fn put(taken: &mut Vec<Option<Taken>>, id: usize, t: Taken) {
            if taken.len() <= id {
                taken.resize_with(id + 1, || None);
            }
            taken[id] = Some(t);
        }
        while let Some(p) = queue.pop_front() {
            if p.level > bound.depth && !p.root {
                cut_at(&mut out, &paths, p.path);
                let cut = mark(None, p.mult);
                put(
                    &mut taken,
                    p.id,
                    Taken {
                        cut,
                        ..Taken::default()
                    },
                );
                continue;
            }
            let (raw, at, memo) = match &p.source {
                Source::Root(r) => (root_raws.get(*r), &roots[*r].at, None),
                Source::Child(n, c) => {
                    (n.children[*c].1.as_ref(), &n.children[*c].2, Some((n, *c)))
                }
                Source::Def(n, d) => (None, &n.refs[*d].1, Some((n, n.children.len() + *d))),
            };
            let found = memo.and_then(|(n, i)| n.reached(i, p.depth));
            let (node, reused) = match found {
                Some(node) => (node, true),
                None => {
                    let (node, reused) =
                        self.node(raw, at, || paths.get(p.path), p.depth, p.shared)?;
                    if reused && let Some((n, i)) = memo {
                        n.reach(i, &node);
                    }
                    (node, reused)
                }
            };
            let offset = next;
            next += node.width;
            if p.root {
                out.plain[p.id] = node.plain;
            }
            let mut defs_cost: usize = node
                .refs
                .iter()
                .filter(|(_, ptr)| !seen.contains(ptr))
                .map(|(n, _)| entry_bytes(n))
                .sum();
            if defs.is_empty() && defs_cost > 0 {
                defs_cost += DEFS_BYTES;
            }
            let cost = |bytes: usize| p.mult * bytes.saturating_sub(2) + defs_cost;
            let (lean, bytes) = if used + cost(node.bytes) <= budget {
                (false, node.bytes)
            } else if node.has_lean && (p.root || used + cost(node.lean_bytes) <= budget) {
                out.stripped += 1;
                (true, node.lean_bytes)
            } else if p.root {
                (false, node.bytes)
            } else {
                cut_at(&mut out, &paths, p.path);
                let cut = mark(Some(&node), p.mult);
                put(
                    &mut taken,
                    p.id,
                    Taken {
                        cut,
                        ..Taken::default()
                    },
                );
                continue;
            };
            if used + cost(bytes) > budget && p.root {
                // A root too large even alone: the least that keeps its wrapping.
                let least = if input {
                    // An argument stays one, whatever its size.
                    cut_form(Some(&node))
                } else if out.plain[p.id] {
                    serde_json::json!({"type": "object", "properties": {}})
                } else {
                    Value::Object(Map::new())
                };
                cut_at(&mut out, &paths, p.path);
                used += json_len(&least).saturating_sub(2);
                put(
                    &mut taken,
                    p.id,
                    Taken {
                        value: Some(Part::Least(least)),
                        ..Taken::default()
                    },
                );
                order.push(p.id);
                continue;
            }
            used += cost(bytes);
            if !node.notes.is_empty() {
                self.note_at(&paths.get(p.path), &node.notes);
            }
            let mut t = Taken {
                value: Some(Part::Node {
                    node: node.clone(),
                    lean,
                    offset,
                }),
                ..Taken::default()
            };
            for (c, (id, ..)) in node.children.iter().enumerate() {
                let Some(n) = node.occ.get(id) else {
                    continue;
                };
                t.children.push(id + offset);
                let source = Source::Child(node.clone(), c);
                let path = paths.push(p.path, source.clone());
                queue.push_back(Pending {
                    id: id + offset,
                    source,
                    path,
                    depth: p.depth + node.children[c].4,
                    level: p.level + 1,
                    mult: p.mult * n,
                    root: false,
                    shared: reused,
                });
            }
            for (d, (name, ptr)) in node.refs.iter().enumerate() {
                if !seen.contains(ptr) {
                    seen.insert(ptr.clone());
                    let id = next;
                    next += 1;
                    defs.insert(name.clone(), id);
                    let source = Source::Def(node.clone(), d);
                    let path = paths.push(usize::MAX, source.clone());
                    queue.push_back(Pending {
                        id,
                        source,
                        path,
                        depth: 1,
                        level: p.level + 1,
                        mult: 1,
                        root: false,
                        shared: false,
                    });
                }
                if let Some(id) = defs.get(name) {
                    t.refs.push(*id);
                }
            }
            put(&mut taken, p.id, t);
            order.push(p.id);
        }
        // Weakened nodes: cut ones, and every node with a weakened child or definition
        // (a fixed point, as definitions may reference each other in cycles).
        taken.resize_with(next.max(taken.len()), || None);
        let mut weak: Vec<bool> = taken
            .iter()
            .map(|t| t.as_ref().is_some_and(|t| t.value.is_none()))
            .collect();
        loop {
            let mut changed = false;
            for id in order.iter().rev() {
                if weak[*id] {
                    continue;
                }
                let Some(t) = &taken[*id] else {
                    continue;
                };
                if t.children.iter().chain(&t.refs).any(|c| weak[*c]) {
                    weak[*id] = true;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let ref_ids = || -> BTreeMap<String, usize> {
            defs.iter()
                .map(|(name, id)| {
                    (
                        format!("#{}", Pointer::root().join("$defs").join(name)),
                        *id,
                    )
                })
                .collect()
        };
        let assembly = Assembly {
            taken: &taken,
            weak: &weak,
            ref_ids: std::cell::OnceCell::new(),
            make_ref_ids: &ref_ids,
        };
        out.roots = (0..roots.len()).map(|id| assembly.text(id)).collect();
        out.defs = defs
            .iter()
            .map(|(name, id)| (name.clone(), assembly.text(*id)))
            .collect();
        // Every test's conversion holds the text to the values it stands for.
        #[cfg(test)]
        for (id, text) in (0..roots.len())
            .zip(&out.roots)
            .chain(defs.values().copied().zip(out.defs.iter().map(|(_, t)| t)))
        {
            assert_eq!(
                serde_json::to_string(&assembly.node(id)).ok().as_ref(),
                Some(text)
            );
        }
        Ok(out)
    }

    /// The compact JSON bytes `roots` would take unbounded, computed node by node (each
    /// definition once per document, what each reaches once per component), without building
    /// the schema.
    pub fn unbounded_bytes(&mut self, roots: &[Root]) -> Result<usize> {
        let mut total = 0;
        let mut components = BTreeSet::new();
        for r in roots {
            let (n, rs) = self.tree_bytes(Some(Rc::new(r.schema.clone())), &r.at, 0)?;
            total += n;
            for (name, ptr) in rs {
                components.insert(self.component(&name, &ptr)?);
            }
        }
        if components.is_empty() {
            return Ok(total);
        }
        let graph = self.schemas().def_graphs[self.mode().side()].borrow();
        let reached = match components.len() {
            1 => components.first().map_or(0, |c| graph.closures[*c].total),
            _ => {
                let mut bits = vec![0u64; graph.defs.len().div_ceil(64)];
                for c in &components {
                    for (w, b) in bits.iter_mut().zip(&graph.closures[*c].bits) {
                        *w |= b;
                    }
                }
                bits_total(&bits, &graph.defs)
            }
        };
        Ok(total + reached + DEFS_BYTES)
    }

    /// The number of a definition in this side's graph, added unexplored when new.
    fn def_id(&self, name: &str, ptr: &Pointer) -> usize {
        let mut graph = self.schemas().def_graphs[self.mode().side()].borrow_mut();
        if let Some(id) = graph.ids.get(ptr) {
            return *id;
        }
        let id = graph.defs.len();
        graph.ids.insert(ptr.clone(), id);
        graph.defs.push(Def {
            pointer: ptr.clone(),
            bytes: entry_bytes(name),
            refs: Vec::new(),
            explored: false,
            component: None,
        });
        id
    }

    /// Converts a definition's body (node by node, as [`Self::tree_bytes`]) for its bytes and
    /// references, once per document.
    fn explore(&mut self, id: usize) -> Result<()> {
        let ptr = {
            let graph = self.schemas().def_graphs[self.mode().side()].borrow();
            if graph.defs[id].explored {
                return Ok(());
            }
            graph.defs[id].pointer.clone()
        };
        let (bytes, rs) = self.tree_bytes(None, &ptr, 1)?;
        let mut refs: Vec<usize> = rs.iter().map(|(n, p)| self.def_id(n, p)).collect();
        refs.sort_unstable();
        refs.dedup();
        let mut graph = self.schemas().def_graphs[self.mode().side()].borrow_mut();
        let def = &mut graph.defs[id];
        def.bytes += bytes;
        def.refs = refs;
        def.explored = true;
        Ok(())
    }

    /// The component of the definition `name` at `ptr`, with what it reaches: Tarjan's
    /// algorithm (iterative) over the definitions not yet in a component, exploring each as it
    /// is reached; components complete in reverse topological order, so what a component
    /// reaches is its members and what its successors reach.
    fn component(&mut self, name: &str, ptr: &Pointer) -> Result<usize> {
        let start = self.def_id(name, ptr);
        let graph = &self.schemas().def_graphs[self.mode().side()];
        if let Some(c) = graph.borrow().defs[start].component {
            return Ok(c);
        }
        let mut index: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
        let mut stack: Vec<usize> = Vec::new();
        let mut on_stack: BTreeSet<usize> = BTreeSet::new();
        let mut calls: Vec<(usize, usize)> = Vec::new();
        let mut next = 0usize;
        self.explore(start)?;
        index.insert(start, (next, next));
        next += 1;
        stack.push(start);
        on_stack.insert(start);
        calls.push((start, 0));
        while let Some(&(v, edge)) = calls.last() {
            let w = graph.borrow().defs[v].refs.get(edge).copied();
            if let Some(w) = w {
                if let Some(top) = calls.last_mut() {
                    top.1 += 1;
                }
                if graph.borrow().defs[w].component.is_some() {
                    continue;
                }
                match index.get(&w) {
                    None => {
                        self.explore(w)?;
                        index.insert(w, (next, next));
                        next += 1;
                        stack.push(w);
                        on_stack.insert(w);
                        calls.push((w, 0));
                    }
                    Some(&(w_index, _)) => {
                        if on_stack.contains(&w)
                            && let Some(e) = index.get_mut(&v)
                        {
                            e.1 = e.1.min(w_index);
                        }
                    }
                }
                continue;
            }
            calls.pop();
            let (v_index, v_low) = index[&v];
            if let Some(&(parent, _)) = calls.last()
                && let Some(e) = index.get_mut(&parent)
            {
                e.1 = e.1.min(v_low);
            }
            if v_low != v_index {
                continue;
            }
            let mut members = Vec::new();
            while let Some(m) = stack.pop() {
                on_stack.remove(&m);
                members.push(m);
                if m == v {
                    break;
                }
            }
            let mut g = graph.borrow_mut();
            let mut bits = vec![0u64; g.defs.len().div_ceil(64)];
            for m in &members {
                bits[m / 64] |= 1 << (m % 64);
                for r in &g.defs[*m].refs {
                    if let Some(c) = g.defs[*r].component {
                        for (w, b) in bits.iter_mut().zip(&g.closures[c].bits) {
                            *w |= b;
                        }
                    }
                }
            }
            let total = bits_total(&bits, &g.defs);
            let c = g.closures.len();
            g.closures.push(Closure { bits, total });
            for m in members {
                g.defs[m].component = Some(c);
            }
        }
        let c = graph.borrow().defs[start].component;
        Ok(c.unwrap_or(0))
    }

    /// Bytes of one schema converted in full, not following `$defs` references (returned).
    fn tree_bytes(
        &mut self,
        raw: Option<Rc<Value>>,
        at: &Pointer,
        depth: usize,
    ) -> Result<(usize, Vec<(String, Pointer)>)> {
        let (top, reused_top) = self.node(raw.as_ref(), at, String::new, depth, false)?;
        let mut total = 2 + top.bytes.saturating_sub(2);
        let mut refs: Vec<(String, Pointer)> = top.refs.clone();
        // Children to visit: their node, number among its children, depth, multiplicity, and
        // whether their node was reused.
        let mut stack: Vec<(Rc<Node>, usize, usize, usize, bool)> = Vec::new();
        push_children(&mut stack, &top, depth, 1, reused_top);
        while let Some((parent, c, depth, mult, shared)) = stack.pop() {
            let (node, reused) = match parent.reached(c, depth) {
                Some(node) => (node, true),
                None => {
                    let (_, raw, at, _, _) = &parent.children[c];
                    let (node, reused) = self.node(raw.as_ref(), at, String::new, depth, shared)?;
                    if reused {
                        parent.reach(c, &node);
                    }
                    (node, reused)
                }
            };
            total += mult * node.bytes.saturating_sub(2);
            refs.extend(node.refs.iter().cloned());
            push_children(&mut stack, &node, depth, mult, reused);
        }
        Ok((total, refs))
    }
}

/// Queues the children of `node` (at `depth`, `mult` times) for [`Conversion::tree_bytes`].
fn push_children(
    stack: &mut Vec<(Rc<Node>, usize, usize, usize, bool)>,
    node: &Rc<Node>,
    depth: usize,
    mult: usize,
    reused: bool,
) {
    for (c, (id, _, _, _, below)) in node.children.iter().enumerate() {
        if let Some(n) = node.occ.get(id) {
            stack.push((node.clone(), c, depth + below, mult * n, reused));
        }
    }
}

/// The total bytes of the definitions whose bits are set.
fn bits_total(bits: &[u64], defs: &[Def]) -> usize {
    let mut total = 0;
    for (i, w) in bits.iter().enumerate() {
        let mut w = *w;
        while w != 0 {
            let b = w.trailing_zeros() as usize;
            total += defs.get(i * 64 + b).map_or(0, |d| d.bytes);
            w &= w - 1;
        }
    }
    total
}

/// Writes `v` as compact JSON.
fn write_value(v: &Value, out: &mut String) {
    out.push_str(&serde_json::to_string(v).unwrap_or_default());
}

/// Whether a node has a keyword that [`Assembly::fix`] rewrites when what is below it is
/// weakened.
fn sensitive(v: &Value) -> bool {
    if slot_of(v).is_some() {
        return false;
    }
    let Value::Object(m) = v else {
        return false;
    };
    [
        "not",
        "if",
        "contains",
        "unevaluatedProperties",
        "unevaluatedItems",
        "oneOf",
    ]
    .iter()
    .any(|k| m.contains_key(*k))
        || subschemas(m).into_iter().any(sensitive)
}

/// Puts taken nodes back together, making weakened parts sound (see the module docs).
struct Assembly<'t> {
    /// Queued nodes by number: taken, cut, or (`None`) never reached.
    taken: &'t [Option<Taken>],
    /// Weakened nodes by number.
    weak: &'t [bool],
    /// Definition numbers by `$ref` (made when a value needs them).
    ref_ids: std::cell::OnceCell<BTreeMap<String, usize>>,
    make_ref_ids: &'t dyn Fn() -> BTreeMap<String, usize>,
}

impl Assembly<'_> {
    fn is_weak(&self, id: usize) -> bool {
        self.weak.get(id).copied().unwrap_or(false)
    }

    /// Node `id` as compact JSON.
    fn text(&self, id: usize) -> String {
        let mut out = String::new();
        self.write(id, &mut out);
        out
    }

    /// Writes node `id` as compact JSON: a node's text with its placeholders replaced by their
    /// nodes' texts; a node that loses annotations or keywords (see [`Assembly::fix`]) as its
    /// value rewritten, then written the same way. What [`Assembly::node`] would serialise to.
    fn write(&self, id: usize, out: &mut String) {
        let Some(Some(t)) = self.taken.get(id) else {
            out.push_str("{}");
            return;
        };
        match (&t.value, &t.cut) {
            (Some(Part::Node { node, lean, offset }), _) => {
                if node.value.is_some() {
                    // Placeholder texts outside subschemas: the value tells them apart.
                    write_value(&self.node(id), out);
                } else if *lean || (node.sensitive && self.is_weak(id)) {
                    let mut v = node.value();
                    if *lean {
                        strip_annotations(&mut v);
                    }
                    self.fix(&mut v, *offset, false);
                    let text = serde_json::to_string(&v).unwrap_or_default();
                    self.fill(&text, &json_text::slots(&text), *offset, out);
                } else {
                    self.fill(&node.text, &node.slots, *offset, out);
                }
            }
            (Some(Part::Least(v)), _) => write_value(v, out),
            (None, Some(cut)) => write_value(cut, out),
            (None, None) => out.push_str("{}"),
        }
    }

    /// Writes `text` with its placeholders (`slots`, numbered from `offset`) replaced.
    fn fill(&self, text: &str, slots: &[json_text::Slot], offset: usize, out: &mut String) {
        let mut last = 0;
        for (s, e, id) in slots {
            out.push_str(&text[last..*s as usize]);
            self.write(*id as usize + offset, out);
            last = *e as usize;
        }
        out.push_str(&text[last..]);
    }

    /// Node `id` as a value (where its text cannot be used as it is).
    fn node(&self, id: usize) -> Value {
        let Some(Some(t)) = self.taken.get(id) else {
            return Value::Object(Map::new());
        };
        match (&t.value, &t.cut) {
            (Some(Part::Node { node, lean, offset }), _) => {
                let mut v = node.value();
                if *lean {
                    strip_annotations(&mut v);
                }
                self.fix(&mut v, *offset, true);
                v
            }
            (Some(Part::Least(v)), _) => v.clone(),
            (None, Some(cut)) => cut.clone(),
            (None, None) => Value::Object(Map::new()),
        }
    }

    /// Makes `v` sound where its subschemas are weakened, and replaces its placeholders
    /// (numbered from `offset` in this conversion) by their nodes when `fill`; returns whether
    /// `v` is weakened.
    fn fix(&self, v: &mut Value, offset: usize, fill: bool) -> bool {
        if let Some(id) = slot_of(v) {
            if fill {
                *v = self.node(id + offset);
            }
            return self.is_weak(id + offset);
        }
        let Value::Object(m) = v else {
            return false;
        };
        let mut weak = m
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| self.ref_ids.get_or_init(self.make_ref_ids).get(r))
            .is_some_and(|id| self.is_weak(*id));
        let mut weak_keys: BTreeSet<String> = BTreeSet::new();
        for (k, c) in subschemas_mut(m) {
            if self.fix(c, offset, fill) {
                weak_keys.insert(k.clone());
            }
        }
        weak |= !weak_keys.is_empty();
        if weak_keys.contains("not") {
            m.remove("not");
        }
        if weak_keys.contains("if") {
            for k in ["if", "then", "else"] {
                m.remove(k);
            }
        }
        if weak_keys.contains("contains") {
            m.remove("maxContains");
        }
        if weak {
            m.remove("unevaluatedProperties");
            m.remove("unevaluatedItems");
        }
        if weak_keys.contains("oneOf")
            && let Some(branches) = m.remove("oneOf")
        {
            if m.contains_key("anyOf") {
                let mut any = Map::new();
                any.insert("anyOf".into(), branches);
                match m.get_mut("allOf") {
                    Some(Value::Array(all)) => all.push(Value::Object(any)),
                    _ => {
                        m.insert("allOf".into(), Value::Array(vec![Value::Object(any)]));
                    }
                }
            } else {
                m.insert("anyOf".into(), branches);
            }
        }
        weak
    }
}

impl Schemas<'_> {
    /// A node of one side of the call converted before at conversion depth `depth`: the
    /// document's own at `at` (`raw` is `None`), or the shared schema `raw`.
    fn converted_node(
        &self,
        mode: Mode,
        raw: Option<&Rc<Value>>,
        at: &Pointer,
        depth: usize,
    ) -> Option<Rc<Node>> {
        match raw {
            None => self.nodes[mode.side()]
                .borrow()
                .get(at)
                .and_then(|d| d.get(&ANY_DEPTH).or_else(|| d.get(&depth)))
                .cloned(),
            Some(r) => {
                let shared = self.shared_nodes[mode.side()].borrow();
                let address = Rc::as_ptr(r) as usize;
                shared
                    .get(&(address, ANY_DEPTH))
                    .or_else(|| shared.get(&(address, depth)))
                    .map(|(_, n)| n.clone())
            }
        }
    }

    fn keep_converted_node(
        &self,
        mode: Mode,
        raw: Option<&Rc<Value>>,
        at: &Pointer,
        depth: usize,
        node: Rc<Node>,
    ) {
        let depth = if node.any_depth { ANY_DEPTH } else { depth };
        match raw {
            None => {
                self.nodes[mode.side()]
                    .borrow_mut()
                    .entry(at.clone())
                    .or_default()
                    .insert(depth, node);
            }
            // The schema is kept with its node, so its address names it for as long as the
            // cache lives.
            Some(r) => {
                self.shared_nodes[mode.side()]
                    .borrow_mut()
                    .insert((Rc::as_ptr(r) as usize, depth), (r.clone(), node));
            }
        }
    }
}

#[cfg(test)]
#[path = "bound_tests.rs"]
mod tests;
