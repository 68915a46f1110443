//! Rendering, after lowering: turns the IR into a plain view model ([`mod@view`]), renders the Tera
//! templates in `templates/` (compiled into the binary), formats every `.rs` file with `syn` +
//! `prettyplease`, validates `Cargo.toml` by parsing it, and prepends the `@generated` header.
//!
//! Templates only present: every literal that carries spec text (names, descriptions, paths,
//! schemas) is built here as a Rust string literal token, so nothing in a spec can break the
//! syntax of the generated code or inject into it.

pub mod auth_view;
pub mod deploy;
pub mod examples;
pub mod runtime_config;
pub mod rust_emit;
pub mod search_index;
pub mod text;
pub mod view;

use crate::error::{Error, Result};
use crate::ir::Api;
use crate::ir::auth::Mode;
use crate::ownership::{FileMap, MANIFEST, USER_OWNED, generated_line, header, manifest};
use crate::render::auth_view::tool_scopes_table;
use crate::render::view::view;
use crate::runtime_source::{self, OAUTH_FILES, STATIC_FILES, TEST_FILES};
use crate::staged::{Prestaged, Rendered, Staged};
use serde::Serialize;
#[cfg(test)]
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Tera templates, compiled into the binary. `*_head` templates start a file; the others render
/// one item (a tool, a type) each, so big files are rendered and formatted in chunks.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../templates/Cargo.toml.tera"),
    ),
    ("README.md", include_str!("../../templates/README.md.tera")),
    ("gitignore", include_str!("../../templates/gitignore.tera")),
    (
        "env_example",
        include_str!("../../templates/env_example.tera"),
    ),
    ("tools_head", include_str!("../../templates/tools.rs.tera")),
    ("tool", include_str!("../../templates/tool.rs.tera")),
    (
        "tools_call",
        include_str!("../../templates/tools_call.rs.tera"),
    ),
    ("types_head", include_str!("../../templates/types.rs.tera")),
    (
        "type_struct",
        include_str!("../../templates/type_struct.rs.tera"),
    ),
    (
        "type_enum",
        include_str!("../../templates/type_enum.rs.tera"),
    ),
    (
        "type_union",
        include_str!("../../templates/type_union.rs.tera"),
    ),
    (
        "auth_config",
        include_str!("../../templates/auth_config.rs.tera"),
    ),
    (
        "Dockerfile",
        include_str!("../../templates/Dockerfile.tera"),
    ),
    (
        "dockerignore",
        include_str!("../../templates/dockerignore.tera"),
    ),
    (
        "k8s_deployment",
        include_str!("../../templates/deploy/deployment.yaml.tera"),
    ),
    (
        "k8s_service",
        include_str!("../../templates/deploy/service.yaml.tera"),
    ),
    (
        "k8s_hpa",
        include_str!("../../templates/deploy/hpa.yaml.tera"),
    ),
    (
        "k8s_pdb",
        include_str!("../../templates/deploy/pdb.yaml.tera"),
    ),
];

/// One unit of rendering: a template, its context, and the file it belongs to.
struct Chunk<'a> {
    file: &'static str,
    template: &'static str,
    context: std::borrow::Cow<'a, tera::Context>,
    /// Text already in its final form, used as it is instead of rendering `template`.
    raw: Option<String>,
}

pub(crate) fn item<T: Serialize>(key: &str, value: &T) -> std::borrow::Cow<'static, tera::Context> {
    let mut ctx = tera::Context::new();
    ctx.insert(key.to_string(), value);
    std::borrow::Cow::Owned(ctx)
}

/// Renders the whole crate into memory.
pub fn render(api: &Api) -> Result<FileMap> {
    render_with(api, None, render_templates).map(|rendered| rendered.files)
}

/// Renders the crate for writing into `out`: as [`render`], but `src/tools.json` is streamed
/// into a temporary file there ([`Staged`]) as it is made, never whole in memory (403 MB for
/// 25,000 Graph-shaped tools), for [`crate::write::write_rendered`] to put in place.
pub fn render_into(api: &Api, out: &Path) -> Result<Rendered> {
    render_with(api, Some(out), render_templates)
}

