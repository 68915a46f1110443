//! Schema conversion: OpenAPI 3.0 and 3.1 schemas (as raw JSON in the bundled document) to the
//! JSON Schema 2020-12 that MCP tool `inputSchema`/`outputSchema` use.
//!
//! Both dialects are read natively, so no meaning is lost on the way:
//! - 3.0 `nullable: true` becomes an `anyOf` with `{"type": "null"}` (or `null` in an `enum`
//!   without `type`); boolean `exclusiveMinimum`/`exclusiveMaximum`
//!   become the numeric 2020-12 form; `example` becomes `examples: [..]`.
//! - 3.1 type arrays, numeric bounds, `const`, `examples` and boolean schemas pass through.
//! - `$ref` siblings are kept: annotations are laid over the target, `nullable` makes it nullable,
//!   other keywords are combined with the target as an `allOf` (merged where sound).
//! - OpenAPI-only keywords (`nullable`, `example`, `discriminator`, `xml`, `externalDocs`, `x-*`)
//!   never reach the output: only 2020-12 keywords are copied (an allow-list, not a deny-list).
//!
//! The output is safe for the strictest clients by construction (see the README): each schema
//! object is first shaped by [`super::shape`] (`allOf` merged, discriminators as `const`
//! branches, `readOnly`/`writeOnly` left out per side), which records what it changed in
//! [`Conversion`]; nullable schemas and 3.1 multi-type `type` arrays become `anyOf` with one `type`
//! per branch ([`make_nullable`]); every object schema gets `type: object` and `properties`; and
//! boolean schemas become `{}` / `{"not": {}}`, except the plain `additionalProperties: false`.
//!
//! References: a target that is part of a reference cycle, or whose full expansion exceeds
//! [`INLINE_LIMIT`] JSON nodes, is kept as `{"$ref": "#/$defs/Name"}` with `Name` under the tool
//! schema's root `$defs`; every other target is inlined, which the widest range of clients handles.
//! Recursion therefore never hangs, and schema size stays proportional to the spec. Nesting deeper
//! than [`MAX_DEPTH`] is cut to `{}` with a warning.

use crate::error::{Error, Result};
use crate::ir::Simplification;
use crate::pointer::Pointer;
use crate::schema::keywords::{
    ANNOTATIONS, PLAIN_KEYWORDS, SCHEMA_ARRAY_KEYWORDS, SCHEMA_KEYWORDS, SCHEMA_MAP_KEYWORDS,
    constrains,
};
use crate::schema::refs::{INLINE_LIMIT, MAX_DEPTH, Schemas};
use crate::schema::shape::{Mode, Note, origin, shape};
use serde_json::{Map, Value};
#[cfg(test)]
use std::collections::BTreeMap;
use std::collections::BTreeSet;

/// The state of converting one tool schema (an `inputSchema` or an `outputSchema`): the `$defs`
/// it needs, which side of the call it describes, and the simplifications applied, each with the
/// place it was applied at (the argument and the path inside it).
pub struct Conversion<'s, 'a> {
    schemas: &'s Schemas<'a>,
    pending: Vec<(String, Pointer)>,
    seen: BTreeSet<Pointer>,
    mode: Mode,
    path: String,
    notes: Vec<Simplification>,
    /// Set by the bounded conversion ([`super::bound`]): child schemas are not converted but
    /// registered here (each stands in the node as a placeholder), and references to `$defs` are
    /// collected rather than queued, so one node at a time can be weighed before it is taken.
    pub(super) defer: Option<Deferred>,
    /// The deepest conversion depth reached since the bounded conversion last set it (how far
    /// below itself one node's conversion went: [`super::bound`]).
    pub(super) deepest: usize,
}

