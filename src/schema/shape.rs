//! Client-safe shaping of schemas, shared by the JSON Schema conversion
//! ([`crate::schema::convert`]) and the Rust type generator ([`crate::schema::typegen`]), so the
//! schema a client is shown and the type the generated server parses arguments into are decided in
//! one place and always agree. It works on the spec's own (OpenAPI-dialect) schema objects, one
//! node at a time, before conversion:
//!
//! 1. `allOf` is merged into one schema where that is sound: `type`s intersected, `properties` and
//!    `required` united (a property defined twice becomes the `allOf` of both definitions, merged
//!    in turn when its own turn comes), bounds tightened, `enum`s intersected. Where the members
//!    contradict each other (two `pattern`s, disjoint types, an `additionalProperties` that would
//!    reject another member's properties) the `allOf` is kept as it is — it only ever stays inside
//!    a property, because the tool's `inputSchema` root is always built as a plain object.
//!    `allOf: [{$ref}]` with annotations only becomes that `$ref` with the annotations beside it.
//!    A `$ref` member is copied in unless its target lies on a reference cycle (copying it would
//!    unroll the cycle once per use) or is larger than [`INLINE_LIMIT`]; such members stay in a
//!    smaller `allOf` of `$ref`s beside the merged part.
//! 2. A `discriminator` beside `oneOf`/`anyOf` becomes a `oneOf` whose every branch is the member
//!    plus `{properties: {<property>: {const: <value>}}, required: [<property>]}` (merged by step 1
//!    when the branch itself is shaped). Values come from `mapping`; a member no mapping entry
//!    names takes the value its own schema fixes (a `const` or string `enum` on the property), else
//!    its schema name — OpenAPI's implicit mapping. A schema that is both a discriminated union and
//!    the `allOf` base of its members (`Cat: allOf [Pet]`, `Pet: oneOf [Cat, Dog]`) contributes
//!    only its own properties to the members; its union is not copied into them.
//! 3. Properties marked `readOnly` are left out of inputs, `writeOnly` ones out of outputs (and out
//!    of `required`), whether the flag sits on the property, on a `$ref` target or on an `allOf`
//!    member.
//!
//! Schemas copied out of their place carry their JSON pointer under [`ORIGIN`], so errors and
//! warnings about them still name the node in the spec.

use crate::error::Result;
use crate::pointer::Pointer;
use crate::schema::refs::{INLINE_LIMIT, MAX_DEPTH, Schemas};
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Which side of a call a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Tool arguments (request parameters and bodies): `readOnly` properties are left out.
    #[default]
    Input,
    /// Tool results (responses): `writeOnly` properties are left out.
    Output,
}

impl Mode {
    /// The index of this side of the call in the per-side caches of
    /// [`Schemas`](crate::schema::refs::Schemas): a node converts differently for inputs
    /// (`readOnly` left out) and outputs (`writeOnly` left out).
    pub(super) fn side(self) -> usize {
        match self {
            Mode::Input => 0,
            Mode::Output => 1,
        }
    }
}

/// Key under which a schema copied out of its place records its JSON pointer in the spec. An
/// `x-` key, so the conversion's keyword allow-list and the type generator both ignore it.
pub const ORIGIN: &str = "x-mcpgen-origin";

/// Marks an `allOf` the shaping itself built (a discriminator branch, a property two members
/// define): merging it is part of a simplification already noted, so it is not noted again.
const SYNTHETIC: &str = "x-mcpgen-synthetic";

/// An `allOf` of two schemas, built by the shaping.
fn both(a: Value, b: Value) -> Value {
    serde_json::json!({"allOf": [a, b], SYNTHETIC: true})
}

/// The spec location a (copied) schema records, if any.
pub fn origin(v: &Value) -> Option<Pointer> {
    v.get(ORIGIN)
        .and_then(Value::as_str)
        .and_then(Pointer::parse)
}

/// One simplification applied while shaping a schema node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// Stable machine-readable kind (`allof_merged`, `read_only_dropped`, ...).
    pub kind: &'static str,
    pub detail: String,
}

/// A discriminated union made by step 2: the tag property and each branch's tag values (empty
/// when the branch has none).
#[derive(Debug, Clone)]
pub struct Union {
    pub property: String,
    pub values: Vec<Vec<String>>,
}

/// What step 2 made of a discriminated union: the `oneOf` schema, its tags, and the note.
type Discriminated = (Map<String, Value>, Union, Note);

/// A schema node as tools see it.
pub struct Shaped<'v> {
    pub schema: Cow<'v, Map<String, Value>>,
    pub notes: Vec<Note>,
    pub union: Option<Union>,
}

/// Keys that say something about a schema without constraining it (or that the conversion drops).
fn is_annotation(k: &str) -> bool {
    k.starts_with("x-")
        || matches!(
            k,
            "title"
                | "description"
                | "default"
                | "deprecated"
                | "readOnly"
                | "writeOnly"
                | "examples"
                | "example"
                | "externalDocs"
                | "xml"
                | "$comment"
                | "$schema"
                | "$id"
        )
}

fn annotation_only(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.keys().all(|k| is_annotation(k)),
        Value::Bool(true) => true,
        _ => false,
    }
}

/// `v` with its spec location recorded (objects only; one already recorded is kept).
fn tagged(v: &Value, at: &Pointer) -> Value {
    match v {
        Value::Object(m) if !m.contains_key(ORIGIN) => {
            let mut m = m.clone();
            m.insert(ORIGIN.into(), Value::String(at.to_string()));
            Value::Object(m)
        }
        _ => v.clone(),
    }
}

/// JSON nodes in `v`, not following references, counting up to `limit + 1`.
fn node_size(v: &Value, limit: usize) -> usize {
    let mut n = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        n += 1;
        if n > limit {
            break;
        }
        match v {
            Value::Object(m) => stack.extend(m.values()),
            Value::Array(a) => stack.extend(a.iter()),
            _ => {}
        }
    }
    n
}

