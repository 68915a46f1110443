//! After the structure is parsed and the fingerprint taken, the document is cut down to what
//! lowering still reads from it: the schemas. Everything else — descriptions, parameters, example
//! payloads, the paths' own fields — lowering reads from `openapiv3`'s structure, so keeping it
//! would only hold memory (on GitHub's description, half of the document).
//!
//! Kept, at their own pointers (so every pointer into what is kept finds the same value; the
//! `schema` values outside `components` are taken out into a map by pointer, read through
//! [`crate::schema::refs::Schemas::find`], as the maps that led to them were most of the rest):
//! - the top level's scalars (`openapi`, `swagger`, ...);
//! - `components.schemas` and `components.securitySchemes` (the raw schemes: `mutualTLS`,
//!   which `openapiv3` cannot parse);
//! - every `schema` value, wherever it is (parameters, bodies, responses, headers);
//! - whatever a local `$ref` inside something kept points at, and so on: a schema may
//!   reference any place of the document.
//!
//! Arrays keep their positions (dropped elements become `null`), so `parameters/3/schema` stays
//! `parameters/3/schema`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::pointer::Pointer;

/// Cuts `root` down to the schemas and what they reference, in place. Returns the `schema`
/// values taken out of it, by pointer (read through [`crate::schema::refs::Schemas::find`]), and
/// what was cut (for the caller to free where it costs least).
#[cfg(test)]
pub fn to_schemas(root: &mut Value) -> (Placed, Vec<Value>) {
    let elsewhere = referenced_elsewhere(root);
    to_schemas_with(root, &elsewhere)
}

/// [`to_schemas`], with what the document references outside its schemas found already
/// ([`referenced_elsewhere`], which only reads: it is found beside other work). The top
/// level's members and the path items are cut on two threads.
pub fn to_schemas_with(root: &mut Value, elsewhere: &Elsewhere) -> (Placed, Vec<Value>) {
    let Value::Object(top) = root else {
        return (Placed::new(), Vec::new());
    };
    // The pieces of work: each container of the top level (the top level's scalars —
    // `openapi`, `swagger`, ... — stay), but the path items one by one unless `paths` is
    // referenced whole.
    let paths_apart = !elsewhere.contains(["paths".to_string()].as_slice())
        && top.get("paths").is_some_and(Value::is_object);
    let mut units: Vec<(Vec<String>, &mut Value)> = Vec::new();
    for (k, v) in top.iter_mut() {
        if paths_apart && k == "paths" {
            for (item, v) in v.as_object_mut().into_iter().flatten() {
                units.push((vec![k.clone(), item.clone()], v));
            }
        } else if v.is_object() || v.is_array() {
            units.push((vec![k.clone()], v));
        }
    }
    // Alternately to each thread: neighbouring path items are alike in size.
    let (mut mine, mut theirs) = (Vec::new(), Vec::new());
    for (i, unit) in units.into_iter().enumerate() {
        if i % 2 == 0 {
            mine.push(unit);
        } else {
            theirs.push(unit);
        }
    }
    let work = |units: Vec<(Vec<String>, &mut Value)>| {
        let mut placed = Placed::new();
        let mut cut = Vec::new();
        let mut out = Out {
            elsewhere,
            placed: &mut placed,
            cut: &mut cut,
        };
        let mut dropped = Vec::new();
        for (mut at, v) in units {
            let Some(key) = at.pop() else { continue };
            if !child(v, key.clone(), &mut at, &mut out) {
                at.push(key);
                dropped.push(at);
            }
        }
        (placed, cut, dropped)
    };
    // Handed over once: the other thread takes them (or this one, when it could not start).
    let theirs = std::sync::Mutex::new(theirs);
    let take_theirs = || {
        theirs
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
    };
    let (mine, theirs) = crate::beside("mcpgen-prune", || work(mine), || work(take_theirs()));
    let (mut placed, mut cut, mut dropped) = mine;
    placed.extend(theirs.0);
    cut.extend(theirs.1);
    dropped.extend(theirs.2);
    // What lost everything goes, and `paths` with its last path item.
    for at in &dropped {
        match at.as_slice() {
            [k] => {
                top.remove(k);
            }
            [k, item] => {
                if let Some(items) = top.get_mut(k).and_then(Value::as_object_mut) {
                    items.remove(item);
                }
            }
            _ => {}
        }
    }
    if paths_apart
        && top
            .get("paths")
            .and_then(Value::as_object)
            .is_some_and(|m| m.is_empty())
    {
        top.remove("paths");
    }
    (placed, cut)
}

/// Places outside the schemas that the document's kept parts reference, as pointer tokens.
pub type Elsewhere = BTreeSet<Vec<String>>;

