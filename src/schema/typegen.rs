//! Rust types for argument schemas. A deliberately small generator (see the README for why not
//! `typify`): it emits a type only where Rust represents the schema *without loss*, because
//! arguments are deserialised into these types and serialised again for the upstream request —
//! anything a type cannot hold would be silently dropped or rejected.
//!
//! - objects with `properties` → structs (optional fields skip `None`; open objects keep unknown
//!   properties in a flattened map), string enums → enums, arrays → `Vec`, maps → `BTreeMap`,
//!   `integer` → `i64`, `number` → `f64`, `boolean` → `bool`, `string` → `String`;
//! - nullable → `Option`; a struct field on a reference cycle → `Box`;
//! - a discriminated union (every branch a plain object with one tag value) → an internally tagged
//!   enum (`#[serde(tag = ...)]`) of one struct per branch, without the tag property;
//! - everything else — other `oneOf`/`anyOf`, multi-type unions, non-string enums, an `allOf` that
//!   could not be merged, unconstrained schemas, recursive non-struct schemas — is
//!   `::serde_json::Value`, and the generated code says so in the field's doc comment.
//!
//! Every schema object is shaped by [`crate::schema::shape`] (input side) before it is typed,
//! exactly as the `inputSchema` conversion shapes it: merged `allOf`s become one struct, `readOnly`
//! properties are no fields (a caller who sends one anyway still has it passed through in the
//! flattened map of an open object), and the union's tags are the `const`s the schema shows.
//!
//! Only types reachable from some tool's arguments are emitted, so the generated crate has no dead
//! code.

use crate::error::Result;
use crate::ir::{EnumDef, FieldDef, StructDef, TypeDef, UnionDef, UnionVariant, Variant};
use crate::naming::{Unique, type_ident};
use crate::pointer::Pointer;
use crate::schema::keywords::{constrains, has_properties};
use crate::schema::refs::Schemas;
use crate::schema::shape::{Mode, Union, origin, shape};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const MAX_TYPE_DEPTH: usize = 24;

/// A Rust type expression.
#[derive(Debug, Clone, PartialEq)]
pub enum RType {
    Str,
    I64,
    F64,
    Bool,
    /// `serde_json::Value`, with the reason.
    Value(&'static str),
    Object,
    Map(Box<RType>),
    Vec(Box<RType>),
    /// A generated type; the flag says whether it lies on a reference cycle.
    Named(String, bool),
    Option(Box<RType>),
}

impl RType {
    pub fn render(&self) -> String {
        match self {
            RType::Str => "::std::string::String".into(),
            RType::I64 => "i64".into(),
            RType::F64 => "f64".into(),
            RType::Bool => "bool".into(),
            RType::Value(_) => "::serde_json::Value".into(),
            RType::Object => "::serde_json::Map<::std::string::String, ::serde_json::Value>".into(),
            RType::Map(t) => format!(
                "::std::collections::BTreeMap<::std::string::String, {}>",
                t.render()
            ),
            RType::Vec(t) => format!("::std::vec::Vec<{}>", t.render()),
            RType::Named(n, _) => format!("crate::types::{n}"),
            RType::Option(t) => format!("::std::option::Option<{}>", t.render()),
        }
    }

    /// Rendering for a struct field: a recursive named type is boxed (`Vec`/`BTreeMap` already
    /// provide the indirection).
    pub fn render_field(&self) -> String {
        match self {
            RType::Named(_, true) => format!("::std::boxed::Box<{}>", self.render()),
            RType::Option(inner) => format!("::std::option::Option<{}>", inner.render_field()),
            _ => self.render(),
        }
    }

    pub fn summary(&self) -> String {
        match self {
            RType::Str => "string".into(),
            RType::I64 => "integer".into(),
            RType::F64 => "number".into(),
            RType::Bool => "boolean".into(),
            RType::Value(_) => "any".into(),
            RType::Object => "object".into(),
            RType::Map(t) => format!("map<{}>", t.summary()),
            RType::Vec(t) => format!("array<{}>", t.summary()),
            RType::Named(n, _) => n.clone(),
            RType::Option(t) => format!("{}|null", t.summary()),
        }
    }

