//! Normalising, after loading: decides the dialect (Swagger 2.0, converted to 3.0 by
//! [`crate::spec::swagger2`] first; OpenAPI 3.0 or 3.1) and builds the *structural view* that
//! `openapiv3` parses.
//!
//! `openapiv3` understands 3.0 documents only and loses schema meaning even there (it drops
//! `const`, `examples` and `$ref` siblings, and turns many valid schemas into `Any`). So it is used
//! for the document's structure only — paths, operations, parameters, bodies, responses, security —
//! while every schema is replaced by `{}` in the view and read later from the bundled
//! `serde_json::Value` by the schema stage (`crate::schema`), which understands both dialects
//! natively (3.0 `nullable`, boolean `exclusiveMinimum`; 3.1 type arrays, numeric bounds, `const`,
//! `examples`, `$ref` siblings). The view also repairs the 3.1 shapes `openapiv3` rejects outright:
//! documents without `paths`, operations without `responses`, `mutualTLS` security schemes.

use crate::error::{Error, Result};
use crate::ir::Warning;
use crate::pointer::Pointer;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Dialect {
    /// Swagger 2.0, converted to 3.0 before anything else reads it.
    #[serde(rename = "2.0")]
    V20,
    #[serde(rename = "3.0")]
    V30,
    #[serde(rename = "3.1")]
    V31,
}

pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Decides the dialect from the `openapi`/`swagger` field.
pub fn dialect(file: &str, root: &Value) -> Result<Dialect> {
    let Some(obj) = root.as_object() else {
        return Err(Error::invalid(
            file,
            &Pointer::root(),
            "not an OpenAPI document: the top level is not a mapping",
        ));
    };
    if let Some(v) = obj.get("swagger") {
        if v.as_str() == Some("2.0") {
            return Ok(Dialect::V20);
        }
        return Err(Error::invalid(
            file,
            &Pointer::root().join("swagger"),
            format!("unsupported Swagger version {v}; expected \"2.0\" (or OpenAPI 3.0.x/3.1.x)"),
        ));
    }
    if obj.contains_key("swaggerVersion") {
        return Err(Error::invalid(
            file,
            &Pointer::root().join("swaggerVersion"),
            "Swagger 1.x documents are not supported; expected Swagger 2.0 or OpenAPI 3.0.x/3.1.x",
        ));
    }
    match obj.get("openapi") {
        None => Err(Error::invalid(
            file,
            &Pointer::root(),
            "not an OpenAPI document: no `openapi` version field",
        )),
        Some(Value::String(s)) if s.starts_with("3.0") => Ok(Dialect::V30),
        Some(Value::String(s)) if s.starts_with("3.1") || s.starts_with("3.2") => Ok(Dialect::V31),
        Some(other) => Err(Error::invalid(
            file,
            &Pointer::root().join("openapi"),
            format!("unsupported OpenAPI version {other}; expected 3.0.x or 3.1.x"),
        )),
    }
}

/// Builds the structural view: a copy of the document in which schemas are `{}` and the shapes
/// `openapiv3` cannot parse are repaired. Returns it with warnings about anything dropped.
/// Schemas and example payloads (nothing reads them from the view) are never copied into it.
pub fn structural_view(root: &Value) -> (Value, Vec<Warning>) {
    let mut view = top_view(root);
    let mut warnings = Vec::new();
    if let Some(obj) = view.as_object_mut() {
        // openapiv3 wants a plain "3.0.x" string; the dialect was already decided above.
        obj.insert("openapi".into(), Value::String("3.0.3".into()));
        obj.entry("paths")
            .or_insert_with(|| Value::Object(Map::new()));
        obj.entry("info").or_insert_with(|| {
            let mut m = Map::new();
            m.insert("title".into(), Value::String("API".into()));
            m.insert("version".into(), Value::String("0.0.0".into()));
            Value::Object(m)
        });
        if let Some(info) = obj.get_mut("info").and_then(Value::as_object_mut) {
            info.entry("version")
                .or_insert_with(|| Value::String("0.0.0".into()));
            info.entry("title")
                .or_insert_with(|| Value::String("API".into()));
        }
        if let Some(schemes) = obj
            .get_mut("components")
            .and_then(|c| c.get_mut("securitySchemes"))
            .and_then(Value::as_object_mut)
        {
            let mtls: Vec<String> = schemes
                .iter()
                .filter(|(_, s)| s.get("type").and_then(Value::as_str) == Some("mutualTLS"))
                .map(|(k, _)| k.clone())
                .collect();
            for k in mtls {
                warnings.push(Warning::spec(
                    Pointer::root()
                        .join("components")
                        .join("securitySchemes")
                        .join(&k),
                    "mutualTLS is configured outside the generated server; ignored",
                ));
                schemes.remove(&k);
            }
        }
    }
    (view, warnings)
}

/// Objects whose keys are names (of responses, media types, components ...), not keywords: a
/// security scheme or parameter called `example` is structure there.
const NAME_MAPS: &[&str] = &[
    "paths",
    "responses",
    "parameters",
    "headers",
    "content",
    "requestBodies",
    "securitySchemes",
    "links",
    "callbacks",
    "encoding",
    "variables",
    "pathItems",
    "webhooks",
];