/// What converting one node found beneath it, when children are deferred.
#[derive(Default)]
pub(super) struct Deferred {
    /// The next placeholder number (unique within one bounded conversion).
    pub next: usize,
    /// Child schemas: (placeholder number, schema, its place in the spec, its path for notes,
    /// the conversion depth it is at). The schema is `None` when it is the document's own node
    /// at that place (found there again; it converts the same wherever it is reached).
    pub children: Vec<(usize, Option<Value>, Pointer, String, usize)>,
    /// `$defs` entries referenced: (name, target pointer).
    pub refs: Vec<(String, Pointer)>,
}

impl<'s, 'a> Conversion<'s, 'a> {
    pub fn new(schemas: &'s Schemas<'a>, mode: Mode) -> Self {
        Self {
            schemas,
            pending: Vec::new(),
            seen: BTreeSet::new(),
            mode,
            path: String::new(),
            notes: Vec::new(),
            defer: None,
            deepest: 0,
        }
    }

    /// Which side of the call this conversion describes.
    pub(super) fn mode(&self) -> Mode {
        self.mode
    }

    /// The schemas of the document this conversion reads.
    pub(super) fn schemas(&self) -> &'s Schemas<'a> {
        self.schemas
    }

    /// The current place, for notes.
    pub(super) fn set_path(&mut self, path: String) {
        self.path = path;
    }

    /// Converts `s` at `at` at conversion depth `depth` (the bounded conversion's entry).
    pub(super) fn convert_node(&mut self, s: &Value, at: &Pointer, depth: usize) -> Result<Value> {
        self.convert_at(s, at, depth)
    }

    /// A child schema of the node being converted, one path segment deeper: converted at once,
    /// or (bounded conversion) registered and stood in for by a placeholder.
    /// `own`: the node being converted is the document's own (not a copy the shaping made), so
    /// its children are too.
    fn child(
        &mut self,
        seg: &str,
        v: &Value,
        at: &Pointer,
        depth: usize,
        own: bool,
    ) -> Result<Value> {
        if v.is_object()
            && let Some(d) = &mut self.defer
        {
            let id = d.next;
            d.next += 1;
            // The document's own node converts the same way wherever it is reached: the bounded
            // conversion may reuse it (a schema copied by the shaping is not).
            d.children.push((
                id,
                (!own).then(|| v.clone()),
                at.clone(),
                format!("{}{seg}", self.path),
                depth,
            ));
            return Ok(super::node::placeholder(id));
        }
        self.within(seg, |c| c.convert_at(v, at, depth))
    }

    /// Names the schema converted next (an argument, or `output`), for the notes.
    pub fn enter(&mut self, root: &str) {
        self.path = root.to_string();
    }

    /// Records shaping notes at the current place.
    pub fn note(&mut self, notes: Vec<Note>) {
        if notes.is_empty() {
            return;
        }
        let at: std::sync::Arc<str> = self.path.as_str().into();
        for n in notes {
            let s = Simplification {
                at: at.clone(),
                kind: n.kind,
                detail: n.detail.into(),
            };
            if !self.notes.contains(&s) {
                self.notes.push(s);
            }
        }
    }

    /// The simplifications applied so far, in order.
    pub fn take_notes(&mut self) -> Vec<Simplification> {
        std::mem::take(&mut self.notes)
    }

    /// Puts back notes taken with [`Self::take_notes`].
    pub(super) fn restore_notes(&mut self, notes: Vec<Simplification>) {
        self.notes = notes;
    }