/// Renders the crate, `src/tools.json` into memory or streamed into `stage_in`. The files made
/// straight from the IR (the search index, `tools.json`, the tests' copy) are made on a thread
/// of their own beside the `templates`, unless the tools' schemas are large: then that thread's
/// allocations (`tools.json` alone is as large as the schemas) would meet the templates' at
/// the peak (15,000 Graph-shaped operations: 1,002 MiB beside, 947 MiB one after the other;
/// GitHub's description: the same 106 MiB either way, 60 ms less beside). Streamed, `tools.json`
/// allocates nothing, but the index and the example calls still do: 25,000 Graph-shaped tools
/// rendered 0.8 s faster beside, with a peak 45 to 100 MiB higher than the lowering's. An error
/// drops what was staged, which removes its temporary file.
fn render_with(
    api: &Api,
    stage_in: Option<&Path>,
    templates: impl FnOnce(&Api) -> Result<FileMap>,
) -> Result<Rendered> {
    let schema_bytes: usize = api
        .tools
        .iter()
        .map(|t| t.input_schema.len() + t.output_schema.as_ref().map_or(0, |s| s.len()))
        .sum();
    let handed = crate::Handed::new();
    let mut rendered = std::thread::scope(|scope| {
        let beside = schema_bytes <= BESIDE_MAX_SCHEMA_BYTES
            && crate::spawn_handing(scope, "mcpgen-render-data", &handed, || {
                data_files(api, stage_in)
            });
        let mut files = templates(api)?;
        let data = if beside {
            handed.take()
        } else {
            // After the templates: large schemas, or no thread could be started.
            data_files(api, stage_in)
        };
        let data = data?;
        files.extend(data.files);
        Ok::<_, Error>(Rendered {
            files,
            staged: data.staged,
        })
    })?;
    let paths = rendered.files.keys().map(String::as_str);
    let manifest = manifest(
        paths.chain(rendered.staged.iter().map(Staged::rel)),
        &api.inputs_hash,
    );
    rendered.files.insert(MANIFEST.to_string(), manifest);
    // The user's files: in no manifest, written once.
    for (out, src, _) in USER_OWNED {
        rendered
            .files
            .insert((*out).to_string(), runtime_source::copy_out(out, src)?);
    }
    Ok(rendered)
}

/// The tools' schema text (compact JSON, shared schemas counted each time) past which the data
/// files are made after the templates rather than beside them (see [`render_with`]).
const BESIDE_MAX_SCHEMA_BYTES: usize = 64 << 20;

/// The path of `tools.json` in the crate.
const TOOLS_JSON: &str = "src/tools.json";

/// `tools.json`, as text or streamed into a temporary file.
enum ToolsJson {
    Text(String),
    Staged(Staged),
}

/// The files made from the IR without templates: the search index, `tools.json` (streamed into
/// `stage_in` when given, and then staged) and the tests' expected tool list. `tools.json` and
/// its digest (one serial hash over its bytes: 0.25 s for the 161 MB of 10,000 Graph-shaped
/// tools) and the index are made on threads of their own beside the example calls, which need
/// neither until the tests' file is put together.
fn data_files(api: &Api, stage_in: Option<&Path>) -> Result<Rendered> {
    let tools_and_digest = || -> Result<(ToolsJson, String)> {
        let stage = crate::profile::Stage::start("render: tools.json");
        let made = match stage_in {
            None => {
                let text = tools_json(api);
                let digest = tools_json_digest(&text);
                Ok((ToolsJson::Text(text), digest))
            }
            Some(out) => stream_tools_json(api, out)
                .map(|(staged, digest)| (ToolsJson::Staged(staged), digest)),
        };
        stage.end();
        made
    };
    let index = || -> Result<String> {
        let stage = crate::profile::Stage::start("render: search index");
        let index = format!(
            "{}{}",
            header("src/search_index.rs"),
            search_index::render(api)?
        );
        stage.end();
        Ok(index)
    };
    let (tools_handed, index_handed) = (crate::Handed::new(), crate::Handed::new());
    std::thread::scope(|scope| {
        // The index on a thread of its own, started first: it is the longest of the three
        // (the last thing the render waits for), and the example calls need no part of it.
        let index_beside = crate::spawn_handing(scope, "mcpgen-search-index", &index_handed, index);
        let beside =
            crate::spawn_handing(scope, "mcpgen-tools-json", &tools_handed, tools_and_digest);
        let mut tools = None;
        let stage = crate::profile::Stage::start("render: tests json");
        let tests = tests_json(api, || {
            let (made, digest) = if beside {
                tools_handed.take()
            } else {
                // No thread could be started.
                tools_and_digest()
            }?;
            tools = Some(made);
            Ok(digest)
        });
        stage.end();
        let index = if index_beside {
            index_handed.take()
        } else {
            // No thread could be started.
            index()
        };
        // The index's error first, as when it was made before the tests' file.
        let (index, tests) = (index?, tests?);
        let mut data = Rendered::default();
        data.files.insert("src/search_index.rs".to_string(), index);
        data.files
            .insert("tests/tools_expected.json".to_string(), tests);
        match tools {
            Some(ToolsJson::Text(text)) => {
                data.files.insert(TOOLS_JSON.to_string(), text);
            }
            Some(ToolsJson::Staged(staged)) => data.staged.push(staged),
            None => {}
        }
        Ok(data)
    })
}

