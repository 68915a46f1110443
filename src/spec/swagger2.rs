//! Swagger 2.0 input: converted to an OpenAPI 3.0 document before the rest of the pipeline, so
//! every later stage sees one shape. The conversion is faithful where 3.0 can say the same thing:
//!
//! - `body` parameters become `requestBody` with one media type per `consumes` entry that is not a
//!   form type (`application/json` when none is given); `formData` parameters become one object
//!   schema under `application/x-www-form-urlencoded` or `multipart/form-data` (multipart when the
//!   operation consumes it or a parameter has `type: file`, which becomes a binary string).
//!   Path-level body and form parameters apply to every operation that does not override them.
//! - Other parameters get a `schema` built from their type keywords; `collectionFormat` becomes
//!   `style`/`explode` (`csv`, the 2.0 default, is `form` without explode in a query, so an
//!   array is sent as `a,b` exactly as before; `multi` is exploded; `ssv`/`pipes` are the
//!   space/pipe-delimited styles). `tsv` has no 3.0 form and is sent comma-separated, with a
//!   warning.
//! - Responses get `content` per `produces` entry (operation-level overrides global; default
//!   `application/json`), headers a `schema`, `examples` per media type an `example`.
//! - `definitions`, `parameters`, `responses` become `components` (body and form parameters are
//!   inlined where used instead, as 3.0 has no such parameters) and every `$ref` is rewritten;
//!   `securityDefinitions` become `securitySchemes` (`basic` → HTTP basic, `apiKey`, `oauth2`
//!   flows `implicit`/`password`/`application`/`accessCode` → `implicit`/`password`/
//!   `clientCredentials`/`authorizationCode`).
//! - `host`/`basePath`/`schemes` become `servers` (`https` first when offered; without `host`
//!   the base path is relative to wherever the document was fetched from, as 2.0 says).
//! - Schemas: `x-nullable: true` → `nullable: true`, `type: file` → binary string, a string
//!   `discriminator` → `{propertyName}`.
//!
//! Errors must still point into the document the user wrote, so the conversion records where every
//! relocated node came from ([`PointerMap`]); errors, warnings and the IR's pointers are mapped
//! back through it (longest recorded prefix wins; unrecorded pointers are unchanged, because
//! everything not relocated keeps its place).

use crate::error::Error;
use crate::ir::{Api, TypeDef, Warning};
use crate::pointer::Pointer;
use crate::schema::keywords::{SCHEMA_ARRAY_KEYWORDS, SCHEMA_MAP_KEYWORDS};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Depth beyond which schemas are copied without further rewriting (later stages cut them).
const MAX_SCHEMA_DEPTH: usize = 256;
/// Bound on `$ref` → `$ref` hops when resolving a parameter.
const MAX_REF_HOPS: usize = 32;

const FORM_URLENCODED: &str = "application/x-www-form-urlencoded";
const MULTIPART: &str = "multipart/form-data";

/// Where each relocated node of the converted document came from.
#[derive(Debug, Default, Clone)]
pub struct PointerMap {
    /// Converted-document pointer → original-document pointer.
    entries: BTreeMap<Pointer, Pointer>,
}

impl PointerMap {
    fn add(&mut self, new: &Pointer, old: &Pointer) {
        if new != old {
            self.entries.insert(new.clone(), old.clone());
        }
    }

    /// The original pointer of a converted-document pointer.
    pub fn original(&self, pointer: &Pointer) -> Pointer {
        let mut prefix = pointer.clone();
        loop {
            if let Some(old) = self.entries.get(&prefix) {
                return match pointer.strip_prefix(&prefix) {
                    Some(rest) => old.concat(&rest),
                    None => old.clone(),
                };
            }
            match prefix.parent() {
                Some(parent) => prefix = parent,
                None => return pointer.clone(),
            }
        }
    }

    /// Maps an error about the converted document (`file`) back to the original.
    pub fn error(&self, file: &str, e: Error) -> Error {
        match e {
            Error::Invalid { mut at, message } if at.file == file => {
                at.pointer = self.original(&at.pointer);
                // A quoted reference is shown as the user wrote it.
                let mut message = message;
                for (to, from) in REF_PREFIXES {
                    message = message.replace(&format!("`{from}"), &format!("`{to}"));
                }
                Error::Invalid { at, message }
            }
            other => other,
        }
    }

    /// Maps a warning about the converted spec (other files' warnings are left alone).
    fn warning(&self, w: &mut Warning) {
        if w.file.is_none()
            && let Some(at) = &mut w.at
        {
            *at = self.original(at);
        }
    }

