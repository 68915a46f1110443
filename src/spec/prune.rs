//! After the structure is parsed and the fingerprint taken, the document is cut down to what
//! lowering still reads from it: the schemas. Everything else — descriptions, parameters, example
//! payloads, the paths' own fields — lowering reads from `openapiv3`'s structure, so keeping it
//! would only hold memory (on GitHub's description, half of the document).
//!
//! Kept, at their own pointers (so every pointer into what is kept finds the same value):
//! - the top level's scalars (`openapi`, `swagger`, ...);
//! - `components.schemas` and `components.securitySchemes` (the raw schemes: `mutualTLS`,
//!   which `openapiv3` cannot parse);
//! - every `schema` value, wherever it is (parameters, bodies, responses, headers);
//! - whatever a local `$ref` inside something kept points at, and so on: a schema may
//!   reference any place of the document.
//!
//! Arrays keep their positions (dropped elements become `null`), so `parameters/3/schema` stays
//! `parameters/3/schema`.

use serde_json::{Map, Value};

use crate::pointer::Pointer;

/// Cuts `root` down to the schemas and what they reference, in place; returns what was cut
/// (for the caller to free where it costs least).
pub fn to_schemas(root: &mut Value) -> Value {
    let Value::Object(top) = root else {
        return Value::Null;
    };
    let mut keep: Vec<Vec<String>> = Vec::new();
    for (k, v) in top.iter() {
        match v {
            Value::Object(_) | Value::Array(_) => {
                let mut at = vec![k.clone()];
                if k == "components" {
                    for whole in ["schemas", "securitySchemes"] {
                        if v.get(whole).is_some() {
                            keep.push(vec![k.clone(), whole.to_string()]);
                        }
                    }
                }
                schema_values(v, &mut at, &mut keep);
            }
            _ => keep.push(vec![k.clone()]),
        }
    }
    // A kept place inside another is kept with it.
    keep.sort();
    let mut outer: std::collections::BTreeSet<Vec<String>> = std::collections::BTreeSet::new();
    for p in &keep {
        if !inside(&outer, p) {
            outer.insert(p.clone());
        }
    }
    // What the kept parts reference, until nothing new is found.
    let mut todo = keep;
    while let Some(place) = todo.pop() {
        let mut refs = Vec::new();
        if let Some(v) = find(root, &place) {
            local_refs(v, &mut refs, 0);
        }
        for r in refs {
            let Some(p) = Pointer::from_ref(&r) else {
                continue;
            };
            let segments: Vec<String> = p.tokens().collect();
            if inside(&outer, &segments) || find(root, &segments).is_none() {
                continue;
            }
            // It may hold places kept so far: they are kept with it now.
            let within: Vec<Vec<String>> = outer
                .range(segments.clone()..)
                .take_while(|o| o.starts_with(&segments))
                .cloned()
                .collect();
            for o in within {
                outer.remove(&o);
            }
            outer.insert(segments.clone());
            todo.push(segments);
        }
    }
    let mut pruned = Value::Object(Map::new());
    for p in &outer {
        if let Some(v) = take(root, p) {
            put(&mut pruned, root, p, v);
        }
    }
    std::mem::replace(root, pruned)
}

/// Whether `p` is one of `outer` or inside one.
fn inside(outer: &std::collections::BTreeSet<Vec<String>>, p: &[String]) -> bool {
    (0..=p.len()).any(|n| outer.contains(&p[..n]))
}

/// Every `schema` value under `v` (`at` is `v`'s place), not looking inside them.
fn schema_values(v: &Value, at: &mut Vec<String>, keep: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                at.push(k.clone());
                if k == "schema" {
                    keep.push(at.clone());
                } else if child.is_object() || child.is_array() {
                    schema_values(child, at, keep);
                }
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                if child.is_object() || child.is_array() {
                    at.push(i.to_string());
                    schema_values(child, at, keep);
                    at.pop();
                }
            }
        }
        _ => {}
    }
}

