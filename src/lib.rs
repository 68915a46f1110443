//! mcpgen turns an OpenAPI document into a standalone Rust MCP server crate.
//!
//! One pipeline, one direction: [`load`] reads the spec (file or URL, YAML or JSON) and bundles
//! relative-file `$ref`s; [`normalise`] decides the dialect (2.0/3.0/3.1; [`swagger2`] converts 2.0
//! to 3.0, keeping a map back to the original pointers for errors) and builds the structural
//! view `openapiv3` parses; [`lower`] applies the config file's `tools:` selection and overrides
//! ([`select`]) and turns the selected operations into the [`ir`] — tool names ([`naming`]),
//! JSON Schema 2020-12 argument and output schemas ([`schema`]) and Rust argument types
//! ([`typegen`]), both from the same client-safe shaping of each schema ([`shape`]); [`render`]
//! presents the IR through the Tera templates in `templates/`, formats every
//! `.rs` file with `syn` + `prettyplease`, heads every generated file with the mcpgen version and
//! the inputs' fingerprint ([`inputs`]), adds the crate's own tests (example calls from
//! [`examples`]) and its manifest, and returns an in-memory file map; [`output`] writes that
//! map atomically, deleting what the previous manifest listed and this run no longer generates
//! (or compares it with the disk for `--check`). Nothing reaches back to an earlier stage.

pub mod auth;
pub mod error;
pub mod examples;
pub mod inputs;
pub mod inspect;
pub mod ir;
pub mod load;
pub mod lower;
pub mod naming;
pub mod normalise;
pub mod output;
pub mod render;
pub mod runtime_config;
pub mod runtime_source;
pub mod schema;
pub mod select;
pub mod shape;
pub mod swagger2;
pub mod typegen;

pub use error::{Error, Result};

/// Generator version, written into every generated file's header.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What to generate from.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The generated package name (`--name`).
    pub name: Option<String>,
    /// The auth config file (`--auth`); without it the server is open (mode `none`).
    pub auth: Option<String>,
}

/// Loads, normalises and lowers a spec: everything up to the IR.
pub fn build_ir(spec: &str, opts: &Options) -> Result<ir::Api> {
    build_ir_loaded(load::load(spec)?, opts)
}

/// As [`generate`], for a spec already in memory; `spec` names it in messages and anchors its
/// relative references.
pub fn generate_text(spec: &str, text: &str, opts: &Options) -> Result<(ir::Api, output::FileMap)> {
    let api = build_ir_loaded(load::load_text(spec, text)?, opts)?;
    let files = render::render(&api)?;
    Ok((api, files))
}

fn build_ir_loaded(loaded: load::Loaded, opts: &Options) -> Result<ir::Api> {
    let dialect = normalise::dialect(&loaded.file, &loaded.root)?;
    let api = if dialect == normalise::Dialect::V20 {
        // Everything after this reads the converted 3.0 document; what it reports is mapped
        // back to the pointers of the document the user wrote.
        let converted = swagger2::convert(&loaded.root);
        let map = converted.map;
        let mut api = lower_document(&loaded, &converted.root, dialect, opts)
            .map(|api| map.api(api))
            .map_err(|e| map.error(&loaded.file, e))?;
        // The conversion's own warnings already name original pointers.
        api.warnings.splice(0..0, converted.warnings);
        api
    } else {
        lower_document(&loaded, &loaded.root, dialect, opts)?
    };
    Ok(api)
}

fn lower_document(
    loaded: &load::Loaded,
    root: &serde_json::Value,
    dialect: normalise::Dialect,
    opts: &Options,
) -> Result<ir::Api> {
    let (view, warnings) = normalise::structural_view(root);
    let api = normalise::parse_structure(&loaded.file, &view)?;
    let spec_url = match &loaded.origin {
        load::Origin::Url(u) => Some(u.clone()),
        load::Origin::File(_) => None,
    };
    let config = opts.auth.as_deref().map(auth::load).transpose()?;
    let inputs_hash = inputs::fingerprint(&loaded.root, config.as_ref().map(|c| &c.document));
    let (auth, tools) = match config {
        Some(c) => (c.auth, c.tools),
        None => (auth::AuthIr::default(), None),
    };
    let mut api = lower::lower(
        &loaded.file,
        root,
        &view,
        &api,
        dialect,
        &lower::LowerOptions {
            name: opts.name.clone(),
            spec_url,
            tools,
        },
        warnings,
    )?;
    api.auth = auth;
    auth::resolve_upstream(&mut api)?;
    api.inputs_hash = inputs_hash;
    Ok(api)
}

/// Generates the crate in memory: relative path → file contents.
pub fn generate(spec: &str, opts: &Options) -> Result<(ir::Api, output::FileMap)> {
    let api = build_ir(spec, opts)?;
    let files = render::render(&api)?;
    Ok((api, files))
}