    /// Maps every pointer the IR carries.
    pub fn api(&self, mut api: Api) -> Api {
        for w in &mut api.warnings {
            self.warning(w);
        }
        for t in &mut api.tools {
            t.pointer = self.original(&t.pointer);
            for w in &mut t.warnings {
                self.warning(w);
            }
        }
        for e in &mut api.excluded {
            e.pointer = self.original(&e.pointer);
        }
        for s in &mut api.security_schemes {
            s.pointer = self.original(&s.pointer);
        }
        for t in &mut api.types {
            match t {
                TypeDef::Struct(s) => s.source = self.original(&s.source),
                TypeDef::Enum(e) => e.source = self.original(&e.source),
                TypeDef::Union(u) => u.source = self.original(&u.source),
            }
        }
        api
    }
}

/// A converted document.
#[derive(Debug)]
pub struct Converted {
    /// The OpenAPI 3.0 document.
    pub root: Value,
    pub map: PointerMap,
    /// Warnings about what 3.0 cannot say, at original pointers.
    pub warnings: Vec<Warning>,
}

/// Converts a Swagger 2.0 document (the caller has checked `swagger: "2.0"`). Never fails:
/// whatever is malformed is carried over for the later stages to report, at its original place.
pub fn convert(root: &Value) -> Converted {
    let empty = Map::new();
    let src = root.as_object().unwrap_or(&empty);
    let mut c = Conv {
        root,
        src,
        map: PointerMap::default(),
        warnings: Vec::new(),
        consumes: media_list(src.get("consumes")),
        produces: media_list(src.get("produces")),
    };
    let root = c.document();
    Converted {
        root,
        map: c.map,
        warnings: c.warnings,
    }
}

fn media_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn is_form(media: &str) -> bool {
    let m = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    m == FORM_URLENCODED || m.starts_with("multipart/")
}

/// 2.0 reference prefixes and their 3.0 places.
const REF_PREFIXES: [(&str, &str); 3] = [
    ("#/definitions/", "#/components/schemas/"),
    ("#/parameters/", "#/components/parameters/"),
    ("#/responses/", "#/components/responses/"),
];

/// Rewrites a 2.0 local reference to its 3.0 place.
fn rewrite_ref(r: &str) -> String {
    for (from, to) in REF_PREFIXES {
        if let Some(rest) = r.strip_prefix(from) {
            return format!("{to}{rest}");
        }
    }
    r.to_string()
}

fn is_extension(k: &str) -> bool {
    k.starts_with("x-")
}

/// Keywords of a non-body parameter (and of `items` and headers) that describe its value.
const VALUE_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
    "multipleOf",
    "example",
];

/// A parameter after `$ref` resolution.
struct Param {
    /// Where the parameter (or the `$ref` to it) sits in the operation or path item.
    at: Pointer,
    /// Where its definition sits (differs from `at` for a `$ref`).
    def_at: Pointer,
    value: Value,
    /// The original reference, for non-body parameters kept as references.
    reference: Option<String>,
}

impl Param {
    fn field(&self, k: &str) -> Option<&Value> {
        self.value.get(k)
    }
    fn name(&self) -> &str {
        self.field("name").and_then(Value::as_str).unwrap_or("")
    }
    fn location(&self) -> &str {
        self.field("in").and_then(Value::as_str).unwrap_or("")
    }
    fn is_body(&self) -> bool {
        self.location() == "body"
    }
    fn is_form(&self) -> bool {
        self.location() == "formData"
    }
}

struct Conv<'a> {
    root: &'a Value,
    src: &'a Map<String, Value>,
    map: PointerMap,
    warnings: Vec<Warning>,
    consumes: Vec<String>,
    produces: Vec<String>,
}