/// The local `$ref`s under `v` (deep documents are cut off where the schema stage cuts them).
fn local_refs(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 512 {
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                match child {
                    Value::String(r) if k == "$ref" && r.starts_with('#') => out.push(r.clone()),
                    Value::Object(_) | Value::Array(_) => local_refs(child, out, depth + 1),
                    _ => {}
                }
            }
        }
        Value::Array(items) => {
            for child in items {
                local_refs(child, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// An array index as `serde_json`'s pointers read it (no sign, no leading zero).
fn index(s: &str) -> Option<usize> {
    if s.starts_with('+') || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

fn find<'v>(root: &'v Value, segments: &[String]) -> Option<&'v Value> {
    segments.iter().try_fold(root, |v, s| match v {
        Value::Object(m) => m.get(s),
        Value::Array(items) => index(s).and_then(|i| items.get(i)),
        _ => None,
    })
}

/// Moves the value at `segments` out of `root` (leaving `null`; the containers on the way stay,
/// for [`put`] to copy their kinds).
fn take(root: &mut Value, segments: &[String]) -> Option<Value> {
    let mut v = root;
    for s in segments {
        v = match v {
            Value::Object(m) => m.get_mut(s)?,
            Value::Array(items) => items.get_mut(index(s)?)?,
            _ => return None,
        };
    }
    Some(std::mem::take(v))
}

/// Puts `value` at `segments` in `pruned`, making the containers on the way of the kind they
/// are in `original` (an array stays an array: its dropped elements become `null`).
fn put(pruned: &mut Value, original: &Value, segments: &[String], value: Value) {
    let mut v = pruned;
    let mut orig = Some(original);
    for s in segments {
        orig = orig.and_then(|o| find(o, std::slice::from_ref(s)));
        let fresh = match orig {
            Some(Value::Array(_)) => Value::Array(Vec::new()),
            _ => Value::Object(Map::new()),
        };
        v = match v {
            Value::Object(m) => m.entry(s.clone()).or_insert(fresh),
            Value::Array(items) => {
                let Some(i) = index(s) else {
                    return;
                };
                if items.len() <= i {
                    items.resize(i + 1, Value::Null);
                }
                let child = &mut items[i];
                if child.is_null() {
                    *child = fresh;
                }
                child
            }
            _ => return,
        };
    }
    *v = value;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn schemas_and_their_references_stay_at_their_pointers() {
        let mut doc = json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": {
                "description": "long text",
                "parameters": [
                    {"$ref": "#/components/parameters/p"},
                    {"name": "q", "in": "query", "schema": {"$ref": "#/definitions/Q"}}
                ],
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/A"},
                    "examples": {"e": {"value": {"big": [1, 2, 3]}}}
                }}}}
            }}},
            "definitions": {"Q": {"type": "string"}, "Unused": {"type": "integer"}},
            "components": {
                "schemas": {"A": {"type": "object"}},
                "parameters": {"p": {"name": "p", "in": "path", "schema": {"type": "integer"}}},
                "securitySchemes": {"m": {"type": "mutualTLS"}},
                "examples": {"x": {"value": 1}}
            }
        });
        let _ = to_schemas(&mut doc);
        assert_eq!(
            doc,
            json!({
                "openapi": "3.0.3",
                "paths": {"/a": {"get": {
                    "parameters": [null, {"schema": {"$ref": "#/definitions/Q"}}],
                    "responses": {"200": {"content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/A"}
                    }}}}
                }}},
                "definitions": {"Q": {"type": "string"}},
                "components": {
                    "schemas": {"A": {"type": "object"}},
                    "parameters": {"p": {"schema": {"type": "integer"}}},
                    "securitySchemes": {"m": {"type": "mutualTLS"}}
                }
            })
        );
    }

    #[test]
    fn a_reference_into_an_array_keeps_its_index() {
        let mut doc = json!({
            "openapi": "3.1.0",
            "paths": {"/a": {"post": {"requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/x-shared/2"}
            }}}}}},
            "x-shared": [1, 2, {"type": "string"}]
        });
        let _ = to_schemas(&mut doc);
        assert_eq!(doc["x-shared"], json!([null, null, {"type": "string"}]));
        assert_eq!(
            doc.pointer("/paths/~1a/post/requestBody/content/application~1json/schema/$ref"),
            Some(&json!("#/x-shared/2"))
        );
    }
}