/// The places outside the schemas that something kept references (rare: most references are
/// to `components.schemas`), and what those reference in turn.
pub fn referenced_elsewhere(root: &Value) -> Elsewhere {
    let mut elsewhere: BTreeSet<Vec<String>> = BTreeSet::new();
    let Some(top) = root.as_object() else {
        return elsewhere;
    };
    let mut refs = Vec::new();
    for (k, v) in top {
        if k == "components" {
            for (kind, v) in v.as_object().into_iter().flatten() {
                if KEPT_COMPONENTS.contains(&kind.as_str()) {
                    local_refs(v, &mut refs, 0);
                } else {
                    schema_refs(v, &mut refs);
                }
            }
        } else {
            schema_refs(v, &mut refs);
        }
    }
    while let Some(r) = refs.pop() {
        let Some(p) = Pointer::from_ref(&r) else {
            continue;
        };
        let tokens: Vec<String> = p.tokens().collect();
        if kept_anyway(top, &tokens) || elsewhere.iter().any(|e| tokens.starts_with(e)) {
            continue;
        }
        if let Some(target) = p.find(root) {
            local_refs(target, &mut refs, 0);
            elsewhere.insert(tokens);
        }
    }
    elsewhere
}

/// What `components` keeps whole: the schemas, and the raw security schemes (`mutualTLS`, which
/// `openapiv3` cannot parse).
const KEPT_COMPONENTS: [&str; 2] = ["schemas", "securitySchemes"];

/// The `schema` values outside `components.schemas`, by pointer (as [`Pointer::as_str`]).
pub type Placed = std::collections::BTreeMap<String, Value>;

/// Where the prune puts what it takes out.
struct Out<'e, 'o> {
    elsewhere: &'e BTreeSet<Vec<String>>,
    placed: &'o mut Placed,
    cut: &'o mut Vec<Value>,
}

/// Whether `tokens` is inside what the rules keep anyway: `components.schemas`,
/// `components.securitySchemes`, a top-level scalar, or anything under a `schema` key.
fn kept_anyway(top: &serde_json::Map<String, Value>, tokens: &[String]) -> bool {
    match tokens {
        [] => true,
        [first] => top
            .get(first)
            .is_some_and(|v| !v.is_object() && !v.is_array()),
        [c, kind, ..] if c == "components" && KEPT_COMPONENTS.contains(&kind.as_str()) => true,
        _ => tokens.iter().any(|t| t == "schema"),
    }
}

/// Cuts `v` (at `path`) down to the places of `elsewhere`, its `schema` values taken out into
/// `placed`; returns whether anything is left in it.
fn prune(v: &mut Value, path: &mut Vec<String>, out: &mut Out) -> bool {
    if out.elsewhere.contains(path.as_slice()) {
        return true;
    }
    match v {
        Value::Object(m) => {
            let in_components = path.len() == 1 && path[0] == "components";
            m.retain(|k, v| {
                if in_components && KEPT_COMPONENTS.contains(&k.as_str()) {
                    return true;
                }
                if k == "schema" {
                    let at = path
                        .iter()
                        .fold(Pointer::root(), |p, t| p.join(t))
                        .join("schema");
                    out.placed
                        .insert(at.as_str().to_string(), std::mem::take(v));
                    return false;
                }
                child(v, k.clone(), path, out)
            });
            !m.is_empty()
        }
        Value::Array(items) => {
            let mut any = false;
            for (i, item) in items.iter_mut().enumerate() {
                // A dropped element stays as `null`: the positions after it keep their indices.
                any |= child(item, i.to_string(), path, out);
            }
            any
        }
        _ => false,
    }
}

/// Prunes the child `key` of the value at `path`; what it loses whole goes to `cut` (leaving
/// `null`). Returns whether anything of it is left.
fn child(v: &mut Value, key: String, path: &mut Vec<String>, out: &mut Out) -> bool {
    path.push(key);
    let keep = prune(v, path, out);
    path.pop();
    if !keep && !v.is_null() {
        out.cut.push(std::mem::take(v));
    }
    keep
}

/// The local `$ref`s inside the `schema` values under `v`.
fn schema_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                if k == "schema" {
                    local_refs(child, out, 0);
                } else if child.is_object() || child.is_array() {
                    schema_refs(child, out);
                }
            }
        }
        Value::Array(items) => {
            for child in items {
                schema_refs(child, out);
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
                    // What `components.schemas` holds is kept anyway.
                    Value::String(r)
                        if k == "$ref"
                            && r.starts_with('#')
                            && !r.starts_with("#/components/schemas/") =>
                    {
                        out.push(r.clone())
                    }
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
        let (placed, _) = to_schemas(&mut doc);
        assert_eq!(
            doc,
            json!({
                "openapi": "3.0.3",
                "definitions": {"Q": {"type": "string"}},
                "components": {
                    "schemas": {"A": {"type": "object"}},
                    "securitySchemes": {"m": {"type": "mutualTLS"}}
                }
            })
        );
        let placed: Vec<(&str, &Value)> = placed.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(
            placed,
            [
                (
                    "/components/parameters/p/schema",
                    &json!({"type": "integer"})
                ),
                (
                    "/paths/~1a/get/parameters/1/schema",
                    &json!({"$ref": "#/definitions/Q"})
                ),
                (
                    "/paths/~1a/get/responses/200/content/application~1json/schema",
                    &json!({"$ref": "#/components/schemas/A"})
                ),
            ]
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
        let (placed, _) = to_schemas(&mut doc);
        assert_eq!(doc["x-shared"], json!([null, null, {"type": "string"}]));
        assert_eq!(doc.get("paths"), None);
        assert_eq!(
            placed["/paths/~1a/post/requestBody/content/application~1json/schema"],
            json!({"$ref": "#/x-shared/2"})
        );
    }
}
