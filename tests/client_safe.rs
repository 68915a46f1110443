//! The client-safe schema rules, checked on every tool of every fixture, as clients receive them
//! (the generated `src/tools.json`): a new fixture or a change anywhere in the conversion that
//! breaks one is caught here, whichever fixture shows it.
//!
//! - `inputSchema` root: `type: object` with `properties`, and no `oneOf`/`anyOf`/`allOf`/`not`/
//!   `if`/`$ref` (some model providers reject the whole tool list for one such tool);
//! - every object schema, anywhere, has both `type` and `properties`;
//! - `type` is always one name, never an array (nullable is `anyOf [T, {"type": "null"}]`);
//! - valid JSON Schema 2020-12 shape: only 2020-12 keywords (no OpenAPI `nullable`,
//!   `discriminator`, `example`, no internal `x-` markers), each with a value of the right kind,
//!   and every `$ref` pointing into the root's `$defs`.

mod common;

use serde_json::{Map, Value};

/// Keywords whose value is one schema.
const SCHEMA: &[&str] = &[
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentSchema",
];
/// Keywords whose value is a non-empty array of schemas.
const SCHEMA_ARRAY: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value is a map of schemas.
const SCHEMA_MAP: &[&str] = &[
    "properties",
    "patternProperties",
    "dependentSchemas",
    "$defs",
];
/// Keywords whose value is a non-negative integer.
const COUNTS: &[&str] = &[
    "maxLength",
    "minLength",
    "maxItems",
    "minItems",
    "maxProperties",
    "minProperties",
    "maxContains",
    "minContains",
];
const NUMBERS: &[&str] = &[
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];
const STRINGS: &[&str] = &[
    "title",
    "description",
    "format",
    "pattern",
    "contentEncoding",
    "contentMediaType",
    "$ref",
    "$comment",
];
const BOOLEANS: &[&str] = &["deprecated", "readOnly", "writeOnly", "uniqueItems"];
const ANY: &[&str] = &["const", "default"];
const TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "array", "object", "null",
];

struct Walk<'a> {
    tool: String,
    defs: Option<&'a Map<String, Value>>,
    problems: Vec<String>,
    objects: usize,
}

impl Walk<'_> {
    fn fail(&mut self, at: &str, what: impl std::fmt::Display) {
        self.problems.push(format!("{} {at}: {what}", self.tool));
    }

    /// Checks one schema (and everything under it) at `at`; `bool_ok`: the keyword allows a plain
    /// boolean here (`additionalProperties: false`).
    fn schema(&mut self, v: &Value, at: &str, bool_ok: bool) {
        let m = match v {
            Value::Object(m) => m,
            Value::Bool(_) if bool_ok => return,
            other => return self.fail(at, format!("a schema must be an object, not {other}")),
        };
        for (k, v) in m {
            let k = k.as_str();
            let child = format!("{at}/{k}");
            if SCHEMA.contains(&k) {
                let bool_ok = matches!(
                    k,
                    "additionalProperties" | "unevaluatedProperties" | "unevaluatedItems"
                );
                self.schema(v, &child, bool_ok);
            } else if SCHEMA_ARRAY.contains(&k) {
                match v.as_array() {
                    Some(list) if !list.is_empty() => {
                        for (i, s) in list.iter().enumerate() {
                            self.schema(s, &format!("{child}/{i}"), false);
                        }
                    }
                    _ => self.fail(&child, "must be a non-empty array of schemas"),
                }
            } else if SCHEMA_MAP.contains(&k) {
                if k == "$defs" && at != "#" {
                    self.fail(&child, "$defs only at the root");
                }
                match v.as_object() {
                    Some(map) => {
                        for (name, s) in map {
                            self.schema(s, &format!("{child}/{name}"), false);
                        }
                    }
                    None => self.fail(&child, "must be an object of schemas"),
                }
            } else if COUNTS.contains(&k) {
                if v.as_u64().is_none() {
                    self.fail(&child, "must be a non-negative integer");
                }
            } else if NUMBERS.contains(&k) {
                if !v.is_number() || (k == "multipleOf" && v.as_f64().is_some_and(|f| f <= 0.0)) {
                    self.fail(&child, "must be a (positive, for multipleOf) number");
                }
            } else if STRINGS.contains(&k) {
                if !v.is_string() {
                    self.fail(&child, "must be a string");
                }
            } else if BOOLEANS.contains(&k) {
                if !v.is_boolean() {
                    self.fail(&child, "must be a boolean");
                }
            } else if ANY.contains(&k) {
            } else {
                match k {
                    "type" => match v.as_str() {
                        Some(t) if TYPES.contains(&t) => {}
                        _ => self.fail(&child, format!("must be one type name, not {v}")),
                    },
                    "enum" | "examples" => {
                        if v.as_array().is_none_or(|a| k == "enum" && a.is_empty()) {
                            self.fail(&child, "must be a (non-empty, for enum) array");
                        }
                    }
                    "required" => {
                        let ok = v.as_array().is_some_and(|a| {
                            a.iter().all(Value::is_string)
                                && a.iter()
                                    .filter_map(Value::as_str)
                                    .collect::<std::collections::BTreeSet<_>>()
                                    .len()
                                    == a.len()
                        });
                        if !ok {
                            self.fail(&child, "must be an array of distinct strings");
                        }
                    }
                    "dependentRequired" => {
                        let ok = v.as_object().is_some_and(|o| {
                            o.values().all(|a| {
                                a.as_array().is_some_and(|a| a.iter().all(Value::is_string))
                            })
                        });
                        if !ok {
                            self.fail(&child, "must map names to arrays of strings");
                        }
                    }
                    _ => self.fail(&child, "not a JSON Schema 2020-12 keyword"),
                }
            }
        }
        if let Some(r) = m.get("$ref").and_then(Value::as_str) {
            let target = r
                .strip_prefix("#/$defs/")
                .and_then(|name| self.defs.and_then(|d| d.get(name)));
            if target.is_none() {
                self.fail(at, format!("$ref `{r}` is not a root $defs entry"));
            }
        }
        let is_object = m.get("type").and_then(Value::as_str) == Some("object");
        if is_object {
            self.objects += 1;
            if !m.contains_key("properties") {
                self.fail(at, "an object schema without `properties`");
            }
        } else if ["properties", "additionalProperties", "patternProperties"]
            .iter()
            .any(|k| m.contains_key(*k))
        {
            self.fail(at, "an object schema without `type: object`");
        }
    }
}

