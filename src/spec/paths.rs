//! The document's path items, each kept as the compact JSON of its structural view
//! ([`super::normalise`]) until lowering reaches it, and parsed by `openapiv3` one at a time.
//!
//! `openapiv3` lays every parsed object out at its full size: a path item is 8.7 KB inline
//! (eight operations of 1 KB each), a parameter 1.2 KB, a media type 1.2 KB, however little
//! they hold. The whole document parsed at once held 300 MB for 25,000 Graph-shaped
//! operations, all of it for the whole of lowering. Here the structure is parsed without its
//! path items, and each item is parsed when its first operation is lowered and dropped when
//! its last one is done ([`PathItems::load`], [`PathItems::release`]); its text (about the
//! size of the document's own) stays, so an item can be read again (a `$ref` into it).
//!
//! What lowering needs of every operation before that — which operations there are, their
//! ids and tags for the `tools:` selection — is read from the view as the items are split off
//! ([`Op`]). A path item that is a `$ref` is resolved here, against the whole view; it is lowered at
//! its own path with the target's contents, and reported at the target.

use crate::error::{Error, Result};
use crate::pointer::Pointer;
use crate::spec::normalise::METHODS;
use openapiv3::PathItem;
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};

/// An operation of a path item, as the view shows it before `openapiv3` parses it.
#[derive(Debug)]
pub struct Op {
    /// Lower-case HTTP method.
    pub method: &'static str,
    /// `operationId`, when it is a string (parsing the item reports any other).
    pub operation_id: Option<String>,
    /// The `tags` that are strings.
    pub tags: Vec<String>,
}

/// One path item.
#[derive(Debug)]
pub struct Item {
    /// Its path (the key under `paths`).
    pub path: String,
    /// Where its contents are: under `paths`, or the target of its `$ref`.
    pub at: Pointer,
    /// Its operations, in [`METHODS`] order.
    pub ops: Vec<Op>,
    /// Its structural view as compact JSON.
    text: Box<str>,
    /// Its parse, while lowering needs it.
    parsed: Mutex<Option<Arc<PathItem>>>,
}

/// The path items of a document, sorted by path.
#[derive(Debug, Default)]
pub struct PathItems {
    pub items: Vec<Item>,
}

impl PathItems {
    /// Takes the path items (keys beginning with `/`) out of the view's `paths`, resolving
    /// `$ref`s against the whole view. A `paths` that is not a mapping is left for `openapiv3`
    /// to report.
    pub fn split(file: &str, view: &mut Value) -> Result<Self> {
        let Some(paths) = view.get_mut("paths").and_then(Value::as_object_mut) else {
            return Ok(Self::default());
        };
        let keys: Vec<String> = paths
            .keys()
            .filter(|k| k.starts_with('/'))
            .cloned()
            .collect();
        let mut taken = Map::new();
        for k in keys {
            if let Some(v) = paths.remove(&k) {
                taken.insert(k, v);
            }
        }
        let taken = Value::Object(taken);
        let mut items = Vec::new();
        if let Value::Object(map) = &taken {
            for (path, item) in map {
                let at = Pointer::root().join("paths").join(path);
                let (at, item) = resolve(file, view, &taken, item, at)?;
                items.push(Item {
                    path: path.clone(),
                    ops: operations(item),
                    text: serde_json::to_string(item)
                        .unwrap_or_else(|_| "{}".to_owned())
                        .into(),
                    at,
                    parsed: Mutex::new(None),
                });
            }
        }
        // The items' views, thousands of small allocations, freed beside what follows.
        crate::drop_aside(taken);
        // Sorted by path already: a `serde_json` map without `preserve_order` is a B-tree map.
        items.sort_by(|a, b| a.path.cmp(&b.path));
        // An item without operations is never lowered: parsed here, so that it is checked
        // like every other.
        for item in items.iter().filter(|item| item.ops.is_empty()) {
            item.parse(file)?;
        }
        Ok(PathItems { items })
    }

    /// Path item `i`, parsed now if it is not held already.
    pub fn load(&self, file: &str, i: usize) -> Result<Arc<PathItem>> {
        let Some(item) = self.items.get(i) else {
            return Err(Error::invalid(
                file,
                &Pointer::root().join("paths"),
                format!("internal error: no path item number {i}"),
            ));
        };
        let mut parsed = item.parsed.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = parsed.as_ref() {
            return Ok(p.clone());
        }
        let p = Arc::new(item.parse(file)?);
        *parsed = Some(p.clone());
        Ok(p)
    }

    /// Drops the parse of path item `i` (lowering is done with its operations).
    pub fn release(&self, i: usize) {
        if let Some(item) = self.items.get(i) {
            *item.parsed.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }

    /// The number of the path item at `path`.
    pub fn find(&self, path: &str) -> Option<usize> {
        self.items
            .binary_search_by(|item| item.path.as_str().cmp(path))
            .ok()
    }
}

impl Item {
    /// Parses the item's view, errors placed in the document.
    fn parse(&self, file: &str) -> Result<PathItem> {
        // Parsed without tracking where it is first: the tracking (for the error's pointer)
        // costs on every value, and an item that fails is parsed again with it.
        let mut de = serde_json::Deserializer::from_str(&self.text);
        if let Ok(item) = <PathItem as serde::Deserialize>::deserialize(&mut de) {
            return Ok(item);
        }
        let mut de = serde_json::Deserializer::from_str(&self.text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            Error::invalid(
                file,
                &self.at.concat(&Pointer::from_path(e.path())),
                format!(
                    "not a valid OpenAPI document: {}",
                    without_position(e.inner())
                ),
            )
        })
    }
}