/// Every file but the data files, the manifest and the user's files.
fn render_templates(api: &Api) -> Result<FileMap> {
    let mut tera = tera::Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    tera.add_raw_templates(TEMPLATES.iter().copied())
        .map_err(|e| Error::Render {
            template: "(templates)".into(),
            message: e.to_string(),
        })?;
    let stage = crate::profile::Stage::start("render: view");
    let mut view = view(api);
    stage.end();
    let stage = crate::profile::Stage::start("render: context");
    let tools_call = rust_emit::tools_call(&view);
    let whole = whole_context(api, &mut view, tools_call.is_none())?;
    stage.end();
    let mut chunks = Vec::new();
    for (file, template) in [
        ("Cargo.toml", "Cargo.toml"),
        ("README.md", "README.md"),
        (".gitignore", "gitignore"),
        (".env.example", "env_example"),
        ("src/tools.rs", "tools_head"),
        ("src/auth_config.rs", "auth_config"),
        ("Dockerfile", "Dockerfile"),
        (".dockerignore", "dockerignore"),
        ("deploy/kubernetes/deployment.yaml", "k8s_deployment"),
        ("deploy/kubernetes/service.yaml", "k8s_service"),
        ("deploy/kubernetes/hpa.yaml", "k8s_hpa"),
        ("deploy/kubernetes/pdb.yaml", "k8s_pdb"),
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
    // The per-tool code and the types are emitted already formatted (`rust_emit`); a chunk it
    // does not lay out goes through its template and `syn` + `prettyplease`, with the same result.
    let stage = crate::profile::Stage::start("render: emit rust");
    for t in &view.tools {
        let raw = rust_emit::tool(t);
        chunks.push(Chunk {
            file: "src/tools.rs",
            template: "tool",
            context: if raw.is_some() {
                std::borrow::Cow::Owned(tera::Context::new())
            } else {
                item("t", t)
            },
            raw,
        });
    }
    chunks.push(Chunk {
        file: "src/tools.rs",
        template: "tools_call",
        context: std::borrow::Cow::Borrowed(&whole),
        raw: tools_call,
    });
    chunks.push(Chunk {
        file: "src/types.rs",
        template: "types_head",
        context: std::borrow::Cow::Borrowed(&whole),
        raw: None,
    });
    for s in &view.structs {
        let raw = rust_emit::type_struct(s);
        chunks.push(Chunk {
            file: "src/types.rs",
            template: "type_struct",
            context: if raw.is_some() {
                std::borrow::Cow::Owned(tera::Context::new())
            } else {
                item("s", s)
            },
            raw,
        });
    }
    for e in &view.enums {
        let raw = rust_emit::type_enum(e);
        chunks.push(Chunk {
            file: "src/types.rs",
            template: "type_enum",
            context: if raw.is_some() {
                std::borrow::Cow::Owned(tera::Context::new())
            } else {
                item("e", e)
            },
            raw,
        });
    }
    for u in &view.unions {
        let raw = rust_emit::type_union(u);
        chunks.push(Chunk {
            file: "src/types.rs",
            template: "type_union",
            context: if raw.is_some() {
                std::borrow::Cow::Owned(tera::Context::new())
            } else {
                item("u", u)
            },
            raw,
        });
    }
    stage.end();
    if std::env::var_os("MCPGEN_PROFILE").is_some_and(|v| v != "0" && !v.is_empty()) {
        let per_item = |c: &&Chunk| {
            matches!(
                c.template,
                "tool" | "tools_call" | "type_struct" | "type_enum" | "type_union"
            )
        };
        let items = chunks.iter().filter(per_item).count();
        let emitted = chunks
            .iter()
            .filter(per_item)
            .filter(|c| c.raw.is_some())
            .count();
        eprintln!(
            "profile: Rust chunks emitted formatted: {emitted} of {items} (the rest: syn + prettyplease)"
        );
    }
    let stage = crate::profile::Stage::start("render: rust chunks");
    let rendered = render_chunks(&tera, &chunks)?;
    stage.end();
    // Each file's text made once at its full size, its header first: `src/tools.rs` is a
    // thousand chunks (2.9 MB for GitHub's description), which a growing string copied over
    // and over, and then once more behind the header.
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for (chunk, text) in chunks.iter().zip(&rendered) {
        *sizes.entry(chunk.file).or_default() += text.len();
    }
    let mut bodies: BTreeMap<&str, (usize, String)> = sizes
        .into_iter()
        .map(|(file, size)| {
            let head = header(file);
            let mut text = String::with_capacity(head.len() + size);
            text.push_str(&head);
            (file, (head.len(), text))
        })
        .collect();
    for (chunk, text) in chunks.iter().zip(rendered) {
        if let Some((_, body)) = bodies.get_mut(chunk.file) {
            body.push_str(&text);
        }
    }
    let mut files = FileMap::new();
    for (file, (head, text)) in bodies {
        let body = text.get(head..).unwrap_or_default();
        if file.ends_with(".yaml") {
            serde_yaml_check(file, body)?;
        }
        if file.ends_with(".toml") {
            toml::from_str::<toml::Table>(body).map_err(|e| Error::Render {
                template: file.to_string(),
                message: e.to_string(),
            })?;
        }
        files.insert(file.to_string(), text);
    }
    for (out, text) in fixed_files()? {
        files.insert(out.to_string(), text);
    }
    if api.auth.mode == Mode::Oauth {
        for (out, src) in OAUTH_FILES {
            files.insert(
                (*out).to_string(),
                format!("{}{}", header(out), runtime_source::copy_out(out, src)?),
            );
        }
    }
    Ok(files)
}

/// Stages the files every crate has ([`fixed_files`]) under `out` ([`Prestaged`]), but those
/// the directory holds already as they are. Best effort: at the first that cannot be made, what
/// is staged is kept and the rest is left to the write stage, which reports any error as it
/// always did.
pub(crate) fn prestage(out: &Path) -> Prestaged {
    let mut pre = Prestaged::default();
    let Ok(files) = fixed_files() else {
        return pre;
    };
    for (rel, contents) in files {
        let path = out.join(rel);
        if crate::staged::same_contents(&path, contents.len() as u64, contents.as_bytes()) {
            continue;
        }
        match Staged::differing(out, rel, contents.as_bytes()) {
            Ok(staged) => pre.push(staged, contents),
            Err(_) => break,
        }
    }
    pre
}

/// The files every generated crate has, the same whatever the API: the runtime's sources (but
/// OAuth's), the crate's test of its tools and the discovery tools, served as the runtime has
/// them (JSON has no comment for a header). They can be written ahead of everything else
/// ([`prestage`]).
pub(crate) fn fixed_files() -> Result<Vec<(&'static str, String)>> {
    let mut files = vec![(
        "src/discover_tools.json",
        runtime_source::DISCOVER_TOOLS.to_string(),
    )];
    for (out, src) in STATIC_FILES.iter().chain(TEST_FILES) {
        files.push((
            out,
            format!("{}{}", header(out), runtime_source::copy_out(out, src)?),
        ));
    }
    Ok(files)
}

/// The context of the templates rendered whole (the README, `Cargo.toml`, the heads of files):
/// the view without the lists rendered item by item (tools, types), which no such template
/// reads, except `tools` and `tool_infos` for `tools_call` when its chunk is not emitted
/// directly (`with_tools`). The whole view as Tera values was 0.1 s of 10,000 Graph-shaped
/// tools' rendering, for nothing.
fn whole_context(api: &Api, view: &mut view::View, with_tools: bool) -> Result<tera::Context> {
    fn take_unless<T>(list: &mut Vec<T>, keep: bool) -> Vec<T> {
        if keep {
            Vec::new()
        } else {
            std::mem::take(list)
        }
    }
    let tools = take_unless(&mut view.tools, with_tools);
    let tool_infos = take_unless(&mut view.tool_infos, with_tools);
    let structs = std::mem::take(&mut view.structs);
    let enums = std::mem::take(&mut view.enums);
    let unions = std::mem::take(&mut view.unions);
    let whole = tera::Context::from_serialize(&*view);
    // Back for the chunks rendered item by item (a list kept in the context was not taken).
    if !with_tools {
        view.tools = tools;
        view.tool_infos = tool_infos;
    }
    view.structs = structs;
    view.enums = enums;
    view.unions = unions;
    let mut whole = whole.map_err(|e| Error::Render {
        template: "(context)".into(),
        message: e.to_string(),
    })?;
    whole.insert("deploy", &deploy::deploy_view(api));
    whole.insert(
        "dependencies",
        &runtime_source::dependencies(api.auth.mode == Mode::Oauth)?,
    );
    Ok(whole)
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
    // Workers take the next chunk as they finish one, the whole-file templates first (the
    // dispatch table and `TOOL_INFO` are one big chunk each), so no worker idles while another
    // still has a queue; results go back by index.
    let mut order: Vec<usize> = (0..chunks.len()).collect();
    order.sort_by_key(|&i| !matches!(chunks[i].context, std::borrow::Cow::Borrowed(_)));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Vec<(usize, Result<String>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&i) = order.get(k) else {
                            return done;
                        };
                        done.push((i, one(&chunks[i])));
                    }
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

/// `tools.json` in memory ([`write_tools_json`]).
fn tools_json(api: &Api) -> String {
    let mut out = Vec::with_capacity(tools_json_capacity(api));
    // Writing into memory cannot fail.
    let _ = write_tools_json(api, &mut out);
    // Only UTF-8 was written.
    String::from_utf8(out).unwrap_or_default()
}

/// `tools.json` streamed into a temporary file in `out` ([`write_tools_json`]), and its digest
/// ([`tools_json_digest`]) taken over the bytes as they are written: the text is never whole in
/// memory. An error (naming the file) removes the temporary file.
fn stream_tools_json(api: &Api, out: &Path) -> Result<(Staged, String)> {
    let (staged, file) = Staged::create(out, TOOLS_JSON)?;
    let io = |e: std::io::Error| Error::Write {
        path: staged.path().display().to_string(),
        message: e.to_string(),
    };
    let mut sink = std::io::BufWriter::with_capacity(
        1 << 20,
        Digesting {
            inner: file,
            digest: Digest::new(),
        },
    );
    write_tools_json(api, &mut sink).map_err(io)?;
    let written = sink.into_inner().map_err(|e| io(e.into_error()))?;
    Ok((staged, written.digest.finish()))
}

/// A writer that takes the digest of what it passes on.
struct Digesting<W> {
    inner: W,
    digest: Digest,
}

impl<W: Write> Write for Digesting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digest.update(buf.get(..n).unwrap_or(buf));
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The `tools/list` payload as a data file the server embeds: schemas stay out of Rust source
/// (nothing to escape, nothing for `syn` to parse) and their diffs stay readable.
///
/// Written directly, as `serde_json::to_writer_pretty` writes [`crate::ir::budget::entries`]
/// ([`tools_json_serde`], which a test holds it to): through serde, each schema's text was
/// parsed again only to be copied as it is (the IR's schema texts are serde_json's own compact
/// output, valid by construction): 0.18 s of 0.3 s for 10,000 Graph-shaped tools.
fn write_tools_json<W: Write>(api: &Api, out: &mut W) -> std::io::Result<()> {
    fn string<W: Write>(out: &mut W, s: &str) -> std::io::Result<()> {
        serde_json::to_writer(out, s).map_err(std::io::Error::from)
    }
    out.write_all(b"{\n  \"@generated\": ")?;
    string(out, &generated_line())?;
    out.write_all(b",\n  \"tools\": [")?;
    for (i, t) in api.tools.iter().enumerate() {
        out.write_all(if i == 0 { b"\n    {" } else { b",\n    {" })?;
        out.write_all(b"\n      \"annotations\": {")?;
        for (j, (key, value)) in [
            ("destructiveHint", t.destructive),
            ("idempotentHint", t.idempotent),
            ("openWorldHint", t.open_world),
            ("readOnlyHint", t.read_only),
        ]
        .into_iter()
        .enumerate()
        {
            out.write_all(if j == 0 { b"\n" } else { b",\n" })?;
            out.write_all(b"        \"")?;
            out.write_all(key.as_bytes())?;
            out.write_all(if value { b"\": true" } else { b"\": false" })?;
        }
        out.write_all(b"\n      },\n      \"description\": ")?;
        string(out, &t.description)?;
        out.write_all(b",\n      \"inputSchema\": ")?;
        for piece in t.input_schema.pieces() {
            out.write_all(piece.as_bytes())?;
        }
        out.write_all(b",\n      \"name\": ")?;
        string(out, &t.name)?;
        if let Some(schema) = &t.output_schema {
            out.write_all(b",\n      \"outputSchema\": ")?;
            for piece in schema.pieces() {
                out.write_all(piece.as_bytes())?;
            }
        }
        if let Some(title) = &t.title {
            out.write_all(b",\n      \"title\": ")?;
            string(out, title)?;
        }
        out.write_all(b"\n    }")?;
    }
    out.write_all(if api.tools.is_empty() {
        b"]\n}\n"
    } else {
        b"\n  ]\n}\n"
    })
}

/// `tools.json` through serde: the general path [`write_tools_json`] takes a shortcut from.
#[cfg(test)]
fn tools_json_serde(api: &Api) -> String {
    /// Keys in the order a `serde_json::Map` sorts them.
    #[derive(Serialize)]
    struct Doc<'a> {
        #[serde(rename = "@generated")]
        generated: String,
        tools: Vec<crate::ir::budget::Entry<'a>>,
    }
    pretty_sized(
        &Doc {
            generated: generated_line(),
            tools: crate::ir::budget::entries(&api.tools),
        },
        tools_json_capacity(api),
    )
}

