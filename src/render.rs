//! Stages 5 and 6, render and format: turns the IR into a plain view model, renders the Tera
//! templates in `templates/` (compiled into the binary), formats every `.rs` file with `syn` +
//! `prettyplease`, validates `Cargo.toml` by parsing it, and prepends the `@generated` header.
//!
//! Templates only present: every literal that carries spec text (names, descriptions, paths,
//! schemas) is built here as a Rust string literal token, so nothing in a spec can break the
//! syntax of the generated code or inject into it.

use crate::auth::{Mode, Setting, UpstreamKind};
use crate::error::{Error, Result};
use crate::ir::{Api, ArgLocation, BodyKind, Tool, TypeDef};
use crate::output::FileMap;
use crate::runtime_config;
use crate::runtime_source::{self, OAUTH_FILES, STATIC_FILES, TEST_FILES};
use serde::Serialize;
use serde_json::Value;

/// Tera templates, compiled into the binary. `*_head` templates start a file; the others render
/// one item (a tool, a type) each, so big files are rendered and formatted in chunks.
const TEMPLATES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../templates/Cargo.toml.tera")),
    ("README.md", include_str!("../templates/README.md.tera")),
    ("gitignore", include_str!("../templates/gitignore.tera")),
    ("env_example", include_str!("../templates/env_example.tera")),
    ("tools_head", include_str!("../templates/tools.rs.tera")),
    ("tool", include_str!("../templates/tool.rs.tera")),
    (
        "tools_call",
        include_str!("../templates/tools_call.rs.tera"),
    ),
    ("types_head", include_str!("../templates/types.rs.tera")),
    (
        "type_struct",
        include_str!("../templates/type_struct.rs.tera"),
    ),
    ("type_enum", include_str!("../templates/type_enum.rs.tera")),
    (
        "type_union",
        include_str!("../templates/type_union.rs.tera"),
    ),
    (
        "auth_config",
        include_str!("../templates/auth_config.rs.tera"),
    ),
];

/// User-owned files: written once, when missing, and never overwritten, compared (`--check`
/// ignores them) or removed. They carry no `@generated` header and are not in the manifest.
/// Each comes with the items the generated code calls in it, so that a file written by an
/// older mcpgen that lacks one is reported (see [`missing_items`]).
pub const USER_OWNED: &[(&str, &str, &[&str])] = &[
    (
        "src/hooks.rs",
        runtime_source::HOOKS,
        &[
            "fn check_request",
            "fn on_tool_request",
            "fn on_tool_result",
        ],
    ),
    (
        "src/custom_tools.rs",
        runtime_source::CUSTOM_TOOLS,
        &["fn tools", "fn call"],
    ),
];

/// Whether `path` (relative, with `/`) is a user-owned file of the generated crate.
pub fn is_user_owned(path: &str) -> bool {
    USER_OWNED.iter().any(|(p, _, _)| *p == path)
}

/// The items the generated code needs from an existing user-owned file that its text lacks
/// (a plain text search: a file written by an older mcpgen misses newer hooks).
pub fn missing_items(path: &str, text: &str) -> Vec<&'static str> {
    USER_OWNED
        .iter()
        .filter(|(p, _, _)| *p == path)
        .flat_map(|(_, _, items)| items.iter().copied())
        .filter(|item| !text.contains(item))
        .collect()
}

/// The manifest: the generator-owned files of the crate, one relative path a line, sorted.
pub const MANIFEST: &str = ".mcpgen-manifest";

/// A Rust string literal for `s` (escaped; safe for any input).
pub fn lit(s: &str) -> String {
    proc_macro2::Literal::string(s).to_string()
}