/// The operations of a path item's view.
fn operations(item: &Value) -> Vec<Op> {
    METHODS
        .iter()
        .filter_map(|method| {
            let op = item.get(*method).filter(|v| !v.is_null())?;
            Some(Op {
                method,
                operation_id: op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                tags: op
                    .get("tags")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

/// A path item's contents and where they are, following `$ref`s (at most 32) through the
/// view (`paths`: the items taken out of it).
fn resolve<'v>(
    file: &str,
    view: &'v Value,
    paths: &'v Value,
    item: &'v Value,
    at: Pointer,
) -> Result<(Pointer, &'v Value)> {
    let (mut item, mut at) = (item, at);
    for _ in 0..32 {
        let Some(reference) = item.get("$ref").and_then(Value::as_str) else {
            return Ok((at, item));
        };
        let from = at.join("$ref");
        let Some(target) = Pointer::from_ref(reference) else {
            return Err(Error::invalid(
                file,
                &from,
                format!("unsupported $ref `{reference}`"),
            ));
        };
        let found = match target.strip_prefix(&Pointer::root().join("paths")) {
            Some(rest) => rest.find(paths).or_else(|| target.find(view)),
            None => target.find(view),
        };
        let Some(found) = found else {
            return Err(Error::invalid(
                file,
                &from,
                format!("$ref target `{reference}` not found"),
            ));
        };
        item = found;
        at = target;
    }
    Err(Error::invalid(file, &at, "$ref chain too long or circular"))
}

/// A `serde_json` error's message without the line and column it adds when parsing text
/// (the item's text is ours, not the user's: the error's pointer says where).
fn without_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    if e.line() == 0 {
        return message;
    }
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match message.strip_suffix(&suffix) {
        Some(m) => m.to_owned(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn split(mut view: Value) -> (PathItems, Value) {
        let items = PathItems::split("t.json", &mut view).unwrap();
        (items, view)
    }

    #[test]
    fn items_are_split_off_sorted_with_their_operations() {
        let (items, view) = split(json!({
            "paths": {
                "/b": {"get": {"operationId": "b", "tags": ["x", 1], "responses": {}}},
                "/a": {"post": {"responses": {}}, "get": null},
                "x-ext": {"k": 1}
            }
        }));
        assert_eq!(view, json!({"paths": {"x-ext": {"k": 1}}}));
        let paths: Vec<&str> = items.items.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(paths, ["/a", "/b"]);
        let a = &items.items[0];
        assert_eq!(a.ops.len(), 1);
        assert_eq!(a.ops[0].method, "post");
        let b = &items.items[1];
        assert_eq!(b.ops[0].operation_id.as_deref(), Some("b"));
        assert_eq!(b.ops[0].tags, ["x"]);
        assert_eq!(items.find("/b"), Some(1));
        assert_eq!(items.find("/c"), None);
    }

    #[test]
    fn a_referenced_item_has_the_targets_contents_and_place() {
        let (items, _) = split(json!({
            "paths": {
                "/a": {"$ref": "#/paths/~1b"},
                "/b": {"$ref": "#/x-items/one"}
            },
            "x-items": {"one": {"get": {"operationId": "one", "responses": {}}}}
        }));
        for item in &items.items {
            assert_eq!(item.at.as_str(), "/x-items/one");
            assert_eq!(item.ops[0].operation_id.as_deref(), Some("one"));
        }
        let parsed = items.load("t.json", 0).unwrap();
        assert_eq!(
            parsed.get.as_ref().unwrap().operation_id.as_deref(),
            Some("one")
        );
    }

    #[test]
    fn bad_references_are_errors_at_the_ref() {
        for (paths, message) in [
            (json!({"/a": {"$ref": "#/paths/~1c"}}), "not found"),
            (json!({"/a": {"$ref": "other.yaml#/x"}}), "unsupported $ref"),
            (
                json!({"/a": {"$ref": "#/paths/~1a"}}),
                "too long or circular",
            ),
        ] {
            let mut view = json!({ "paths": paths });
            let e = PathItems::split("t.json", &mut view)
                .unwrap_err()
                .to_string();
            assert!(e.contains(message), "{e}");
            assert!(e.contains("#/paths/~1a"), "{e}");
        }
    }

    #[test]
    fn parse_errors_name_the_place_in_the_item_without_text_positions() {
        let (items, _) = split(json!({
            "paths": {"/a": {"get": {"parameters": [{"name": "x", "schema": {}}], "responses": {}}}}
        }));
        let e = items.load("t.json", 0).unwrap_err().to_string();
        assert!(e.contains("t.json#/paths/~1a/get/parameters/0"), "{e}");
        assert!(e.contains("missing field `in`"), "{e}");
        assert!(!e.contains("line"), "{e}");
    }

    #[test]
    fn an_item_without_operations_is_checked_at_once() {
        for item in [json!(5), json!({"parameters": 5})] {
            let mut view = json!({"paths": {"/a": item}});
            let e = PathItems::split("t.json", &mut view)
                .unwrap_err()
                .to_string();
            assert!(e.contains("t.json#/paths/~1a"), "{e}");
            assert!(e.contains("invalid type: integer `5`"), "{e}");
        }
    }

    #[test]
    fn a_released_item_is_parsed_again() {
        let (items, _) = split(json!({"paths": {"/a": {"get": {"responses": {}}}}}));
        let first = items.load("t.json", 0).unwrap();
        assert!(Arc::ptr_eq(&first, &items.load("t.json", 0).unwrap()));
        items.release(0);
        let again = items.load("t.json", 0).unwrap();
        assert!(!Arc::ptr_eq(&first, &again));
        assert_eq!(*first, *again);
    }
}