    /// Records notes (kind, detail) made at `path`, each once.
    pub(super) fn note_at(&mut self, path: &str, notes: &[(&'static str, std::sync::Arc<str>)]) {
        if notes.is_empty() {
            return;
        }
        let at: std::sync::Arc<str> = path.into();
        for (kind, detail) in notes {
            let s = Simplification {
                at: at.clone(),
                kind,
                detail: detail.clone(),
            };
            if !self.notes.contains(&s) {
                self.notes.push(s);
            }
        }
    }

    /// Runs `f` one path segment deeper.
    fn within<T>(&mut self, seg: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.path.len();
        self.path.push_str(seg);
        let r = f(self);
        self.path.truncate(len);
        r
    }

    /// Converts one schema at `at` whole, collecting the `$defs` it needs (the tests' unbounded
    /// reference; tool schemas are converted within a bound, [`super::bound`]).
    #[cfg(test)]
    pub fn convert(&mut self, s: &Value, at: &Pointer) -> Result<Value> {
        self.convert_at(s, at, 0)
    }

    /// Converts all pending `$defs` and returns them (sorted by name), for the schema's root.
    #[cfg(test)]
    pub fn finish(&mut self) -> Result<Map<String, Value>> {
        let mut done = BTreeMap::new();
        while let Some((name, pointer)) = self.pending.pop() {
            let Some(target) = self.schemas.find(&pointer) else {
                continue;
            };
            self.enter(&format!("$defs.{name}"));
            let converted = self.convert_at(target, &pointer, 1)?;
            done.insert(name, converted);
        }
        Ok(done.into_iter().collect())
    }

    fn convert_at(&mut self, s: &Value, at: &Pointer, depth: usize) -> Result<Value> {
        self.deepest = self.deepest.max(depth);
        if depth > MAX_DEPTH {
            self.schemas.warn(
                at.clone(),
                format!(
                    "schema nested deeper than {MAX_DEPTH} levels; cut to an unconstrained schema"
                ),
            );
            return Ok(Value::Object(Map::new()));
        }
        let Some(obj) = s.as_object() else {
            // Boolean schemas as objects: some clients refuse a bare `true` where a schema goes.
            return Ok(match s {
                Value::Bool(true) => Value::Object(Map::new()),
                Value::Bool(false) => serde_json::json!({"not": {}}),
                _ => {
                    self.schemas.warn(
                        at.clone(),
                        "a schema must be an object or a boolean; treated as unconstrained".into(),
                    );
                    Value::Object(Map::new())
                }
            });
        };
        let recorded = origin(s);
        let at = recorded.as_ref().unwrap_or(at);
        let Some(r) = obj.get("$ref") else {
            return self.convert_body(s, at, depth);
        };
        let Some(r) = r.as_str() else {
            return Err(Error::invalid(
                self.schemas.file,
                &at.join("$ref"),
                "$ref must be a string",
            ));
        };
        if Pointer::from_ref(r).is_none() {
            self.schemas.warn(
                at.join("$ref"),
                format!(
                    "unsupported reference `{r}` (anchors and remote URLs are not followed); treated as unconstrained"
                ),
            );
            return Ok(Value::Object(Map::new()));
        }
        // Siblings that constrain (3.1 allows them; 3.0 authors write them too and mean them):
        // the reference is an `allOf` member beside them, merged where that is sound.
        if obj
            .iter()
            .any(|(k, _)| k != "$ref" && k != "nullable" && constrains(k))
        {
            let mut all = obj.clone();
            let reference = all.remove("$ref").unwrap_or(Value::Null);
            all.insert(
                "allOf".into(),
                Value::Array(vec![Value::Object(Map::from_iter([(
                    "$ref".to_string(),
                    reference,
                )]))]),
            );
            return self.convert_body(&Value::Object(all), at, depth);
        }
        let (pointer, target) = self.schemas.target(r, at)?;
        let inline = !self.schemas.is_recursive(&pointer)
            && self.schemas.expanded_size(&pointer, depth) <= INLINE_LIMIT;
        let mut base = if inline {
            self.convert_at(target, &pointer, depth + 1)?
        } else {
            let name = self.schemas.def_name(&pointer);
            if let Some(d) = &mut self.defer {
                d.refs.push((name.clone(), pointer.clone()));
            } else if self.seen.insert(pointer.clone()) {
                self.pending.push((name.clone(), pointer.clone()));
            }
            let mut m = Map::new();
            m.insert(
                "$ref".into(),
                Value::String(format!("#{}", Pointer::root().join("$defs").join(&name))),
            );
            Value::Object(m)
        };
        // Annotations beside `$ref` are laid over the target; `nullable` makes it nullable.
        let nullable = obj.get("nullable") == Some(&Value::Bool(true));
        let mut annotations: Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| ANNOTATIONS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(ex) = obj.get("example") {
            annotations
                .entry("examples")
                .or_insert_with(|| Value::Array(vec![ex.clone()]));
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

    /// Converts a schema object that is not a bare `$ref`, shaped first ([`crate::schema::shape`]).
    fn convert_body(&mut self, s: &Value, at: &Pointer, depth: usize) -> Result<Value> {
        let Some(obj) = s.as_object() else {
            return self.convert_at(s, at, depth);
        };
        let shaped = shape(self.schemas, obj, at, self.mode)?;
        self.note(shaped.notes);
        let obj: &Map<String, Value> = &shaped.schema;
        // Whether `obj` is the document's node at `at` (the shaping may have made a copy): its
        // children are then the document's own nodes too (one lookup per node, not per child).
        let own = self.defer.is_some()
            && self
                .schemas
                .find(at)
                .and_then(Value::as_object)
                .is_some_and(|d| std::ptr::eq(d, obj));
        let has = Present::of(obj);
        if has.get("$ref").is_some() {
            // An `allOf` of one reference: the reference, with its annotations.
            return self.convert_at(&Value::Object(obj.clone()), at, depth + 1);
        }
        let mut out = Map::new();
        for (i, k) in PLAIN_KEYWORDS.iter().enumerate() {
            if let Some(v) = has.nth(PLAIN_AT + i, k) {
                match (*k, v) {
                    ("minimum" | "maximum" | "multipleOf", v) if !v.is_number() => {}
                    _ => {
                        out.insert((*k).to_string(), v.clone());
                    }
                }
            }
        }
        if let Some(Value::Array(e)) = has.get("enum") {
            out.insert("enum".into(), Value::Array(e.clone()));
        }
        if let Some(Value::Array(req)) = has.get("required") {
            let names: Vec<Value> = req.iter().filter(|v| v.is_string()).cloned().collect();
            if !names.is_empty() {
                out.insert("required".into(), Value::Array(names));
            }
        }
        match has.get("examples") {
            Some(Value::Array(ex)) => {
                out.insert("examples".into(), Value::Array(ex.clone()));
            }
            _ => {
                if let Some(ex) = has.get("example") {
                    out.insert("examples".into(), Value::Array(vec![ex.clone()]));
                }
            }
        }
        // Exclusive bounds: 3.0 booleans modify minimum/maximum; 3.1 numbers stand alone.
        for (excl, plain) in [
            ("exclusiveMinimum", "minimum"),
            ("exclusiveMaximum", "maximum"),
        ] {
            match has.get(excl) {
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
        for (i, k) in SCHEMA_KEYWORDS.iter().enumerate() {
            if let Some(v) = has.nth(SCHEMA_AT + i, k) {
                // `additionalProperties: false` and its kind stay booleans: every client knows them.
                if v.is_boolean() && BOOLEAN_KEYWORDS.contains(k) {
                    out.insert((*k).to_string(), v.clone());
                    continue;
                }
                let child = at.join(k);
                let converted = self.child(&format!(".{k}"), v, &child, depth + 1, own)?;
                out.insert((*k).to_string(), converted);
            }
        }
        match has.get("items") {
            Some(Value::Array(tuple)) => {
                // Draft-4 style tuple validation is `prefixItems` in 2020-12.
                let mut items = Vec::with_capacity(tuple.len());
                for (i, t) in tuple.iter().enumerate() {
                    let child = at.join("items").join(i);
                    items.push(self.child(&format!("[{i}]"), t, &child, depth + 1, own)?);
                }
                out.insert("prefixItems".into(), Value::Array(items));
            }
            Some(v) => {
                let child = at.join("items");
                let converted = self.child("[]", v, &child, depth + 1, own)?;
                out.insert("items".into(), converted);
            }
            None => {}
        }
        for (i, k) in SCHEMA_ARRAY_KEYWORDS.iter().enumerate() {
            if let Some(Value::Array(list)) = has.nth(ARRAY_AT + i, k) {
                let mut items = Vec::with_capacity(list.len());
                for (i, t) in list.iter().enumerate() {
                    let child = at.join(k).join(i);
                    let seg = if *k == "prefixItems" {
                        format!("[{i}]")
                    } else {
                        format!(".{k}[{i}]")
                    };
                    items.push(self.child(&seg, t, &child, depth + 1, own)?);
                }
                out.insert((*k).to_string(), Value::Array(items));
            }
        }
        for (i, k) in SCHEMA_MAP_KEYWORDS.iter().enumerate() {
            if let Some(Value::Object(map)) = has.nth(MAP_AT + i, k) {
                let mut m = Map::new();
                for (name, t) in map {
                    let child = at.join(k).join(name);
                    let seg = if *k == "properties" {
                        format!(".{name}")
                    } else {
                        format!(".{k}[{name}]")
                    };
                    let converted = self.child(&seg, t, &child, depth + 1, own)?;
                    m.insert(name.clone(), converted);
                }
                out.insert((*k).to_string(), Value::Object(m));
            }
        }
        // Types: a string or (3.1) an array; 3.0 `nullable` adds "null".
        let mut types: Vec<String> = match has.get("type") {
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
        let mut seen = BTreeSet::new();
        types.retain(|t| seen.insert(t.clone()));
        let only_null = types.len() == 1 && types[0] == "null";
        let nullable = has.get("nullable") == Some(&Value::Bool(true))
            || (types.iter().any(|t| t == "null") && !only_null);
        types.retain(|t| t != "null" || only_null);
        // An object schema always says so, and always has `properties` (strict clients want both).
        if types.is_empty()
            && ["properties", "additionalProperties", "patternProperties"]
                .iter()
                .any(|k| out.contains_key(*k))
        {
            types.push("object".into());
        }
        if types.iter().any(|t| t == "object") && !out.contains_key("properties") {
            out.insert("properties".into(), Value::Object(Map::new()));
        }
        Ok(match types.len() {
            0 => {
                // No type: `null` joins an `enum`, else the schema gets a `null` alternative.
                if nullable {
                    make_nullable(Value::Object(out))
                } else {
                    Value::Object(out)
                }
            }
            1 => {
                out.insert("type".into(), Value::String(types.remove(0)));
                if nullable {
                    make_nullable(Value::Object(out))
                } else {
                    Value::Object(out)
                }
            }
            _ => split_types(out, &types, nullable),
        })
    }
}

/// The keywords [`Conversion::convert_body`] reads, by number: [`PLAIN_KEYWORDS`] from
/// [`PLAIN_AT`], [`SCHEMA_KEYWORDS`] from [`SCHEMA_AT`], [`SCHEMA_ARRAY_KEYWORDS`] from
/// [`ARRAY_AT`], [`SCHEMA_MAP_KEYWORDS`] from [`MAP_AT`], then [`OTHER_KEYWORDS`] from
/// [`OTHER_AT`].
const PLAIN_AT: usize = 0;
const SCHEMA_AT: usize = PLAIN_AT + PLAIN_KEYWORDS.len();
const ARRAY_AT: usize = SCHEMA_AT + SCHEMA_KEYWORDS.len();
const MAP_AT: usize = ARRAY_AT + SCHEMA_ARRAY_KEYWORDS.len();
const OTHER_AT: usize = MAP_AT + SCHEMA_MAP_KEYWORDS.len();
/// The other keywords [`Conversion::convert_body`] reads.
const OTHER_KEYWORDS: [&str; 10] = [
    "$ref",
    "enum",
    "required",
    "examples",
    "example",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "items",
    "type",
    "nullable",
];
const _: () = assert!(OTHER_AT + OTHER_KEYWORDS.len() <= 64);

/// A schema object with which of the keywords [`Conversion::convert_body`] reads it has, as
/// bits (one pass over its keys, usually two or three, instead of a lookup in it for each of
/// the fifty keywords, which was most of the time the conversion spent in string comparison).
struct Present<'o> {
    obj: &'o Map<String, Value>,
    bits: u64,
}

impl<'o> Present<'o> {
    fn of(obj: &'o Map<String, Value>) -> Self {
        let mut bits = 0u64;
        for k in obj.keys() {
            if let Some(i) = keyword_number(k) {
                bits |= 1 << i;
            }
        }
        Present { obj, bits }
    }

    /// The value of keyword number `i`, `k`.
    fn nth(&self, i: usize, k: &str) -> Option<&'o Value> {
        if self.bits & (1 << i) == 0 {
            return None;
        }
        self.obj.get(k)
    }

    /// The value of `k`: by its bit when it is one of [`OTHER_KEYWORDS`], else looked up.
    fn get(&self, k: &str) -> Option<&'o Value> {
        match OTHER_KEYWORDS.iter().position(|o| *o == k) {
            Some(i) => self.nth(OTHER_AT + i, k),
            None => self.obj.get(k),
        }
    }
}

/// The keyword lists [`Conversion::convert_body`] reads, each with the number of its first.
const KEYWORD_LISTS: [(usize, &[&str]); 5] = [
    (PLAIN_AT, PLAIN_KEYWORDS),
    (SCHEMA_AT, SCHEMA_KEYWORDS),
    (ARRAY_AT, SCHEMA_ARRAY_KEYWORDS),
    (MAP_AT, SCHEMA_MAP_KEYWORDS),
    (OTHER_AT, &OTHER_KEYWORDS),
];

/// The number of keyword `k` among those [`Conversion::convert_body`] reads ([`PLAIN_AT`]).
fn keyword_number(k: &str) -> Option<usize> {
    KEYWORD_LISTS
        .iter()
        .find_map(|(at, list)| list.iter().position(|w| *w == k).map(|i| at + i))
}

/// Keywords whose value may stay a plain boolean (`additionalProperties: false`).
const BOOLEAN_KEYWORDS: &[&str] = &[
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
];

/// Splits annotations (kept on the outside of an `anyOf`) from the rest of a schema.
fn split_annotations(m: Map<String, Value>) -> (Map<String, Value>, Map<String, Value>) {
    m.into_iter()
        .partition(|(k, _)| ANNOTATIONS.contains(&k.as_str()))
}

/// Whether `v` is a JSON value of JSON Schema type `t`.
fn has_type(v: &Value, t: &str) -> bool {
    match t {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => {
            v.as_i64().is_some()
                || v.as_u64().is_some()
                || v.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "object" => v.is_object(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// A schema of several types as an `anyOf` with one `type` per branch (a `type` array is
/// refused by clients that read `type` as a single name, Gemini's function declarations among
/// them). Every branch keeps all the keywords — a keyword for another type is ignored by a
/// branch anyway — with `enum` values filtered to the branch's type.
fn split_types(out: Map<String, Value>, types: &[String], nullable: bool) -> Value {
    let (mut wrapper, rest) = split_annotations(out);
    let mut branches = Vec::new();
    for t in types {
        let mut b = rest.clone();
        if let Some(Value::Array(e)) = b.get_mut("enum") {
            e.retain(|v| has_type(v, t));
            if e.is_empty() {
                continue;
            }
        }
        if t != "object" {
            b.remove("properties");
        }
        b.insert("type".into(), Value::String(t.clone()));
        branches.push(Value::Object(b));
    }
    if nullable {
        branches.push(serde_json::json!({"type": "null"}));
    }
    wrapper.insert("anyOf".into(), Value::Array(branches));
    Value::Object(wrapper)
}

/// Makes a converted schema accept `null` too, as `anyOf: [T, {"type": "null"}]` with the
/// annotations outside — the form Pydantic (and so most Python MCP servers) emits, which the MCP
/// Inspector's portability lint asks for and which Gemini's function declarations accept, where
/// `"type": [T, "null"]` is refused. A schema that already admits `null` is returned unchanged.
pub fn make_nullable(v: Value) -> Value {
    let m = match v {
        Value::Object(m) => m,
        Value::Bool(true) => return Value::Object(Map::new()),
        Value::Bool(false) => return serde_json::json!({"type": "null"}),
        other => return other,
    };
    let is_null = |b: &Value| b.get("type").and_then(Value::as_str) == Some("null");
    if m.get("type").and_then(Value::as_str) == Some("null")
        || matches!(m.get("anyOf"), Some(Value::Array(bs)) if bs.iter().any(is_null))
        || m.keys().all(|k| ANNOTATIONS.contains(&k.as_str()))
    {
        return Value::Object(m);
    }
    if !m.contains_key("type")
        && let Some(Value::Array(_)) = m.get("enum")
    {
        let mut m = m;
        if let Some(Value::Array(e)) = m.get_mut("enum")
            && !e.contains(&Value::Null)
        {
            e.push(Value::Null);
        }
        return Value::Object(m);
    }
    let (mut wrapper, mut rest) = split_annotations(m);
    if let Some(Value::Array(e)) = rest.get_mut("enum") {
        e.retain(|v| !v.is_null());
    }
    // A union already (several types): the `null` branch joins it.
    if rest.len() == 1
        && let Some(Value::Array(branches)) = rest.get_mut("anyOf")
    {
        branches.push(serde_json::json!({"type": "null"}));
        wrapper.extend(rest);
        return Value::Object(wrapper);
    }
    wrapper.insert(
        "anyOf".into(),
        Value::Array(vec![
            Value::Object(rest),
            serde_json::json!({"type": "null"}),
        ]),
    );
    Value::Object(wrapper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointer::Pointer;
    use serde_json::json;

    fn conv(root: &Value, s: Value) -> Value {
        let schemas = Schemas::new("t.yaml", root);
        let mut conversion = Conversion::new(&schemas, Mode::Input);
        let mut v = conversion.convert(&s, &Pointer::root().join("x")).unwrap();
        let d = conversion.finish().unwrap();
        if !d.is_empty() {
            v.as_object_mut()
                .unwrap()
                .insert("$defs".into(), Value::Object(d));
        }
        v
    }

    /// Every keyword the body conversion reads has a number of its own, and a schema object's
    /// [`Present`] finds exactly the keywords it has (those of every list and none else).
    #[test]
    fn every_keyword_read_has_its_own_number() {
        let lists = KEYWORD_LISTS;
        let mut all = BTreeSet::new();
        for (at, list) in lists {
            for (i, k) in list.iter().enumerate() {
                assert_eq!(keyword_number(k), Some(at + i), "{k}");
                assert!(all.insert(*k), "{k} is in two lists");
            }
        }
        assert_eq!(keyword_number("x-foo"), None);
        assert_eq!(keyword_number("propertie"), None);
        let mut obj = Map::new();
        for (n, k) in all.iter().enumerate() {
            obj.insert((*k).to_string(), json!(n));
        }
        obj.insert("x-other".into(), json!("x"));
        let has = Present::of(&obj);
        assert_eq!(has.bits.count_ones() as usize, all.len());
        for (at, list) in lists {
            for (i, k) in list.iter().enumerate() {
                assert_eq!(has.nth(at + i, k), obj.get(*k), "{k}");
            }
        }
        for k in OTHER_KEYWORDS.iter().chain(&["x-other", "title"]) {
            assert_eq!(has.get(k), obj.get(*k), "{k}");
        }
        let few: Map<String, Value> =
            serde_json::from_value(json!({"type": "string", "minLength": 1})).unwrap_or_default();
        let has = Present::of(&few);
        assert_eq!(has.get("type"), Some(&json!("string")));
        assert_eq!(has.get("enum"), None);
        assert_eq!(
            has.nth(keyword_number("minLength").unwrap_or(0), "minLength"),
            Some(&json!(1))
        );
        assert_eq!(
            has.nth(keyword_number("maxLength").unwrap_or(0), "maxLength"),
            None
        );
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
            json!({"anyOf": [{"type": "integer", "exclusiveMinimum": 1}, {"type": "null"}], "examples": [3]})
        );
    }

    #[test]
    fn nullable_is_an_any_of_with_annotations_outside() {
        let root = json!({});
        // 3.1 type array with null, an enum: null goes to its own branch.
        let v = conv(
            &root,
            json!({"type": ["string", "null"], "enum": ["a", "b", null], "description": "d", "default": null}),
        );
        assert_eq!(
            v,
            json!({"anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}], "description": "d", "default": null})
        );
        // Several types: one branch per type, enum values sorted into their branch.
        let v = conv(
            &root,
            json!({"type": ["string", "integer", "null"], "enum": ["x", 1, null], "title": "t"}),
        );
        assert_eq!(
            v,
            json!({"title": "t", "anyOf": [
                {"type": "string", "enum": ["x"]},
                {"type": "integer", "enum": [1]},
                {"type": "null"}
            ]})
        );
        // Without a type a nullable enum just admits null; an already nullable anyOf is kept.
        assert_eq!(
            conv(&root, json!({"enum": ["a"], "nullable": true})),
            json!({"enum": ["a", null]})
        );
        let fastapi = json!({"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Q"});
        assert_eq!(conv(&root, fastapi.clone()), fastapi);
    }

    #[test]
    fn objects_have_type_and_properties() {
        let root = json!({});
        assert_eq!(
            conv(&root, json!({"type": "object"})),
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(
            conv(&root, json!({"properties": {"a": true, "b": false}})),
            json!({"type": "object", "properties": {"a": {}, "b": {"not": {}}}})
        );
        assert_eq!(
            conv(
                &root,
                json!({"type": "object", "additionalProperties": false, "nullable": true})
            ),
            json!({"anyOf": [{"type": "object", "properties": {}, "additionalProperties": false}, {"type": "null"}]})
        );
    }

    #[test]
    fn ref_with_constraints_beside_it_is_merged() {
        let root = json!({"components": {"schemas": {"P": {"type": "object", "properties": {"a": {"type": "string"}}}}}});
        let v = conv(
            &root,
            json!({"$ref": "#/components/schemas/P", "required": ["a"], "description": "d"}),
        );
        assert_eq!(
            v,
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"], "description": "d"})
        );
    }

    #[test]
    fn notes_say_where() {
        let root = json!({"components": {"schemas": {
            "Pet": {"type": "object", "properties": {"id": {"type": "integer", "readOnly": true}, "name": {"type": "string"}}}
        }}});
        let schemas = Schemas::new("t.yaml", &root);
        let mut conversion = Conversion::new(&schemas, Mode::Input);
        conversion.enter("body");
        conversion
            .convert(
                &json!({"type": "object", "properties": {"pets": {"type": "array", "items": {"$ref": "#/components/schemas/Pet"}}}}),
                &Pointer::root().join("x"),
            )
            .unwrap();
        let notes = conversion.take_notes();
        assert_eq!(notes.len(), 1);
        assert_eq!(&*notes[0].at, "body.pets[]");
        assert_eq!(notes[0].kind, "read_only_dropped");
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
        assert_eq!(
            v,
            json!({"anyOf": [{"type": "string"}, {"type": "null"}], "description": "d"})
        );
    }
}