/// Doc attributes for `text`, one `#[doc = " line"]` per line, so prettyplease prints `/// line`.
/// Every line is a string literal: no spec text can end the comment or inject code.
pub fn doc_attrs(text: &str) -> String {
    text.trim_end()
        .lines()
        .map(|l| {
            let l = l.trim_end();
            let l = if l.is_empty() {
                String::new()
            } else {
                format!(" {l}")
            };
            format!("#[doc = {}]", lit(&l))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[derive(Serialize)]
struct View {
    crate_name: String,
    crate_name_lit: String,
    title: String,
    title_lit: String,
    version_lit: String,
    upstream_lit: String,
    default_upstream_url: String,
    /// The same URL as one shell word, for the README's command line.
    upstream_url_shell: String,
    description_toml: String,
    about_lit: String,
    has_tools: bool,
    tool_count: usize,
    tools: Vec<ToolView>,
    structs: Vec<StructView>,
    enums: Vec<EnumView>,
    unions: Vec<UnionView>,
    readme_rows: Vec<ReadmeRow>,
    readme_description: String,
    mcpgen_version: String,
    inputs_hash: String,
    has_excluded: bool,
    auth: AuthView,
}

/// The auth configuration as the templates show it. Every Rust expression is built here, with
/// string literals from [`lit`], so no configured text can break the generated code.
#[derive(Serialize, Default)]
struct AuthView {
    mode: &'static str,
    mode_lit: String,
    /// `auth_config::BEARER` (mode `bearer`), a Rust expression.
    bearer: String,
    bearer_forward: bool,
    /// Bearer tokens are checked against a configured list (else any token passes).
    bearer_checked: bool,
    /// `auth_config::OAUTH` (mode `oauth`), a Rust expression.
    oauth: String,
    has_client_secret: bool,
    setup_proxies: bool,
    setup_fake_dynamic_registration: bool,
    forward_token: bool,
    /// `("tool", &[&["scope", ...], ...])` per tool, in `tools.json` order.
    tool_scopes: Vec<String>,
    scopes_supported: String,
    /// For the README.
    scopes_md: String,
    issuer_md: String,
    audience_md: String,
    env: Vec<EnvView>,
    /// `crate::credentials::Scheme` expressions of `auth_config::UPSTREAM`.
    upstream: Vec<String>,
    /// The upstream schemes for the README.
    upstream_rows: Vec<UpstreamRow>,
    /// The upstream credentials' variables (README, `.env.example`).
    upstream_env: Vec<EnvView>,
    /// The caller's token is forwarded upstream.
    forwarding: bool,
    /// Some scheme's tokens come from a client-credentials flow.
    has_client_credentials: bool,
}

/// One security scheme in the README's upstream credentials table.
#[derive(Serialize)]
struct UpstreamRow {
    name: String,
    what: String,
    env: String,
    tools: String,
}

/// An environment variable the generated server reads for auth (README, `.env.example`).
#[derive(Serialize)]
struct EnvView {
    name: String,
    what: String,
    /// `what` as one comment line for `.env.example`.
    comment: String,
}

/// Text for one `#` comment line: no line breaks or control characters, so spec text cannot
/// start a variable line of its own.
fn comment_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

fn env_view(name: String, what: String) -> EnvView {
    EnvView {
        comment: comment_line(&what),
        name,
        what: md_cell(&what),
    }
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

/// A setting for the README: the value, or where it is read from.
fn setting_md(s: &Option<Setting>, default: &str) -> String {
    match s {
        Some(Setting::Literal(v)) => format!("`{}`", md_cell(v).replace('`', "'")),
        Some(Setting::Env(n)) => format!("from `${n}`"),
        None => default.to_string(),
    }
}

/// `TOOL_SCOPES` of `auth_config.rs`, written out here (one line per tool, as the formatter
/// would print it): with thousands of tools the formatter would spend long on one item.
fn tool_scopes_table(auth: &AuthView) -> String {
    let mut out = String::from(
        "/// The OAuth scopes each tool needs, in `tools.json` order, from the operations' `security`\n\
         /// requirements: the token must grant every scope of at least one alternative; a tool with no\n\
         /// alternative needs none.",
    );
    if auth.mode != "oauth" {
        out.push_str(" Checked in mode `oauth` only.\n#[allow(dead_code)]");
    }
    out.push_str("\npub const TOOL_SCOPES: &[(&str, &[&[&str]])] = &[\n");
    for row in &auth.tool_scopes {
        out.push_str("    ");
        out.push_str(row);
        out.push_str(",\n");
    }
    out.push_str("];\n");
    out
}

fn auth_view(api: &Api) -> AuthView {
    let auth = &api.auth;
    let mut scopes: Vec<&str> = api
        .tools
        .iter()
        .flat_map(|t| t.scope_alternatives.iter().flatten().map(String::as_str))
        .collect();
    scopes.sort_unstable();
    scopes.dedup();
    let tool_scopes = api
        .tools
        .iter()
        .map(|t| {
            let alts: Vec<String> = t
                .scope_alternatives
                .iter()
                .map(|alt| {
                    let s: Vec<String> = alt.iter().map(|s| lit(s)).collect();
                    format!("&[{}]", s.join(", "))
                })
                .collect();
            format!("({}, &[{}])", lit(&t.name), alts.join(", "))
        })
        .collect();
    let mut view = AuthView {
        mode: match auth.mode {
            Mode::None => "none",
            Mode::Bearer => "bearer",
            Mode::Oauth => "oauth",
        },
        tool_scopes,
        scopes_supported: scopes.iter().map(|s| lit(s)).collect::<Vec<_>>().join(", "),
        scopes_md: scopes
            .iter()
            .map(|s| format!("`{}`", md_cell(s).replace('`', "'")))
            .collect::<Vec<_>>()
            .join(", "),
        ..AuthView::default()
    };
    view.mode_lit = lit(view.mode);
    let what = |name: &str| -> &'static str {
        let env = |s: &Option<Setting>| matches!(s, Some(Setting::Env(n)) if n == name);
        if let Some(b) = &auth.bearer
            && env(&b.tokens)
        {
            return "accepted bearer tokens, comma-separated (secret)";
        }
        if let Some(o) = &auth.oauth {
            for (s, what) in [
                (
                    &o.client_secret,
                    "OAuth client secret (secret; never sent to MCP clients)",
                ),
                (&o.client_id, "OAuth client ID at the provider"),
                (&o.audience, "OAuth audience (`aud` of the access tokens)"),
                (&o.oauth_metadata_url, "OAuth provider metadata URL"),
                (&o.authorize_url, "OAuth provider authorization URL"),
                (
                    &o.default_scope,
                    "scopes added to every authorization request",
                ),
            ] {
                if env(s) {
                    return what;
                }
            }
            if env(&Some(o.issuer.clone())) {
                return "OAuth issuer";
            }
        }
        "auth setting"
    };
    view.env = auth
        .env_vars()
        .into_iter()
        .map(|name| {
            let what = what(&name).to_string();
            env_view(name, what)
        })
        .collect();
    view.upstream = auth
        .upstream
        .iter()
        .map(runtime_config::scheme_expr)
        .collect();
    view.upstream_env = auth
        .upstream_env()
        .into_iter()
        .map(|e| env_view(e.name, format!("securityScheme `{}`: {}", e.scheme, e.what)))
        .collect();
    view.forwarding = auth.forwarding();
    view.has_client_credentials = auth
        .upstream
        .iter()
        .any(|s| matches!(s.kind, UpstreamKind::ClientCredentials { .. }));
    view.upstream_rows = auth
        .upstream
        .iter()
        .map(|s| {
            let count = api
                .tools
                .iter()
                .filter(|t| t.security.iter().any(|alt| alt.contains_key(&s.name)))
                .count();
            let env: Vec<String> = s.env().into_iter().map(|(n, _)| format!("`{n}`")).collect();
            UpstreamRow {
                name: md_cell(&s.name).replace('`', "'"),
                what: match (&s.kind, s.caller) {
                    (UpstreamKind::Unsupported { reason, .. }, false)
                        if *reason == s.description =>
                    {
                        format!("not sent: {}", md_cell(reason))
                    }
                    (UpstreamKind::Unsupported { reason, .. }, false) => format!(
                        "not sent ({}): {}",
                        md_cell(&s.description),
                        md_cell(reason)
                    ),
                    (UpstreamKind::Unsupported { .. }, true) => {
                        "the caller's forwarded token".to_string()
                    }
                    (_, true) => format!(
                        "{}: the caller's forwarded token, these only without one (stdio)",
                        md_cell(&s.description)
                    ),
                    (_, false) => md_cell(&s.description),
                },
                env: if env.is_empty() {
                    "none".into()
                } else {
                    env.join(", ")
                },
                tools: format!("{count} tool{}", if count == 1 { "" } else { "s" }),
            }
        })
        .collect();
    if let Some(b) = &auth.bearer {
        view.bearer = runtime_config::bearer_expr(b);
        view.bearer_forward = b.forward;
        view.bearer_checked = b.tokens.is_some();
    }
    if let Some(o) = &auth.oauth {
        view.oauth = runtime_config::oauth_expr(o);
        view.has_client_secret = o.client_secret.is_some();
        view.setup_proxies = o.setup_proxies;
        view.setup_fake_dynamic_registration = o.setup_fake_dynamic_registration;
        view.forward_token = o.forward_token;
        view.issuer_md = setting_md(&Some(o.issuer.clone()), "");
        view.audience_md = setting_md(&o.audience, "the server's own `<public-url>/mcp`");
    }
    view
}

#[derive(Serialize)]
struct ToolView {
    name_lit: String,
    /// `runtime::Output` variant: what the tool's `outputSchema` promises.
    output: &'static str,
    args_struct: String,
    struct_doc_lit: String,
    fields: Vec<FieldView>,
    known: String,
    method: String,
    path_lit: String,
    /// `Request::security` argument; empty: none.
    security_lit: String,
    params: Vec<ParamView>,
    body: Option<BodyView>,
}

#[derive(Serialize)]
struct FieldView {
    ident: String,
    ty: String,
    wire_lit: String,
    doc_lit: Option<String>,
    optional: bool,
    keeps_null: bool,
}

#[derive(Serialize)]
struct ParamView {
    func: &'static str,
    wire_lit: String,
    field: String,
    style: &'static str,
    explode: bool,
}

#[derive(Serialize)]
struct BodyView {
    kind: &'static str,
    media_lit: String,
    required: bool,
    flattened: bool,
    fields: Vec<BodyFieldView>,
    whole_field: String,
}

#[derive(Serialize)]
struct BodyFieldView {
    wire_lit: String,
    field: String,
    keeps_null: bool,
    /// A file (`format: binary` or `contentEncoding`), sent as a file part of a multipart body.
    file: bool,
}

#[derive(Serialize)]
struct StructView {
    name: String,
    doc_lit: String,
    fields: Vec<FieldView>,
    extra: Option<FieldView>,
}

#[derive(Serialize)]
struct EnumView {
    name: String,
    doc_lit: String,
    variants: Vec<VariantView>,
}

#[derive(Serialize)]
struct VariantView {
    ident: String,
    wire_lit: String,
}

#[derive(Serialize)]
struct UnionView {
    name: String,
    doc_lit: String,
    tag_lit: String,
    variants: Vec<UnionVariantView>,
}

#[derive(Serialize)]
struct UnionVariantView {
    ident: String,
    wire_lit: String,
    ty: String,
}

#[derive(Serialize)]
struct ReadmeRow {
    name: String,
    method: String,
    path: String,
    summary: String,
    args: String,
    credentials: String,
}

/// Escapes text for one markdown table cell (one line, no pipes, no HTML).
fn md_cell(s: &str) -> String {
    let first = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut out: String = first
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "'");
    if out.chars().count() > 120 {
        out = out.chars().take(117).collect::<String>() + "...";
    }
    out
}

/// One POSIX shell word for a command line users copy: `s` up to its first control character,
/// single-quoted unless it is made of characters no shell treats specially, so spec text cannot
/// run commands.
fn shell_word(s: &str) -> String {
    let first: String = s.trim().chars().take_while(|c| !c.is_control()).collect();
    let plain = !first.is_empty()
        && first
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/._~%+=@,-".contains(c));
    if plain {
        first
    } else {
        format!("'{}'", first.replace('\'', "'\\''"))
    }
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
    let fields = t
        .args
        .iter()
        .map(|a| FieldView {
            ident: a.rust_field.clone(),
            ty: a.rust_type.clone(),
            wire_lit: lit(&a.name),
            doc_lit: a.rust_doc.as_deref().map(doc_attrs),
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
        struct_doc_lit: doc_attrs(&format!(
            "Arguments of the `{}` tool: `{} {}`.",
            t.name, t.method, t.path
        )),
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

fn view(api: &Api) -> View {
    let mut structs = Vec::new();
    let mut enums = Vec::new();
    let mut unions = Vec::new();
    for t in &api.types {
        match t {
            TypeDef::Struct(s) => structs.push(StructView {
                name: s.name.clone(),
                doc_lit: doc_attrs(&match &s.doc {
                    Some(d) => format!("{d}\n\nFrom `{}`.", s.source),
                    None => format!("From `{}`.", s.source),
                }),
                fields: s
                    .fields
                    .iter()
                    .map(|f| FieldView {
                        ident: f.ident.clone(),
                        ty: f.rust_type.clone(),
                        wire_lit: lit(&f.wire_name),
                        doc_lit: f.doc.as_deref().map(doc_attrs),
                        optional: f.optional,
                        keeps_null: f.keeps_null,
                    })
                    .collect(),
                extra: s.extra.as_ref().map(|f| FieldView {
                    ident: f.ident.clone(),
                    ty: f.rust_type.clone(),
                    wire_lit: lit(&f.wire_name),
                    doc_lit: f.doc.as_deref().map(doc_attrs),
                    optional: false,
                    keeps_null: false,
                }),
            }),
            TypeDef::Enum(e) => enums.push(EnumView {
                name: e.name.clone(),
                doc_lit: doc_attrs(&match &e.doc {
                    Some(d) => format!("{d}\n\nFrom `{}`.", e.source),
                    None => format!("From `{}`.", e.source),
                }),
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
                doc_lit: doc_attrs(&match &u.doc {
                    Some(d) => format!("{d}\n\nFrom `{}`, told apart by `{}`.", u.source, u.tag),
                    None => format!("From `{}`, told apart by `{}`.", u.source, u.tag),
                }),
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
            method: t.method.clone(),
            path: md_cell(&t.path),
            summary: md_cell(t.title.as_deref().unwrap_or(&t.description)),
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
    }
}

/// The `@generated` line of every generator-owned file: the mcpgen version and the inputs'
/// fingerprint ([`crate::inputs`]).
fn generated_line(hash: &str) -> String {
    format!(
        "@generated by mcpgen {} from inputs {hash}. Do not edit: regenerate from the OpenAPI document instead.",
        crate::VERSION
    )
}

fn header(path: &str, hash: &str) -> String {
    let text = generated_line(hash);
    if path.ends_with(".rs") {
        format!("// {text}\n\n")
    } else if path.ends_with(".toml")
        || path.ends_with(".gitignore")
        || path.ends_with(".env.example")
    {
        format!("# {text}\n\n")
    } else {
        format!("<!-- {text} -->\n\n")
    }
}

/// One unit of rendering: a template, its context, and the file it belongs to.
struct Chunk<'a> {
    file: &'static str,
    template: &'static str,
    context: std::borrow::Cow<'a, tera::Context>,
    /// Text already in its final form, used as it is instead of rendering `template`.
    raw: Option<String>,
}

fn item<T: Serialize>(key: &str, value: &T) -> std::borrow::Cow<'static, tera::Context> {
    let mut ctx = tera::Context::new();
    ctx.insert(key.to_string(), value);
    std::borrow::Cow::Owned(ctx)
}

/// Renders the whole crate into memory.
pub fn render(api: &Api) -> Result<FileMap> {
    let mut tera = tera::Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| Error::Render {
            template: "(templates)".into(),
            message: e.to_string(),
        })?;
    let view = view(api);
    let mut whole = tera::Context::from_serialize(&view).map_err(|e| Error::Render {
        template: "(context)".into(),
        message: e.to_string(),
    })?;
    whole.insert(
        "dependencies",
        &runtime_source::dependencies(api.auth.mode == Mode::Oauth)?,
    );
    let mut chunks = Vec::new();
    for (file, template) in [
        ("Cargo.toml", "Cargo.toml"),
        ("README.md", "README.md"),
        (".gitignore", "gitignore"),
        (".env.example", "env_example"),
        ("src/tools.rs", "tools_head"),
        ("src/auth_config.rs", "auth_config"),
    ] {
        chunks.push(Chunk {
            file,
            template,
            context: std::borrow::Cow::Borrowed(&whole),
            raw: None,
        });
    }
    chunks.push(Chunk {
        file: "src/auth_config.rs",
        template: "auth_config",
        context: std::borrow::Cow::Borrowed(&whole),
        raw: Some(tool_scopes_table(&view.auth)),
    });
    for t in &view.tools {
        chunks.push(Chunk {
            file: "src/tools.rs",
            template: "tool",
            context: item("t", t),
            raw: None,
        });
    }
    chunks.push(Chunk {
        file: "src/tools.rs",
        template: "tools_call",
        context: std::borrow::Cow::Borrowed(&whole),
        raw: None,
    });
    chunks.push(Chunk {
        file: "src/types.rs",
        template: "types_head",
        context: std::borrow::Cow::Borrowed(&whole),
        raw: None,
    });
    for s in &view.structs {
        chunks.push(Chunk {
            file: "src/types.rs",
            template: "type_struct",
            context: item("s", s),
            raw: None,
        });
    }
    for e in &view.enums {
        chunks.push(Chunk {
            file: "src/types.rs",
            template: "type_enum",
            context: item("e", e),
            raw: None,
        });
    }
    for u in &view.unions {
        chunks.push(Chunk {
            file: "src/types.rs",
            template: "type_union",
            context: item("u", u),
            raw: None,
        });
    }
    let rendered = render_chunks(&tera, &chunks)?;
    let mut bodies: FileMap = FileMap::new();
    for (chunk, text) in chunks.iter().zip(rendered) {
        let body = bodies.entry(chunk.file.to_string()).or_default();
        body.push_str(&text);
    }
    let mut files = FileMap::new();
    for (file, body) in bodies {
        if file.ends_with(".toml") {
            toml::from_str::<toml::Table>(&body).map_err(|e| Error::Render {
                template: file.clone(),
                message: e.to_string(),
            })?;
        }
        files.insert(
            file.clone(),
            format!("{}{}", header(&file, &api.inputs_hash), body),
        );
    }
    files.insert("src/tools.json".to_string(), tools_json(api));
    files.insert("tests/tools_expected.json".to_string(), tests_json(api));
    let oauth: &[(&str, &str)] = if api.auth.mode == Mode::Oauth {
        OAUTH_FILES
    } else {
        &[]
    };
    for (out, src) in STATIC_FILES.iter().chain(oauth).chain(TEST_FILES) {
        files.insert(
            (*out).to_string(),
            format!(
                "{}{}",
                header(out, &api.inputs_hash),
                runtime_source::copy_out(out, src)?
            ),
        );
    }
    files.insert(MANIFEST.to_string(), manifest(&files, &api.inputs_hash));
    for (out, src, _) in USER_OWNED {
        files.insert((*out).to_string(), runtime_source::copy_out(out, src)?);
    }
    Ok(files)
}

/// `.mcpgen-manifest`: every generator-owned file (all of `files` so far), sorted. The next run
/// deletes the files listed here that it no longer generates; nothing else is ever deleted.
fn manifest(files: &FileMap, hash: &str) -> String {
    let mut out = format!(
        "# {}\n# The files mcpgen owns in this crate, rewritten on every run; a file listed here\n# that a later run no longer generates is deleted. Files not listed (src/hooks.rs,\n# src/custom_tools.rs, your own) are never written over or deleted.\n",
        generated_line(hash)
    );
    for path in files.keys() {
        out.push_str(path);
        out.push('\n');
    }
    out
}

/// Renders (and, for Rust, formats) every chunk, spread over the available cores. Output order
/// is the chunk order, so the result does not depend on scheduling.
fn render_chunks(tera: &tera::Tera, chunks: &[Chunk]) -> Result<Vec<String>> {
    let one = |c: &Chunk| -> Result<String> {
        let text = match &c.raw {
            Some(text) => text.clone(),
            None => tera
                .render(c.template, &c.context)
                .map_err(|e| Error::Render {
                    template: c.template.into(),
                    message: e.to_string(),
                })?,
        };
        if c.raw.is_some() {
            Ok(text)
        } else if c.file.ends_with(".rs") {
            format_rust(c.template, &text)
        } else {
            Ok(text)
        }
    };
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
        .min(chunks.len().max(1));
    if workers == 1 {
        return chunks.iter().map(one).collect();
    }
    let results: Vec<Vec<(usize, Result<String>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || {
                    chunks
                        .iter()
                        .enumerate()
                        .skip(w)
                        .step_by(workers)
                        .map(|(i, c)| (i, one(c)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![(
                        usize::MAX,
                        Err(Error::Render {
                            template: "(worker)".into(),
                            message: "a rendering thread panicked".into(),
                        }),
                    )]
                })
            })
            .collect()
    });
    let mut out: Vec<Option<String>> = vec![None; chunks.len()];
    for (i, r) in results.into_iter().flatten() {
        let text = r?;
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(text);
        }
    }
    Ok(out.into_iter().map(Option::unwrap_or_default).collect())
}

/// The `tools/list` payload as a data file the server embeds: schemas stay out of Rust source
/// (nothing to escape, nothing for `syn` to parse) and their diffs stay readable.
fn tools_json(api: &Api) -> String {
    let doc = serde_json::json!({
        "@generated": generated_line(&api.inputs_hash),
        "tools": tool_entries(api),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// The expectations of the crate's own tests (`tests/tools.rs`): the `tools/list` entries, an
/// example call per tool with the upstream request it must produce ([`crate::examples`]), the
/// names the selection excluded, and the environment the server needs to start.
fn tests_json(api: &Api) -> String {
    let names: std::collections::BTreeSet<&str> =
        api.tools.iter().map(|t| t.name.as_str()).collect();
    let mut excluded: Vec<&str> = api
        .excluded
        .iter()
        .map(|e| e.name.as_str())
        .filter(|n| !names.contains(n))
        .collect();
    excluded.sort_unstable();
    excluded.dedup();
    let credentials = crate::examples::TestCredentials::new(&api.security_schemes, &api.tools);
    let calls: Vec<crate::examples::Example> = api
        .tools
        .iter()
        .map(|tool| crate::examples::example(tool, &credentials))
        .collect();
    let mut env: std::collections::BTreeSet<String> = api.auth.env_vars().into_iter().collect();
    env.extend(credentials.env.iter().cloned());
    let doc = serde_json::json!({
        "@generated": generated_line(&api.inputs_hash),
        "env": env,
        "tools": tool_entries(api),
        "calls": calls,
        "excluded": excluded,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
}

/// The `tools/list` entries of the generated tools.
fn tool_entries(api: &Api) -> Vec<Value> {
    api.tools
        .iter()
        .map(|t| {
            let mut m = serde_json::Map::new();
            m.insert("name".into(), Value::String(t.name.clone()));
            if let Some(title) = &t.title {
                m.insert("title".into(), Value::String(title.clone()));
            }
            m.insert("description".into(), Value::String(t.description.clone()));
            m.insert("inputSchema".into(), t.input_schema.clone());
            if let Some(o) = &t.output_schema {
                m.insert("outputSchema".into(), o.clone());
            }
            m.insert(
                "annotations".into(),
                serde_json::json!({
                    "readOnlyHint": t.read_only,
                    "destructiveHint": t.destructive,
                    "idempotentHint": t.idempotent,
                    "openWorldHint": t.open_world,
                }),
            );
            Value::Object(m)
        })
        .collect()
}

/// Parses and pretty-prints Rust source. A parse failure names the template and the line.
pub fn format_rust(template: &str, src: &str) -> Result<String> {
    let file = syn::parse_file(src).map_err(|e| {
        let line = e.span().start().line;
        let text = src.lines().nth(line.saturating_sub(1)).unwrap_or("");
        Error::Render {
            template: template.into(),
            message: format!("{e} at rendered line {line}: {}", text.trim()),
        }
    })?;
    Ok(prettyplease::unparse(&file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_survive_hostile_text() {
        for s in ["plain", "a\"#b", "\"##\"###", "*/ \\ \n \u{202e}"] {
            let parsed: syn::LitStr = syn::parse_str(&lit(s)).expect("valid literal");
            assert_eq!(parsed.value(), s);
        }
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
