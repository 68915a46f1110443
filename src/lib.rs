//! mcpgen turns an OpenAPI document into a standalone Rust MCP server crate.
//!
//! One pipeline, one direction: [`load`] reads the spec (file or URL, YAML or JSON) and bundles
//! relative-file `$ref`s; [`normalise`] decides the dialect (3.0/3.1) and builds the structural
//! view `openapiv3` parses; [`lower`] turns operations into the [`ir`] — tool names ([`naming`]),
//! JSON Schema 2020-12 argument and output schemas ([`schema`]) and Rust argument types
//! ([`typegen`]), both from the same client-safe shaping of each schema ([`shape`]); [`render`] presents the IR through the Tera templates in `templates/`, formats every
//! `.rs` file with `syn` + `prettyplease` and returns an in-memory file map; [`output`] writes that
//! map atomically (or compares it with the disk). Nothing reaches back to an earlier stage.

pub mod auth;
pub mod error;
pub mod inspect;
pub mod ir;
pub mod load;
pub mod lower;
pub mod naming;
pub mod normalise;
pub mod output;
pub mod render;
pub mod schema;
pub mod shape;
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
    let loaded = load::load(spec)?;
    let dialect = normalise::dialect(&loaded.file, &loaded.root)?;
    let (view, warnings) = normalise::structural_view(&loaded.root);
    let api = normalise::parse_structure(&loaded.file, &view)?;
    let spec_url = match &loaded.origin {
        load::Origin::Url(u) => Some(u.clone()),
        load::Origin::File(_) => None,
    };
    let auth = match &opts.auth {
        Some(path) => auth::load(path)?,
        None => auth::AuthIr::default(),
    };
    let mut api = lower::lower(
        &loaded.file,
        &loaded.root,
        &view,
        &api,
        dialect,
        &lower::LowerOptions {
            name: opts.name.clone(),
            spec_url,
        },
        warnings,
    )?;
    api.auth = auth;
    auth::resolve_upstream(&mut api)?;
    Ok(api)
}

/// Generates the crate in memory: relative path → file contents.
pub fn generate(spec: &str, opts: &Options) -> Result<(ir::Api, output::FileMap)> {
    let api = build_ir(spec, opts)?;
    let files = render::render(&api)?;
    Ok((api, files))
}