impl Conv<'_> {
    fn warn(&mut self, at: &Pointer, msg: impl std::fmt::Display) {
        self.warnings
            .push(Warning::spec(at.clone(), msg.to_string()));
    }

    fn document(&mut self) -> Value {
        let mut out = Map::new();
        out.insert("openapi".into(), json!("3.0.3"));
        for (k, v) in self.src {
            match k.as_str() {
                "info" | "tags" | "externalDocs" | "security" => {
                    out.insert(k.clone(), v.clone());
                }
                _ if is_extension(k) => {
                    out.insert(k.clone(), v.clone());
                }
                _ => {}
            }
        }
        if let Some(servers) = self.servers() {
            out.insert("servers".into(), servers);
        }
        let mut paths = Map::new();
        match self.src.get("paths") {
            Some(Value::Object(p)) => {
                for (path, item) in p {
                    let at = Pointer::root().join("paths").join(path);
                    let converted = if is_extension(path) {
                        item.clone()
                    } else {
                        self.path_item(item, &at)
                    };
                    paths.insert(path.clone(), converted);
                }
                out.insert("paths".into(), Value::Object(paths));
            }
            // Not a mapping: carried over for the structural parse to report where it is.
            Some(other) => {
                out.insert("paths".into(), other.clone());
            }
            None => {}
        }
        let components = self.components();
        if !components.is_empty() {
            out.insert("components".into(), Value::Object(components));
        }
        Value::Object(out)
    }

    fn servers(&mut self) -> Option<Value> {
        let host = self
            .src
            .get("host")
            .and_then(Value::as_str)
            .map(|h| h.trim().trim_end_matches('/'))
            .filter(|h| !h.is_empty());
        let base = self
            .src
            .get("basePath")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("");
        let base = if base.is_empty() || base.starts_with('/') {
            base.to_string()
        } else {
            format!("/{base}")
        };
        let Some(host) = host else {
            // No host: the API is served where the document is (a relative server URL).
            let url = if base.is_empty() { "/".into() } else { base };
            let from = Pointer::root().join(if self.src.contains_key("basePath") {
                "basePath"
            } else {
                "host"
            });
            let servers = Pointer::root().join("servers");
            self.map.add(&servers, &from);
            self.map.add(&servers.join(0), &from);
            self.map.add(&servers.join(0).join("url"), &from);
            return Some(json!([{ "url": url }]));
        };
        let mut schemes: Vec<String> = media_list(self.src.get("schemes"))
            .into_iter()
            .map(|s| s.to_ascii_lowercase())
            .filter(|s| s == "http" || s == "https")
            .collect();
        if schemes.is_empty() {
            schemes.push("https".into());
        }
        // Prefer TLS when the API offers both.
        schemes.sort_by_key(|s| s != "https");
        schemes.dedup();
        let servers = Pointer::root().join("servers");
        let from = Pointer::root().join("host");
        self.map.add(&servers, &from);
        for i in 0..schemes.len() {
            self.map.add(&servers.join(i), &from);
            self.map.add(&servers.join(i).join("url"), &from);
        }
        Some(Value::Array(
            schemes
                .iter()
                .map(|s| json!({ "url": format!("{s}://{host}{base}") }))
                .collect(),
        ))
    }

    fn components(&mut self) -> Map<String, Value> {
        let mut out = Map::new();
        let mut schemas = Map::new();
        if let Some(Value::Object(defs)) = self.src.get("definitions") {
            self.map.add(
                &Pointer::root().join("components").join("schemas"),
                &Pointer::root().join("definitions"),
            );
            for (name, s) in defs {
                schemas.insert(name.clone(), schema(s, 0));
            }
        }
        // Schemas the loader hoisted out of external files (recursive ones) already sit here.
        if let Some(Value::Object(hoisted)) =
            self.src.get("components").and_then(|c| c.get("schemas"))
        {
            for (name, s) in hoisted {
                let at = Pointer::root()
                    .join("components")
                    .join("schemas")
                    .join(name);
                self.map.add(&at, &at);
                schemas.entry(name.clone()).or_insert_with(|| schema(s, 0));
            }
        }
        if !schemas.is_empty() {
            out.insert("schemas".into(), Value::Object(schemas));
        }
        if let Some(Value::Object(params)) = self.src.get("parameters") {
            let mut converted = Map::new();
            for (name, p) in params {
                let old = Pointer::root().join("parameters").join(name);
                let new = Pointer::root()
                    .join("components")
                    .join("parameters")
                    .join(name);
                let in_ = p.get("in").and_then(Value::as_str);
                // Body and form parameters have no 3.0 parameter form: they are inlined into
                // each operation's request body where referenced.
                if matches!(in_, Some("body" | "formData")) {
                    continue;
                }
                let param = Param {
                    at: old.clone(),
                    def_at: old.clone(),
                    value: p.clone(),
                    reference: None,
                };
                converted.insert(name.clone(), self.parameter(&param, &new));
            }
            if !converted.is_empty() {
                out.insert("parameters".into(), Value::Object(converted));
            }
        }
        if let Some(Value::Object(responses)) = self.src.get("responses") {
            let mut converted = Map::new();
            let produces = self.produces.clone();
            for (name, r) in responses {
                let old = Pointer::root().join("responses").join(name);
                let new = Pointer::root()
                    .join("components")
                    .join("responses")
                    .join(name);
                converted.insert(name.clone(), self.response(r, &produces, &new, &old));
            }
            out.insert("responses".into(), Value::Object(converted));
        }
        if let Some(Value::Object(defs)) = self.src.get("securityDefinitions") {
            self.map.add(
                &Pointer::root().join("components").join("securitySchemes"),
                &Pointer::root().join("securityDefinitions"),
            );
            let mut converted = Map::new();
            for (name, d) in defs {
                let at = Pointer::root().join("securityDefinitions").join(name);
                converted.insert(name.clone(), self.security_scheme(d, &at));
            }
            out.insert("securitySchemes".into(), Value::Object(converted));
        }
        out
    }

    fn security_scheme(&mut self, d: &Value, at: &Pointer) -> Value {
        let Some(obj) = d.as_object() else {
            return d.clone();
        };
        let mut out = Map::new();
        for (k, v) in obj {
            if k == "description" || is_extension(k) {
                out.insert(k.clone(), v.clone());
            }
        }
        let new_at = Pointer::root()
            .join("components")
            .join("securitySchemes")
            .join(at.last().unwrap_or_default());
        match obj.get("type").and_then(Value::as_str) {
            Some("basic") => {
                out.insert("type".into(), json!("http"));
                out.insert("scheme".into(), json!("basic"));
            }
            Some("apiKey") => {
                out.insert("type".into(), json!("apiKey"));
                for k in ["name", "in"] {
                    if let Some(v) = obj.get(k) {
                        out.insert(k.into(), v.clone());
                    }
                }
            }
            Some("oauth2") => {
                out.insert("type".into(), json!("oauth2"));
                let flow = match obj.get("flow").and_then(Value::as_str) {
                    Some("implicit") => "implicit",
                    Some("password") => "password",
                    Some("application") => "clientCredentials",
                    Some("accessCode") => "authorizationCode",
                    other => {
                        self.warn(
                            at,
                            format!(
                                "oauth2 flow {} is not one of implicit, password, application, accessCode; treated as implicit",
                                other.map_or("(missing)".to_string(), |f| format!("`{f}`"))
                            ),
                        );
                        "implicit"
                    }
                };
                let mut f = Map::new();
                for k in ["authorizationUrl", "tokenUrl"] {
                    if let Some(v) = obj.get(k) {
                        f.insert(k.into(), v.clone());
                    }
                }
                // 3.0 wants the URLs each flow needs; an incomplete 2.0 definition keeps an
                // empty one rather than failing the whole document.
                let needs: &[&str] = match flow {
                    "implicit" => &["authorizationUrl"],
                    "password" | "clientCredentials" => &["tokenUrl"],
                    _ => &["authorizationUrl", "tokenUrl"],
                };
                for k in needs {
                    if !f.contains_key(*k) {
                        self.warn(at, format!("oauth2 `{k}` is missing"));
                        f.insert((*k).into(), json!(""));
                    }
                }
                f.insert(
                    "scopes".into(),
                    match obj.get("scopes") {
                        Some(s @ Value::Object(_)) => s.clone(),
                        _ => json!({}),
                    },
                );
                self.map.add(&new_at.join("flows").join(flow), at);
                out.insert("flows".into(), json!({ flow: Value::Object(f) }));
            }
            _ => {
                // Unknown: carried over as it is for the structural parse to report.
                return d.clone();
            }
        }
        Value::Object(out)
    }

    /// Resolves a parameter (following local `$ref`s) found at `at`.
    fn resolve_param(&mut self, p: &Value, at: &Pointer) -> Param {
        let mut value = p.clone();
        let mut def_at = at.clone();
        let mut reference = None;
        for _ in 0..MAX_REF_HOPS {
            let Some(r) = value
                .get("$ref")
                .and_then(Value::as_str)
                .map(str::to_string)
            else {
                break;
            };
            reference.get_or_insert_with(|| r.clone());
            let Some(pointer) = Pointer::from_ref(&r) else {
                break;
            };
            let Some(target) = pointer.find(self.root).cloned() else {
                break;
            };
            value = target;
            def_at = pointer;
        }
        Param {
            at: at.clone(),
            def_at,
            value,
            reference,
        }
    }

    fn params_at(&mut self, list: Option<&Value>, at: &Pointer) -> Vec<Param> {
        let Some(Value::Array(items)) = list else {
            return Vec::new();
        };
        items
            .iter()
            .enumerate()
            .map(|(i, p)| self.resolve_param(p, &at.join("parameters").join(i)))
            .collect()
    }

    fn path_item(&mut self, item: &Value, at: &Pointer) -> Value {
        let Some(obj) = item.as_object() else {
            return item.clone();
        };
        let path_params = self.params_at(obj.get("parameters"), at);
        let mut out = Map::new();
        for (k, v) in obj {
            match k.as_str() {
                "$ref" => {
                    out.insert(
                        k.clone(),
                        Value::String(rewrite_ref(v.as_str().unwrap_or(""))),
                    );
                }
                "get" | "put" | "post" | "delete" | "options" | "head" | "patch" => {
                    let op_at = at.join(k);
                    out.insert(k.clone(), self.operation(v, &op_at, &path_params));
                }
                "parameters" => {
                    let kept: Vec<&Param> = path_params
                        .iter()
                        .filter(|p| !p.is_body() && !p.is_form())
                        .collect();
                    let mut list = Vec::new();
                    for (j, p) in kept.iter().enumerate() {
                        let new = at.join("parameters").join(j);
                        list.push(self.parameter_or_ref(p, &new));
                    }
                    if !list.is_empty() {
                        out.insert(k.clone(), Value::Array(list));
                    }
                }
                _ if is_extension(k) || k == "summary" || k == "description" => {
                    out.insert(k.clone(), v.clone());
                }
                _ => {}
            }
        }
        Value::Object(out)
    }

    fn operation(&mut self, op: &Value, at: &Pointer, path_params: &[Param]) -> Value {
        let Some(obj) = op.as_object() else {
            return op.clone();
        };
        let mut out = Map::new();
        for (k, v) in obj {
            match k.as_str() {
                "tags" | "summary" | "description" | "externalDocs" | "operationId"
                | "deprecated" | "security" => {
                    out.insert(k.clone(), v.clone());
                }
                _ if is_extension(k) => {
                    out.insert(k.clone(), v.clone());
                }
                _ => {}
            }
        }
        let consumes = match obj.get("consumes") {
            Some(v) => media_list(Some(v)),
            None => self.consumes.clone(),
        };
        let produces = match obj.get("produces") {
            Some(v) => media_list(Some(v)),
            None => self.produces.clone(),
        };
        let op_params = self.params_at(obj.get("parameters"), at);
        // Path-level parameters apply unless the operation redefines them (same name and `in`).
        let inherited: Vec<&Param> = path_params
            .iter()
            .filter(|p| {
                !op_params
                    .iter()
                    .any(|q| q.name() == p.name() && q.location() == p.location())
            })
            .collect();
        let mut list = Vec::new();
        for p in op_params.iter().filter(|p| !p.is_body() && !p.is_form()) {
            let new = at.join("parameters").join(list.len());
            list.push(self.parameter_or_ref(p, &new));
        }
        if !list.is_empty() {
            out.insert("parameters".into(), Value::Array(list));
        }
        let all = || inherited.iter().copied().chain(op_params.iter());
        let bodies: Vec<&Param> = all().filter(|p| p.is_body()).collect();
        let forms: Vec<&Param> = all().filter(|p| p.is_form()).collect();
        let rb_at = at.join("requestBody");
        if let Some(body) = bodies.last() {
            for extra in &bodies[..bodies.len() - 1] {
                self.warn(
                    &extra.at,
                    "more than one body parameter; the last one is the request body",
                );
            }
            if let Some(f) = forms.first() {
                self.warn(
                    &f.at,
                    "formData parameters next to a body parameter are ignored (Swagger 2.0 allows only one of them)",
                );
            }
            out.insert("requestBody".into(), self.body(body, &consumes, &rb_at));
            self.map_consumes(obj, at, &rb_at);
        } else if !forms.is_empty() {
            out.insert(
                "requestBody".into(),
                self.form_body(&forms, &consumes, &rb_at, at),
            );
            self.map_consumes(obj, at, &rb_at);
        }
        let responses_at = at.join("responses");
        let mut responses = Map::new();
        if let Some(Value::Object(rs)) = obj.get("responses") {
            for (code, r) in rs {
                let r_at = responses_at.join(code);
                let converted = if is_extension(code) {
                    r.clone()
                } else {
                    self.response(r, &produces, &r_at, &r_at)
                };
                responses.insert(code.clone(), converted);
            }
        }
        out.insert("responses".into(), Value::Object(responses));
        Value::Object(out)
    }

    /// The request body's media types come from `consumes` (the operation's, else the global one).
    fn map_consumes(&mut self, op: &Map<String, Value>, op_at: &Pointer, rb_at: &Pointer) {
        let from = if op.contains_key("consumes") {
            op_at.join("consumes")
        } else if self.src.contains_key("consumes") {
            Pointer::root().join("consumes")
        } else {
            return;
        };
        self.map.add(&rb_at.join("content"), &from);
    }

    /// A non-body parameter: a `$ref` stays a reference (to `components/parameters`), an inline
    /// one is converted.
    fn parameter_or_ref(&mut self, p: &Param, new: &Pointer) -> Value {
        self.map.add(new, &p.at);
        match &p.reference {
            Some(r) => json!({ "$ref": rewrite_ref(r) }),
            None => self.parameter(p, new),
        }
    }

    fn parameter(&mut self, p: &Param, new: &Pointer) -> Value {
        self.map.add(new, &p.def_at);
        let Some(obj) = p.value.as_object() else {
            return p.value.clone();
        };
        let mut out = Map::new();
        for (k, v) in obj {
            match k.as_str() {
                "name" | "in" | "description" | "required" | "allowEmptyValue" => {
                    out.insert(k.clone(), v.clone());
                }
                _ if is_extension(k) && k != "x-nullable" => {
                    out.insert(k.clone(), v.clone());
                }
                _ => {}
            }
        }
        let schema_at = new.join("schema");
        self.map.add(&schema_at, &p.def_at);
        out.insert("schema".into(), value_schema(obj));
        let is_array = obj.get("type").and_then(Value::as_str) == Some("array");
        let format = obj
            .get("collectionFormat")
            .and_then(Value::as_str)
            .unwrap_or("csv");
        if is_array {
            let location = p.location();
            let (style, explode) = match (location, format) {
                ("query", "multi") => ("form", true),
                ("query", "ssv") => ("spaceDelimited", false),
                ("query", "pipes") => ("pipeDelimited", false),
                ("query", "tsv") => {
                    self.warn(
                        &p.def_at.join("collectionFormat"),
                        "`tsv` has no OpenAPI 3 style; values are sent comma-separated",
                    );
                    ("form", false)
                }
                ("query", _) => ("form", false),
                (_, "csv") => ("simple", false),
                (_, other) => {
                    self.warn(
                        &p.def_at.join("collectionFormat"),
                        format!(
                            "collectionFormat `{other}` is only defined for query parameters here; values are sent comma-separated"
                        ),
                    );
                    ("simple", false)
                }
            };
            out.insert("style".into(), json!(style));
            out.insert("explode".into(), json!(explode));
        }
        Value::Object(out)
    }

    fn body(&mut self, p: &Param, consumes: &[String], rb_at: &Pointer) -> Value {
        self.map.add(rb_at, &p.def_at);
        let mut media: Vec<String> = consumes.iter().filter(|m| !is_form(m)).cloned().collect();
        if media.is_empty() {
            media.push("application/json".into());
        }
        let raw = p.field("schema").cloned().unwrap_or_else(|| json!({}));
        let s = schema(&raw, 0);
        let mut content = Map::new();
        for m in media {
            let at = rb_at.join("content").join(&m).join("schema");
            self.map.add(&at, &p.def_at.join("schema"));
            content.insert(m, json!({ "schema": s.clone() }));
        }
        let mut out = Map::new();
        if let Some(d) = p.field("description") {
            out.insert("description".into(), d.clone());
        }
        out.insert(
            "required".into(),
            Value::Bool(p.field("required") == Some(&Value::Bool(true))),
        );
        out.insert("content".into(), Value::Object(content));
        Value::Object(out)
    }

    fn form_body(
        &mut self,
        forms: &[&Param],
        consumes: &[String],
        rb_at: &Pointer,
        op_at: &Pointer,
    ) -> Value {
        if let Some(first) = forms.first() {
            self.map.add(rb_at, &first.at);
        }
        let has_file = forms
            .iter()
            .any(|p| p.field("type").and_then(Value::as_str) == Some("file"));
        let mut media: Vec<String> = consumes.iter().filter(|m| is_form(m)).cloned().collect();
        if media.is_empty() {
            media.push(if has_file { MULTIPART } else { FORM_URLENCODED }.into());
        }
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut at_of = Vec::new();
        for p in forms {
            let Some(obj) = p.value.as_object() else {
                continue;
            };
            let name = p.name().to_string();
            let mut s = value_schema(obj);
            if let (Some(d), Value::Object(m)) = (obj.get("description"), &mut s) {
                m.entry("description").or_insert_with(|| d.clone());
            }
            if obj.get("required") == Some(&Value::Bool(true)) && !required.contains(&json!(name)) {
                required.push(json!(name));
            }
            at_of.push((name.clone(), p.def_at.clone()));
            properties.insert(name, s);
        }
        let mut s = Map::new();
        s.insert("type".into(), json!("object"));
        s.insert("properties".into(), Value::Object(properties));
        if !required.is_empty() {
            s.insert("required".into(), Value::Array(required.clone()));
        }
        let s = Value::Object(s);
        let mut content = Map::new();
        for m in media {
            let at = rb_at.join("content").join(&m).join("schema");
            self.map.add(&at, &op_at.join("parameters"));
            for (name, def_at) in &at_of {
                self.map.add(&at.join("properties").join(name), def_at);
            }
            content.insert(m, json!({ "schema": s.clone() }));
        }
        json!({ "required": !required.is_empty(), "content": Value::Object(content) })
    }

    fn response(&mut self, r: &Value, produces: &[String], new: &Pointer, old: &Pointer) -> Value {
        self.map.add(new, old);
        let Some(obj) = r.as_object() else {
            return r.clone();
        };
        if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
            return json!({ "$ref": rewrite_ref(reference) });
        }
        let mut out = Map::new();
        out.insert(
            "description".into(),
            obj.get("description").cloned().unwrap_or_else(|| json!("")),
        );
        for (k, v) in obj {
            if is_extension(k) {
                out.insert(k.clone(), v.clone());
            }
        }
        if let Some(Value::Object(headers)) = obj.get("headers") {
            let mut hs = Map::new();
            for (name, h) in headers {
                let h_old = old.join("headers").join(name);
                let h_new = new.join("headers").join(name);
                self.map.add(&h_new, &h_old);
                self.map.add(&h_new.join("schema"), &h_old);
                let mut header = Map::new();
                if let Some(hobj) = h.as_object() {
                    if let Some(d) = hobj.get("description") {
                        header.insert("description".into(), d.clone());
                    }
                    header.insert("schema".into(), value_schema(hobj));
                }
                hs.insert(name.clone(), Value::Object(header));
            }
            out.insert("headers".into(), Value::Object(hs));
        }
        if let Some(raw) = obj.get("schema") {
            let s = schema(raw, 0);
            let mut media: Vec<String> = produces.to_vec();
            if media.is_empty() {
                media.push("application/json".into());
            }
            let examples = obj.get("examples").and_then(Value::as_object);
            let mut content = Map::new();
            for m in media {
                let at = new.join("content").join(&m).join("schema");
                self.map.add(&at, &old.join("schema"));
                let mut mt = Map::new();
                mt.insert("schema".into(), s.clone());
                if let Some(ex) = examples.and_then(|e| e.get(&m)) {
                    mt.insert("example".into(), ex.clone());
                }
                content.insert(m, Value::Object(mt));
            }
            out.insert("content".into(), Value::Object(content));
        }
        Value::Object(out)
    }
}