fn check_tool(tool: &Value, problems: &mut Vec<String>) -> usize {
    let name = tool["name"].as_str().unwrap_or("?").to_string();
    let mut objects = 0;
    for key in ["inputSchema", "outputSchema"] {
        let Some(schema) = tool.get(key) else {
            continue;
        };
        let mut walk = Walk {
            tool: format!("{name} {key}"),
            defs: schema.get("$defs").and_then(Value::as_object),
            problems: Vec::new(),
            objects: 0,
        };
        match schema.as_object() {
            Some(root) => {
                if root.get("type") != Some(&Value::String("object".into())) {
                    walk.fail("#", "the root is not `type: object`");
                }
                if !root.get("properties").is_some_and(Value::is_object) {
                    walk.fail("#", "the root has no `properties`");
                }
                for k in [
                    "oneOf", "anyOf", "allOf", "not", "if", "then", "else", "$ref",
                ] {
                    if root.contains_key(k) {
                        walk.fail("#", format!("`{k}` at the root"));
                    }
                }
            }
            None => walk.fail("#", "the schema is not an object"),
        }
        walk.schema(schema, "#", false);
        objects += walk.objects;
        problems.extend(walk.problems);
    }
    objects
}

#[test]
fn every_tool_schema_of_every_fixture_is_client_safe() {
    let mut problems = Vec::new();
    let mut tools = 0;
    let mut objects = 0;
    let fixtures = common::fixtures();
    for (case, spec) in &fixtures {
        let auth = common::repo().join(spec).with_file_name("auth.yaml");
        let opts = mcpgen::Options {
            auth: auth.exists().then(|| auth.to_string_lossy().into_owned()),
            ..Default::default()
        };
        let path = common::repo().join(spec);
        let (_, files) = mcpgen::generate(path.to_str().unwrap(), &opts)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        let list: Value = serde_json::from_str(&files["src/tools.json"]).expect("tools.json");
        let list = list["tools"].as_array().expect("tools array");
        assert!(!list.is_empty(), "{case}: no tools");
        for tool in list {
            let before = problems.len();
            objects += check_tool(tool, &mut problems);
            for p in &mut problems[before..] {
                *p = format!("{case}: {p}");
            }
            tools += 1;
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The walk really walked: every fixture, dozens of tools, many object schemas.
    assert!(fixtures.len() >= 11, "{fixtures:?}");
    assert!(
        tools >= 40 && objects >= 100,
        "{tools} tools, {objects} objects"
    );
    eprintln!(
        "{} fixtures, {tools} tools, {objects} object schemas: all client-safe",
        fixtures.len()
    );
}

/// The checker itself finds what it is meant to find.
#[test]
fn the_checker_catches_each_violation() {
    let bad = [
        (
            serde_json::json!({"type": "object", "properties": {}, "anyOf": [{}]}),
            "`anyOf` at the root",
        ),
        (serde_json::json!({"type": "object"}), "no `properties`"),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"type": "object"}}}),
            "an object schema without `properties`",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"properties": {}}}}),
            "without `type: object`",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"type": ["string", "null"]}}}),
            "one type name",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"type": "string", "nullable": true}}}),
            "not a JSON Schema 2020-12 keyword",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"$ref": "#/$defs/Missing"}}}),
            "not a root $defs entry",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": true}}),
            "must be an object",
        ),
        (
            serde_json::json!({"type": "object", "properties": {"a": {"required": ["x", "x"]}}}),
            "distinct strings",
        ),
    ];
    for (schema, expected) in bad {
        let tool = serde_json::json!({"name": "t", "inputSchema": schema});
        let mut problems = Vec::new();
        check_tool(&tool, &mut problems);
        assert!(
            problems.iter().any(|p| p.contains(expected)),
            "{schema}: expected `{expected}`, got {problems:?}"
        );
    }
}

