//! The view model: the IR as the templates see it, every decision made and every piece of spec
//! text already a Rust literal, a doc attribute or a markdown cell ([`crate::render::text`]).
//! Templates only loop and test precomputed booleans over it.

use crate::ir::budget::{self, thousands};
use crate::ir::{Api, ArgLocation, BodyKind, Tool, ToolMode, TypeDef};
use crate::render::auth_view::{AuthView, auth_view};
use crate::render::text::{doc_attrs, lit, md_cell, shell_word};
use serde::Serialize;

#[derive(Serialize)]
pub struct View {
    pub crate_name: String,
    pub crate_name_lit: String,
    pub title: String,
    pub title_lit: String,
    pub version_lit: String,
    pub upstream_lit: String,
    pub default_upstream_url: String,
    /// The same URL as one shell word, for the README's command line.
    pub upstream_url_shell: String,
    pub description_toml: String,
    pub about_lit: String,
    pub has_tools: bool,
    pub tool_count: usize,
    pub tools: Vec<ToolView>,
    pub structs: Vec<StructView>,
    pub enums: Vec<EnumView>,
    pub unions: Vec<UnionView>,
    pub readme_rows: Vec<ReadmeRow>,
    pub readme_description: String,
    pub mcpgen_version: String,
    pub inputs_hash: String,
    pub has_excluded: bool,
    pub auth: AuthView,
    /// `All` or `Discover`: the `crate::tool_info::ToolMode` variant of the crate's default.
    pub default_tool_mode: &'static str,
    /// One `crate::tool_info::ToolInfo` literal per tool, in `tools.json` order.
    pub tool_infos: Vec<String>,
    /// The same literals' fields (name and value), for code emitted already formatted.
    #[serde(skip)]
    pub tool_info_fields: Vec<[(&'static str, String); 7]>,
    /// The README's tool modes section.
    pub modes: ModesView,
}

/// Tool modes and toolsets as the README presents them.
#[derive(Serialize)]
pub struct ModesView {
    /// `all` or `discover`.
    default: &'static str,
    /// Why that is the default, a sentence for the README.
    why: String,
    /// Estimated tokens of `all` mode's tool definitions, with thousands separators.
    all_tokens: String,
    /// Estimated tokens of the four discovery tools.
    discover_tokens: String,
    toolsets: Vec<ToolsetRow>,
    /// One or two toolset names, comma-separated, for the examples.
    toolsets_example: String,
}

#[derive(Serialize)]
pub struct ToolsetRow {
    name: String,
    tools: usize,
}

/// `&[&["a"], &["b", "c"]]`: a tool's security alternatives for `Request::security`.
fn security_lit(t: &Tool) -> String {
    if t.security.is_empty() {
        return String::new();
    }
    // Alternatives that differ in scopes only send the same credentials.
    let mut alts: Vec<String> = Vec::new();
    for alt in &t.security {
        let names: Vec<String> = alt.keys().map(|k| lit(k)).collect();
        let alt = format!("&[{}]", names.join(", "));
        if !alts.contains(&alt) {
            alts.push(alt);
        }
    }
    format!("&[{}]", alts.join(", "))
}

/// A tool's credential alternatives for people: `a | b + c`, or `none`.
fn credentials_md(t: &Tool) -> String {
    if t.credentials.iter().all(Vec::is_empty) {
        return "none".into();
    }
    t.credentials
        .iter()
        .map(|alt| {
            if alt.is_empty() {
                return "none".to_string();
            }
            alt.iter()
                .map(|c| format!("`{}`", md_cell(&c.scheme).replace('`', "'")))
                .collect::<Vec<_>>()
                .join(" + ")
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

#[derive(Serialize)]
pub struct ToolView {
    pub(crate) name_lit: String,
    /// `runtime::Output` variant: what the tool's `outputSchema` promises.
    pub(crate) output: &'static str,
    pub(crate) args_struct: String,
    pub(crate) struct_doc_lit: String,
    /// The struct's doc text (`struct_doc_lit` unquoted), for code emitted already formatted.
    #[serde(skip)]
    pub(crate) struct_doc: String,
    pub(crate) fields: Vec<FieldView>,
    pub(crate) known: String,
    pub(crate) method: String,
    pub(crate) path_lit: String,
    /// `Request::security` argument; empty: none.
    pub(crate) security_lit: String,
    pub(crate) params: Vec<ParamView>,
    pub(crate) body: Option<BodyView>,
}

#[derive(Serialize)]
pub struct FieldView {
    pub(crate) ident: String,
    pub(crate) ty: String,
    pub(crate) wire_lit: String,
    pub(crate) doc_lit: Option<String>,
    /// The doc text (`doc_lit` unquoted), for code emitted already formatted.
    #[serde(skip)]
    pub(crate) doc: Option<String>,
    pub(crate) optional: bool,
    pub(crate) keeps_null: bool,
}

#[derive(Serialize)]
pub struct ParamView {
    pub(crate) func: &'static str,
    pub(crate) wire_lit: String,
    pub(crate) field: String,
    pub(crate) style: &'static str,
    pub(crate) explode: bool,
}

#[derive(Serialize)]
pub struct BodyView {
    pub(crate) kind: &'static str,
    pub(crate) media_lit: String,
    pub(crate) required: bool,
    pub(crate) flattened: bool,
    pub(crate) fields: Vec<BodyFieldView>,
    pub(crate) whole_field: String,
}

#[derive(Serialize)]
pub struct BodyFieldView {
    pub(crate) wire_lit: String,
    pub(crate) field: String,
    pub(crate) keeps_null: bool,
    /// A file (`format: binary` or `contentEncoding`), sent as a file part of a multipart body.
    pub(crate) file: bool,
}

#[derive(Serialize)]
pub struct StructView {
    pub(crate) name: String,
    pub(crate) doc_lit: String,
    /// The doc text (`doc_lit` unquoted), for code emitted already formatted.
    #[serde(skip)]
    pub(crate) doc: String,
    pub(crate) fields: Vec<FieldView>,
    pub(crate) extra: Option<FieldView>,
}

#[derive(Serialize)]
pub struct EnumView {
    pub(crate) name: String,
    pub(crate) doc_lit: String,
    /// The doc text (`doc_lit` unquoted), for code emitted already formatted.
    #[serde(skip)]
    pub(crate) doc: String,
    pub(crate) variants: Vec<VariantView>,
}

#[derive(Serialize)]
pub struct VariantView {
    pub(crate) ident: String,
    pub(crate) wire_lit: String,
}

#[derive(Serialize)]
pub struct UnionView {
    pub(crate) name: String,
    pub(crate) doc_lit: String,
    /// The doc text (`doc_lit` unquoted), for code emitted already formatted.
    #[serde(skip)]
    pub(crate) doc: String,
    pub(crate) tag_lit: String,
    pub(crate) variants: Vec<UnionVariantView>,
}

#[derive(Serialize)]
pub struct UnionVariantView {
    pub(crate) ident: String,
    pub(crate) wire_lit: String,
    pub(crate) ty: String,
}

#[derive(Serialize)]
pub struct ReadmeRow {
    name: String,
    toolset: String,
    method: String,
    path: String,
    summary: String,
    args: String,
    credentials: String,
}

fn style_variant(style: &str) -> &'static str {
    match style {
        "spaceDelimited" => "SpaceDelimited",
        "pipeDelimited" => "PipeDelimited",
        "deepObject" => "DeepObject",
        "label" => "Label",
        "matrix" => "Matrix",
        "simple" => "Simple",
        _ => "Form",
    }
}

fn tool_view(t: &Tool) -> ToolView {
    let struct_doc = format!(
        "Arguments of the `{}` tool: `{} {}`.",
        t.name, t.method, t.path
    );
    let fields = t
        .args
        .iter()
        .map(|a| FieldView {
            ident: a.rust_field.clone(),
            ty: a.rust_type.clone(),
            wire_lit: lit(&a.name),
            doc_lit: a.rust_doc.as_deref().map(doc_attrs),
            doc: a.rust_doc.clone(),
            optional: !a.required,
            keeps_null: a.keeps_null,
        })
        .collect();
    let params = t
        .args
        .iter()
        .filter_map(|a| {
            let func = match a.location {
                ArgLocation::Path => "path_param",
                ArgLocation::Query => "query",
                ArgLocation::Header => "header",
                ArgLocation::Cookie => "cookie",
                ArgLocation::Body | ArgLocation::BodyField => return None,
            };
            Some(ParamView {
                func,
                wire_lit: lit(&a.wire_name),
                field: a.rust_field.clone(),
                style: style_variant(&a.style),
                explode: a.explode,
            })
        })
        .collect();
    let body = t.body.as_ref().map(|b| BodyView {
        kind: match b.kind {
            BodyKind::Json => "Json",
            BodyKind::Form => "Form",
            BodyKind::Multipart => "Multipart",
            BodyKind::Text => "Text",
            BodyKind::Binary => "Binary",
        },
        media_lit: lit(&b.media_type),
        required: b.required,
        flattened: b.flattened,
        fields: t
            .args
            .iter()
            .filter(|a| a.location == ArgLocation::BodyField)
            .map(|a| BodyFieldView {
                wire_lit: lit(&a.wire_name),
                field: a.rust_field.clone(),
                keeps_null: a.keeps_null,
                file: a.is_file,
            })
            .collect(),
        whole_field: t
            .args
            .iter()
            .find(|a| a.location == ArgLocation::Body)
            .map(|a| a.rust_field.clone())
            .unwrap_or_default(),
    });
    ToolView {
        name_lit: lit(&t.name),
        output: match (&t.output_schema, t.wrap_output) {
            (None, _) => "None",
            (Some(_), false) => "Object",
            (Some(_), true) => "Wrapped",
        },
        args_struct: t.args_struct.clone(),
        struct_doc_lit: doc_attrs(&struct_doc),
        struct_doc,
        fields,
        known: t
            .args
            .iter()
            .map(|a| lit(&a.name))
            .collect::<Vec<_>>()
            .join(", "),
        method: t.method.clone(),
        path_lit: lit(&encode_path_template(&t.path)),
        security_lit: security_lit(t),
        params,
        body,
    }
}

fn modes_view(api: &Api) -> ModesView {
    let b = budget::budget(&api.tools);
    let why = if api.tool_mode.auto {
        match api.tool_mode.mode {
            ToolMode::Discover if b.tool_count > budget::AUTO_MAX_TOOLS => format!(
                "chosen by mcpgen's `tools: mode: auto` because this API has {} tools (more than {})",
                b.tool_count,
                budget::AUTO_MAX_TOOLS
            ),
            ToolMode::Discover => format!(
                "chosen by mcpgen's `tools: mode: auto` because listing every tool costs about {} tokens (more than {})",
                thousands(b.all_tokens),
                thousands(budget::AUTO_MAX_TOKENS)
            ),
            ToolMode::All => format!(
                "chosen by mcpgen's `tools: mode: auto` because this API's {} tools cost about {} tokens to list (within {} tools and {} tokens)",
                b.tool_count,
                thousands(b.all_tokens),
                budget::AUTO_MAX_TOOLS,
                thousands(budget::AUTO_MAX_TOKENS)
            ),
        }
    } else {
        format!(
            "set by `tools: mode: {}` in mcpgen's config file",
            api.tool_mode.mode.as_str()
        )
    };
    let toolsets: Vec<ToolsetRow> = b
        .toolsets
        .iter()
        .map(|t| ToolsetRow {
            name: t.name.clone(),
            tools: t.tools,
        })
        .collect();
    // The example names the biggest toolsets (tagged ones before `default`).
    let mut by_size: Vec<&ToolsetRow> = toolsets.iter().collect();
    by_size.sort_by_key(|t| (t.name == "default", std::cmp::Reverse(t.tools)));
    let toolsets_example = if by_size.is_empty() {
        "default".to_string()
    } else {
        by_size
            .iter()
            .take(2)
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    ModesView {
        default: api.tool_mode.mode.as_str(),
        why,
        all_tokens: thousands(b.all_tokens),
        discover_tokens: thousands(budget::discover_tokens(
            crate::runtime_source::DISCOVER_TOOLS,
        )),
        toolsets,
        toolsets_example,
    }
}

/// `crate::tool_info::ToolInfo { .. }` of one tool, every string a literal built here.
fn tool_info_lit(t: &Tool) -> String {
    let fields: Vec<String> = tool_info_fields(t)
        .iter()
        .map(|(name, value)| format!("{name}: {value}"))
        .collect();
    format!("crate::tool_info::ToolInfo {{ {} }}", fields.join(", "))
}

/// The fields of a tool's `crate::tool_info::ToolInfo`, their values Rust tokens.
fn tool_info_fields(t: &Tool) -> [(&'static str, String); 7] {
    [
        ("name", lit(&t.name)),
        ("title", lit(t.title.as_deref().unwrap_or(&t.name))),
        ("summary", lit(&t.summary)),
        ("method", lit(&t.method)),
        ("path", lit(&t.path)),
        ("toolset", lit(&t.toolset)),
        ("read_only", t.read_only.to_string()),
    ]
}

/// A type's doc: the schema's description, then where it comes from.
fn type_doc(doc: Option<&str>, source: &impl std::fmt::Display) -> String {
    match doc {
        Some(d) => format!("{d}\n\nFrom `#{source}`."),
        None => format!("From `#{source}`."),
    }
}

fn union_doc(u: &crate::ir::UnionDef) -> String {
    match &u.doc {
        Some(d) => format!("{d}\n\nFrom `#{}`, told apart by `{}`.", u.source, u.tag),
        None => format!("From `#{}`, told apart by `{}`.", u.source, u.tag),
    }
}

pub fn view(api: &Api) -> View {
    let mut structs = Vec::new();
    let mut enums = Vec::new();
    let mut unions = Vec::new();
    for t in &api.types {
        match t {
            TypeDef::Struct(s) => structs.push(StructView {
                name: s.name.clone(),
                doc_lit: doc_attrs(&type_doc(s.doc.as_deref(), &s.source)),
                doc: type_doc(s.doc.as_deref(), &s.source),
                fields: s
                    .fields
                    .iter()
                    .map(|f| FieldView {
                        ident: f.ident.clone(),
                        ty: f.rust_type.clone(),
                        wire_lit: lit(&f.wire_name),
                        doc_lit: f.doc.as_deref().map(doc_attrs),
                        doc: f.doc.clone(),
                        optional: f.optional,
                        keeps_null: f.keeps_null,
                    })
                    .collect(),
                extra: s.extra.as_ref().map(|f| FieldView {
                    ident: f.ident.clone(),
                    ty: f.rust_type.clone(),
                    wire_lit: lit(&f.wire_name),
                    doc_lit: f.doc.as_deref().map(doc_attrs),
                    doc: f.doc.clone(),
                    optional: false,
                    keeps_null: false,
                }),
            }),
            TypeDef::Enum(e) => enums.push(EnumView {
                name: e.name.clone(),
                doc_lit: doc_attrs(&type_doc(e.doc.as_deref(), &e.source)),
                doc: type_doc(e.doc.as_deref(), &e.source),
                variants: e
                    .variants
                    .iter()
                    .map(|v| VariantView {
                        ident: v.ident.clone(),
                        wire_lit: lit(&v.wire_value),
                    })
                    .collect(),
            }),
            TypeDef::Union(u) => unions.push(UnionView {
                name: u.name.clone(),
                doc_lit: doc_attrs(&union_doc(u)),
                doc: union_doc(u),
                tag_lit: lit(&u.tag),
                variants: u
                    .variants
                    .iter()
                    .map(|v| UnionVariantView {
                        ident: v.ident.clone(),
                        wire_lit: lit(&v.wire_value),
                        ty: v.rust_type.clone(),
                    })
                    .collect(),
            }),
        }
    }
    let readme_rows = api
        .tools
        .iter()
        .map(|t| ReadmeRow {
            name: t.name.clone(),
            toolset: t.toolset.clone(),
            method: t.method.clone(),
            path: md_cell(&t.path),
            summary: md_cell(&t.summary),
            args: t
                .args
                .iter()
                .map(|a| format!("{}{}", a.name, if a.required { "" } else { "?" }))
                .collect::<Vec<_>>()
                .join(", "),
            credentials: credentials_md(t),
        })
        .collect();
    let about = format!("MCP server for {} (generated by mcpgen)", api.title);
    View {
        crate_name: api.crate_name.clone(),
        crate_name_lit: lit(&api.crate_name),
        title: md_cell(&api.title),
        title_lit: lit(&api.title),
        version_lit: lit(&api.api_version),
        upstream_lit: lit(&api.default_upstream_url),
        default_upstream_url: md_cell(&api.default_upstream_url),
        upstream_url_shell: shell_word(&api.default_upstream_url),
        description_toml: toml::Value::String(about.clone()).to_string(),
        about_lit: lit(&about),
        has_tools: !api.tools.is_empty(),
        tool_count: api.tools.len(),
        tools: api.tools.iter().map(tool_view).collect(),
        structs,
        enums,
        unions,
        readme_rows,
        readme_description: api.description.as_deref().map(md_cell).unwrap_or_default(),
        mcpgen_version: crate::VERSION.to_string(),
        inputs_hash: api.inputs_hash.clone(),
        has_excluded: !api.excluded.is_empty(),
        auth: auth_view(api),
        default_tool_mode: match api.tool_mode.mode {
            ToolMode::All => "All",
            ToolMode::Discover => "Discover",
        },
        tool_infos: api.tools.iter().map(tool_info_lit).collect(),
        tool_info_fields: api.tools.iter().map(tool_info_fields).collect(),
        modes: modes_view(api),
    }
}

/// The path template as it may appear in a URL: characters a path cannot carry literally (`#`,
/// `?`, quotes, spaces, non-ASCII, ...) in its fixed parts percent-encoded, so that a spec's
/// odd path stays one path; `{name}` placeholders and existing `%XX` escapes are kept.
fn encode_path_template(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        // A placeholder, as the runtime looks it up: kept whole.
        if bytes[i] == b'{'
            && let Some(len) = path[i..].find('}')
        {
            out.push_str(&path[i..=i + len]);
            i += len + 1;
            continue;
        }
        let b = bytes[i];
        let escape = b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b) || escape {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod path_tests {
    use super::encode_path_template;

    #[test]
    fn fixed_path_parts_are_encoded_and_placeholders_kept() {
        assert_eq!(encode_path_template("/pets/{petId}"), "/pets/{petId}");
        assert_eq!(
            encode_path_template("/upload/\"#*/\\é/{x}"),
            "/upload/%22%23*/%5C%C3%A9/{x}"
        );
        assert_eq!(
            encode_path_template("/a b?c/%20/%zz"),
            "/a%20b%3Fc/%20/%25zz"
        );
        assert_eq!(
            encode_path_template("/t/{id\"}/{é}/x{"),
            "/t/{id\"}/{é}/x%7B"
        );
    }
}