/// Path items from which the view of `paths` is built on a thread of its own.
const PATHS_APART_FROM: usize = 64;

/// [`view_of`] the whole document; a large `paths` on two threads (on GitHub's description the
/// view was the longest of the stages beside the fingerprint): a thread of its own starts on
/// the path items while this one views the rest of the document, then both take blocks of
/// path items until none is left.
fn top_view(root: &Value) -> Value {
    let Some(items) = root
        .get("paths")
        .and_then(Value::as_object)
        .filter(|m| m.len() >= PATHS_APART_FROM)
    else {
        return view_of(root, 0, false);
    };
    debug_assert!(NAME_MAPS.contains(&"paths"));
    let items: Vec<(&String, &Value)> = items.iter().collect();
    let (mut view, paths) = crate::in_blocks(
        "mcpgen-view",
        &items,
        PATH_BLOCK,
        || view_of_but(root, 0, false, Some("paths")),
        // As `view_of` makes the members of `paths` (a map of names) at the top level's depth 1.
        |(k, v)| ((*k).clone(), view_of(v, 2, false)),
    );
    if let Some(obj) = view.as_object_mut() {
        obj.insert("paths".into(), Value::Object(paths.into_iter().collect()));
    }
    view
}

/// Path items per block of [`top_view`].
const PATH_BLOCK: usize = 16;

/// The structural view of `v` at `depth`, built (not cloned and then cut): schemas (under
/// `schema` keys: parameters, media types, headers; and in `components/schemas`) become `{}`
/// without being copied, example payloads are left out (`example` is dropped, `examples` maps
/// become empty), operations without `responses` and parameters without `schema` or `content`
/// are repaired. `names`: the keys of `v` are names, not keywords.
fn view_of(v: &Value, depth: usize, names: bool) -> Value {
    view_of_but(v, depth, names, None)
}

/// [`view_of`], without the member `skip` of an object.
fn view_of_but(v: &Value, depth: usize, names: bool, skip: Option<&str>) -> Value {
    if depth > 256 {
        return v.clone();
    }
    match v {
        Value::Object(obj) => {
            let mut out = Map::new();
            for (k, child) in obj {
                if skip == Some(k.as_str()) {
                    continue;
                }
                let copy = if names {
                    view_of(child, depth + 1, false)
                } else if k == "schema" && (child.is_object() || child.is_boolean()) {
                    Value::Object(Map::new())
                } else if k == "schemas" && depth == 1 && child.is_object() {
                    let stubs = child.as_object().into_iter().flatten();
                    Value::Object(
                        stubs
                            .map(|(name, _)| (name.clone(), Value::Object(Map::new())))
                            .collect(),
                    )
                } else if k == "example" {
                    // A free-form payload; lowering reads none from the view.
                    continue;
                } else if k == "examples" && child.is_object() {
                    Value::Object(Map::new())
                } else if k == "examples" || k == "default" {
                    // Free-form (a server variable's `default` is its value).
                    child.clone()
                } else {
                    view_of(child, depth + 1, NAME_MAPS.contains(&k.as_str()))
                };
                out.insert(k.clone(), copy);
            }
            if !names {
                // An operation without `responses` (allowed in 3.1, rejected by openapiv3).
                for m in METHODS {
                    if let Some(op) = out.get_mut(m).and_then(Value::as_object_mut) {
                        op.entry("responses")
                            .or_insert_with(|| Value::Object(Map::new()));
                    }
                }
                // A parameter without `schema` or `content` (invalid but common): accept anything.
                if out.contains_key("in")
                    && out.contains_key("name")
                    && !out.contains_key("schema")
                    && !out.contains_key("content")
                {
                    out.insert("schema".into(), Value::Object(Map::new()));
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| view_of(item, depth + 1, false))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Parses the structural view with `openapiv3`, reporting the JSON pointer of a failure.
pub fn parse_structure(file: &str, view: Value) -> Result<openapiv3::OpenAPI> {
    serde_path_to_error::deserialize::<_, openapiv3::OpenAPI>(view).map_err(|e| {
        Error::invalid(
            file,
            &Pointer::from_path(e.path()),
            format!("not a valid OpenAPI document: {}", e.inner()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `paths` viewed on a thread of its own makes the view of the whole document.
    #[test]
    fn paths_apart_make_the_same_view() {
        let mut paths = Map::new();
        for i in 0..PATHS_APART_FROM + 3 {
            paths.insert(
                format!("/r{i}/{{id}}"),
                json!({
                    "parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}}],
                    "get": {"operationId": format!("get{i}"), "parameters": [{"name": "q", "in": "query"}]},
                    "post": {"requestBody": {"content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/A"},
                        "example": {"a": 1}
                    }}}}
                }),
            );
        }
        let root = json!({
            "openapi": "3.1.0",
            "info": {"title": "t", "version": "1"},
            "paths": paths,
            "components": {"schemas": {"A": {"type": "object"}}, "examples": {"e": {"value": 1}}},
            "get": {"x": 1},
            "name": "n", "in": "query"
        });
        assert_eq!(top_view(&root), view_of(&root, 0, false));
        assert_eq!(
            top_view(&root)["paths"]["/r0/{id}"]["get"]["responses"],
            json!({})
        );
    }
}