/// The schema of a non-body parameter, header or `items` object, from its value keywords.
fn value_schema(obj: &Map<String, Value>) -> Value {
    // Invalid but common: a non-body parameter with a `schema` and no `type`.
    if !obj.contains_key("type")
        && let Some(s) = obj.get("schema")
    {
        return schema(s, 0);
    }
    let mut out = Map::new();
    for k in VALUE_KEYWORDS {
        if let Some(v) = obj.get(*k) {
            out.insert((*k).to_string(), v.clone());
        }
    }
    if let Some(items) = obj.get("items") {
        let converted = match items.as_object() {
            Some(i) if !i.contains_key("$ref") => value_schema(i),
            _ => schema(items, 1),
        };
        out.insert("items".into(), converted);
    }
    if obj.get("x-nullable") == Some(&Value::Bool(true)) {
        out.insert("nullable".into(), Value::Bool(true));
    }
    if out.get("type").and_then(Value::as_str) == Some("file") {
        out.insert("type".into(), json!("string"));
        out.insert("format".into(), json!("binary"));
    }
    Value::Object(out)
}

/// Keywords whose value is one schema (or, for `items` and `additionalItems`, a list of them);
/// those whose value is a list or a map of schemas are the 3.x ones
/// ([`SCHEMA_ARRAY_KEYWORDS`], [`SCHEMA_MAP_KEYWORDS`]).
const ONE: &[&str] = &[
    "items",
    "additionalProperties",
    "not",
    "additionalItems",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
];