/// A member of an `allOf`, flattened: either keywords to merge, or a reference kept as it is.
enum Part {
    Keywords {
        map: Map<String, Value>,
        at: Pointer,
        outer: bool,
    },
    Kept {
        member: Value,
        why: String,
    },
}

/// What merging an `allOf` gave.
enum Merge {
    /// One schema (with an `allOf` of the references that could not be copied), and notes.
    Merged(Map<String, Value>, Vec<Note>),
    /// Not mergeable: why.
    Kept(String),
}

/// Keywords whose values must be equal across members (else the `allOf` is kept).
const EQUAL_KEYWORDS: &[&str] = &[
    "format",
    "pattern",
    "multipleOf",
    "contentEncoding",
    "contentMediaType",
    "dependentRequired",
    "const",
];
/// Lower bounds: the merged value is the largest.
const LOWER_BOUNDS: &[&str] = &["minLength", "minItems", "minProperties", "minContains"];
/// Upper bounds: the merged value is the smallest.
const UPPER_BOUNDS: &[&str] = &["maxLength", "maxItems", "maxProperties", "maxContains"];
/// Schema-valued keywords two members may both have: the merged value is their `allOf`.
const CONJUNCTIVE: &[&str] = &["items", "propertyNames"];
/// Keywords at most one member may have.
const SINGLE: &[&str] = &[
    "oneOf",
    "anyOf",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "prefixItems",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentSchema",
];
/// Map-of-schema keywords: united, a key in several members becomes the `allOf` of its schemas.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "dependentSchemas"];

/// Shapes one schema object (not a bare `$ref`) found at `at` for `mode`. The result may be a
/// `$ref` with annotations beside it (an `allOf` of one reference), which the caller then treats
/// as a reference.
pub fn shape<'v>(
    schemas: &Schemas,
    obj: &'v Map<String, Value>,
    at: &Pointer,
    mode: Mode,
) -> Result<Shaped<'v>> {
    Shaper { schemas }.shape(obj, at, mode)
}

/// The shaping of schema nodes of one document.
struct Shaper<'s, 'a> {
    schemas: &'s Schemas<'a>,
}

