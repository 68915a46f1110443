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
    let elsewhere = referenced_elsewhere(root, &[]).elsewhere;
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
    // referenced whole, and the entries of `components`' maps one by one (as the recursion
    // would cut them: `split_components`).
    let paths_apart = !elsewhere.contains(["paths".to_string()].as_slice())
        && top.get("paths").is_some_and(Value::is_object);
    let components_apart = split_components(top, elsewhere);
    let mut units: Vec<(Vec<String>, &mut Value)> = Vec::new();
    let mut split_kinds = Vec::new();
    for (k, v) in top.iter_mut() {
        if paths_apart && k == "paths" {
            for (item, v) in v.as_object_mut().into_iter().flatten() {
                units.push((vec![k.clone(), item.clone()], v));
            }
        } else if components_apart && k == "components" {
            for (kind, v) in v.as_object_mut().into_iter().flatten() {
                if KEPT_COMPONENTS.contains(&kind.as_str()) {
                    continue;
                }
                if entries_apart(kind, v, elsewhere) {
                    split_kinds.push(kind.clone());
                    for (name, v) in v.as_object_mut().into_iter().flatten() {
                        units.push((vec![k.clone(), kind.clone(), name.clone()], v));
                    }
                } else {
                    units.push((vec![k.clone(), kind.clone()], v));
                }
            }
        } else if v.is_object() || v.is_array() {
            units.push((vec![k.clone()], v));
        }
    }
    // Claimed one at a time by either thread, so neither waits for the other at the end.
    let units = std::sync::Mutex::new(units.into_iter());
    let work = || {
        let mut placed = Placed::new();
        let mut cut = Vec::new();
        let mut out = Out {
            elsewhere,
            placed: &mut placed,
            cut: &mut cut,
        };
        let mut dropped = Vec::new();
        while let Some((mut at, v)) = units.lock().ok().and_then(|mut u| u.next()) {
            let Some(key) = at.pop() else { continue };
            if !child(v, key.clone(), &mut at, &mut out) {
                at.push(key);
                dropped.push(at);
            }
        }
        (placed, cut, dropped)
    };
    let (mine, theirs) = crate::beside("mcpgen-prune", work, work);
    let (mut placed, mut cut, mut dropped) = mine;
    placed.extend(theirs.0);
    cut.extend(theirs.1);
    dropped.extend(theirs.2);
    // What lost everything goes; then what was split and lost all its parts (`paths` with its
    // last path item, a map of `components` with its last entry, `components` with its last
    // map), as the recursion would have cut it.
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
            [k, kind, name] => {
                if let Some(entries) = top
                    .get_mut(k)
                    .and_then(|c| c.get_mut(kind))
                    .and_then(Value::as_object_mut)
                {
                    entries.remove(name);
                }
            }
            _ => {}
        }
    }
    if let Some(components) = top.get_mut("components").and_then(Value::as_object_mut) {
        for kind in &split_kinds {
            if components
                .get(kind)
                .and_then(Value::as_object)
                .is_some_and(|m| m.is_empty())
            {
                components.remove(kind);
            }
        }
    }
    for k in ["paths", "components"] {
        let apart = if k == "paths" {
            paths_apart
        } else {
            components_apart
        };
        if apart
            && top
                .get(k)
                .and_then(Value::as_object)
                .is_some_and(|m| m.is_empty())
        {
            top.remove(k);
        }
    }
    (placed, cut)
}

/// Whether `components` is cut map by map rather than as one piece of work: it is an object,
/// not referenced whole, and has no member called `schema` (which the recursion takes out as
/// a schema value).
fn split_components(top: &serde_json::Map<String, Value>, elsewhere: &Elsewhere) -> bool {
    !elsewhere.contains(["components".to_string()].as_slice())
        && top
            .get("components")
            .and_then(Value::as_object)
            .is_some_and(|c| !c.contains_key("schema"))
}

/// Whether the map `kind` of `components` is cut entry by entry: it is an object, not
/// referenced whole, and has no entry called `schema` (see [`split_components`]).
fn entries_apart(kind: &str, v: &Value, elsewhere: &Elsewhere) -> bool {
    !elsewhere.contains(["components".to_string(), kind.to_string()].as_slice())
        && v.as_object().is_some_and(|m| !m.contains_key("schema"))
}

/// Places outside the schemas that the document's kept parts reference, as pointer tokens.
pub type Elsewhere = BTreeSet<Vec<String>>;

/// What [`referenced_elsewhere`] finds.
#[derive(Debug, Default)]
pub struct Found {
    pub elsewhere: Elsewhere,
    /// The members of `left` (by index) that one of these references leads to, into, or to a
    /// place holding: the prune may keep them, so they are to be put back before it.
    pub restore: BTreeSet<usize>,
    /// Whether a reference leads into one of them: whether it finds anything there depends on
    /// what it holds, so the places are to be found again once they are back.
    pub again: bool,
}