/// A 2.0 schema object as a 3.0 one: `$ref`s rewritten, `x-nullable`, `type: file` and string
/// discriminators converted, recursively through the schema keywords only (example and default
/// values are data, left alone).
fn schema(s: &Value, depth: usize) -> Value {
    let Some(obj) = s.as_object() else {
        return s.clone();
    };
    if depth > MAX_SCHEMA_DEPTH {
        return s.clone();
    }
    let mut out = Map::new();
    for (k, v) in obj {
        let k = k.as_str();
        let converted = if k == "$ref" {
            match v.as_str() {
                Some(r) => Value::String(rewrite_ref(r)),
                None => v.clone(),
            }
        } else if k == "x-nullable" {
            if v == &Value::Bool(true) {
                out.insert("nullable".into(), Value::Bool(true));
            }
            continue;
        } else if k == "discriminator" && v.is_string() {
            json!({ "propertyName": v })
        } else if k == "type" && v == "file" {
            out.insert("format".into(), json!("binary"));
            json!("string")
        } else if ONE.contains(&k) {
            match v {
                Value::Array(a) => Value::Array(a.iter().map(|x| schema(x, depth + 1)).collect()),
                _ => schema(v, depth + 1),
            }
        } else if SCHEMA_ARRAY_KEYWORDS.contains(&k) {
            match v {
                Value::Array(a) => Value::Array(a.iter().map(|x| schema(x, depth + 1)).collect()),
                _ => v.clone(),
            }
        } else if SCHEMA_MAP_KEYWORDS.contains(&k) {
            match v {
                Value::Object(m) => Value::Object(
                    m.iter()
                        .map(|(n, x)| (n.clone(), schema(x, depth + 1)))
                        .collect(),
                ),
                _ => v.clone(),
            }
        } else {
            v.clone()
        };
        out.insert(k.to_string(), converted);
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pointer from its escaped text.
    fn ptr(text: &str) -> Pointer {
        Pointer::parse(text).expect("a pointer")
    }

    /// The original of a converted-document pointer, as text.
    fn original(m: &PointerMap, text: &str) -> String {
        m.original(&ptr(text)).to_string()
    }

    #[test]
    fn pointer_map_longest_prefix() {
        let mut m = PointerMap::default();
        m.add(&ptr("/components/schemas"), &ptr("/definitions"));
        m.add(
            &ptr("/paths/~1a/get/parameters/0"),
            &ptr("/paths/~1a/get/parameters/2"),
        );
        m.add(
            &ptr("/paths/~1a/get/parameters/0/schema"),
            &ptr("/paths/~1a/get/parameters/2"),
        );
        assert_eq!(
            original(&m, "/components/schemas/Pet/properties/id"),
            "/definitions/Pet/properties/id"
        );
        assert_eq!(
            original(&m, "/paths/~1a/get/parameters/0/schema/items"),
            "/paths/~1a/get/parameters/2/items"
        );
        assert_eq!(original(&m, "/info/title"), "/info/title");
        // Only whole tokens match: `/components/schemasX` is not under `/components/schemas`.
        assert_eq!(original(&m, "/components/schemasX"), "/components/schemasX");
        let mut w = Warning::spec(ptr("/components/schemas/X"), "bad");
        m.warning(&mut w);
        assert_eq!(w.to_string(), "#/definitions/X: bad");
        let mut other = Warning::file("auth.yaml", ptr("/components/schemas/X"), "bad");
        m.warning(&mut other);
        assert_eq!(other.to_string(), "auth.yaml#/components/schemas/X: bad");
    }

    #[test]
    fn body_form_and_collection_format() {
        let doc = json!({
            "swagger": "2.0",
            "host": "api.example.com", "basePath": "/v1", "schemes": ["http", "https"],
            "consumes": ["application/json"],
            "paths": {"/p": {
                "parameters": [{"name": "trace", "in": "header", "type": "string"}],
                "post": {
                    "parameters": [
                        {"name": "tags", "in": "query", "type": "array", "items": {"type": "string"}},
                        {"name": "b", "in": "body", "required": true, "schema": {"$ref": "#/definitions/B"}},
                    ],
                    "responses": {"200": {"description": "ok", "schema": {"type": "array", "items": {"$ref": "#/definitions/B"}}}}
                },
                "put": {
                    "consumes": ["multipart/form-data"],
                    "parameters": [
                        {"name": "f", "in": "formData", "type": "file", "required": true},
                        {"name": "ids", "in": "query", "type": "array", "collectionFormat": "multi", "items": {"type": "integer"}},
                    ],
                    "responses": {"204": {"description": "done"}}
                }
            }},
            "definitions": {"B": {"type": "object", "x-nullable": true, "properties": {"a": {"type": "string"}}}}
        });
        let c = convert(&doc);
        let r = &c.root;
        assert_eq!(r["servers"][0]["url"], "https://api.example.com/v1");
        assert_eq!(r["servers"][1]["url"], "http://api.example.com/v1");
        let post = &r["paths"]["/p"]["post"];
        assert_eq!(post["parameters"][0]["style"], "form");
        assert_eq!(post["parameters"][0]["explode"], false);
        assert_eq!(
            post["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/B"
        );
        assert_eq!(post["requestBody"]["required"], true);
        assert_eq!(
            post["responses"]["200"]["content"]["application/json"]["schema"]["items"]["$ref"],
            "#/components/schemas/B"
        );
        let put = &r["paths"]["/p"]["put"];
        let form = &put["requestBody"]["content"]["multipart/form-data"]["schema"];
        assert_eq!(
            form["properties"]["f"],
            json!({"type": "string", "format": "binary"})
        );
        assert_eq!(form["required"], json!(["f"]));
        assert_eq!(put["parameters"][0]["explode"], true);
        assert_eq!(r["components"]["schemas"]["B"]["nullable"], true);
        assert_eq!(
            original(&c.map, "/paths/~1p/put/parameters/0/schema/items"),
            "/paths/~1p/put/parameters/1/items"
        );
        assert_eq!(
            original(
                &c.map,
                "/paths/~1p/post/requestBody/content/application~1json/schema"
            ),
            "/paths/~1p/post/parameters/1/schema"
        );
        assert_eq!(
            original(
                &c.map,
                "/paths/~1p/put/requestBody/content/multipart~1form-data/schema/properties/f"
            ),
            "/paths/~1p/put/parameters/0"
        );
    }
}
