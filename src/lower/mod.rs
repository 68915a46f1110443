//! Lowering, after the spec and config stages: the only stage that reads `openapiv3` types. It
//! walks the operations in a fixed order (paths sorted, then methods in [`METHODS`] order — never
//! document order, so a spec with its keys reordered generates the same bytes), applies the
//! config's `tools:` selection ([`select`]) and decides everything the templates need: tool
//! names, argument names and locations, JSON schemas, Rust types, body handling, output
//! wrapping, security requirements and upstream credentials ([`upstream`]). What it returns is
//! the finished IR: nothing patches it afterwards.

pub mod select;
pub mod upstream;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::ir::{
    self, Arg, ArgLocation, Body, BodyKind, KeyLocation, SchemeKind, Simplification, Tool, Warning,
};
use crate::naming::{self, MAX_NAME_LEN, Unique};
use crate::pointer::Pointer;
use crate::schema::convert::Conversion;
use crate::schema::keywords::has_properties;
use crate::schema::refs::Schemas;
use crate::schema::shape::{Mode, origin, shape};
use crate::schema::typegen::{RType, TypeGen, field_doc};
use crate::spec::Spec;
use crate::spec::normalise::{Dialect, METHODS};
use heck::{ToKebabCase, ToUpperCamelCase};
use openapiv3::{OpenAPI, Operation, Parameter, ParameterSchemaOrContent, ReferenceOr};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Options that shape lowering.
#[derive(Debug, Clone, Default)]
pub struct LowerOptions {
    /// `--name`: the generated package name.
    pub name: Option<String>,
    /// The fingerprint of the inputs ([`crate::spec::inputs`]), carried into the IR.
    pub inputs_hash: String,
}

pub struct Lowerer<'a> {
    file: &'a str,
    view: &'a Value,
    api: &'a OpenAPI,
    schemas: &'a Schemas<'a>,
    types: TypeGen<'a, 'a>,
    tool_names: Unique,
    struct_names: Unique,
    /// `components.securitySchemes` by name (plus undefined names operations require).
    schemes: BTreeMap<String, ir::SecurityScheme>,
    /// Tool names given by `tools.overrides` → the override's key, and the config file.
    override_names: BTreeMap<String, String>,
    config_file: String,
}

/// Lowers a spec, with the config file when there is one, into the finished IR.
pub fn lower(spec: &Spec, config: Option<&Config>, opts: &LowerOptions) -> Result<ir::Api> {
    let lowered = lower_document(spec, config, opts);
    let Some(converted) = &spec.converted else {
        return lowered;
    };
    // Everything lowering reports about the converted 3.0 document is mapped back to the
    // pointers of the document the user wrote.
    let mut api = lowered
        .map(|api| converted.map.api(api))
        .map_err(|e| converted.map.error(&spec.file, e))?;
    // The conversion's own warnings already name original pointers.
    api.warnings
        .splice(0..0, converted.warnings.iter().cloned());
    Ok(api)
}

