//! Schema conversion: OpenAPI 3.0 and 3.1 schemas (as raw JSON in the bundled document) to the
//! JSON Schema 2020-12 that MCP tool `inputSchema`/`outputSchema` use.
//!
//! Both dialects are read natively, so no meaning is lost on the way:
//! - 3.0 `nullable: true` becomes `"null"` in `type` (or in `enum`, or an `anyOf` with
//!   `{"type": "null"}` when there is no `type`); boolean `exclusiveMinimum`/`exclusiveMaximum`
//!   become the numeric 2020-12 form; `example` becomes `examples: [..]`.
//! - 3.1 type arrays, numeric bounds, `const`, `examples` and boolean schemas pass through.
//! - `$ref` siblings are kept: annotations are laid over the target, `nullable` makes it nullable,
//!   other keywords are combined with `allOf`.
//! - OpenAPI-only keywords (`nullable`, `example`, `discriminator`, `xml`, `externalDocs`, `x-*`)
//!   never reach the output: only 2020-12 keywords are copied (an allow-list, not a deny-list).
//!
//! References: a target that is part of a reference cycle, or whose full expansion exceeds
//! [`INLINE_LIMIT`] JSON nodes, is kept as `{"$ref": "#/$defs/Name"}` with `Name` under the tool
//! schema's root `$defs`; every other target is inlined, which the widest range of clients handles.
//! Recursion therefore never hangs, and schema size stays proportional to the spec. Nesting deeper
//! than [`MAX_DEPTH`] is cut to `{}` with a warning.

use crate::error::{Error, Result, escape_segment};
use crate::naming::Unique;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

/// Expanded size (JSON nodes) up to which a referenced schema is inlined rather than put in `$defs`.
pub const INLINE_LIMIT: usize = 400;
/// Nesting depth at which a schema is cut to `{}`.
pub const MAX_DEPTH: usize = 64;

/// Keywords copied verbatim (their values are not schemas).
const PLAIN_KEYWORDS: &[&str] = &[
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "format",
    "pattern",
    "multipleOf",
    "maximum",
    "minimum",
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
    "uniqueItems",
    "maxProperties",
    "minProperties",
    "maxContains",
    "minContains",
    "contentEncoding",
    "contentMediaType",
    "const",
    "dependentRequired",
];
/// Keywords whose value is one schema.
const SCHEMA_KEYWORDS: &[&str] = &[
    "additionalProperties",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentSchema",
];
/// Keywords whose value is an array of schemas.
const SCHEMA_ARRAY_KEYWORDS: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value is a map of schemas.
const SCHEMA_MAP_KEYWORDS: &[&str] = &["properties", "patternProperties", "dependentSchemas"];
/// Annotation keywords that may be laid over a referenced schema.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "examples",
];

/// Document-wide facts about references, computed once.
pub struct Schemas<'a> {
    pub file: &'a str,
    pub root: &'a Value,
    /// Targets (JSON pointers) that are part of a reference cycle.
    recursive: BTreeSet<String>,
    /// Memoised expanded sizes.
    sizes: RefCell<BTreeMap<String, usize>>,
    /// Stable `$defs` names per target pointer.
    def_names: RefCell<(BTreeMap<String, String>, Unique)>,
    pub warnings: RefCell<Vec<String>>,
}

/// The `$defs` a single tool schema needs, filled while converting.
#[derive(Default)]
pub struct Defs {
    done: BTreeMap<String, Value>,
    pending: Vec<(String, String)>,
    seen: BTreeSet<String>,
}

/// Resolves a local `$ref` string to its JSON pointer (percent-decoded, without `#`).
pub fn ref_pointer(r: &str) -> Option<String> {
    let frag = r.strip_prefix('#')?;
    let decoded = percent_encoding::percent_decode_str(frag)
        .decode_utf8()
        .ok()?
        .into_owned();
    if decoded.is_empty() || decoded.starts_with('/') {
        Some(decoded)
    } else {
        None
    }
}