    /// Why this type (or the first part of it) is a `serde_json::Value`, for the doc comment.
    pub fn value_reason(&self) -> Option<&'static str> {
        match self {
            RType::Value(r) => Some(r),
            RType::Option(t) | RType::Vec(t) | RType::Map(t) => t.value_reason(),
            _ => None,
        }
    }

    /// The type of an optional field, and whether it keeps an explicit `null` apart from an
    /// absent value (`Option<Option<T>>`, `Option<Value>`): absent stays absent, and a caller's
    /// `null` reaches the upstream as `null`.
    pub fn optional(self) -> (RType, bool) {
        let keeps_null = matches!(self, RType::Option(_) | RType::Value(_));
        (RType::Option(Box::new(self)), keeps_null)
    }

    pub fn nullable(self) -> RType {
        match self {
            RType::Option(_) | RType::Value(_) => self,
            other => RType::Option(Box::new(other)),
        }
    }
}

pub struct TypeGen<'s, 'a> {
    schemas: &'s Schemas<'a>,
    names: Unique,
    /// Component pointer → generated type (or, for non-struct components, its expression).
    components: BTreeMap<Pointer, RType>,
    in_progress: BTreeSet<Pointer>,
    defs: BTreeMap<String, TypeDef>,
}

impl<'s, 'a> TypeGen<'s, 'a> {
    pub fn new(schemas: &'s Schemas<'a>) -> Self {
        Self {
            schemas,
            names: Unique::new(),
            components: BTreeMap::new(),
            in_progress: BTreeSet::new(),
            defs: BTreeMap::new(),
        }
    }

    /// Generated type definitions, sorted by name.
    pub fn finish(self) -> Vec<TypeDef> {
        self.defs.into_values().collect()
    }

    fn claim_type_name(&mut self, hint: &str) -> String {
        self.names.claim(&type_ident(hint), "", usize::MAX)
    }

    /// The Rust type for schema `s` found at `at`; `hint` names any type it needs to create.
    pub fn rust_type(&mut self, s: &Value, at: &Pointer, hint: &str) -> Result<RType> {
        self.ty(s, at, hint, 0)
    }