/// The buffer `tools.json` is written into, sized once from the parts that make most of it:
/// the schemas' text is copied as it is, the rest is an entry's keys, indentation and escaped
/// prose. Grown by doubling instead, the buffer of a 161 MB file (10,000 Graph-shaped tools)
/// held the old and the new copy at once; capacity past what is written is never touched, so
/// it costs no memory.
fn tools_json_capacity(api: &Api) -> usize {
    let estimate: usize = api
        .tools
        .iter()
        .map(|t| {
            t.input_schema.len()
                + t.output_schema.as_ref().map_or(0, crate::ir::Schema::len)
                + 2 * (t.description.len() + t.title.as_ref().map_or(0, String::len))
                + t.name.len()
                + 512
        })
        .sum();
    estimate + estimate / 4 + 4096
}

/// The expectations of the crate's own tests (`tests/tools.rs`): an example call per tool with
/// the upstream request it must produce ([`crate::render::examples`]), the environment the
/// server needs to start, the names the selection excluded, and the digest of `tools.json`
/// ([`tools_json_digest`] of `tools.json`, which `digest` gives when the rest is ready). The test compares what `tools/list` serves with the
/// entries of `src/tools.json` itself, which the digest pins to what mcpgen wrote: a second
/// copy of every schema here (as large as `tools.json`: 170 MB for 10,000 Graph-shaped tools)
/// would check nothing more.
fn tests_json(api: &Api, digest: impl FnOnce() -> Result<String>) -> Result<String> {
    /// Keys in the order a `serde_json::Map` sorts them.
    #[derive(Serialize)]
    struct Doc<'a> {
        #[serde(rename = "@generated")]
        generated: String,
        calls: Vec<crate::render::examples::Example>,
        env: std::collections::BTreeSet<String>,
        excluded: Vec<&'a str>,
        tools_json_digest: String,
    }
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
    let credentials =
        crate::render::examples::TestCredentials::new(&api.security_schemes, &api.tools);
    let examples = crate::render::examples::Examples::new(&credentials);
    let calls: Vec<crate::render::examples::Example> = api
        .tools
        .iter()
        .map(|tool| examples.example(tool))
        .collect();
    let mut env: std::collections::BTreeSet<String> = api.auth.env_vars().into_iter().collect();
    env.extend(credentials.env.iter().cloned());
    Ok(pretty(&Doc {
        generated: generated_line(),
        // Keys sorted by the fields' order, as a `Value` would have them.
        calls,
        env,
        excluded,
        tools_json_digest: digest()?,
    }))
}

