//! What the bounded conversion ([`super::bound`]) keeps per converted schema node, and the
//! placeholders that stand for a node's deferred children: a leaf, so that the conversion and
//! the document's caches ([`super::refs`]) can both name them.

use crate::pointer::Pointer;
use crate::schema::json_text::Slot;
use serde_json::Value;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::rc::{Rc, Weak};

/// Depth up to which converted nodes are reused: deeper, the conversion's own depth limit
/// could cut them differently.
pub(super) const REUSE_DEPTH: usize = 32;

/// What a placeholder's text begins with: a control character no spec's schema begins with.
pub const SLOT: &str = "\u{0}mcpgen-slot:";

/// The placeholder of deferred child schema number `id`: a string (a schema is an object or a
/// boolean, never a string), the cheapest value to hold for the tens of thousands a large API's
/// converted nodes have.
pub fn placeholder(id: usize) -> Value {
    Value::String(format!("{SLOT}{id}"))
}

/// The number of a placeholder; `None` for any other value.
pub fn slot_of(v: &Value) -> Option<usize> {
    v.as_str()?.strip_prefix(SLOT)?.parse().ok()
}

/// The definitions a side of the call reaches, as a graph, for the unbounded sizes the bounds
/// report ([`super::bound`]): each definition's own bytes once per document, and per strongly
/// connected component the set of definitions it reaches with their total, so a tool's
/// unbounded size is a lookup (or a union of a few sets), never a walk over the entity graph
/// per tool, which grew with the square of the API's size.
#[derive(Default)]
pub struct DefGraph {
    /// Definition number by target.
    pub(super) ids: BTreeMap<Pointer, usize>,
    pub(super) defs: Vec<Def>,
    /// What each component reaches.
    pub(super) closures: Vec<Closure>,
}

/// One definition of a [`DefGraph`].
pub struct Def {
    pub(super) pointer: Pointer,
    /// Its body's unbounded bytes with its `$defs` entry's name (set once explored).
    pub(super) bytes: usize,
    /// The definitions its body references (set once explored).
    pub(super) refs: Vec<usize>,
    pub(super) explored: bool,
    /// Its component, once that is complete.
    pub(super) component: Option<usize>,
}

/// The definitions a component reaches (a bit per definition number) and their total bytes.
pub struct Closure {
    pub(super) bits: Vec<u64>,
    pub(super) total: usize,
}

/// A deferred child of a [`Node`]: placeholder, schema (`None`: the document's own node at the
/// place), place, path segment, depth below the node.
pub type Child = (usize, Option<Rc<Value>>, Pointer, String, usize);

/// One node converted with its children deferred, placeholders numbered from 0. The document's
/// own nodes are converted once per document and reused by every tool that reaches them
/// ([`Schemas::converted_node`]): a definition reached from 400 tools is shaped once.
pub struct Node {
    /// The node as compact JSON, its placeholders written as serde_json writes them.
    pub(super) text: Box<str>,
    /// Where the placeholders are in [`Node::text`] (every one there is in a subschema).
    pub(super) slots: Box<[Slot]>,
    /// The value itself, kept only where [`Node::text`] holds a placeholder's text outside a
    /// subschema (a spec's string that looks like one): then only the value says which are
    /// placeholders.
    pub(super) value: Option<Box<Value>>,
    /// Whether the node has a keyword a weakened subschema makes it rewrite (`not`, `if`,
    /// `contains`, `unevaluatedProperties`, `unevaluatedItems`, `oneOf`).
    pub(super) sensitive: bool,
    /// Whether the node is a plain object schema, and its `required` if so and not empty
    /// (what the description of a cut part keeps).
    pub(super) plain: bool,
    pub(super) required: Option<Box<Value>>,
    /// Whether the value has annotations to drop (then [`Node::lean_bytes`] is its size
    /// without them; the lean value is made only where a node is taken without them, rare
    /// enough that keeping a second copy of every node cost more: 60 MB for 10,000
    /// Graph-shaped operations).
    pub(super) has_lean: bool,
    pub(super) bytes: usize,
    pub(super) lean_bytes: usize,
    /// Occurrences of each placeholder.
    pub(super) occ: BTreeMap<usize, usize>,
    /// Placeholders used (the next node's numbers start after them).
    pub(super) width: usize,
    /// (placeholder, schema (`None`: the document's own node at the place), place, path
    /// segment, depth below this node).
    pub(super) children: Vec<Child>,
    pub(super) refs: Vec<(String, Pointer)>,
    /// Shaping notes (kind, detail), made at this node's path.
    pub(super) notes: Vec<(&'static str, std::sync::Arc<str>)>,
    /// The cached node of each child, then of each reference, once looked up (see
    /// [`Node::reached`]).
    pub(super) memo: Box<[OnceCell<Weak<Node>>]>,
    /// Whether the node converts the same at every depth up to [`REUSE_DEPTH`]
    /// (its conversion went fewer levels below it than lie between that and the depth limit,
    /// and computed no expanded size): then it is cached for all of them at once.
    pub(super) any_depth: bool,
}

impl Node {
    /// The cached node this node's child (`i` below the number of children) or reference
    /// (`i` past them), reached at conversion depth `depth`, was found to be, while the cache
    /// holds it. A node reused from the cache finds the same nodes below it wherever it is
    /// reached (its children's places and depths follow from its own), so the lookup is made
    /// once per node, not once per tool. Only nodes that convert the same at every depth up to
    /// [`REUSE_DEPTH`] are kept ([`Node::reach`]), so none is found deeper.
    pub(super) fn reached(&self, i: usize, depth: usize) -> Option<Rc<Node>> {
        if depth > REUSE_DEPTH {
            return None;
        }
        self.memo.get(i)?.get()?.upgrade()
    }

    /// Keeps what [`Node::reached`] tells, when `node` converts the same at every depth up to
    /// [`REUSE_DEPTH`] ([`Node::any_depth`]).
    pub(super) fn reach(&self, i: usize, node: &Rc<Node>) {
        if !node.any_depth {
            return;
        }
        if let Some(m) = self.memo.get(i) {
            let _ = m.set(Rc::downgrade(node));
        }
    }

    /// The node as a value.
    pub(super) fn value(&self) -> Value {
        match &self.value {
            Some(v) => (**v).clone(),
            None => crate::schema::json_text::parse(&self.text).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::json_text::{SLOT_TEXT, slots};
    use serde_json::json;

    #[test]
    fn slot_text_is_how_serde_json_writes_a_placeholder() {
        let text = serde_json::to_string(&placeholder(0)).unwrap();
        assert_eq!(text, format!("{SLOT_TEXT}0\""));
    }

    /// Placeholders are found where serde_json writes them, and nothing else is taken for one.
    #[test]
    fn slots_are_placeholders() {
        let v = json!({
            "a": placeholder(0),
            "b": [placeholder(12), "\u{0}mcpgen-slot:", "\u{0}mcpgen-slot:x", "mcpgen-slot:3"],
            "c": {"d": placeholder(7)},
        });
        let text = serde_json::to_string(&v).unwrap();
        let found = slots(&text);
        let ids: Vec<u32> = found.iter().map(|s| s.2).collect();
        assert_eq!(ids, [0, 12, 7]);
        for (s, e, id) in found {
            let p = serde_json::to_string(&placeholder(id as usize)).unwrap();
            assert_eq!(&text[s as usize..e as usize], p);
        }
    }
}
