//! Stages 5 and 6, render and format: turns the IR into a plain view model, renders the Tera
//! templates in `templates/` (compiled into the binary), formats every `.rs` file with `syn` +
//! `prettyplease`, validates `Cargo.toml` by parsing it, and prepends the `@generated` header.
//!
//! Templates only present: every literal that carries spec text (names, descriptions, paths,
//! schemas) is built here as a Rust string literal token, so nothing in a spec can break the
//! syntax of the generated code or inject into it.

use crate::error::{Error, Result};
use crate::ir::{Api, ArgLocation, BodyKind, Tool, TypeDef};
use crate::output::FileMap;
use serde::Serialize;
use serde_json::Value;

/// Tera templates, compiled into the binary. `*_head` templates start a file; the others render
/// one item (a tool, a type) each, so big files are rendered and formatted in chunks.
const TEMPLATES: &[(&str, &str)] = &[
    ("Cargo.toml", include_str!("../templates/Cargo.toml.tera")),
    ("README.md", include_str!("../templates/README.md.tera")),
    ("gitignore", include_str!("../templates/gitignore.tera")),
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
];

/// Spec-independent sources, copied verbatim (they read everything spec-specific from
/// `tools.rs`), still formatted like every other `.rs` file.
const STATIC_FILES: &[(&str, &str)] = &[
    ("src/main.rs", include_str!("../templates/main.rs")),
    ("src/server.rs", include_str!("../templates/server.rs")),
    ("src/runtime.rs", include_str!("../templates/runtime.rs")),
];

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
    description_toml: String,
    about_lit: String,
    has_tools: bool,
    tool_count: usize,
    tools: Vec<ToolView>,
    structs: Vec<StructView>,
    enums: Vec<EnumView>,
    readme_rows: Vec<ReadmeRow>,
    readme_description: String,
    mcpgen_version: String,
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
struct ReadmeRow {
    name: String,
    method: String,
    path: String,
    summary: String,
    args: String,
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
        path_lit: lit(&t.path),
        params,
        body,
    }
}

fn view(api: &Api) -> View {
    let mut structs = Vec::new();
    let mut enums = Vec::new();
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
        description_toml: toml::Value::String(about.clone()).to_string(),
        about_lit: lit(&about),
        has_tools: !api.tools.is_empty(),
        tool_count: api.tools.len(),
        tools: api.tools.iter().map(tool_view).collect(),
        structs,
        enums,
        readme_rows,
        readme_description: api.description.as_deref().map(md_cell).unwrap_or_default(),
        mcpgen_version: crate::VERSION.to_string(),
    }
}

fn header(path: &str) -> String {
    let text = format!(
        "@generated by mcpgen {}. Do not edit: regenerate from the OpenAPI document instead.",
        crate::VERSION
    );
    if path.ends_with(".rs") {
        format!("// {text}\n\n")
    } else if path.ends_with(".toml") || path.ends_with(".gitignore") {
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
    let whole = tera::Context::from_serialize(&view).map_err(|e| Error::Render {
        template: "(context)".into(),
        message: e.to_string(),
    })?;
    let mut chunks = Vec::new();
    for (file, template) in [
        ("Cargo.toml", "Cargo.toml"),
        ("README.md", "README.md"),
        (".gitignore", "gitignore"),
        ("src/tools.rs", "tools_head"),
    ] {
        chunks.push(Chunk {
            file,
            template,
            context: std::borrow::Cow::Borrowed(&whole),
        });
    }
    for t in &view.tools {
        chunks.push(Chunk {
            file: "src/tools.rs",
            template: "tool",
            context: item("t", t),
        });
    }
    chunks.push(Chunk {
        file: "src/tools.rs",
        template: "tools_call",
        context: std::borrow::Cow::Borrowed(&whole),
    });
    chunks.push(Chunk {
        file: "src/types.rs",
        template: "types_head",
        context: std::borrow::Cow::Borrowed(&whole),
    });
    for s in &view.structs {
        chunks.push(Chunk {
            file: "src/types.rs",
            template: "type_struct",
            context: item("s", s),
        });
    }
    for e in &view.enums {
        chunks.push(Chunk {
            file: "src/types.rs",
            template: "type_enum",
            context: item("e", e),
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
        files.insert(file.clone(), format!("{}{}", header(&file), body));
    }
    files.insert("src/tools.json".to_string(), tools_json(api));
    for (out, src) in STATIC_FILES {
        files.insert(
            (*out).to_string(),
            format!("{}{}", header(out), format_rust(out, src)?),
        );
    }
    Ok(files)
}

/// Renders (and, for Rust, formats) every chunk, spread over the available cores. Output order
/// is the chunk order, so the result does not depend on scheduling.
fn render_chunks(tera: &tera::Tera, chunks: &[Chunk]) -> Result<Vec<String>> {
    let one = |c: &Chunk| -> Result<String> {
        let text = tera
            .render(c.template, &c.context)
            .map_err(|e| Error::Render {
                template: c.template.into(),
                message: e.to_string(),
            })?;
        if c.file.ends_with(".rs") {
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
    let tools: Vec<Value> = api
        .tools
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
                    "openWorldHint": true,
                }),
            );
            Value::Object(m)
        })
        .collect();
    let doc = serde_json::json!({
        "@generated": format!("by mcpgen {}. Do not edit: regenerate from the OpenAPI document instead.", crate::VERSION),
        "tools": tools,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
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