/// Compares a generated Rust type with the schema a client is shown for the same value.
struct Agree<'a> {
    types: &'a [mcpgen::ir::TypeDef],
    defs: Option<&'a Map<String, Value>>,
    problems: Vec<String>,
    checked: usize,
    /// Generated types being checked on the current path (recursive types end the walk).
    path: Vec<String>,
}

impl Agree<'_> {
    fn check(&mut self, schema: &Value, ty: &str, at: &str) {
        let schema = match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => match r
                .strip_prefix("#/$defs/")
                .and_then(|n| self.defs.and_then(|d| d.get(n)))
            {
                Some(t) => t.clone(),
                None => return self.problems.push(format!("{at}: dangling {r}")),
            },
            None => schema.clone(),
        };
        let ty = ty.trim();
        let strip = |ty: &'_ str, prefix: &str| -> Option<String> {
            ty.strip_prefix(prefix)
                .and_then(|r| r.strip_suffix('>'))
                .map(str::to_string)
        };
        if let Some(inner) = strip(ty, "::std::option::Option<") {
            // Optional, or nullable: the schema's non-null branch.
            let branch = match schema.get("anyOf").and_then(Value::as_array) {
                Some(bs) if bs.len() == 2 && bs.iter().any(|b| b["type"] == "null") => bs
                    .iter()
                    .find(|b| b["type"] != "null")
                    .cloned()
                    .unwrap_or(Value::Null),
                _ => schema,
            };
            return self.check(&branch, &inner, at);
        }
        if let Some(inner) = strip(ty, "::std::boxed::Box<") {
            return self.check(&schema, &inner, at);
        }
        self.checked += 1;
        if let Some(inner) = strip(ty, "::std::vec::Vec<") {
            if schema["type"] != "array" {
                self.problems.push(format!("{at}: Vec for {schema}"));
            }
            return self.check(&schema["items"], &inner, &format!("{at}[]"));
        }
        if let Some(inner) = strip(ty, "::std::collections::BTreeMap<::std::string::String, ") {
            return self.check(&schema["additionalProperties"], &inner, &format!("{at}.*"));
        }
        let want = match ty {
            "i64" => Some("integer"),
            "f64" => Some("number"),
            "bool" => Some("boolean"),
            "::std::string::String" => Some("string"),
            t if t.starts_with("::serde_json::Map") => Some("object"),
            _ => None,
        };
        if let Some(want) = want {
            if schema["type"] != want {
                self.problems.push(format!("{at}: {ty} for {schema}"));
            }
            return;
        }
        if ty == "::serde_json::Value" {
            return;
        }
        let Some(name) = ty.strip_prefix("crate::types::") else {
            return self.problems.push(format!("{at}: unexpected type {ty}"));
        };
        if self.path.iter().any(|p| p == name) {
            return;
        }
        self.path.push(name.to_string());
        self.named(&schema, name, at);
        self.path.pop();
    }

    fn named(&mut self, schema: &Value, name: &str, at: &str) {
        let schema = schema.clone();
        use mcpgen::ir::TypeDef;
        let Some(def) = self.types.iter().find(|t| match t {
            TypeDef::Struct(s) => s.name == name,
            TypeDef::Enum(e) => e.name == name,
            TypeDef::Union(u) => u.name == name,
        }) else {
            return self.problems.push(format!("{at}: no type {name}"));
        };
        match def {
            TypeDef::Struct(s) => self.fields(&schema, s, None, at),
            TypeDef::Enum(e) => {
                let values: Vec<&str> = schema["enum"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let variants: Vec<&str> =
                    e.variants.iter().map(|v| v.wire_value.as_str()).collect();
                if values != variants {
                    self.problems
                        .push(format!("{at}: enum {variants:?} for {values:?}"));
                }
            }
            TypeDef::Union(u) => {
                let branches = schema["oneOf"].as_array().cloned().unwrap_or_default();
                if branches.len() != u.variants.len() {
                    return self
                        .problems
                        .push(format!("{at}: {} variants for {schema}", u.variants.len()));
                }
                for (b, v) in branches.iter().zip(&u.variants) {
                    let tag = &b["properties"][&u.tag];
                    let required = b["required"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|n| n == u.tag.as_str()));
                    if tag["const"] != v.wire_value.as_str() || !required {
                        self.problems
                            .push(format!("{at}: variant {} for branch {b}", v.wire_value));
                    }
                    let Some(TypeDef::Struct(s)) = self.types.iter().find(|t| {
                        matches!(t, TypeDef::Struct(s) if format!("crate::types::{}", s.name) == v.rust_type)
                    }) else {
                        return self.problems.push(format!("{at}: no struct {}", v.rust_type));
                    };
                    self.fields(b, s, Some(&u.tag), &format!("{at}<{}>", v.wire_value));
                }
            }
        }
    }

    /// A struct's fields are the object's properties (the union tag aside), and exactly the
    /// required ones are not optional; an object that forbids more has no catch-all map.
    fn fields(&mut self, schema: &Value, s: &mcpgen::ir::StructDef, tag: Option<&str>, at: &str) {
        let props = schema["properties"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let required: Vec<&str> = schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut names: Vec<&str> = props
            .keys()
            .map(String::as_str)
            .filter(|k| Some(*k) != tag)
            .collect();
        names.sort();
        let mut fields: Vec<&str> = s.fields.iter().map(|f| f.wire_name.as_str()).collect();
        fields.sort();
        if names != fields {
            self.problems
                .push(format!("{at}: fields {fields:?} for properties {names:?}"));
        }
        for f in &s.fields {
            if f.optional == required.contains(&f.wire_name.as_str()) {
                self.problems.push(format!(
                    "{at}.{}: optional={} but required={}",
                    f.wire_name, f.optional, !f.optional
                ));
            }
            if let Some(p) = props.get(&f.wire_name) {
                self.check(p, &f.rust_type, &format!("{at}.{}", f.wire_name));
            }
        }
        if s.extra.is_none() != (schema["additionalProperties"] == false) {
            self.problems.push(format!(
                "{at}: catch-all map {} for {schema}",
                s.extra.is_some()
            ));
        }
    }
}