impl Shaper<'_, '_> {
    fn shape<'v>(
        &self,
        obj: &'v Map<String, Value>,
        at: &Pointer,
        mode: Mode,
    ) -> Result<Shaped<'v>> {
        let mut cur: Cow<'v, Map<String, Value>> = Cow::Borrowed(obj);
        let mut notes = Vec::new();
        let mut union = None;
        if matches!(cur.get("allOf"), Some(Value::Array(_))) {
            match self.merge_all_of(&cur, at)? {
                Merge::Merged(m, n) => {
                    let synthetic = cur.get(SYNTHETIC) == Some(&Value::Bool(true));
                    notes.extend(
                        n.into_iter()
                            .filter(|n| !(synthetic && n.kind == "allof_merged")),
                    );
                    cur = Cow::Owned(m);
                }
                Merge::Kept(why) => notes.push(Note {
                    kind: "allof_kept",
                    detail: format!("allOf kept as it is: {why}"),
                }),
            }
        }
        if !cur.contains_key("$ref")
            && let Some((m, u, note)) = self.discriminated(&cur, at)?
        {
            notes.push(note);
            union = Some(u);
            cur = Cow::Owned(m);
        }
        let (flag, side, kind) = match mode {
            Mode::Input => ("readOnly", "input", "read_only_dropped"),
            Mode::Output => ("writeOnly", "output", "write_only_dropped"),
        };
        if let Some(Value::Object(props)) = cur.get("properties") {
            let dropped: Vec<String> = props
                .iter()
                .filter(|(_, p)| self.has_flag(p, flag, 0))
                .map(|(k, _)| k.clone())
                .collect();
            if !dropped.is_empty() {
                let m = cur.to_mut();
                if let Some(Value::Object(props)) = m.get_mut("properties") {
                    for d in &dropped {
                        props.remove(d);
                    }
                }
                if let Some(Value::Array(req)) = m.get_mut("required") {
                    req.retain(|r| !r.as_str().is_some_and(|r| dropped.iter().any(|d| d == r)));
                    if req.is_empty() {
                        m.remove("required");
                    }
                }
                for d in dropped {
                    notes.push(Note {
                        kind,
                        detail: format!("{flag} property `{d}` left out of the {side}"),
                    });
                }
            }
        }
        Ok(Shaped {
            schema: cur,
            notes,
            union,
        })
    }

    /// Whether `v` (or what it references, or an `allOf` member of it) sets `flag: true`.
    fn has_flag(&self, v: &Value, flag: &str, depth: usize) -> bool {
        if depth > 16 {
            return false;
        }
        let Some(m) = v.as_object() else {
            return false;
        };
        if m.get(flag) == Some(&Value::Bool(true)) {
            return true;
        }
        if let Some(p) = m
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(Pointer::from_ref)
            && let Some(t) = self.schemas.find(&p)
            && self.has_flag(t, flag, depth + 1)
        {
            return true;
        }
        match m.get("allOf") {
            Some(Value::Array(all)) => all.iter().any(|a| self.has_flag(a, flag, depth + 1)),
            _ => false,
        }
    }

    /// Step 1: merges `obj`'s `allOf` (and `obj`'s own keywords) into one schema.
    fn merge_all_of(&self, obj: &Map<String, Value>, at: &Pointer) -> Result<Merge> {
        let Some(Value::Array(members)) = obj.get("allOf") else {
            return Ok(Merge::Kept("not an array".into()));
        };
        // `allOf: [{$ref: X}]` plus annotations (and 3.0 `nullable`): the reference itself, with
        // the annotations beside it, as OpenAPI 3.1 allows and 3.0 authors mean.
        let outer_plain = obj
            .keys()
            .all(|k| k == "allOf" || k == "nullable" || k == "discriminator" || is_annotation(k));
        let substantive: Vec<usize> = (0..members.len())
            .filter(|i| !annotation_only(&members[*i]))
            .collect();
        if outer_plain
            && let [only] = substantive[..]
            && let Some(m) = members[only].as_object()
            && let Some(r) = m.get("$ref")
            && m.keys().all(|k| k == "$ref" || is_annotation(k))
        {
            let mut out = Map::new();
            out.insert("$ref".into(), r.clone());
            for (k, v) in obj {
                if k != "allOf" && k != "discriminator" {
                    out.insert(k.clone(), v.clone());
                }
            }
            for member in members.iter().filter_map(Value::as_object) {
                for (k, v) in member {
                    if is_annotation(k) && k != ORIGIN {
                        out.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            let member_at = origin(&members[only]).unwrap_or_else(|| at.join("allOf").join(only));
            out.insert(ORIGIN.into(), Value::String(member_at.to_string()));
            return Ok(Merge::Merged(out, Vec::new()));
        }

        let mut outer = obj.clone();
        outer.remove("allOf");
        let mut parts = vec![Part::Keywords {
            map: outer,
            at: at.clone(),
            outer: true,
        }];
        let mut visited = vec![at.clone()];
        for (i, m) in members.iter().enumerate() {
            let member_at = origin(m).unwrap_or_else(|| at.join("allOf").join(i));
            if let Some(why) = self.collect(m, &member_at, 0, &mut visited, &mut parts)? {
                return Ok(Merge::Kept(why));
            }
        }
        let members_merged = parts
            .iter()
            .filter(|p| matches!(p, Part::Keywords { outer: false, .. }))
            .count();
        let mut merged = Map::new();
        let mut st = MergeState::default();
        let mut kept = Vec::new();
        let mut notes = Vec::new();
        for p in parts {
            match p {
                Part::Keywords { map, at, outer } => {
                    if let Err(why) = merge_part(&mut merged, &map, &at, outer, &mut st) {
                        return Ok(Merge::Kept(why));
                    }
                }
                Part::Kept { member, why } => {
                    notes.push(Note {
                        kind: "allof_ref_kept",
                        detail: format!(
                            "allOf member `{}` kept as a reference: {why}",
                            member.get("$ref").and_then(Value::as_str).unwrap_or("?")
                        ),
                    });
                    kept.push(member);
                }
            }
        }
        if let Err(why) = st.finish(&mut merged) {
            return Ok(Merge::Kept(why));
        }
        if !kept.is_empty() {
            merged.insert("allOf".into(), Value::Array(kept));
        }
        if members_merged > 0 {
            notes.insert(
                0,
                Note {
                    kind: "allof_merged",
                    detail: format!(
                        "allOf merged ({members_merged} schema{})",
                        if members_merged == 1 { "" } else { "s" }
                    ),
                },
            );
        }
        Ok(Merge::Merged(merged, notes))
    }

    /// Flattens one `allOf` member into `parts`, following references and nested `allOf`s.
    /// Returns why the `allOf` cannot be merged, if it cannot.
    fn collect(
        &self,
        m: &Value,
        at: &Pointer,
        depth: usize,
        visited: &mut Vec<Pointer>,
        parts: &mut Vec<Part>,
    ) -> Result<Option<String>> {
        self.collect_inner(m, at, depth, visited, parts, false)
    }

    /// [`Self::collect`]; `on_cycle`: `m` is a referenced schema on a reference cycle, so a
    /// discriminated union in it is a base's union over its own extensions (`Cat: allOf [Pet]`,
    /// `Pet: oneOf [Cat, Dog]`) and only its own keywords are inherited.
    fn collect_inner(
        &self,
        m: &Value,
        at: &Pointer,
        depth: usize,
        visited: &mut Vec<Pointer>,
        parts: &mut Vec<Part>,
        on_cycle: bool,
    ) -> Result<Option<String>> {
        if depth > MAX_DEPTH {
            return Ok(Some("members nested too deeply".into()));
        }
        let obj = match m {
            Value::Object(o) => o,
            Value::Bool(true) => return Ok(None),
            Value::Bool(false) => return Ok(Some("a member is `false`".into())),
            _ => return Ok(None),
        };
        if let Some(r) = obj.get("$ref") {
            let Some(r) = r.as_str() else {
                return Ok(Some("a `$ref` that is not a string".into()));
            };
            if Pointer::from_ref(r).is_none() {
                return Ok(Some(format!("`{r}` is not a local reference")));
            }
            let (tp, target) = self.schemas.resolve(m, at)?;
            let mut siblings = obj.clone();
            siblings.remove("$ref");
            let keep = |why: &str| Part::Kept {
                member: Value::Object(Map::from_iter([(
                    "$ref".to_string(),
                    Value::String(r.into()),
                )])),
                why: why.to_string(),
            };
            if visited.contains(&tp) {
                return Ok(Some(format!(
                    "`{r}` refers back to the schema being merged"
                )));
            }
            if node_size(target, INLINE_LIMIT) > INLINE_LIMIT {
                parts.push(keep("it is too large to copy"));
            } else if self.schemas.is_recursive(&tp) && !self.copy_is_acyclic(target, &tp, 0) {
                parts.push(keep("it lies on a reference cycle"));
            } else {
                visited.push(tp.clone());
                let base = self.schemas.is_recursive(&tp);
                let why = self.collect_inner(target, &tp, depth + 1, visited, parts, base)?;
                visited.pop();
                if why.is_some() {
                    return Ok(why);
                }
            }
            if siblings.keys().any(|k| !is_annotation(k)) {
                parts.push(Part::Keywords {
                    map: siblings,
                    at: at.clone(),
                    outer: false,
                });
            }
            return Ok(None);
        }
        let mut map = obj.clone();
        let nested = map.remove("allOf");
        if on_cycle && map.contains_key("discriminator") {
            map.remove("discriminator");
            map.remove("oneOf");
            map.remove("anyOf");
        }
        parts.push(Part::Keywords {
            map,
            at: at.clone(),
            outer: false,
        });
        if let Some(Value::Array(nested)) = nested {
            for (i, n) in nested.iter().enumerate() {
                let nat = origin(n).unwrap_or_else(|| at.join("allOf").join(i));
                if let Some(why) = self.collect(n, &nat, depth + 1, visited, parts)? {
                    return Ok(Some(why));
                }
            }
        }
        Ok(None)
    }

    /// Whether copying `target` (a schema on a reference cycle, at `tp`) into another schema is
    /// safe: the copy — its own keywords and its `allOf` members, with any discriminated union
    /// left out as [`Self::collect`] does — references nothing on a cycle, so the copy cannot be
    /// unrolled again and again.
    fn copy_is_acyclic(&self, target: &Value, tp: &Pointer, depth: usize) -> bool {
        if depth > 16 {
            return false;
        }
        let Some(obj) = target.as_object() else {
            return true;
        };
        if let Some(p) = obj
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(Pointer::from_ref)
        {
            if p == *tp {
                return false;
            }
            let Some(t) = self.schemas.find(&p) else {
                return false;
            };
            return (!self.schemas.is_recursive(&p) || self.copy_is_acyclic(t, tp, depth + 1))
                && obj
                    .iter()
                    .filter(|(k, _)| *k != "$ref")
                    .all(|(_, v)| !self.refs_a_cycle(v, 0));
        }
        let union = obj.contains_key("discriminator");
        obj.iter().all(|(k, v)| match k.as_str() {
            "allOf" => v
                .as_array()
                .is_some_and(|a| a.iter().all(|m| self.copy_is_acyclic(m, tp, depth + 1))),
            "discriminator" => true,
            "oneOf" | "anyOf" if union => true,
            _ => !self.refs_a_cycle(v, 0),
        })
    }

    /// Whether `v` contains a `$ref` to a schema on a reference cycle.
    fn refs_a_cycle(&self, v: &Value, depth: usize) -> bool {
        if depth > 256 {
            return true;
        }
        match v {
            Value::Object(m) => {
                m.get("$ref")
                    .and_then(Value::as_str)
                    .and_then(Pointer::from_ref)
                    .is_some_and(|p| self.schemas.is_recursive(&p))
                    || m.values().any(|c| self.refs_a_cycle(c, depth + 1))
            }
            Value::Array(a) => a.iter().any(|c| self.refs_a_cycle(c, depth + 1)),
            _ => false,
        }
    }

    /// Step 2: a `discriminator` beside `oneOf`/`anyOf` → `oneOf` with the tag as `const`.
    fn discriminated(
        &self,
        obj: &Map<String, Value>,
        at: &Pointer,
    ) -> Result<Option<Discriminated>> {
        let Some(d) = obj.get("discriminator").and_then(Value::as_object) else {
            return Ok(None);
        };
        let Some(property) = d.get("propertyName").and_then(Value::as_str) else {
            return Ok(None);
        };
        let (key, members) = match (obj.get("oneOf"), obj.get("anyOf")) {
            (Some(Value::Array(m)), _) => ("oneOf", m),
            (_, Some(Value::Array(m))) => ("anyOf", m),
            _ => return Ok(None),
        };
        // mapping: value → the schema it names (a final pointer, after any `$ref` chain).
        let mut mapping: Vec<(String, Pointer)> = Vec::new();
        if let Some(Value::Object(map)) = d.get("mapping") {
            for (value, target) in map {
                let Some(target) = target.as_str() else {
                    continue;
                };
                let pointer = if target.starts_with('#') {
                    Pointer::from_ref(target)
                } else if !target.contains('/') && !target.contains('.') {
                    Some(
                        Pointer::root()
                            .join("components")
                            .join("schemas")
                            .join(target),
                    )
                } else {
                    None
                };
                if let Some(p) = pointer.and_then(|p| self.final_pointer(&p)) {
                    mapping.push((value.clone(), p));
                }
            }
        }
        let components = Pointer::root().join("components").join("schemas");
        let mut branches = Vec::with_capacity(members.len());
        let mut values = Vec::with_capacity(members.len());
        let mut described = Vec::new();
        for (i, m) in members.iter().enumerate() {
            let member_at = origin(m).unwrap_or_else(|| at.join(key).join(i));
            let reference = m.get("$ref").and_then(Value::as_str);
            let target = reference
                .and_then(Pointer::from_ref)
                .and_then(|p| self.final_pointer(&p));
            let mapped: Vec<String> = match &target {
                Some(t) => mapping
                    .iter()
                    .filter(|(_, p)| p == t)
                    .map(|(v, _)| v.clone())
                    .collect(),
                None => Vec::new(),
            };
            let own = self.fixed_values(m, &member_at, property)?;
            let implicit = || {
                reference
                    .and_then(Pointer::from_ref)
                    .filter(|p| p.parent().as_ref() == Some(&components))
                    .and_then(|p| p.last())
                    .map(|n| vec![n])
                    .unwrap_or_default()
            };
            let vs = match (mapped.is_empty(), own) {
                (false, Some(own)) => {
                    let both: Vec<String> =
                        mapped.iter().filter(|v| own.contains(v)).cloned().collect();
                    if both.is_empty() { own } else { both }
                }
                (false, None) => mapped,
                (true, Some(own)) => own,
                (true, None) => implicit(),
            };
            if vs.is_empty() {
                branches.push(m.clone());
                described.push("(no value)".to_string());
            } else {
                let tag_schema = if let [one] = &vs[..] {
                    serde_json::json!({"type": "string", "const": one})
                } else {
                    serde_json::json!({"type": "string", "enum": vs})
                };
                let mut tag = Map::new();
                tag.insert("type".into(), Value::String("object".into()));
                tag.insert(
                    "properties".into(),
                    Value::Object(Map::from_iter([(property.to_string(), tag_schema)])),
                );
                tag.insert(
                    "required".into(),
                    Value::Array(vec![Value::String(property.to_string())]),
                );
                let mut branch = both(tagged(m, &member_at), Value::Object(tag));
                if let Value::Object(b) = &mut branch {
                    b.insert(ORIGIN.into(), Value::String(member_at.to_string()));
                }
                branches.push(branch);
                described.push(vs.join("|"));
            }
            values.push(vs);
        }
        let mut out = obj.clone();
        out.remove("discriminator");
        out.remove("anyOf");
        out.insert("oneOf".into(), Value::Array(branches));
        let note = Note {
            kind: "discriminator_one_of",
            detail: format!(
                "discriminator `{property}` → oneOf with `{property}` as const ({})",
                described.join(", ")
            ),
        };
        Ok(Some((
            out,
            Union {
                property: property.to_string(),
                values,
            },
            note,
        )))
    }

    /// The pointer a `$ref` chain starting at `p` ends at.
    fn final_pointer(&self, p: &Pointer) -> Option<Pointer> {
        let mut p = p.clone();
        for _ in 0..MAX_DEPTH {
            let t = self.schemas.find(&p)?;
            match t
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(Pointer::from_ref)
            {
                Some(next) => p = next,
                None => return Some(p),
            }
        }
        None
    }

    /// The string values a union member's own schema fixes for `property` (`const`, or an
    /// `enum` of strings), looking through references and `allOf` members.
    fn fixed_values(&self, m: &Value, at: &Pointer, property: &str) -> Result<Option<Vec<String>>> {
        self.fixed_values_at(m, at, property, 0)
    }

    fn fixed_values_at(
        &self,
        m: &Value,
        at: &Pointer,
        property: &str,
        depth: usize,
    ) -> Result<Option<Vec<String>>> {
        if depth > 16 {
            return Ok(None);
        }
        let (at, m) = self.schemas.resolve(m, at)?;
        if let Some(prop) = m.get("properties").and_then(|ps| ps.get(property)) {
            let (_, prop) = self.schemas.resolve(prop, &at.join("properties"))?;
            if let Some(Value::String(c)) = prop.get("const") {
                return Ok(Some(vec![c.clone()]));
            }
            if let Some(Value::Array(e)) = prop.get("enum") {
                let strings: Vec<String> = e
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                if !strings.is_empty() && strings.len() == e.len() {
                    return Ok(Some(strings));
                }
            }
        }
        if let Some(Value::Array(all)) = m.get("allOf") {
            for (i, a) in all.iter().enumerate() {
                if let Some(v) =
                    self.fixed_values_at(a, &at.join("allOf").join(i), property, depth + 1)?
                {
                    return Ok(Some(v));
                }
            }
        }
        Ok(None)
    }
}

/// What merging needs to remember across members.
#[derive(Default)]
struct MergeState {
    /// `type` sets seen (each member's list, `null` included for 3.1 type arrays).
    types: Option<Vec<String>>,
    /// 3.0 `nullable`: on the outer schema; whether every typed member is nullable; any is.
    outer_nullable: bool,
    typed_not_nullable: bool,
    some_nullable: bool,
    /// Members' `additionalProperties` (other than `true`) with the properties they name.
    additional: Vec<(Value, Vec<String>, Pointer)>,
    /// Whether a 3.0 boolean `exclusiveMinimum`/`exclusiveMaximum` was seen.
    boolean_exclusive: bool,
}

impl MergeState {
    fn finish(&mut self, merged: &mut Map<String, Value>) -> std::result::Result<(), String> {
        if let Some(types) = self.types.take() {
            match types.len() {
                0 => return Err("the members' `type`s have nothing in common".into()),
                1 => {
                    merged.insert("type".into(), Value::String(types[0].clone()));
                }
                _ => {
                    merged.insert(
                        "type".into(),
                        Value::Array(types.into_iter().map(Value::String).collect()),
                    );
                }
            }
        }
        if self.outer_nullable || (self.some_nullable && !self.typed_not_nullable) {
            merged.insert("nullable".into(), Value::Bool(true));
        } else {
            merged.remove("nullable");
        }
        let names: Vec<String> = merged
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let patterns = merged.contains_key("patternProperties");
        let mut combined: Option<Value> = None;
        for (ap, own, at) in std::mem::take(&mut self.additional) {
            if patterns || names.iter().any(|n| !own.contains(n)) {
                return Err(format!(
                    "the `additionalProperties` at #{at} would reject properties other members define"
                ));
            }
            combined = Some(match combined {
                None => ap,
                Some(prev) if prev == ap => prev,
                Some(Value::Bool(false)) => Value::Bool(false),
                Some(_) if ap == Value::Bool(false) => Value::Bool(false),
                Some(prev) => both(prev, ap),
            });
        }
        if let Some(ap) = combined {
            merged.insert("additionalProperties".into(), ap);
        }
        if let (Some(c), Some(Value::Array(e))) = (merged.get("const"), merged.get("enum")) {
            if !e.contains(c) {
                return Err("`const` is not among the `enum` values".into());
            }
            merged.remove("enum");
        }
        Ok(())
    }
}

/// Merges one member's keywords into `merged`. `Err` says why the `allOf` cannot be merged.
fn merge_part(
    merged: &mut Map<String, Value>,
    part: &Map<String, Value>,
    at: &Pointer,
    outer: bool,
    st: &mut MergeState,
) -> std::result::Result<(), String> {
    let typed = part.contains_key("type");
    match part.get("nullable") {
        Some(Value::Bool(true)) if outer => st.outer_nullable = true,
        Some(Value::Bool(true)) => st.some_nullable = true,
        _ if typed => st.typed_not_nullable = true,
        _ => {}
    }
    let own_props: Vec<String> = part
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    for (k, v) in part {
        let k = k.as_str();
        match k {
            "nullable" | "allOf" | "$ref" | "$defs" | "definitions" | "$schema" | "$id" => {}
            "discriminator" => {
                if merged.contains_key(k) {
                    return Err("several members have a `discriminator`".into());
                }
                merged.insert(k.into(), v.clone());
            }
            // A 3.0 boolean exclusive bound means nothing without its bound beside it.
            "exclusiveMinimum" if v.is_boolean() && !part.contains_key("minimum") => {}
            "exclusiveMaximum" if v.is_boolean() && !part.contains_key("maximum") => {}
            "readOnly" | "writeOnly" | "deprecated" | "uniqueItems" => {
                if v == &Value::Bool(true) {
                    merged.insert(k.into(), Value::Bool(true));
                } else {
                    merged.entry(k).or_insert_with(|| v.clone());
                }
            }
            "title" | "description" | "default" | "example" | "examples" => {
                merged.entry(k).or_insert_with(|| v.clone());
            }
            _ if is_annotation(k) => {}
            "type" => {
                let mut these: Vec<String> = match v {
                    Value::String(t) => vec![t.clone()],
                    Value::Array(ts) => ts
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                    _ => continue,
                };
                these.dedup();
                st.types = Some(match st.types.take() {
                    None => these,
                    Some(prev) => intersect_types(&prev, &these),
                });
            }
            "required" => {
                let Value::Array(names) = v else { continue };
                let entry = merged
                    .entry("required")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(req) = entry {
                    for n in names.iter().filter(|n| n.is_string()) {
                        if !req.contains(n) {
                            req.push(n.clone());
                        }
                    }
                }
            }
            k if SCHEMA_MAPS.contains(&k) => {
                let Value::Object(map) = v else { continue };
                let entry = merged.entry(k).or_insert_with(|| Value::Object(Map::new()));
                let Value::Object(into) = entry else { continue };
                for (name, schema) in map {
                    let schema = tagged(schema, &at.join(k).join(name));
                    match into.get_mut(name) {
                        None => {
                            into.insert(name.clone(), schema);
                        }
                        Some(prev) if strip_origin(prev) == strip_origin(&schema) => {}
                        Some(prev) => {
                            let earlier = std::mem::take(prev);
                            *prev = both(earlier, schema);
                        }
                    }
                }
            }
            "additionalProperties" => match v {
                Value::Bool(true) => {}
                Value::Object(m) if m.is_empty() => {}
                _ => st.additional.push((
                    tagged(v, &at.join("additionalProperties")),
                    own_props.clone(),
                    at.clone(),
                )),
            },
            "enum" => {
                let Value::Array(vals) = v else { continue };
                let next = match merged.get("enum") {
                    Some(Value::Array(prev)) => {
                        prev.iter().filter(|p| vals.contains(p)).cloned().collect()
                    }
                    _ => vals.clone(),
                };
                if next.is_empty() {
                    return Err("the members' `enum`s have no value in common".into());
                }
                merged.insert("enum".into(), Value::Array(next));
            }
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {
                if v.is_boolean() {
                    st.boolean_exclusive = true;
                }
                match merged.get(k) {
                    None => {
                        merged.insert(k.into(), v.clone());
                    }
                    Some(prev) if prev == v => {}
                    Some(prev) => {
                        let (Some(a), Some(b)) = (prev.as_f64(), v.as_f64()) else {
                            return Err(format!("the members disagree on `{k}`"));
                        };
                        if st.boolean_exclusive {
                            return Err(format!("the members disagree on `{k}`"));
                        }
                        let lower = k == "minimum" || k == "exclusiveMinimum";
                        let pick_new = if lower { b > a } else { b < a };
                        if pick_new {
                            merged.insert(k.into(), v.clone());
                        }
                    }
                }
            }
            k if LOWER_BOUNDS.contains(&k) || UPPER_BOUNDS.contains(&k) => {
                let lower = LOWER_BOUNDS.contains(&k);
                match (merged.get(k).and_then(Value::as_f64), v.as_f64()) {
                    (Some(a), Some(b)) if (lower && b <= a) || (!lower && b >= a) => {}
                    _ => {
                        merged.insert(k.into(), v.clone());
                    }
                }
            }
            k if EQUAL_KEYWORDS.contains(&k) => match merged.get(k) {
                None => {
                    merged.insert(k.into(), v.clone());
                }
                Some(prev) if prev == v => {}
                Some(_) => return Err(format!("the members disagree on `{k}`")),
            },
            k if CONJUNCTIVE.contains(&k) => {
                let v = tagged(v, &at.join(k));
                match merged.get_mut(k) {
                    None => {
                        merged.insert(k.into(), v);
                    }
                    Some(prev) if strip_origin(prev) == strip_origin(&v) => {}
                    Some(prev) => {
                        let earlier = std::mem::take(prev);
                        *prev = both(earlier, v);
                    }
                }
            }
            k if SINGLE.contains(&k) => {
                if merged.contains_key(k)
                    || (matches!(k, "if" | "then" | "else")
                        && ["if", "then", "else"]
                            .iter()
                            .any(|o| *o != k && merged.contains_key(*o) && !part.contains_key(*o)))
                {
                    return Err(format!("several members have `{k}`"));
                }
                let v = match v {
                    Value::Array(list) => Value::Array(
                        list.iter()
                            .enumerate()
                            .map(|(i, s)| tagged(s, &at.join(k).join(i)))
                            .collect(),
                    ),
                    other => tagged(other, &at.join(k)),
                };
                merged.insert(k.into(), v);
            }
            // Anything else is no 2020-12 keyword the conversion copies: dropped there anyway.
            _ => {}
        }
    }
    Ok(())
}

/// `v` without the [`ORIGIN`] record at its root, for comparing definitions.
fn strip_origin(v: &Value) -> Cow<'_, Value> {
    match v {
        Value::Object(m) if m.contains_key(ORIGIN) => {
            let mut m = m.clone();
            m.remove(ORIGIN);
            Cow::Owned(Value::Object(m))
        }
        _ => Cow::Borrowed(v),
    }
}

/// The types two members both allow (`integer` is a `number`).
fn intersect_types(a: &[String], b: &[String]) -> Vec<String> {
    let allows = |set: &[String], t: &str| {
        set.iter()
            .any(|s| s == t || (t == "integer" && s == "number"))
    };
    let mut out: Vec<String> = Vec::new();
    for t in a.iter().chain(b) {
        if allows(a, t) && allows(b, t) && !out.contains(t) {
            out.push(t.clone());
        }
    }
    if out.iter().any(|t| t == "integer") {
        out.retain(|t| t != "number");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pointer::Pointer;
    use serde_json::json;

    fn shape_json(root: &Value, s: Value, mode: Mode) -> (Value, Vec<&'static str>) {
        let schemas = Schemas::new("t.yaml", root);
        let obj = s.as_object().unwrap();
        let shaped = shape(&schemas, obj, &Pointer::root().join("x"), mode).unwrap();
        let mut v = Value::Object(shaped.schema.into_owned());
        strip_origins(&mut v);
        (v, shaped.notes.iter().map(|n| n.kind).collect())
    }

    fn strip_origins(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.remove(ORIGIN);
                m.remove(SYNTHETIC);
                m.values_mut().for_each(strip_origins);
            }
            Value::Array(a) => a.iter_mut().for_each(strip_origins),
            _ => {}
        }
    }

    #[test]
    fn all_of_objects_merge() {
        let root = json!({"components": {"schemas": {
            "Base": {"type": "object", "required": ["id"], "description": "base",
                     "properties": {"id": {"type": "integer"}, "name": {"type": "string", "maxLength": 10}}}
        }}});
        let (v, notes) = shape_json(
            &root,
            json!({"allOf": [
                {"$ref": "#/components/schemas/Base"},
                {"type": "object", "required": ["tag"],
                 "properties": {"tag": {"type": "string"}, "name": {"type": "string", "maxLength": 5}}}
            ]}),
            Mode::Output,
        );
        assert_eq!(notes, ["allof_merged"]);
        assert_eq!(v["type"], "object");
        assert_eq!(v["required"], json!(["id", "tag"]));
        assert_eq!(v["description"], "base");
        assert_eq!(
            v["properties"]["name"],
            json!({"allOf": [{"type": "string", "maxLength": 10}, {"type": "string", "maxLength": 5}]})
        );
        // The property defined twice merges in its own turn.
        let schemas = Schemas::new("t.yaml", &root);
        let name = v["properties"]["name"].as_object().unwrap();
        let shaped = shape(&schemas, name, &Pointer::root().join("n"), Mode::Output).unwrap();
        assert_eq!(
            Value::Object(shaped.schema.into_owned()),
            json!({"type": "string", "maxLength": 5})
        );
    }

    #[test]
    fn conflicts_keep_all_of() {
        let root = json!({});
        for (s, why) in [
            (
                json!({"allOf": [{"type": "string"}, {"type": "integer"}]}),
                "type",
            ),
            (
                json!({"allOf": [{"pattern": "a"}, {"pattern": "b"}]}),
                "pattern",
            ),
            (
                json!({"allOf": [
                    {"properties": {"a": {}}, "additionalProperties": false},
                    {"properties": {"b": {}}}
                ]}),
                "additionalProperties",
            ),
            (json!({"allOf": [{"enum": [1]}, {"enum": [2]}]}), "enum"),
        ] {
            let schemas = Schemas::new("t.yaml", &root);
            let shaped = shape(
                &schemas,
                s.as_object().unwrap(),
                &Pointer::root().join("x"),
                Mode::Input,
            )
            .unwrap();
            assert!(shaped.schema.contains_key("allOf"), "{s}");
            assert_eq!(shaped.notes[0].kind, "allof_kept");
            assert!(
                shaped.notes[0].detail.contains(why),
                "{}",
                shaped.notes[0].detail
            );
        }
    }

    #[test]
    fn single_ref_all_of_is_the_ref() {
        let root = json!({"components": {"schemas": {"S": {"type": "string"}}}});
        let (v, notes) = shape_json(
            &root,
            json!({"allOf": [{"$ref": "#/components/schemas/S"}], "nullable": true, "description": "d"}),
            Mode::Input,
        );
        assert!(notes.is_empty());
        assert_eq!(
            v,
            json!({"$ref": "#/components/schemas/S", "nullable": true, "description": "d"})
        );
    }

    #[test]
    fn recursive_members_stay_references() {
        let root = json!({"components": {"schemas": {
            "Node": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}}}
        }}});
        let (v, notes) = shape_json(
            &root,
            json!({"allOf": [{"$ref": "#/components/schemas/Node"}, {"required": ["next"]}]}),
            Mode::Input,
        );
        assert_eq!(v["allOf"], json!([{"$ref": "#/components/schemas/Node"}]));
        assert_eq!(v["required"], json!(["next"]));
        assert_eq!(notes, ["allof_merged", "allof_ref_kept"]);
    }

    #[test]
    fn discriminator_becomes_const_branches() {
        let root = json!({"components": {"schemas": {
            "Cat": {"type": "object", "properties": {"petType": {"type": "string"}, "meow": {"type": "boolean"}}},
            "Dog": {"type": "object", "properties": {"petType": {"type": "string"}}},
            "Fox": {"type": "object", "properties": {"petType": {"type": "string", "enum": ["fox"]}}}
        }}});
        let schemas = Schemas::new("t.yaml", &root);
        let s = json!({
            "oneOf": [
                {"$ref": "#/components/schemas/Cat"},
                {"$ref": "#/components/schemas/Dog"},
                {"$ref": "#/components/schemas/Fox"}
            ],
            "discriminator": {"propertyName": "petType", "mapping": {"kitty": "#/components/schemas/Cat"}}
        });
        let shaped = shape(
            &schemas,
            s.as_object().unwrap(),
            &Pointer::root().join("x"),
            Mode::Input,
        )
        .unwrap();
        let u = shaped.union.unwrap();
        assert_eq!(u.property, "petType");
        assert_eq!(u.values, [vec!["kitty"], vec!["Dog"], vec!["fox"]]);
        let branch = shaped.schema["oneOf"][0].as_object().unwrap();
        let merged = shape(&schemas, branch, &Pointer::root().join("b"), Mode::Input).unwrap();
        let mut merged = Value::Object(merged.schema.into_owned());
        strip_origins(&mut merged);
        assert_eq!(merged["required"], json!(["petType"]));
        assert_eq!(
            merged["properties"]["petType"],
            json!({"allOf": [{"type": "string"}, {"type": "string", "const": "kitty"}]})
        );
    }

    #[test]
    fn read_only_and_write_only() {
        let root =
            json!({"components": {"schemas": {"Id": {"type": "integer", "readOnly": true}}}});
        let s = json!({"type": "object", "required": ["id", "pw", "name"], "properties": {
            "id": {"$ref": "#/components/schemas/Id"},
            "pw": {"type": "string", "writeOnly": true},
            "name": {"type": "string"}
        }});
        let (input, notes) = shape_json(&root, s.clone(), Mode::Input);
        assert_eq!(notes, ["read_only_dropped"]);
        assert_eq!(input["required"], json!(["pw", "name"]));
        assert!(input["properties"].get("id").is_none());
        let (output, notes) = shape_json(&root, s, Mode::Output);
        assert_eq!(notes, ["write_only_dropped"]);
        assert_eq!(output["required"], json!(["id", "name"]));
    }

    #[test]
    fn malformed_and_cyclic_shapes_never_panic() {
        let root = json!({"components": {"schemas": {
            "A": {"allOf": [{"$ref": "#/components/schemas/B"}, {"required": ["a"]}]},
            "B": {"allOf": [{"$ref": "#/components/schemas/A"}, {"required": ["b"]}]},
            "Self": {"allOf": [{"$ref": "#/components/schemas/Self"}], "properties": {"x": {}}},
            "U": {"oneOf": [{"$ref": "#/components/schemas/V"}], "discriminator": {"propertyName": "k"}},
            "V": {"allOf": [{"$ref": "#/components/schemas/U"}], "properties": {"k": {"type": "string"}}}
        }}});
        let mut deep = json!({"type": "string"});
        for _ in 0..200 {
            deep = json!({"allOf": [deep, {"minLength": 1}]});
        }
        let cases = [
            json!({"allOf": "x"}),
            json!({"allOf": [1, null, "s", true]}),
            json!({"allOf": [false]}),
            json!({"allOf": [{"$ref": 5}]}),
            json!({"allOf": [{"$ref": "https://example.com/x"}]}),
            json!({"allOf": [{"type": 5}, {"type": ["string", 7]}]}),
            json!({"allOf": [{"required": "a"}, {"properties": []}, {"enum": 3}]}),
            json!({"allOf": [{"minimum": "a"}, {"minimum": 1, "exclusiveMinimum": true}]}),
            json!({"oneOf": [1, {"$ref": "#/components/schemas/A"}], "discriminator": {"propertyName": 5}}),
            json!({"oneOf": [1, {}], "discriminator": {"propertyName": "k", "mapping": {"a": 1, "b": "#/nope", "c": "x/y"}}}),
            json!({"anyOf": [], "discriminator": {"propertyName": "k"}}),
            json!({"$ref": "#/components/schemas/A"}),
            json!({"$ref": "#/components/schemas/Self"}),
            json!({"$ref": "#/components/schemas/U"}),
            json!({"properties": {"p": {"readOnly": true, "$ref": "#/components/schemas/A"}}, "required": [1, "p"]}),
            deep,
        ];
        let schemas = Schemas::new("t.yaml", &root);
        for case in cases {
            let mut conversion = crate::schema::convert::Conversion::new(&schemas, Mode::Input);
            let converted = conversion
                .convert(&case, &Pointer::root().join("x"))
                .and_then(|_| conversion.finish())
                .map(|_| ());
            // A value, or an error that names the node.
            let located = |r: &crate::error::Result<()>| {
                matches!(r, Ok(_) | Err(crate::error::Error::Invalid { .. }))
            };
            assert!(located(&converted), "{case}: {converted:?}");
            let mut types = crate::schema::typegen::TypeGen::new(&schemas);
            let typed = types
                .rust_type(&case, &Pointer::root().join("x"), "T")
                .map(|_| ());
            assert!(located(&typed), "{case}: {typed:?}");
        }
    }

    #[test]
    fn integer_is_a_number() {
        assert_eq!(
            intersect_types(&["number".into()], &["integer".into(), "null".into()]),
            ["integer"]
        );
    }
}