/// The places outside the schemas that something kept references (rare: most references are
/// to `components.schemas`), and what those reference in turn. `left` are the places of
/// members left out of the document as it was parsed (`null` there:
/// [`crate::spec::load::Loaded::left`]); they hold no `$ref` and no `schema` value, so nothing
/// of theirs is found here but whether a reference leads there ([`Found::restore`]).
pub fn referenced_elsewhere(root: &Value, left: &[&[String]]) -> Found {
    // By place: the members a reference leads to or into are among the prefixes of its place,
    // those it leads above follow it in order (a search each, however many are left out).
    let left: std::collections::BTreeMap<&[String], usize> =
        left.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let mut found = Found::default();
    let elsewhere = &mut found.elsewhere;
    let Some(top) = root.as_object() else {
        return found;
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
        if !left.is_empty() {
            for n in 1..tokens.len() {
                if let Some(i) = left.get(&tokens[..n]) {
                    found.restore.insert(*i);
                    found.again = true;
                }
            }
            let from = std::ops::Bound::Included(tokens.as_slice());
            for (l, i) in left.range::<[String], _>((from, std::ops::Bound::Unbounded)) {
                if !l.starts_with(&tokens) {
                    break;
                }
                found.restore.insert(*i);
            }
        }
        if kept_anyway(top, &tokens) || elsewhere.iter().any(|e| tokens.starts_with(e)) {
            continue;
        }
        if let Some(target) = p.find(root) {
            local_refs(target, &mut refs, 0);
            elsewhere.insert(tokens);
        }
    }
    found
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

    /// The document cut by one recursion per container of the top level, on one thread (the
    /// top level's scalars stay): what the split work must make.
    fn one_recursion(doc: &mut Value) -> Placed {
        let elsewhere = referenced_elsewhere(doc, &[]).elsewhere;
        let mut placed = Placed::new();
        let mut cut = Vec::new();
        let mut out = Out {
            elsewhere: &elsewhere,
            placed: &mut placed,
            cut: &mut cut,
        };
        if let Some(top) = doc.as_object_mut() {
            top.retain(|k, v| {
                !(v.is_object() || v.is_array()) || child(v, k.clone(), &mut Vec::new(), &mut out)
            });
        }
        placed
    }

    /// `components` and `paths` cut entry by entry on two threads make what the recursion
    /// makes: entries and maps emptied go, kept maps stay even when empty, a map referenced
    /// whole stays whole, and a member called `schema` is taken out as the recursion takes it.
    #[test]
    fn split_work_cuts_as_the_recursion_does() {
        let components = json!({
            "schemas": {},
            "securitySchemes": {"b": {"type": "http", "scheme": "bearer"}},
            "parameters": {
                "p": {"name": "p", "in": "path", "schema": {"type": "integer"}},
                "q": {"name": "q", "in": "query", "content": {}}
            },
            "examples": {"e": {"value": {"schema": {"type": "x"}, "n": 1}}, "f": {"value": 2}},
            "responses": {},
            "headers": [1, {"schema": {"type": "string"}}],
            "links": {"l": {"operationId": "o"}},
            "requestBodies": {"r": {"content": {"a/b": {"schema": {"$ref": "#/x-kept/0"}}}}},
            "callbacks": "text",
            "x-referenced": {}
        });
        let paths = json!({
            "/a": {"get": {"responses": {"200": {"description": "ok"}}}},
            "/b": {"parameters": [{"name": "x", "in": "query", "schema": {"type": "string"}}]}
        });
        let documents = [
            json!({"openapi": "3.1.0", "paths": paths, "components": components,
                   "x-kept": [{"type": "string"}],
                   "x-ref": {"schema": {"$ref": "#/components/x-referenced"}}}),
            // Referenced whole, or with a member called `schema`: one piece of work.
            json!({"openapi": "3.1.0", "components": components,
                   "x-ref": {"schema": {"$ref": "#/components"}}}),
            json!({"openapi": "3.1.0", "components": {"schema": {"type": "string"}, "examples": {"e": {}}}}),
            json!({"openapi": "3.1.0", "components": {"examples": {"schema": {"type": "string"}, "e": {}}}}),
            json!({"openapi": "3.1.0", "paths": {}, "components": {"examples": {}}}),
            json!({"openapi": "3.1.0", "components": {"examples": {"e": {"value": 1}}}}),
        ];
        for doc in documents {
            let mut split = doc.clone();
            let mut whole = doc.clone();
            let (placed, _) = to_schemas(&mut split);
            let expected = one_recursion(&mut whole);
            assert_eq!(split, whole, "{doc}");
            assert_eq!(placed, expected, "{doc}");
        }
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