fn lower_document(spec: &Spec, config: Option<&Config>, opts: &LowerOptions) -> Result<ir::Api> {
    let file = spec.file.as_str();
    let root = spec.root();
    let view = &spec.view;
    let api = &spec.structure;
    let dialect = spec.dialect;
    let tools_config = config.and_then(|c| c.tools.as_ref());
    let mut warnings = spec.warnings.clone();
    let schemas = Schemas::new(file, root);
    let crate_name = crate_name(api, opts)?;
    let default_upstream_url = default_upstream(api, spec.url(), &mut warnings);
    let mut lw = Lowerer {
        file,
        view,
        api,
        schemas: &schemas,
        types: TypeGen::new(&schemas),
        tool_names: Unique::new(),
        struct_names: Unique::new(),
        schemes: BTreeMap::new(),
        override_names: BTreeMap::new(),
        config_file: tools_config.map(|t| t.file.clone()).unwrap_or_default(),
    };
    lw.security_schemes()?;
    // Every operation, in the fixed order, then the `tools:` selection over all of them: an
    // excluded operation is never lowered (no tool, no types, nothing to dispatch to).
    let mut ops: Vec<(
        &String,
        &'static str,
        &Operation,
        &openapiv3::PathItem,
        &Pointer,
    )> = Vec::new();
    let mut paths: Vec<(&String, &ReferenceOr<openapiv3::PathItem>)> =
        api.paths.paths.iter().collect();
    paths.sort_by(|a, b| a.0.cmp(b.0));
    let mut items = Vec::new();
    for (path, item) in paths {
        let item_ptr = Pointer::root().join("paths").join(path);
        let (item_ptr, item) = lw.deref(item, &item_ptr)?;
        items.push((path, item_ptr, item));
    }
    for (path, item_ptr, item) in &items {
        for method in METHODS {
            let op = match method {
                "get" => &item.get,
                "put" => &item.put,
                "post" => &item.post,
                "delete" => &item.delete,
                "options" => &item.options,
                "head" => &item.head,
                "patch" => &item.patch,
                _ => &item.trace,
            };
            if let Some(op) = op {
                ops.push((path, method, op, item, item_ptr));
            }
        }
    }
    let selection = match tools_config {
        Some(config) => {
            let refs: Vec<select::OpRef<'_>> = ops
                .iter()
                .map(|(path, method, op, _, _)| select::OpRef {
                    method,
                    path,
                    operation_id: op.operation_id.as_deref(),
                    tags: &op.tags,
                })
                .collect();
            select::select(config, &refs)?
        }
        None => select::Selection {
            excluded: vec![None; ops.len()],
            overrides: vec![None; ops.len()],
            warnings: Vec::new(),
        },
    };
    warnings.extend(selection.warnings.iter().cloned());
    // Names given by overrides are claimed first, so a generated name never takes one.
    for (o, excluded) in selection.overrides.iter().zip(&selection.excluded) {
        if let (Some((key, o)), None) = (o, excluded)
            && let Some(name) = &o.name
        {
            lw.tool_names.claim(name, "_", MAX_NAME_LEN);
            lw.override_names.insert(name.clone(), key.clone());
        }
    }
    let mut tools = Vec::new();
    let mut excluded = Vec::new();
    for (i, (path, method, op, item, item_ptr)) in ops.iter().enumerate() {
        let op_ptr = item_ptr.join(method);
        if let Some(reason) = &selection.excluded[i] {
            excluded.push(ir::Excluded {
                name: naming::tool_base_name(op.operation_id.as_deref(), method, path),
                method: method.to_ascii_uppercase(),
                path: path.to_string(),
                operation_id: op.operation_id.clone(),
                pointer: op_ptr.clone(),
                reason: reason.clone(),
            });
            continue;
        }
        let over = selection.overrides[i].as_ref();
        tools.push(lw.tool(path, method, op, item, item_ptr, over)?);
    }
    let types = lw.types.finish();
    let security_schemes = std::mem::take(&mut lw.schemes).into_values().collect();
    warnings.extend(schemas.warnings.borrow().iter().cloned());
    let mut out = ir::Api {
        crate_name,
        title: api.info.title.trim().to_string(),
        api_version: api.info.version.clone(),
        description: api
            .info
            .description
            .clone()
            .filter(|d| !d.trim().is_empty()),
        dialect: match dialect {
            Dialect::V20 => "2.0".into(),
            Dialect::V30 => "3.0".into(),
            Dialect::V31 => "3.1".into(),
        },
        default_upstream_url,
        tools,
        excluded,
        types,
        security_schemes,
        auth: config.map(|c| c.auth.clone()).unwrap_or_default(),
        inputs_hash: opts.inputs_hash.clone(),
        warnings,
    };
    upstream::resolve(&mut out, config.and_then(|c| c.upstream.as_ref()))?;
    Ok(out)
}

const RESERVED_CRATE_NAMES: &[&str] = &[
    "test",
    "std",
    "core",
    "alloc",
    "proc_macro",
    "proc-macro",
    "build",
    "deps",
    "examples",
    "incremental",
];

fn crate_name(api: &OpenAPI, opts: &LowerOptions) -> Result<String> {
    if let Some(n) = &opts.name {
        let valid = n.starts_with(|c: char| c.is_ascii_lowercase())
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            && n.len() <= 64
            && !RESERVED_CRATE_NAMES.contains(&n.as_str());
        if !valid {
            return Err(Error::Argument {
                flag: "--name".into(),
                message: format!(
                    "`{n}` is not a usable package name: use lower-case letters, digits, `-` and `_`, starting with a letter"
                ),
            });
        }
        return Ok(n.clone());
    }
    let kebab: String = api
        .info
        .title
        .to_kebab_case()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect();
    let kebab = kebab.trim_matches('-').to_string();
    let kebab = if kebab.starts_with(|c: char| c.is_ascii_lowercase()) {
        kebab
    } else if kebab.is_empty() {
        "api".to_string()
    } else {
        format!("api-{kebab}")
    };
    let kebab: String = kebab.chars().take(56).collect();
    Ok(format!("{}-mcp", kebab.trim_end_matches('-')))
}

fn default_upstream(
    api: &OpenAPI,
    spec_url: Option<&url::Url>,
    warnings: &mut Vec<Warning>,
) -> String {
    let Some(server) = api.servers.first() else {
        // OpenAPI: without `servers` (or with an empty list) the one server is `/`, relative to
        // where the document came from. FastAPI emits no `servers` and serves the document from
        // the API itself, so for a fetched spec that is the API's origin.
        if let Some(base) = spec_url
            && let Ok(joined) = base.join("/")
        {
            return joined.as_str().trim_end_matches('/').to_string();
        }
        warnings.push(Warning::spec(
            Pointer::root().join("servers"),
            "none, so the API is at `/` relative to the document, which is a local file: the generated server needs --upstream-url (or UPSTREAM_BASE_URL)",
        ));
        return String::new();
    };
    let mut url = server.url.clone();
    if let Some(vars) = &server.variables {
        for (k, v) in vars {
            url = url.replace(&format!("{{{k}}}"), &v.default);
        }
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        return url.trim_end_matches('/').to_string();
    }
    if let Some(base) = spec_url
        && let Ok(joined) = base.join(&url)
    {
        return joined.as_str().trim_end_matches('/').to_string();
    }
    warnings.push(Warning::spec(
        Pointer::root().join("servers").join(0).join("url"),
        format!("`{url}` is not an absolute URL; the generated server needs --upstream-url"),
    ));
    String::new()
}

