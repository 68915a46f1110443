//! What the bounded conversion ([`super::bound`]) keeps per converted schema node, and the
//! placeholders that stand for a node's deferred children: a leaf, so that the conversion and
//! the document's caches ([`super::refs`]) can both name them.

use crate::pointer::Pointer;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Key of a placeholder object: a control character no spec's keyword begins with.
pub const SLOT: &str = "\u{0}mcpgen-slot";

/// The placeholder of deferred child schema number `id`.
pub fn placeholder(id: usize) -> Value {
    let mut m = Map::new();
    m.insert(SLOT.into(), Value::from(id));
    Value::Object(m)
}

/// A definition's unbounded bytes and the definitions it references.
pub type DefSize = (usize, Vec<(String, Pointer)>);

/// A deferred child of a [`Node`]: placeholder, schema (`None`: the document's own node at the
/// place), place, path segment, depth below the node.
pub type Child = (usize, Option<Rc<Value>>, Pointer, String, usize);

/// One node converted with its children deferred, placeholders numbered from 0. The document's
/// own nodes are converted once per document and reused by every tool that reaches them
/// ([`Schemas::converted_node`]): a definition reached from 400 tools is shaped once.
pub struct Node {
    pub(super) value: Value,
    /// The value without annotations, when it had any.
    pub(super) lean: Option<Value>,
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
    pub(super) notes: Vec<(String, String)>,
}