/// The digest of a `tools.json` the crate's tests check the file against: 64-bit FNV-1a over
/// its bytes without carriage returns (a checkout that turns line ends into CRLF keeps it; a
/// JSON string holds a carriage return only escaped), as `fnv1a64:` and 16 hex digits. It
/// detects an edit or a mix-up, not an attack: `--check` and the manifest are for that.
fn tools_json_digest(text: &str) -> String {
    let mut digest = Digest::new();
    digest.update(text.as_bytes());
    digest.finish()
}

/// [`tools_json_digest`] taken over bytes as they come.
struct Digest(u64);

impl Digest {
    fn new() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            if byte != b'\r' {
                self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }

    fn finish(&self) -> String {
        format!("fnv1a64:{:016x}", self.0)
    }
}

/// Pretty-printed JSON with a final newline, written into a buffer of `capacity` bytes.
#[cfg(test)]
fn pretty_sized<T: Serialize>(doc: &T, capacity: usize) -> String {
    let mut out = Vec::with_capacity(capacity);
    if serde_json::to_writer_pretty(&mut out, doc).is_err() {
        out.clear();
    }
    out.push(b'\n');
    // serde_json writes UTF-8 only.
    String::from_utf8(out).unwrap_or_default()
}

/// Pretty-printed JSON with a final newline.
fn pretty<T: Serialize>(doc: &T) -> String {
    let mut out = serde_json::to_string_pretty(doc).unwrap_or_default();
    out.push('\n');
    out
}