    fn ty(&mut self, s: &Value, at: &Pointer, hint: &str, depth: usize) -> Result<RType> {
        if depth > MAX_TYPE_DEPTH {
            return Ok(RType::Value("nested too deeply"));
        }
        let Some(obj) = s.as_object() else {
            return Ok(RType::Value("unconstrained schema"));
        };
        let recorded = origin(s);
        let at = recorded.as_ref().unwrap_or(at);
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let nullable = obj.get("nullable") == Some(&Value::Bool(true));
            let significant = obj
                .keys()
                .any(|k| k != "$ref" && k != "nullable" && constrains(k));
            if significant {
                // As the schema conversion does: the reference is an `allOf` member beside the
                // other keywords, merged by the shaping where that is sound.
                let mut all = obj.clone();
                let reference = all.remove("$ref").unwrap_or(Value::Null);
                all.insert(
                    "allOf".into(),
                    Value::Array(vec![Value::Object(serde_json::Map::from_iter([(
                        "$ref".to_string(),
                        reference,
                    )]))]),
                );
                return self.ty_shaped(&all, at, hint, depth);
            }
            let Some(pointer) = Pointer::from_ref(r) else {
                return Ok(RType::Value("an unsupported $ref"));
            };
            let (pointer, target) = self.schemas.target(r, at).map(|(_, t)| (pointer, t))?;
            let t = self.component(&pointer, target, depth)?;
            return Ok(if nullable { t.nullable() } else { t });
        }
        self.ty_shaped(obj, at, hint, depth)
    }

    /// The type of a schema object that is not a bare `$ref`, shaped first as the schema
    /// conversion shapes it, so the type agrees with the `inputSchema`.
    fn ty_shaped(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        at: &Pointer,
        hint: &str,
        depth: usize,
    ) -> Result<RType> {
        let shaped = shape(self.schemas, obj, at, Mode::Input)?;
        let obj: &serde_json::Map<String, Value> = &shaped.schema;
        if obj.contains_key("$ref") {
            return self.ty(&Value::Object(obj.clone()), at, hint, depth + 1);
        }
        let mut types: Vec<&str> = match obj.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let mut nullable = obj.get("nullable") == Some(&Value::Bool(true));
        if types.contains(&"null") {
            nullable = true;
            types.retain(|t| *t != "null");
        }
        if let Some(u) = &shaped.union
            && types.iter().all(|t| *t == "object")
            && let Some(t) = self.union_type(obj, u, at, hint, depth)?
        {
            return Ok(if nullable { t.nullable() } else { t });
        }
        let base = self.ty_nonnull(obj, &types, at, hint, depth)?;
        Ok(if nullable { base.nullable() } else { base })
    }

    /// A discriminated union ([`crate::schema::shape`] step 2) as an internally tagged enum, one
    /// struct per branch without the tag property — when every branch is a plain object with
    /// exactly one tag value. `None` when it cannot be (the caller falls back to a `Value`).
    fn union_type(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        u: &Union,
        at: &Pointer,
        hint: &str,
        depth: usize,
    ) -> Result<Option<RType>> {
        let Some(Value::Array(branches)) = obj.get("oneOf") else {
            return Ok(None);
        };
        // Keywords beside the `oneOf` would constrain every branch: not represented here.
        let beside = obj.keys().any(|k| {
            !matches!(
                k.as_str(),
                "oneOf"
                    | "type"
                    | "nullable"
                    | "description"
                    | "title"
                    | "example"
                    | "examples"
                    | "default"
                    | "deprecated"
                    | "readOnly"
                    | "writeOnly"
            ) && !k.starts_with("x-")
        });
        if beside || branches.len() != u.values.len() || branches.is_empty() {
            return Ok(None);
        }
        let mut plan = Vec::new();
        let mut tags = BTreeSet::new();
        for (i, b) in branches.iter().enumerate() {
            let [value] = &u.values[i][..] else {
                return Ok(None);
            };
            if !tags.insert(value.clone()) {
                return Ok(None);
            }
            let bat = origin(b).unwrap_or_else(|| at.join("oneOf").join(i));
            let Some(bo) = b.as_object() else {
                return Ok(None);
            };
            let shaped = shape(self.schemas, bo, &bat, Mode::Input)?;
            let mut branch = shaped.schema.into_owned();
            let plain = branch.get("type").is_none_or(|t| t == "object")
                && branch.get("nullable") != Some(&Value::Bool(true))
                && is_struct_like(&Value::Object(branch.clone()));
            if !plain {
                return Ok(None);
            }
            if let Some(Value::Object(props)) = branch.get_mut("properties") {
                props.remove(&u.property);
            }
            if let Some(Value::Array(req)) = branch.get_mut("required") {
                req.retain(|r| r.as_str() != Some(u.property.as_str()));
            }
            plan.push((value.clone(), bat, branch));
        }
        let name = self.claim_type_name(hint);
        let mut idents = Unique::new();
        let mut variants = Vec::new();
        for (value, bat, branch) in plan {
            let ident = idents.claim(
                &type_ident(if value.is_empty() { "Empty" } else { &value }),
                "",
                usize::MAX,
            );
            let struct_name = self.claim_type_name(&format!("{name}{ident}"));
            self.build_struct(&branch, &bat, &struct_name, depth + 1)?;
            variants.push(UnionVariant {
                ident,
                wire_value: value,
                rust_type: RType::Named(struct_name, false).render(),
            });
        }
        self.defs.insert(
            name.clone(),
            TypeDef::Union(UnionDef {
                name: name.clone(),
                doc: doc_of(obj),
                source: at.clone(),
                tag: u.property.clone(),
                variants,
            }),
        );
        Ok(Some(RType::Named(name, false)))
    }

    fn ty_nonnull(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        types: &[&str],
        at: &Pointer,
        hint: &str,
        depth: usize,
    ) -> Result<RType> {
        if let Some(Value::Array(values)) = obj.get("enum") {
            let strings: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
            let non_null = values.iter().filter(|v| !v.is_null()).count();
            if types.iter().all(|t| *t == "string")
                && !strings.is_empty()
                && strings.len() == non_null
            {
                let mut t = self.string_enum(&strings, obj, at, hint);
                if non_null < values.len() {
                    t = t.nullable();
                }
                return Ok(t);
            }
            return Ok(RType::Value("an enum whose values are not all strings"));
        }
        // `anyOf: [T, {type: null}]` is how FastAPI (3.1) spells an optional T.
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(members)) = obj.get(key)
                && members.len() == 2
                && types.is_empty()
            {
                let is_null = |m: &Value| m.get("type").and_then(Value::as_str) == Some("null");
                if let Some(i) =
                    (0..2).find(|i| is_null(&members[*i]) && !is_null(&members[1 - *i]))
                {
                    let child = at.join(key).join(1 - i);
                    return Ok(self
                        .ty(&members[1 - i], &child, hint, depth + 1)?
                        .nullable());
                }
            }
        }
        if obj.contains_key("oneOf") || obj.contains_key("anyOf") {
            return Ok(RType::Value("oneOf/anyOf has no lossless Rust form here"));
        }
        if obj.contains_key("not") || obj.contains_key("if") {
            return Ok(RType::Value("not/if schemas have no Rust form"));
        }
        if let Some(Value::Array(all)) = obj.get("allOf") {
            let others = obj
                .keys()
                .any(|k| matches!(k.as_str(), "properties" | "items" | "additionalProperties"));
            if all.len() == 1 && !others && types.is_empty() {
                let child = at.join("allOf").join("0");
                return self.ty(&all[0], &child, hint, depth + 1);
            }
            return Ok(RType::Value("allOf is not merged into one Rust type"));
        }
        let has_props = has_properties(obj);
        let ty = match types {
            [] if has_props => "object",
            [] => return Ok(RType::Value("the schema has no type")),
            [one] => *one,
            _ => return Ok(RType::Value("a union of several types")),
        };
        Ok(match ty {
            "string" => RType::Str,
            "integer" => RType::I64,
            "number" => RType::F64,
            "boolean" => RType::Bool,
            "array" => match obj.get("items") {
                Some(items @ Value::Object(_)) => {
                    let child = at.join("items");
                    let item = self.ty(items, &child, &format!("{hint}Item"), depth + 1)?;
                    RType::Vec(Box::new(item))
                }
                _ => RType::Vec(Box::new(RType::Value("array items are unconstrained"))),
            },
            "object" => {
                if has_props {
                    self.struct_type(obj, at, hint, depth)?
                } else {
                    match obj.get("additionalProperties") {
                        Some(ap @ Value::Object(m)) if !m.is_empty() => {
                            let child = at.join("additionalProperties");
                            let v = self.ty(ap, &child, &format!("{hint}Value"), depth + 1)?;
                            RType::Map(Box::new(v))
                        }
                        _ => RType::Object,
                    }
                }
            }
            _ => RType::Value("unknown type"),
        })
    }

    /// A referenced schema: components become named types; anything else is typed in place.
    fn component(&mut self, pointer: &Pointer, target: &Value, depth: usize) -> Result<RType> {
        if let Some(t) = self.components.get(pointer) {
            return Ok(t.clone());
        }
        let recursive = self.schemas.is_recursive(pointer);
        let shaped_target = match target.as_object() {
            Some(o) => Value::Object(
                shape(self.schemas, o, pointer, Mode::Input)?
                    .schema
                    .into_owned(),
            ),
            None => target.clone(),
        };
        if self.in_progress.contains(pointer) {
            // Only structs and enums can stand for themselves; a recursive array/alias cannot.
            return Ok(RType::Value("a recursive schema that is not an object"));
        }
        let name_hint = pointer.last().unwrap_or_default();
        if recursive && is_struct_like(&shaped_target) {
            // Reserve the name first so self-references resolve to it.
            let name = self.claim_type_name(&name_hint);
            let t = RType::Named(name.clone(), true);
            self.components.insert(pointer.clone(), t.clone());
            self.in_progress.insert(pointer.clone());
            let built = self.build_named_struct(&shaped_target, pointer, &name, depth);
            self.in_progress.remove(pointer);
            built?;
            return Ok(t);
        }
        self.in_progress.insert(pointer.clone());
        let t = self.ty(target, pointer, &name_hint, depth + 1);
        self.in_progress.remove(pointer);
        let t = t?;
        self.components.insert(pointer.clone(), t.clone());
        Ok(t)
    }

    fn string_enum(
        &mut self,
        values: &[&str],
        obj: &serde_json::Map<String, Value>,
        at: &Pointer,
        hint: &str,
    ) -> RType {
        let name = self.claim_type_name(hint);
        let mut idents = Unique::new();
        let mut seen = BTreeSet::new();
        let mut variants = Vec::new();
        for v in values {
            if !seen.insert(*v) {
                continue;
            }
            let ident = idents.claim(
                &type_ident(if v.is_empty() { "Empty" } else { v }),
                "",
                usize::MAX,
            );
            variants.push(Variant {
                ident,
                wire_value: (*v).to_string(),
            });
        }
        self.defs.insert(
            name.clone(),
            TypeDef::Enum(EnumDef {
                name: name.clone(),
                doc: doc_of(obj),
                source: at.clone(),
                variants,
            }),
        );
        RType::Named(name, false)
    }

    fn struct_type(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        at: &Pointer,
        hint: &str,
        depth: usize,
    ) -> Result<RType> {
        let name = self.claim_type_name(hint);
        self.build_struct(obj, at, &name, depth)?;
        Ok(RType::Named(name, false))
    }

    fn build_named_struct(
        &mut self,
        target: &Value,
        at: &Pointer,
        name: &str,
        depth: usize,
    ) -> Result<()> {
        let Some(obj) = target.as_object() else {
            return Ok(());
        };
        self.build_struct(obj, at, name, depth)
    }

    fn build_struct(
        &mut self,
        obj: &serde_json::Map<String, Value>,
        at: &Pointer,
        name: &str,
        depth: usize,
    ) -> Result<()> {
        let required: BTreeSet<&str> = obj
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut idents = Unique::new();
        let mut fields = Vec::new();
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            for (wire, schema) in props {
                let child = origin(schema).unwrap_or_else(|| at.join("properties").join(wire));
                let hint = format!("{}{}", name, type_ident(wire));
                let t = self.ty(schema, &child, &hint, depth + 1)?;
                let optional = !required.contains(wire.as_str());
                let (t, keeps_null) = if optional { t.optional() } else { (t, false) };
                let ident = idents.claim_field(wire);
                fields.push(FieldDef {
                    ident,
                    wire_name: wire.clone(),
                    rust_type: t.render_field(),
                    optional,
                    keeps_null,
                    doc: field_doc(schema, &t),
                });
            }
        }
        let extra = match obj.get("additionalProperties") {
            Some(Value::Bool(false)) => None,
            Some(ap @ Value::Object(m)) if !m.is_empty() => {
                let child = at.join("additionalProperties");
                let t = self.ty(ap, &child, &format!("{name}Value"), depth + 1)?;
                Some(RType::Map(Box::new(t)))
            }
            _ => Some(RType::Map(Box::new(RType::Value("additional properties")))),
        }
        .map(|t| FieldDef {
            ident: idents.claim_field("additional_properties"),
            wire_name: String::new(),
            rust_type: t.render(),
            optional: false,
            keeps_null: false,
            doc: Some("Properties the schema does not name, passed through unchanged.".into()),
        });
        self.defs.insert(
            name.to_string(),
            TypeDef::Struct(StructDef {
                name: name.to_string(),
                doc: doc_of(obj),
                source: at.clone(),
                fields,
                extra,
            }),
        );
        Ok(())
    }
}

fn is_struct_like(v: &Value) -> bool {
    let Some(obj) = v.as_object() else {
        return false;
    };
    let has_props = has_properties(obj);
    let composed = ["oneOf", "anyOf", "allOf", "not", "if", "$ref", "enum"]
        .iter()
        .any(|k| obj.contains_key(*k));
    let type_ok = match obj.get("type") {
        None => true,
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(ts)) => ts
            .iter()
            .all(|t| t.as_str() == Some("object") || t.as_str() == Some("null")),
        _ => false,
    };
    has_props && !composed && type_ok
}

fn doc_of(obj: &serde_json::Map<String, Value>) -> Option<String> {
    obj.get("description")
        .or_else(|| obj.get("title"))
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|s| !s.trim().is_empty())
}

/// Doc for a field: the schema's description, plus where a `Value` stands in for a type.
pub fn field_doc(schema: &Value, t: &RType) -> Option<String> {
    let desc = schema.as_object().and_then(doc_of);
    match (desc, t.value_reason()) {
        (d, Some(reason)) => Some(format!(
            "{}Represented as `serde_json::Value`: {reason}.",
            d.map(|d| format!("{d}\n\n")).unwrap_or_default()
        )),
        (d, None) => d,
    }
}