#[test]
fn rust_argument_types_agree_with_the_input_schemas() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for (case, spec) in common::fixtures() {
        let auth = common::repo().join(&spec).with_file_name("auth.yaml");
        let opts = mcpgen::Options {
            auth: auth.exists().then(|| auth.to_string_lossy().into_owned()),
            ..Default::default()
        };
        let path = common::repo().join(&spec);
        let api = mcpgen::build_ir(path.to_str().unwrap(), &opts)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        for t in &api.tools {
            let input_schema = t.input_schema.value();
            let mut agree = Agree {
                types: &api.types,
                defs: input_schema.get("$defs").and_then(Value::as_object),
                problems: Vec::new(),
                checked: 0,
                path: Vec::new(),
            };
            for a in &t.args {
                // Raw bodies (text, binary) are strings on the Rust side whatever they describe.
                if a.location == mcpgen::ir::ArgLocation::Body
                    && t.body.as_ref().is_some_and(|b| {
                        matches!(
                            b.kind,
                            mcpgen::ir::BodyKind::Text | mcpgen::ir::BodyKind::Binary
                        )
                    })
                {
                    continue;
                }
                let schema = a.schema.value();
                assert_eq!(
                    input_schema["properties"][&a.name], schema,
                    "{case} {}",
                    t.name
                );
                agree.check(
                    &schema,
                    &a.rust_type,
                    &format!("{case} {} {}", t.name, a.name),
                );
            }
            checked += agree.checked;
            problems.extend(agree.problems);
        }
    }
    assert!(
        problems.is_empty(),
        "{} disagreement(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(checked >= 150, "only {checked} types checked");
    eprintln!("{checked} Rust types agree with their schemas");
}