/// A generated manifest must be one YAML document: a template bug fails here, naming the file.
fn serde_yaml_check(file: &str, body: &str) -> Result<()> {
    serde_yaml::from_str::<serde_yaml::Value>(body)
        .map(drop)
        .map_err(|e| Error::Render {
            template: file.to_owned(),
            message: e.to_string(),
        })
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

    /// Every fixture's IR (lowered with its `auth.yaml` when it has one), by fixture directory.
    fn fixture_apis() -> Vec<(String, Api)> {
        let fixtures = format!("{}/fixtures", env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        let mut dirs: Vec<_> = std::fs::read_dir(&fixtures)
            .expect("fixtures")
            .map(|e| e.expect("fixture").path())
            .collect();
        dirs.sort();
        for dir in dirs {
            let spec = ["openapi.yaml", "openapi.json", "swagger.yaml"]
                .iter()
                .map(|f| dir.join(f))
                .find(|p| p.is_file());
            let Some(spec) = spec else { continue };
            let auth = dir.join("auth.yaml");
            let opts = crate::Options {
                auth: auth.is_file().then(|| auth.to_string_lossy().into_owned()),
                ..Default::default()
            };
            if let Ok(api) = crate::build_ir(&spec.to_string_lossy(), &opts) {
                out.push((dir.display().to_string(), api));
            }
        }
        assert!(out.len() >= 15, "{} fixtures", out.len());
        out
    }

    /// `api` with its tools changed where `tools.json` has optional parts and text to escape:
    /// titles and output schemas added and taken away, control characters and quotes.
    fn varied(api: &Api) -> Api {
        let mut api = api.clone();
        for (i, t) in api.tools.iter_mut().enumerate() {
            match i % 3 {
                0 => t.title = Some(format!("T\"i\\t\u{1}le é {i}")),
                1 => t.title = None,
                _ => {}
            }
            if i % 2 == 0 {
                t.output_schema = None;
            } else if t.output_schema.is_none() {
                t.output_schema = Some(crate::ir::Schema::new(&serde_json::json!({"a\n": [1.5]})));
            }
            t.description.push_str("\r\n\u{7f}\u{2028}\"\\");
        }
        api
    }

    /// The `$defs` the example calls read from an input schema's entries are those of its
    /// text, over every fixture (some of which have entries).
    #[test]
    fn example_definitions_are_the_input_schemas() {
        let mut entries = 0;
        for (dir, api) in fixture_apis() {
            for t in &api.tools {
                entries += t.input_schema.def_entries().len();
                assert!(
                    examples::entries_give_the_texts_defs(&t.input_schema),
                    "{dir}: {}",
                    t.name
                );
            }
        }
        assert!(entries > 0);
    }

    /// `tools.json` written directly is what serde writes, over every fixture, varied, and a
    /// crate without tools.
    #[test]
    fn tools_json_is_what_serde_writes() {
        for (dir, api) in fixture_apis() {
            assert_eq!(tools_json(&api), tools_json_serde(&api), "{dir}");
            let varied = varied(&api);
            assert_eq!(tools_json(&varied), tools_json_serde(&varied), "{dir}");
            let mut none = api;
            none.tools.clear();
            assert_eq!(tools_json(&none), tools_json_serde(&none), "{dir}");
        }
    }

    /// `tools.json` streamed into the output directory is what serde writes, and its digest
    /// that of the text, over every fixture, varied, and a crate without tools.
    #[test]
    fn streamed_tools_json_is_what_serde_writes() {
        let out = std::env::temp_dir().join(format!("mcpgen-stream-{}", std::process::id()));
        for (dir, api) in fixture_apis() {
            let varied = varied(&api);
            let mut none = api.clone();
            none.tools.clear();
            for api in [api, varied, none] {
                let (mut staged, digest) = stream_tools_json(&api, &out).expect("streamed");
                assert!(staged.commit().expect("in place"), "{dir}");
                let text = std::fs::read_to_string(out.join(TOOLS_JSON)).expect("tools.json");
                let serde = tools_json_serde(&api);
                assert_eq!(text, serde, "{dir}");
                assert_eq!(digest, tools_json_digest(&serde), "{dir}");
                std::fs::remove_file(out.join(TOOLS_JSON)).expect("removed");
            }
        }
        let _ = std::fs::remove_dir_all(&out);
    }

    /// A crate rendered into a directory has the files of one rendered into memory, with
    /// `tools.json` staged; a render error after `tools.json` was staged leaves the directory
    /// as it was: no temporary file, no directory made for it.
    #[test]
    fn a_render_error_leaves_no_temporary_file() {
        let base = std::env::temp_dir().join(format!("mcpgen-render-error-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (dir, api) = fixture_apis().swap_remove(0);
        let mut rendered = render_into(&api, &base.join("fresh")).expect("renders");
        let mut in_memory = render(&api).expect("renders");
        assert_eq!(
            rendered.staged.iter().map(Staged::rel).collect::<Vec<_>>(),
            [TOOLS_JSON]
        );
        let tools = in_memory.remove(TOOLS_JSON);
        assert_eq!(rendered.files, in_memory, "{dir}");
        rendered.staged[0].commit().expect("in place");
        assert_eq!(
            std::fs::read_to_string(base.join("fresh").join(TOOLS_JSON)).ok(),
            tools
        );
        std::fs::remove_dir_all(&base).expect("removed");

        let failing = |_: &Api| -> Result<FileMap> {
            // Long enough for `tools.json` to be staged beside.
            std::thread::sleep(std::time::Duration::from_millis(200));
            Err(Error::Render {
                template: "(test)".into(),
                message: "fails".into(),
            })
        };
        let fresh = base.join("fresh");
        assert!(render_with(&api, Some(&fresh), failing).is_err());
        assert!(!base.exists(), "the directories made for tools.json go");
        let existing = base.join("existing");
        std::fs::create_dir_all(existing.join("src")).expect("a directory");
        std::fs::write(existing.join(TOOLS_JSON), "mine").expect("written");
        assert!(render_with(&api, Some(&existing), failing).is_err());
        let left: Vec<_> = std::fs::read_dir(existing.join("src"))
            .expect("src")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(left, ["tools.json"]);
        assert_eq!(
            std::fs::read_to_string(existing.join(TOOLS_JSON))
                .ok()
                .as_deref(),
            Some("mine")
        );
        let _ = std::fs::remove_dir_all(&base);
    }

    /// The example calls serialise directly as they do through a `Value` (keys sorted), and
    /// the cached calls are those of the general path: over every fixture, its tools twice (the
    /// second time from the caches), and copies whose input schema has other `$defs` behind the
    /// same (shared) argument schemas, which a cache keyed on the argument alone would miss.
    #[test]
    fn example_calls_are_those_of_the_general_path() {
        use crate::render::examples::{Examples, TestCredentials, example};
        let mut with_refs = 0;
        for (dir, api) in fixture_apis() {
            let mut tools = api.tools.clone();
            for t in &api.tools {
                let mut schema = t.input_schema.value();
                let Some(defs) = schema.get_mut("$defs").and_then(Value::as_object_mut) else {
                    continue;
                };
                for (i, d) in defs.values_mut().enumerate() {
                    *d = serde_json::json!({
                        "type": "object",
                        "required": ["n"],
                        "properties": {"n": {"type": "integer", "minimum": 7 + i}}
                    });
                }
                let mut other = t.clone();
                other.input_schema = crate::ir::Schema::new(&schema);
                if t.args.iter().any(|a| a.schema.text().contains("\"$ref\"")) {
                    with_refs += 1;
                }
                tools.push(other);
            }
            tools.extend(api.tools.iter().cloned());
            let credentials = TestCredentials::new(&api.security_schemes, &tools);
            let examples = Examples::new(&credentials);
            for t in &tools {
                let cached = examples.example(t);
                let general = example(t, &credentials);
                let direct = serde_json::to_string_pretty(&cached).expect("serialises");
                let through_value = serde_json::to_value(&general)
                    .and_then(|v| serde_json::to_string_pretty(&v))
                    .expect("serialises");
                assert_eq!(direct, through_value, "{dir}: {}", t.name);
            }
        }
        assert!(
            with_refs >= 3,
            "{with_refs} tools with a $ref in an argument"
        );
    }

    /// The templates rendered whole give the same text from the context without the item lists
    /// as from the whole view, over every fixture (`tools_call` from the context that keeps
    /// its lists), and the view comes back whole.
    #[test]
    fn the_whole_templates_need_no_item_lists() {
        let mut tera = tera::Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .expect("templates");
        let whole_templates = [
            "Cargo.toml",
            "README.md",
            "gitignore",
            "env_example",
            "tools_head",
            "auth_config",
            "Dockerfile",
            "dockerignore",
            "k8s_deployment",
            "k8s_service",
            "k8s_hpa",
            "k8s_pdb",
            "types_head",
            "tools_call",
        ];
        for (dir, api) in fixture_apis() {
            let mut view = view(&api);
            let mut full = tera::Context::from_serialize(&view).expect("a context");
            full.insert("deploy", &deploy::deploy_view(&api));
            full.insert(
                "dependencies",
                &runtime_source::dependencies(api.auth.mode == Mode::Oauth).expect("deps"),
            );
            let counts = |v: &view::View| {
                (
                    v.tools.len(),
                    v.tool_infos.len(),
                    v.structs.len(),
                    v.enums.len(),
                    v.unions.len(),
                )
            };
            let before = counts(&view);
            for with_tools in [false, true] {
                let slim = whole_context(&api, &mut view, with_tools).expect("a context");
                assert_eq!(counts(&view), before, "{dir}: the view is whole again");
                for template in whole_templates {
                    if template == "tools_call" && !with_tools {
                        continue;
                    }
                    assert_eq!(
                        tera.render(template, &slim).expect("renders"),
                        tera.render(template, &full).expect("renders"),
                        "{dir}: {template}"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod prestage_tests {
    use super::*;

    fn listing(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(rel) = p.strip_prefix(dir) {
                    out.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        out.sort();
        out
    }

    /// The files staged ahead are the crate's own (adopted in place of the render's copies, the
    /// crate written the same as without them); dropped unadopted they leave nothing, not even
    /// the directories made for them; into a crate that has them already nothing is staged.
    #[test]
    fn files_staged_ahead_are_the_crates_own() {
        let base = std::env::temp_dir().join(format!("mcpgen-prestage-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let spec = r#"{"openapi": "3.0.3", "info": {"title": "T", "version": "1"},
            "paths": {"/a": {"get": {"operationId": "getA", "responses": {"200": {"description": "ok"}}}}}}"#;
        let opts = crate::Options::default();
        let (api, _) = crate::generate_text("spec", spec, &opts).expect("generates");

        // Dropped: nothing stays.
        let out = base.join("dropped").join("crate");
        let pre = prestage(&out);
        let fixed = fixed_files().expect("fixed files");
        assert_eq!(pre.len(), fixed.len(), "every fixed file is staged");
        assert!(listing(&out).iter().all(|f| f.ends_with(".tmp")));
        drop(pre);
        assert!(!base.join("dropped").join("crate").exists());

        // Adopted: the crate is what the render alone writes.
        let plain = base.join("plain");
        let mut rendered = crate::render_into(&api, &plain).expect("renders");
        crate::write_rendered(&plain, &mut rendered).expect("written");
        let ahead = base.join("ahead");
        let pre = prestage(&ahead);
        let mut rendered = crate::render_into(&api, &ahead).expect("renders");
        rendered.adopt(pre);
        for (rel, _) in &fixed {
            assert!(!rendered.files.contains_key(*rel), "{rel} is staged");
        }
        let report = crate::write_rendered(&ahead, &mut rendered).expect("written");
        assert_eq!(report.written, rendered.len());
        assert_eq!(listing(&ahead), listing(&plain));
        for rel in listing(&plain) {
            let a = std::fs::read(plain.join(&rel)).expect("read");
            let b = std::fs::read(ahead.join(&rel)).expect("read");
            assert!(a == b, "{rel}");
        }

        // Into the crate again: the files are there as they are, nothing is staged.
        let pre = prestage(&ahead);
        assert!(pre.is_empty());
        let _ = std::fs::remove_dir_all(&base);
    }
}