impl<'a> Schemas<'a> {
    pub fn new(file: &'a str, root: &'a Value) -> Self {
        let recursive = find_recursive(root);
        Self {
            file,
            root,
            recursive,
            sizes: RefCell::new(BTreeMap::new()),
            def_names: RefCell::new((BTreeMap::new(), Unique::new())),
            warnings: RefCell::new(Vec::new()),
        }
    }

    pub fn warn(&self, msg: String) {
        let mut w = self.warnings.borrow_mut();
        if !w.contains(&msg) {
            w.push(msg);
        }
    }

    pub fn is_recursive(&self, pointer: &str) -> bool {
        self.recursive.contains(pointer)
    }

    /// Follows `$ref` chains from `s` (at `at`) to a schema that is not a bare reference.
    /// Returns the final pointer and value. Errors on a missing target.
    pub fn resolve<'v>(&'v self, s: &'v Value, at: &str) -> Result<(String, &'v Value)> {
        let mut cur = s;
        let mut cur_at = at.to_string();
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

    /// Looks up a `$ref` target.
    pub fn target(&self, r: &str, at: &str) -> Result<(String, &'a Value)> {
        let Some(p) = ref_pointer(r) else {
            return Err(Error::invalid(
                self.file,
                &format!("{at}/$ref"),
                format!(
                    "unsupported $ref `{r}`: only local JSON-pointer and relative-file references are supported"
                ),
            ));
        };
        match self.root.pointer(&p) {
            Some(t) => Ok((p, t)),
            None => Err(Error::invalid(
                self.file,
                &format!("{at}/$ref"),
                format!("$ref target `{r}` not found"),
            )),
        }
    }

    fn expanded_size(&self, pointer: &str, depth: usize) -> usize {
        if let Some(n) = self.sizes.borrow().get(pointer) {
            return *n;
        }
        let n = if self.recursive.contains(pointer) || depth > MAX_DEPTH {
            INLINE_LIMIT + 1
        } else {
            match self.root.pointer(pointer) {
                Some(v) => self.count(v, depth),
                None => 1,
            }
        };
        self.sizes.borrow_mut().insert(pointer.to_string(), n);
        n
    }

    fn count(&self, v: &Value, depth: usize) -> usize {
        match v {
            Value::Object(m) => {
                if let Some(p) = m.get("$ref").and_then(Value::as_str).and_then(ref_pointer) {
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

    fn def_name(&self, pointer: &str) -> String {
        let mut guard = self.def_names.borrow_mut();
        if let Some(n) = guard.0.get(pointer) {
            return n.clone();
        }
        let base = match pointer.strip_prefix("/components/schemas/") {
            Some(rest) if !rest.contains('/') => rest.replace("~1", "/").replace("~0", "~"),
            _ => pointer.trim_start_matches('/').to_string(),
        };
        let base = crate::naming::safe_key(&base);
        let name = guard.1.claim(&base, "_", usize::MAX);
        guard.0.insert(pointer.to_string(), name.clone());
        name
    }

    /// Converts one schema at `at`, collecting `$defs` it needs into `defs`.
    pub fn convert(&self, s: &Value, at: &str, defs: &mut Defs) -> Result<Value> {
        self.convert_at(s, at, defs, 0)
    }

    /// Converts all pending `$defs` and returns them (sorted by name), for the tool schema root.
    pub fn finish_defs(&self, defs: &mut Defs) -> Result<Map<String, Value>> {
        while let Some((name, pointer)) = defs.pending.pop() {
            let Some(target) = self.root.pointer(&pointer) else {
                continue;
            };
            let converted = self.convert_at(target, &pointer, defs, 1)?;
            defs.done.insert(name, converted);
        }
        Ok(defs
            .done
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn convert_at(&self, s: &Value, at: &str, defs: &mut Defs, depth: usize) -> Result<Value> {
        if depth > MAX_DEPTH {
            self.warn(format!(
                "#{at}: schema nested deeper than {MAX_DEPTH} levels; cut to an unconstrained schema"
            ));
            return Ok(Value::Object(Map::new()));
        }
        let Some(obj) = s.as_object() else {
            return Ok(match s {
                Value::Bool(b) => Value::Bool(*b),
                _ => {
                    self.warn(format!(
                        "#{at}: a schema must be an object or a boolean; treated as unconstrained"
                    ));
                    Value::Object(Map::new())
                }
            });
        };
        let Some(r) = obj.get("$ref") else {
            return self.convert_body(s, at, defs, depth);
        };
        let Some(r) = r.as_str() else {
            return Err(Error::invalid(
                self.file,
                &format!("{at}/$ref"),
                "$ref must be a string",
            ));
        };
        if ref_pointer(r).is_none() {
            self.warn(format!(
                "#{at}/$ref: unsupported reference `{r}` (anchors and remote URLs are not followed); treated as unconstrained"
            ));
            return Ok(Value::Object(Map::new()));
        }
        let (pointer, target) = self.target(r, at)?;
        let inline = !self.recursive.contains(&pointer)
            && self.expanded_size(&pointer, depth) <= INLINE_LIMIT;
        let mut base = if inline {
            self.convert_at(target, &pointer, defs, depth + 1)?
        } else {
            let name = self.def_name(&pointer);
            if defs.seen.insert(pointer.clone()) {
                defs.pending.push((name.clone(), pointer.clone()));
            }
            let mut m = Map::new();
            m.insert(
                "$ref".into(),
                Value::String(format!("#/$defs/{}", escape_segment(&name))),
            );
            Value::Object(m)
        };
        // Siblings of `$ref` (3.1 allows them; 3.0 authors write them too and mean them).
        let mut siblings = obj.clone();
        siblings.remove("$ref");
        let nullable = siblings.remove("nullable") == Some(Value::Bool(true));
        if let Some(ex) = siblings.remove("example") {
            siblings
                .entry("examples")
                .or_insert_with(|| Value::Array(vec![ex]));
        }
        let (annotations, rest): (Map<String, Value>, Map<String, Value>) = siblings
            .into_iter()
            .partition(|(k, _)| ANNOTATIONS.contains(&k.as_str()));
        let rest_schema = self.convert_body(&Value::Object(rest), at, defs, depth + 1)?;
        if rest_schema.as_object().is_some_and(|m| !m.is_empty()) {
            base = Value::Object(Map::from_iter([(
                "allOf".to_string(),
                Value::Array(vec![base, rest_schema]),
            )]));
        }
        if nullable {
            base = make_nullable(base);
        }
        if let Value::Object(m) = &mut base {
            for (k, v) in annotations {
                if k == "examples" && !v.is_array() {
                    continue;
                }
                m.insert(k, v);
            }
        }
        Ok(base)
    }

    /// Converts a schema object that is not a bare `$ref`.
    fn convert_body(&self, s: &Value, at: &str, defs: &mut Defs, depth: usize) -> Result<Value> {
        let Some(obj) = s.as_object() else {
            return self.convert_at(s, at, defs, depth);
        };
        let mut out = Map::new();
        for k in PLAIN_KEYWORDS {
            if let Some(v) = obj.get(*k) {
                match (*k, v) {
                    ("minimum" | "maximum" | "multipleOf", v) if !v.is_number() => {}
                    _ => {
                        out.insert((*k).to_string(), v.clone());
                    }
                }
            }
        }
        if let Some(Value::Array(e)) = obj.get("enum") {
            out.insert("enum".into(), Value::Array(e.clone()));
        }
        if let Some(Value::Array(req)) = obj.get("required") {
            let names: Vec<Value> = req.iter().filter(|v| v.is_string()).cloned().collect();
            if !names.is_empty() {
                out.insert("required".into(), Value::Array(names));
            }
        }
        match obj.get("examples") {
            Some(Value::Array(ex)) => {
                out.insert("examples".into(), Value::Array(ex.clone()));
            }
            _ => {
                if let Some(ex) = obj.get("example") {
                    out.insert("examples".into(), Value::Array(vec![ex.clone()]));
                }
            }
        }
        // Exclusive bounds: 3.0 booleans modify minimum/maximum; 3.1 numbers stand alone.
        for (excl, plain) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            match obj.get(excl) {
                Some(Value::Bool(true)) => {
                    if let Some(b) = out.remove(plain) {
                        out.insert(excl.into(), b);
                    }
                }
                Some(v @ Value::Number(_)) => {
                    out.insert(excl.into(), v.clone());
                }
                _ => {}
            }
        }
        for k in SCHEMA_KEYWORDS {
            if let Some(v) = obj.get(*k) {
                let child = format!("{at}/{k}");
                out.insert(
                    (*k).to_string(),
                    self.convert_at(v, &child, defs, depth + 1)?,
                );
            }
        }
        match obj.get("items") {
            Some(Value::Array(tuple)) => {
                // Draft-4 style tuple validation is `prefixItems` in 2020-12.
                let mut items = Vec::with_capacity(tuple.len());
                for (i, t) in tuple.iter().enumerate() {
                    items.push(self.convert_at(t, &format!("{at}/items/{i}"), defs, depth + 1)?);
                }
                out.insert("prefixItems".into(), Value::Array(items));
            }
            Some(v) => {
                out.insert(
                    "items".into(),
                    self.convert_at(v, &format!("{at}/items"), defs, depth + 1)?,
                );
            }
            None => {}
        }
        for k in SCHEMA_ARRAY_KEYWORDS {
            if let Some(Value::Array(list)) = obj.get(*k) {
                let mut items = Vec::with_capacity(list.len());
                for (i, t) in list.iter().enumerate() {
                    items.push(self.convert_at(t, &format!("{at}/{k}/{i}"), defs, depth + 1)?);
                }
                out.insert((*k).to_string(), Value::Array(items));
            }
        }
        for k in SCHEMA_MAP_KEYWORDS {
            if let Some(Value::Object(map)) = obj.get(*k) {
                let mut m = Map::new();
                for (name, t) in map {
                    let child = format!("{at}/{k}/{}", escape_segment(name));
                    m.insert(name.clone(), self.convert_at(t, &child, defs, depth + 1)?);
                }
                out.insert((*k).to_string(), Value::Object(m));
            }
        }
        // Types: a string or (3.1) an array; 3.0 `nullable` adds "null".
        let mut types: Vec<String> = match obj.get("type") {
            Some(Value::String(t)) => vec![t.clone()],
            Some(Value::Array(ts)) => ts
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        types.retain(|t| {
            matches!(
                t.as_str(),
                "string" | "number" | "integer" | "boolean" | "array" | "object" | "null"
            )
        });
        let nullable = obj.get("nullable") == Some(&Value::Bool(true));
        let mut result_needs_null_branch = false;
        if nullable {
            if types.is_empty() {
                if !out.contains_key("enum") && !out.contains_key("const") && !out.is_empty() {
                    result_needs_null_branch = true;
                }
            } else if !types.iter().any(|t| t == "null") {
                types.push("null".into());
            }
        }
        let mut seen = BTreeSet::new();
        types.retain(|t| seen.insert(t.clone()));
        let allows_null = types.iter().any(|t| t == "null") || nullable;
        if allows_null
            && let Some(Value::Array(e)) = out.get_mut("enum")
            && !e.contains(&Value::Null)
        {
            e.push(Value::Null);
        }
        match types.len() {
            0 => {}
            1 => {
                out.insert("type".into(), Value::String(types.remove(0)));
            }
            _ => {
                out.insert(
                    "type".into(),
                    Value::Array(types.into_iter().map(Value::String).collect()),
                );
            }
        }
        let result = Value::Object(out);
        Ok(if result_needs_null_branch {
            make_nullable(result)
        } else {
            result
        })
    }
}

/// Whether a schema object names at least one property.
pub fn has_properties(obj: &Map<String, Value>) -> bool {
    obj.get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty())
}

/// Makes a converted schema accept `null` too.
pub fn make_nullable(v: Value) -> Value {
    if let Value::Object(mut m) = v {
        if m.contains_key("$ref")
            || m.contains_key("allOf")
            || m.contains_key("oneOf")
            || m.contains_key("anyOf")
        {
            let mut null = Map::new();
            null.insert("type".into(), Value::String("null".into()));
            let mut wrapper = Map::new();
            wrapper.insert(
                "anyOf".into(),
                Value::Array(vec![Value::Object(m), Value::Object(null)]),
            );
            return Value::Object(wrapper);
        }
        match m.get_mut("type") {
            Some(Value::String(t)) if t != "null" => {
                let t = t.clone();
                m.insert(
                    "type".into(),
                    Value::Array(vec![Value::String(t), Value::String("null".into())]),
                );
            }
            Some(Value::Array(ts)) if !ts.contains(&Value::String("null".into())) => {
                ts.push(Value::String("null".into()));
            }
            _ => {}
        }
        if let Some(Value::Array(e)) = m.get_mut("enum")
            && !e.contains(&Value::Null)
        {
            e.push(Value::Null);
        }
        Value::Object(m)
    } else {
        v
    }
}

/// Finds every `$ref` target that lies on a reference cycle (Tarjan's SCC, iterative so a long
/// chain of references cannot overflow the stack).
fn find_recursive(root: &Value) -> BTreeSet<String> {
    // Nodes: every local ref target; edges: refs inside a target's subtree (not following refs).
    let mut edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut queue: Vec<String> = Vec::new();
    collect_refs(root, &mut queue, 0);
    while let Some(p) = queue.pop() {
        if edges.contains_key(&p) {
            continue;
        }
        let mut out = Vec::new();
        if let Some(t) = root.pointer(&p) {
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
    let nodes: Vec<&String> = edges.keys().collect();
    let index_of: BTreeMap<&String, usize> =
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
    recursive
}

fn collect_refs(v: &Value, out: &mut Vec<String>, depth: usize) {
    if depth > 512 {
        return;
    }
    match v {
        Value::Object(m) => {
            if let Some(p) = m.get("$ref").and_then(Value::as_str).and_then(ref_pointer) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn conv(root: &Value, s: Value) -> Value {
        let schemas = Schemas::new("t.yaml", root);
        let mut defs = Defs::default();
        let mut v = schemas.convert(&s, "/x", &mut defs).unwrap();
        let d = schemas.finish_defs(&mut defs).unwrap();
        if !d.is_empty() {
            v.as_object_mut()
                .unwrap()
                .insert("$defs".into(), Value::Object(d));
        }
        v
    }

    #[test]
    fn openapi30_keywords() {
        let root = json!({});
        let v = conv(
            &root,
            json!({"type": "integer", "nullable": true, "minimum": 1, "exclusiveMinimum": true, "example": 3, "xml": {"name": "x"}, "x-foo": 1}),
        );
        assert_eq!(
            v,
            json!({"type": ["integer", "null"], "exclusiveMinimum": 1, "examples": [3]})
        );
    }

    #[test]
    fn openapi31_keywords() {
        let root = json!({});
        let v = conv(
            &root,
            json!({"anyOf": [{"type": "string"}, {"type": "null"}], "const": "a", "examples": ["a"], "exclusiveMaximum": 5}),
        );
        assert_eq!(
            v,
            json!({"anyOf": [{"type": "string"}, {"type": "null"}], "const": "a", "examples": ["a"], "exclusiveMaximum": 5})
        );
    }

    #[test]
    fn recursion_uses_defs() {
        let root = json!({"components": {"schemas": {"Node": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}}}}}});
        let v = conv(&root, json!({"$ref": "#/components/schemas/Node"}));
        assert_eq!(v["$ref"], json!("#/$defs/Node"));
        assert_eq!(
            v["$defs"]["Node"]["properties"]["next"]["$ref"],
            json!("#/$defs/Node")
        );
    }

    #[test]
    fn ref_siblings() {
        let root = json!({"components": {"schemas": {"S": {"type": "string"}}}});
        let v = conv(
            &root,
            json!({"$ref": "#/components/schemas/S", "description": "d", "nullable": true}),
        );
        assert_eq!(v, json!({"type": ["string", "null"], "description": "d"}));
    }
}