/// The media type without parameters, lower case (`Application/JSON; charset=utf-8` →
/// `application/json`).
fn essence(media: &str) -> String {
    media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json(media: &str) -> bool {
    let essence = essence(media);
    essence == "application/json" || essence.ends_with("+json") || essence == "text/json"
}

fn body_kind(media: &str) -> BodyKind {
    let essence = essence(media);
    if is_json(&essence) {
        BodyKind::Json
    } else if essence == "application/x-www-form-urlencoded" {
        BodyKind::Form
    } else if essence.starts_with("multipart/") {
        BodyKind::Multipart
    } else if essence.starts_with("text/") {
        BodyKind::Text
    } else {
        BodyKind::Binary
    }
}

fn kind_rank(k: BodyKind) -> u8 {
    match k {
        BodyKind::Json => 0,
        BodyKind::Form => 1,
        BodyKind::Multipart => 2,
        BodyKind::Text => 3,
        BodyKind::Binary => 4,
    }
}

/// One argument before naming.
struct Candidate {
    wire: String,
    location: ArgLocation,
    required: bool,
    description: Option<String>,
    deprecated: bool,
    style: String,
    explode: bool,
    /// Raw schema and where it sits (for `$ref` resolution and errors).
    schema: Value,
    schema_at: Pointer,
}

impl<'a> Lowerer<'a> {
    /// Resolves a `ReferenceOr<T>` through the structural view, returning the pointer it lives at.
    fn deref<T: DeserializeOwned + Clone>(
        &self,
        r: &ReferenceOr<T>,
        at: &Pointer,
    ) -> Result<(Pointer, T)> {
        let mut reference = match r {
            ReferenceOr::Item(t) => return Ok((at.clone(), t.clone())),
            ReferenceOr::Reference { reference } => reference.clone(),
        };
        let mut from = at.clone();
        for _ in 0..32 {
            let Some(p) = Pointer::from_ref(&reference) else {
                return Err(Error::invalid(
                    self.file,
                    &from.join("$ref"),
                    format!("unsupported $ref `{reference}`"),
                ));
            };
            let Some(target) = p.find(self.view) else {
                return Err(Error::invalid(
                    self.file,
                    &from.join("$ref"),
                    format!("$ref target `{reference}` not found"),
                ));
            };
            if let Some(next) = target.get("$ref").and_then(Value::as_str) {
                reference = next.to_string();
                from = p;
                continue;
            }
            let t = serde_path_to_error::deserialize::<_, T>(target).map_err(|e| {
                Error::invalid(self.file, &p, format!("invalid object: {}", e.inner()))
            })?;
            return Ok((p, t));
        }
        Err(Error::invalid(
            self.file,
            at,
            "$ref chain too long or circular",
        ))
    }

    /// Reads `components.securitySchemes` into the scheme table. `mutualTLS` schemes, which
    /// `openapiv3` cannot parse (the structural view drops them with a warning), are read from
    /// the document itself.
    fn security_schemes(&mut self) -> Result<()> {
        if let Some(components) = &self.api.components {
            for (name, scheme) in &components.security_schemes {
                let at = Pointer::root()
                    .join("components")
                    .join("securitySchemes")
                    .join(name);
                let (_, scheme) = self.deref(scheme, &at)?;
                self.schemes.insert(
                    name.clone(),
                    ir::SecurityScheme {
                        name: name.clone(),
                        pointer: at.clone(),
                        used: false,
                        kind: scheme_kind(&scheme),
                    },
                );
            }
        }
        if let Some(raw) = self
            .schemas
            .root
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object)
        {
            for (name, scheme) in raw {
                if scheme.get("type").and_then(Value::as_str) == Some("mutualTLS") {
                    self.schemes.insert(
                        name.clone(),
                        ir::SecurityScheme {
                            name: name.clone(),
                            pointer: Pointer::root()
                                .join("components")
                                .join("securitySchemes")
                                .join(name),
                            used: false,
                            kind: SchemeKind::MutualTls,
                        },
                    );
                }
            }
        }
        Ok(())
    }

    /// The operation's effective `security` (its own, else the document's), every scheme it
    /// names marked used; a name the document does not define is added as unsupported, with a
    /// warning.
    fn security(
        &mut self,
        op: &Operation,
        op_ptr: &Pointer,
        warnings: &mut Vec<Warning>,
    ) -> Vec<BTreeMap<String, Vec<String>>> {
        let (reqs, at) = match (&op.security, &self.api.security) {
            (Some(reqs), _) => (reqs, op_ptr.join("security")),
            (None, Some(reqs)) => (reqs, Pointer::root().join("security")),
            (None, None) => return Vec::new(),
        };
        let mut out = Vec::new();
        for (i, req) in reqs.iter().enumerate() {
            let mut alt = BTreeMap::new();
            for (name, scopes) in req {
                let scheme = self.schemes.entry(name.clone()).or_insert_with(|| {
                    warnings.push(Warning::spec(at.join(i), format!("securityScheme `{name}` is not defined in components.securitySchemes; the server cannot send it")));
                    ir::SecurityScheme {
                        name: name.clone(),
                        pointer: at.join(i),
                        used: false,
                        kind: SchemeKind::Undefined,
                    }
                });
                scheme.used = true;
                alt.insert(name.clone(), scopes.clone());
            }
            out.push(alt);
        }
        out
    }

    /// The `apiKey` scheme of the operation's security that sends a parameter of this name and
    /// location, if any: the server sends it from its credentials, so it is not an argument.
    fn api_key_scheme(
        &self,
        security: &[BTreeMap<String, Vec<String>>],
        location: ArgLocation,
        name: &str,
    ) -> Option<String> {
        security
            .iter()
            .flat_map(|alt| alt.keys())
            .find_map(|scheme| {
                let Some(ir::SecurityScheme {
                    kind: SchemeKind::ApiKey { location: l, param },
                    ..
                }) = self.schemes.get(scheme)
                else {
                    return None;
                };
                let same = match (l, location) {
                    (KeyLocation::Header, ArgLocation::Header) => param.eq_ignore_ascii_case(name),
                    (KeyLocation::Query, ArgLocation::Query)
                    | (KeyLocation::Cookie, ArgLocation::Cookie) => param == name,
                    _ => false,
                };
                same.then(|| scheme.clone())
            })
    }

    fn tool(
        &mut self,
        path: &str,
        method: &str,
        op: &Operation,
        item: &openapiv3::PathItem,
        item_ptr: &Pointer,
        over: Option<&(String, crate::config::tools::Override)>,
    ) -> Result<Tool> {
        let op_ptr = &item_ptr.join(method);
        let mut warnings = Vec::new();
        let over_name = over.and_then(|(_, o)| o.name.clone());
        let name = match over_name {
            // Claimed before any operation was lowered.
            Some(name) => name,
            None => {
                let base = naming::tool_base_name(op.operation_id.as_deref(), method, path);
                if let Some(key) = self.override_names.get(&base) {
                    return Err(Error::invalid(
                        &self.config_file,
                        &Pointer::root()
                            .join("tools")
                            .join("overrides")
                            .join(key)
                            .join("name"),
                        format!(
                            "`{base}` is the name of the tool of {} ({} {path}): give that one another name too, or pick another",
                            op.operation_id
                                .as_deref()
                                .map_or("the operation".to_string(), |id| format!("`{id}`")),
                            method.to_ascii_uppercase()
                        ),
                    ));
                }
                if let Some(id) = &op.operation_id
                    && id.len() > MAX_NAME_LEN
                {
                    warnings.push(Warning::spec(
                        op_ptr.join("operationId"),
                        format!(
                            "longer than {MAX_NAME_LEN} characters; tool name shortened to `{base}`"
                        ),
                    ));
                }
                let name = self.tool_names.claim(&base, "_", MAX_NAME_LEN);
                if name != base {
                    warnings.push(Warning::spec(
                        op_ptr.clone(),
                        format!("tool name `{base}` is already taken; this one is `{name}`"),
                    ));
                }
                name
            }
        };
        let camel = name.to_upper_camel_case();
        let args_struct = self.struct_names.claim(
            &format!("{}Args", naming::type_ident(&camel)),
            "",
            usize::MAX,
        );

        let security = self.security(op, op_ptr, &mut warnings);

        // Parameters: path-level ones unless the operation overrides them (same name and `in`).
        let mut op_params: Vec<(Pointer, Parameter)> = Vec::new();
        for (i, p) in op.parameters.iter().enumerate() {
            op_params.push(self.deref(p, &op_ptr.join("parameters").join(i))?);
        }
        let mut params: Vec<(Pointer, Parameter)> = Vec::new();
        for (i, p) in item.parameters.iter().enumerate() {
            let (ptr, p) = self.deref(p, &item_ptr.join("parameters").join(i))?;
            let overridden = op_params.iter().any(|(_, q)| {
                q.parameter_data_ref().name == p.parameter_data_ref().name
                    && location_of(q) == location_of(&p)
            });
            if !overridden {
                params.push((ptr, p));
            }
        }
        params.extend(op_params);
        let mut candidates = Vec::new();
        for (ptr, p) in &params {
            let data = p.parameter_data_ref();
            let location = location_of(p);
            if location == ArgLocation::Header
                && ["accept", "content-type", "authorization"]
                    .contains(&data.name.to_ascii_lowercase().as_str())
            {
                warnings.push(Warning::spec(
                    ptr.clone(),
                    format!(
                        "header parameter `{}` is ignored, as the OpenAPI specification requires",
                        data.name
                    ),
                ));
                continue;
            }
            if let Some(scheme) = self.api_key_scheme(&security, location, &data.name) {
                warnings.push(Warning::spec(
                    ptr.clone(),
                    format!(
                        "{} `{}` is the API key of securityScheme `{scheme}`: the server sends it from its upstream credentials, so it is not an argument",
                        location_label(location),
                        data.name
                    ),
                ));
                continue;
            }
            let (style, default_explode) = match p {
                Parameter::Query { style, .. } => match style {
                    openapiv3::QueryStyle::Form => ("form", true),
                    openapiv3::QueryStyle::SpaceDelimited => ("spaceDelimited", false),
                    openapiv3::QueryStyle::PipeDelimited => ("pipeDelimited", false),
                    openapiv3::QueryStyle::DeepObject => ("deepObject", true),
                },
                Parameter::Path { style, .. } => match style {
                    openapiv3::PathStyle::Simple => ("simple", false),
                    openapiv3::PathStyle::Label => ("label", false),
                    openapiv3::PathStyle::Matrix => ("matrix", false),
                },
                Parameter::Header { .. } => ("simple", false),
                Parameter::Cookie { .. } => ("form", true),
            };
            let (schema_at, schema) = match &data.format {
                ParameterSchemaOrContent::Schema(_) => {
                    let at = ptr.join("schema");
                    let s = at.find(self.schemas.root).cloned().unwrap_or(json!({}));
                    (at, s)
                }
                ParameterSchemaOrContent::Content(content) => {
                    let mut keys: Vec<&String> = content.keys().collect();
                    keys.sort();
                    match keys.first() {
                        Some(k) => {
                            let at = ptr.join("content").join(k).join("schema");
                            let s = at.find(self.schemas.root).cloned().unwrap_or(json!({}));
                            (at, s)
                        }
                        None => (ptr.join("content"), json!({})),
                    }
                }
            };
            candidates.push(Candidate {
                wire: data.name.clone(),
                location,
                required: data.required || location == ArgLocation::Path,
                description: data.description.clone().filter(|d| !d.trim().is_empty()),
                deprecated: data.deprecated == Some(true),
                style: style.to_string(),
                explode: data.explode.unwrap_or(default_explode),
                schema,
                schema_at,
            });
        }
        // Path template variables nobody declared still need a value.
        for var in template_vars(path) {
            if !candidates
                .iter()
                .any(|c| c.location == ArgLocation::Path && c.wire == var)
            {
                warnings.push(Warning::spec(op_ptr.clone(), format!("path variable `{{{var}}}` has no parameter definition; added as a required string")));
                candidates.push(Candidate {
                    wire: var.clone(),
                    location: ArgLocation::Path,
                    required: true,
                    description: None,
                    deprecated: false,
                    style: "simple".into(),
                    explode: false,
                    schema: json!({"type": "string"}),
                    schema_at: op_ptr.clone(),
                });
            }
        }
        candidates.sort_by_key(|c| match c.location {
            ArgLocation::Path => 0,
            ArgLocation::Query => 1,
            ArgLocation::Header => 2,
            ArgLocation::Cookie => 3,
            _ => 4,
        });

        // Request body.
        let mut body = None;
        let mut flatten_notes = Vec::new();
        if let Some(rb) = &op.request_body {
            let (rb_ptr, rb) = self.deref(rb, &op_ptr.join("requestBody"))?;
            let mut media: Vec<(&String, BodyKind)> =
                rb.content.keys().map(|k| (k, body_kind(k))).collect();
            media.sort_by(|a, b| kind_rank(a.1).cmp(&kind_rank(b.1)).then(a.0.cmp(b.0)));
            if let Some((mt, kind)) = media.first() {
                if media.len() > 1 {
                    warnings.push(Warning::spec(
                        rb_ptr.join("content"),
                        format!("several media types; the tool sends `{mt}`"),
                    ));
                }
                let at = rb_ptr.join("content").join(mt).join("schema");
                let raw = at.find(self.schemas.root).cloned();
                // The body as tools see it (allOf merged, readOnly properties left out): a
                // plain object then has its properties as arguments.
                let flat = match (&raw, kind) {
                    (Some(s), BodyKind::Json | BodyKind::Form | BodyKind::Multipart) => {
                        let (rat, resolved) = self.schemas.resolve(s, &at)?;
                        match resolved.as_object() {
                            Some(obj) => {
                                let shaped = shape(self.schemas, obj, &rat, Mode::Input)?;
                                flattenable(&shaped.schema)
                                    .then(|| (rat, shaped.schema.into_owned(), shaped.notes))
                            }
                            None => None,
                        }
                    }
                    _ => None,
                };
                let desc = rb.description.clone().filter(|d| !d.trim().is_empty());
                match flat {
                    Some((rat, resolved, notes)) => {
                        flatten_notes = notes;
                        let required: Vec<&str> = resolved
                            .get("required")
                            .and_then(Value::as_array)
                            .map(|r| r.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        if let Some(props) = resolved.get("properties").and_then(Value::as_object) {
                            for (pname, pschema) in props {
                                let schema_at = origin(pschema)
                                    .unwrap_or_else(|| rat.join("properties").join(pname));
                                candidates.push(Candidate {
                                    wire: pname.clone(),
                                    location: ArgLocation::BodyField,
                                    required: rb.required && required.contains(&pname.as_str()),
                                    description: None,
                                    deprecated: false,
                                    style: String::new(),
                                    explode: false,
                                    schema: pschema.clone(),
                                    schema_at,
                                });
                            }
                        }
                    }
                    None => {
                        let schema = match kind {
                            BodyKind::Binary => json!({
                                "type": "string",
                                "contentEncoding": "base64",
                                "contentMediaType": mt,
                            }),
                            BodyKind::Text => {
                                let mut s = raw.clone().unwrap_or(json!({}));
                                if !s.is_object() || s.get("type").is_none() {
                                    s = json!({"type": "string"});
                                }
                                s
                            }
                            _ => raw.clone().unwrap_or(json!({})),
                        };
                        let description = desc.clone().or_else(|| {
                            Some(match kind {
                                BodyKind::Binary => format!("Request body ({mt}), base64-encoded."),
                                _ => format!("Request body ({mt})."),
                            })
                        });
                        candidates.push(Candidate {
                            wire: "body".into(),
                            location: ArgLocation::Body,
                            required: rb.required,
                            description,
                            deprecated: false,
                            style: String::new(),
                            explode: false,
                            schema,
                            schema_at: at.clone(),
                        });
                    }
                }
                body = Some(Body {
                    media_type: mt.to_string(),
                    kind: *kind,
                    required: rb.required,
                    flattened: flat_marker(&candidates),
                });
            }
        }

        // Naming, schemas and Rust types.
        let mut names = Unique::new();
        let mut fields = Unique::new();
        let mut defs = Conversion::new(self.schemas, Mode::Input);
        defs.enter("body");
        defs.note(flatten_notes);
        let mut args = Vec::new();
        for c in candidates {
            let base = naming::property_name(&c.wire);
            let name = if names.is_taken(&base) {
                let with_loc =
                    naming::shorten(&format!("{base}_{}", c.location.as_str()), MAX_NAME_LEN);
                let n = names.claim(&with_loc, "_", MAX_NAME_LEN);
                warnings.push(Warning::spec(
                    op_ptr.clone(),
                    format!(
                        "{} `{}` is argument `{n}` (the name `{base}` is taken)",
                        location_label(c.location),
                        c.wire
                    ),
                ));
                n
            } else {
                names.claim(&base, "_", MAX_NAME_LEN)
            };
            let rust_field = fields.claim_field(&name);
            defs.enter(&name);
            let mut schema = defs.convert(&c.schema, &c.schema_at)?;
            let is_file = c.location == ArgLocation::BodyField
                && body.as_ref().is_some_and(|b| b.kind == BodyKind::Multipart)
                && label_file_schema(&mut schema);
            if let Value::Object(m) = &mut schema {
                if let Some(d) = &c.description {
                    m.entry("description")
                        .or_insert_with(|| Value::String(d.clone()));
                }
                if c.deprecated {
                    m.insert("deprecated".into(), Value::Bool(true));
                }
            }
            let hint = format!("{}{}", camel, naming::type_ident(&name));
            let rtype = match c.location {
                ArgLocation::Body
                    if matches!(
                        body.as_ref().map(|b| b.kind),
                        Some(BodyKind::Binary | BodyKind::Text)
                    ) =>
                {
                    RType::Str
                }
                _ => self.types.rust_type(&c.schema, &c.schema_at, &hint)?,
            };
            let type_summary = rtype.summary();
            let (rtype, keeps_null) = if c.required {
                (rtype, false)
            } else {
                rtype.optional()
            };
            let rust_doc = field_doc(&c.schema, &rtype).or_else(|| c.description.clone());
            args.push(Arg {
                name,
                wire_name: c.wire,
                location: c.location,
                required: c.required,
                description: c.description,
                rust_field,
                rust_type: rtype.render_field(),
                keeps_null,
                rust_doc,
                type_summary,
                style: c.style,
                explode: c.explode,
                is_file,
                schema,
            });
        }
        let mut properties = Map::new();
        let mut required = Vec::new();
        for a in &args {
            properties.insert(a.name.clone(), a.schema.clone());
            if a.required {
                required.push(Value::String(a.name.clone()));
            }
        }
        let mut input = Map::new();
        input.insert("type".into(), json!("object"));
        input.insert("properties".into(), Value::Object(properties));
        if !required.is_empty() {
            input.insert("required".into(), Value::Array(required));
        }
        input.insert("additionalProperties".into(), Value::Bool(false));
        let d = defs.finish()?;
        if !d.is_empty() {
            input.insert("$defs".into(), Value::Object(d));
        }

        let mut simplifications = defs.take_notes();
        let (mut output_schema, wrap_output, output_notes) = self.output_schema(op, op_ptr)?;
        simplifications.extend(output_notes);
        let mut input_schema = Value::Object(input);
        // The generated server parses tools.json with serde_json's default recursion limit.
        if cut_deep(&mut input_schema, 0) | output_schema.as_mut().is_some_and(|s| cut_deep(s, 0)) {
            warnings.push(Warning::spec(op_ptr.clone(), format!("a schema (or a default or example value in it) is nested deeper than {MAX_SCHEMA_JSON_DEPTH} JSON levels; the deeper part is cut")));
        }
        let scope_alternatives = self.scope_alternatives(&security);
        let upper = method.to_ascii_uppercase();
        let summary = op
            .summary
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let mut description = op
            .description
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .or(summary)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{upper} {path}"));
        if op.deprecated {
            description = format!("Deprecated. {description}");
        }
        let mut title = summary.map(str::to_string);
        let mut read_only = matches!(method, "get" | "head" | "options" | "trace");
        let mut destructive = matches!(method, "delete" | "put" | "patch");
        let mut idempotent = matches!(
            method,
            "get" | "head" | "options" | "trace" | "put" | "delete"
        );
        let mut open_world = true;
        let mut overridden = Vec::new();
        if let Some((_, o)) = over {
            let mut note = |field: &str| overridden.push(field.to_string());
            if o.name.is_some() {
                note("name");
            }
            if let Some(t) = &o.title {
                title = Some(t.clone());
                note("title");
            }
            if let Some(d) = &o.description {
                description = d.clone();
                note("description");
            }
            if let Some(a) = &o.annotations {
                for (value, slot, field) in [
                    (a.read_only_hint, &mut read_only, "readOnlyHint"),
                    (a.destructive_hint, &mut destructive, "destructiveHint"),
                    (a.idempotent_hint, &mut idempotent, "idempotentHint"),
                    (a.open_world_hint, &mut open_world, "openWorldHint"),
                ] {
                    if let Some(v) = value {
                        *slot = v;
                        note(field);
                    }
                }
            }
        }
        Ok(Tool {
            name,
            title,
            description,
            method: upper,
            path: path.to_string(),
            operation_id: op.operation_id.clone(),
            pointer: op_ptr.clone(),
            tags: op.tags.clone(),
            read_only,
            destructive,
            idempotent,
            open_world,
            overridden_by: over.map(|(key, _)| key.clone()),
            overridden,
            args,
            body,
            input_schema,
            output_schema,
            wrap_output,
            security,
            scope_alternatives,
            credentials: Vec::new(),
            args_struct,
            simplifications,
            warnings,
        })
    }

    /// Scopes per `security` alternative, from the schemes that carry scopes (`oauth2`,
    /// `openIdConnect`). When any alternative needs none, no scope is needed at all.
    fn scope_alternatives(&self, security: &[BTreeMap<String, Vec<String>>]) -> Vec<Vec<String>> {
        let scoped = |name: &str| {
            self.schemes
                .get(name)
                .is_some_and(|s| s.kind.has_oauth_scopes())
        };
        let mut out: Vec<Vec<String>> = Vec::new();
        for req in security {
            let mut scopes: Vec<String> = req
                .iter()
                .filter(|(k, _)| scoped(k))
                .flat_map(|(_, v)| v.iter().cloned())
                .collect();
            scopes.sort();
            scopes.dedup();
            if scopes.is_empty() {
                return Vec::new();
            }
            if !out.contains(&scopes) {
                out.push(scopes);
            }
        }
        out
    }

    /// The output schema from the JSON success responses (lowest 2xx code first). Several
    /// distinct schemas become an `anyOf`. Roots that are not plainly objects are wrapped as
    /// `{"result": ..}`.
    fn output_schema(
        &self,
        op: &Operation,
        op_ptr: &Pointer,
    ) -> Result<(Option<Value>, bool, Vec<Simplification>)> {
        let mut codes: Vec<(u16, String, &ReferenceOr<openapiv3::Response>)> = Vec::new();
        for (code, r) in &op.responses.responses {
            match code {
                openapiv3::StatusCode::Code(c) if (200..300).contains(c) => {
                    codes.push((*c, c.to_string(), r));
                }
                openapiv3::StatusCode::Range(2) => codes.push((299, "2XX".into(), r)),
                _ => {}
            }
        }
        codes.sort_by_key(|c| c.0);
        let mut schemas: Vec<(Pointer, Value)> = Vec::new();
        for (_, key, r) in codes {
            let (rptr, resp) = self.deref(r, &op_ptr.join("responses").join(key))?;
            let mut json_types: Vec<&String> = resp.content.keys().filter(|k| is_json(k)).collect();
            json_types.sort();
            // A success that may come back without JSON (204, text) cannot promise structured
            // content, and an outputSchema obliges the server to always send it.
            if json_types.is_empty() {
                return Ok((None, false, Vec::new()));
            }
            if let Some(mt) = json_types.first() {
                let at = rptr.join("content").join(mt).join("schema");
                let raw = at.find(self.schemas.root).cloned().unwrap_or(json!({}));
                if !schemas.iter().any(|(_, s)| *s == raw) {
                    schemas.push((at, raw));
                }
            }
        }
        if schemas.is_empty() {
            return Ok((None, false, Vec::new()));
        }
        let mut defs = Conversion::new(self.schemas, Mode::Output);
        let mut converted = Vec::new();
        let several = schemas.len() > 1;
        for (i, (at, raw)) in schemas.iter().enumerate() {
            defs.enter(&if several {
                format!("output.anyOf[{i}]")
            } else {
                "output".to_string()
            });
            converted.push(defs.convert(raw, at)?);
        }
        let root = if converted.len() == 1 {
            converted.remove(0)
        } else {
            json!({ "anyOf": converted })
        };
        let plain_object = root.get("type") == Some(&json!("object"))
            && !["anyOf", "oneOf", "allOf", "$ref", "not", "if"]
                .iter()
                .any(|k| root.get(*k).is_some());
        let mut out = if plain_object {
            root
        } else {
            json!({"type": "object", "properties": {"result": root}, "required": ["result"]})
        };
        let d = defs.finish()?;
        if !d.is_empty()
            && let Value::Object(m) = &mut out
        {
            m.insert("$defs".into(), Value::Object(d));
        }
        Ok((Some(out), !plain_object, defs.take_notes()))
    }
}

/// Nesting allowed inside a tool schema: tools.json adds four levels around it, and the generated
/// server reads that file with serde_json, which refuses more than 128.
const MAX_SCHEMA_JSON_DEPTH: usize = 100;

/// Replaces whatever lies deeper than [`MAX_SCHEMA_JSON_DEPTH`] with an empty object or array;
/// returns whether anything was cut.
fn cut_deep(v: &mut Value, depth: usize) -> bool {
    if depth >= MAX_SCHEMA_JSON_DEPTH {
        return match v {
            Value::Object(m) if !m.is_empty() => {
                m.clear();
                true
            }
            Value::Array(a) if !a.is_empty() => {
                a.clear();
                true
            }
            _ => false,
        };
    }
    let mut cut = false;
    match v {
        Value::Object(m) => {
            for c in m.values_mut() {
                cut |= cut_deep(c, depth + 1);
            }
        }
        Value::Array(a) => {
            for c in a {
                cut |= cut_deep(c, depth + 1);
            }
        }
        _ => {}
    }
    cut
}

/// Marks a multipart file field (`format: binary`, or an array of them) as base64 input, which is
/// how a JSON tool call can carry bytes; returns whether it is one.
fn label_file_schema(schema: &mut Value) -> bool {
    fn label(s: &mut Value) -> bool {
        let Some(m) = s.as_object_mut() else {
            return false;
        };
        let binary = m.get("format").and_then(Value::as_str) == Some("binary")
            || m.contains_key("contentMediaType");
        if binary {
            m.remove("format");
            m.insert("contentEncoding".into(), Value::String("base64".into()));
            m.entry("description").or_insert_with(|| {
                Value::String(
                    "File content: base64, or a data: URI (data:<type>;base64,...).".into(),
                )
            });
        }
        binary
    }
    if label(schema) {
        return true;
    }
    schema.get_mut("items").is_some_and(label)
}

fn flat_marker(candidates: &[Candidate]) -> bool {
    candidates
        .iter()
        .any(|c| c.location == ArgLocation::BodyField)
}

/// A body is flattened into separate arguments when it is a plain object with named properties:
/// no composition, not nullable, and no additional properties to carry.
fn flattenable(obj: &Map<String, Value>) -> bool {
    let has_props = has_properties(obj);
    let type_ok = match obj.get("type") {
        None => true,
        Some(t) => t == "object",
    };
    let composed = ["oneOf", "anyOf", "allOf", "not", "if", "enum", "const"]
        .iter()
        .any(|k| obj.contains_key(*k));
    let closed = matches!(
        obj.get("additionalProperties"),
        None | Some(Value::Bool(false))
    );
    has_props && type_ok && !composed && closed && obj.get("nullable") != Some(&Value::Bool(true))
}

/// What a security scheme of the document asks for.
fn scheme_kind(scheme: &openapiv3::SecurityScheme) -> SchemeKind {
    use openapiv3::{APIKeyLocation, SecurityScheme as S};
    match scheme {
        S::APIKey { location, name, .. } => {
            let location = match location {
                APIKeyLocation::Header => KeyLocation::Header,
                APIKeyLocation::Query => KeyLocation::Query,
                APIKeyLocation::Cookie => KeyLocation::Cookie,
            };
            // A header or cookie name must be an HTTP token (RFC 9110 §5.6.2); no request can
            // carry any other.
            if location != KeyLocation::Query && !naming::is_http_token(name) {
                return SchemeKind::Unsupported {
                    reason: format!(
                        "an API key in a {} named `{}`, which is not a valid HTTP {} name",
                        location.as_str(),
                        name.escape_debug(),
                        location.as_str()
                    ),
                };
            }
            SchemeKind::ApiKey {
                location,
                param: name.clone(),
            }
        }
        S::HTTP { scheme, .. } => match scheme.trim().to_ascii_lowercase().as_str() {
            "bearer" => SchemeKind::HttpBearer,
            "basic" => SchemeKind::HttpBasic,
            other => SchemeKind::Unsupported {
                reason: format!("HTTP `{other}` authentication"),
            },
        },
        S::OAuth2 { flows, .. } => {
            let mut names = Vec::new();
            for (name, present) in [
                ("implicit", flows.implicit.is_some()),
                ("password", flows.password.is_some()),
                ("clientCredentials", flows.client_credentials.is_some()),
                ("authorizationCode", flows.authorization_code.is_some()),
            ] {
                if present {
                    names.push(name.to_string());
                }
            }
            SchemeKind::OAuth2 {
                client_credentials: flows.client_credentials.as_ref().map(|f| {
                    let mut scopes: Vec<String> = f.scopes.keys().cloned().collect();
                    scopes.sort();
                    ir::TokenFlow {
                        token_url: f.token_url.clone(),
                        scopes,
                    }
                }),
                flows: names,
            }
        }
        S::OpenIDConnect {
            open_id_connect_url,
            ..
        } => SchemeKind::OpenIdConnect {
            discovery_url: open_id_connect_url.clone(),
        },
    }
}

fn location_of(p: &Parameter) -> ArgLocation {
    match p {
        Parameter::Query { .. } => ArgLocation::Query,
        Parameter::Header { .. } => ArgLocation::Header,
        Parameter::Path { .. } => ArgLocation::Path,
        Parameter::Cookie { .. } => ArgLocation::Cookie,
    }
}

fn location_label(l: ArgLocation) -> &'static str {
    match l {
        ArgLocation::Path => "path parameter",
        ArgLocation::Query => "query parameter",
        ArgLocation::Header => "header parameter",
        ArgLocation::Cookie => "cookie parameter",
        ArgLocation::Body => "request body",
        ArgLocation::BodyField => "body property",
    }
}

fn template_vars(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                let v = &after[..end];
                if !v.is_empty() && !out.iter().any(|o: &String| o == v) {
                    out.push(v.to_string());
                }
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}
