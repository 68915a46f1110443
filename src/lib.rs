//! mcpgen turns an OpenAPI document into a standalone Rust MCP server crate.
//!
//! One pipeline, one direction, one folder per stage; nothing reaches back to an earlier stage.
//! The **spec** stage (`spec/`) reads the document (file or URL, YAML or JSON), bundles
//! relative-file `$ref`s, decides the dialect (a Swagger 2.0 document is converted to 3.0, with a
//! map back to the original pointers) and parses its structure with `openapiv3`. The **config**
//! stage (`config/`) parses the `--auth` file: auth mode, upstream credentials, tool selection.
//! **Lowering** (`lower/`) joins the two into the [`ir`], a fully decided model: which operations
//! become tools, their names, arguments and where each goes, the JSON Schemas clients see and
//! the Rust types arguments are parsed into (both from the `schema/` stage's client-safe shaping
//! of each schema), security requirements and the upstream credentials of every scheme. The
//! returned IR is finished; `mcpgen inspect` prints it ([`inspect`]). **Rendering** (`render/`)
//! presents the IR through a view model and the Tera templates in `templates/`, formats every
//! `.rs` file with `syn` + `prettyplease`, adds the crate's own tests and returns the crate as an
//! in-memory [`FileMap`]. **Writing** ([`write()`], [`check()`]) persists that map atomically —
//! or compares it with the disk for `--check` — deleting only what the previous run's manifest
//! listed. Which file is generator-owned and which belongs to the user is decided once, in
//! [`ownership`], for both rendering and writing.
//!
//! Only the facade below is public: the pipeline ([`generate`], [`build_ir`], [`render_into`],
//! [`write()`], [`write_rendered`], [`check()`]), its [`Options`] and [`Error`], the [`ir`] as the inspectable model, and the
//! ownership facts.

mod config;
mod error;
pub mod inspect;
pub mod ir;
mod lower;
mod naming;
pub mod ownership;
/// The tool search index mcpgen builds into every generated crate (`src/search_index.rs`) and the
/// ranking the generated server applies to it, for measuring search quality (`bench/search`).
pub mod search {
    pub use crate::render::search_index::{SearchIndex, build, render};
}
mod pointer;
#[doc(hidden)]
pub mod profile;
mod render;
mod runtime_source;
mod runtime_strip;
mod schema;
mod spec;
mod staged;
#[cfg(test)]
mod test_rng;
mod write;

pub use error::{Error, Location, Result};
pub use ownership::FileMap;
pub use pointer::Pointer;
pub use staged::{Prestaged, Rendered};
pub use write::{CheckReport, Drift, Report, check, write, write_rendered};

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
    build_ir_keeping(spec, opts).map(|(api, parsed)| {
        parsed.free_aside();
        api
    })
}

/// As [`build_ir`], with the parsed spec the IR was lowered from, for a caller that ends the
/// process soon anyway: freeing it (a million small allocations: 45 ms of CPU on GitHub's
/// description, on a thread beside rendering on two cores) would only take time from the stages
/// that follow, unless memory is large ([`Parsed`]).
pub fn build_ir_keeping(spec: &str, opts: &Options) -> Result<(ir::Api, Parsed)> {
    let stage = profile::Stage::start("load");
    let loaded = crate::spec::load::load(spec)?;
    stage.end();
    lower_loaded(loaded, opts)
}

/// The parsed spec behind an IR ([`build_ir_keeping`]). Once the process's resident memory is
/// past [`KEEP_PARSED_MAX_RESIDENT_KIB`] it is freed beside the stages that follow when lowering
/// ends, as [`build_ir`] always does: the pages it frees are what rendering a large API
/// allocates again (without them, graph-shaped descriptions of tens of thousands of operations
/// would pass 1 GB). Below that it is held until dropped.
pub struct Parsed {
    held: Option<crate::spec::Spec>,
}

impl Parsed {
    /// Frees the spec, if it is still held, on a thread of its own ([`drop_aside`]).
    fn free_aside(self) {
        if let Some(spec) = self.held {
            drop_aside(spec);
        }
    }
}

/// Resident memory from which [`Parsed`] frees the spec when lowering ends.
const KEEP_PARSED_MAX_RESIDENT_KIB: u64 = 160 * 1024;

/// Generates the crate in memory: relative path → file contents.
pub fn generate(spec: &str, opts: &Options) -> Result<(ir::Api, FileMap)> {
    let api = build_ir(spec, opts)?;
    let stage = profile::Stage::start("render");
    let files = render::render(&api)?;
    stage.end();
    Ok((api, files))
}

/// Writes the files every generated crate has into temporary files under `out`, ahead of the
/// render ([`Rendered::adopt`] takes them; dropped, they go). Best effort: what cannot be
/// staged is left to the write stage.
pub fn prestage(out: &std::path::Path) -> Prestaged {
    render::prestage(out)
}

/// Renders the crate for writing into `out` ([`write_rendered`]): as [`generate`] after
/// [`build_ir`], but `src/tools.json` (as large as all the tools' schemas) is streamed into a
/// temporary file in `out` while it is made instead of held in memory. Dropped unwritten, the
/// result removes that file.
pub fn render_into(api: &ir::Api, out: &std::path::Path) -> Result<Rendered> {
    let stage = profile::Stage::start("render");
    let rendered = render::render_into(api, out)?;
    stage.end();
    Ok(rendered)
}

/// As [`generate`], for a spec already in memory; `spec` names it in messages and anchors its
/// relative references.
pub fn generate_text(spec: &str, text: &str, opts: &Options) -> Result<(ir::Api, FileMap)> {
    let (api, parsed) = lower_loaded(crate::spec::load::load_text(spec, text)?, opts)?;
    parsed.free_aside();
    let files = render::render(&api)?;
    Ok((api, files))
}

/// The stages after loading: the spec read, the config file parsed, both lowered to the IR.
fn lower_loaded(loaded: crate::spec::load::Loaded, opts: &Options) -> Result<(ir::Api, Parsed)> {
    let stage = profile::Stage::start("spec (view, openapiv3)");
    // The spec's part of the fingerprint is hashed beside the reading of its structure.
    let (spec, spec_hash) = crate::spec::read(loaded, |document, canonical| {
        let stage = profile::Stage::start("fingerprint (spec)");
        let hash = match canonical {
            Some(pieces) => crate::spec::inputs::hash_spec_split(&pieces),
            None => crate::spec::inputs::hash_spec(document),
        };
        stage.end();
        hash
    })?;
    stage.end();
    let config = opts.auth.as_deref().map(config::load).transpose()?;
    let inputs_hash = spec_hash.finish(config.as_ref().map(|c| &c.document));
    let stage = profile::Stage::start("lower");
    let api = lower::lower(
        &spec,
        config.as_ref(),
        &lower::LowerOptions {
            name: opts.name.clone(),
            ..lower::LowerOptions::default()
        },
    );
    stage.end();
    let keep = profile::resident_kib().is_some_and(|kib| kib <= KEEP_PARSED_MAX_RESIDENT_KIB);
    let parsed = Parsed {
        held: if keep {
            Some(spec)
        } else {
            drop_aside(spec);
            None
        },
    };
    api.map(|api| (ir::Api { inputs_hash, ..api }, parsed))
}

/// Frees a big value (the parsed document, its view and `openapiv3`'s copy: a million small
/// allocations) on a thread of its own, beside the stages that follow; inline when no thread
/// can be started (a failed spawn drops the closure, and the value with it).
pub(crate) fn drop_aside<T: Send + 'static>(value: T) {
    let _ = std::thread::Builder::new()
        .name("mcpgen-drop".into())
        .spawn(move || drop(value));
}

/// `a` on this thread and `b` on a thread of its own called `name`, at once; `b` here after `a`
/// when no thread can be started (so `b` is `Fn`: it may be called where it was not sent). A
/// panic of `b` is resumed here.
pub(crate) fn beside<A, B: Send>(
    name: &str,
    a: impl FnOnce() -> A,
    b: impl Fn() -> B + Sync,
) -> (A, B) {
    let handed = Handed::new();
    std::thread::scope(|scope| {
        let started = spawn_handing(scope, name, &handed, &b);
        let a = a();
        let b = if started { handed.take() } else { b() };
        (a, b)
    })
}

/// `first()` on this thread, then `f` of each of `items`, in their order, made by two threads:
/// a thread of its own called `name` starts on them at once, this one joins in after `first`,
/// and each takes the next block of `block` items until none is left. What `f` makes of an item
/// depends on the item alone, so the result is the same whichever thread made it. One thread
/// when there are fewer than two blocks.
pub(crate) fn in_blocks<T: Sync, R: Send, A>(
    name: &str,
    items: &[T],
    block: usize,
    first: impl FnOnce() -> A,
    f: impl Fn(&T) -> R + Sync,
) -> (A, Vec<R>) {
    let block = block.max(1);
    if items.len() <= block {
        return (first(), items.iter().map(f).collect());
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let take_blocks = || {
        let mut made = Vec::new();
        loop {
            let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let Some(items) = items.chunks(block).nth(b) else {
                return made;
            };
            made.push((b, items.iter().map(&f).collect::<Vec<R>>()));
        }
    };
    let ((a, mine), theirs) = beside(name, || (first(), take_blocks()), take_blocks);
    let mut made: Vec<_> = mine.into_iter().chain(theirs).collect();
    made.sort_unstable_by_key(|(b, _)| *b);
    (a, made.into_iter().flat_map(|(_, made)| made).collect())
}

/// What a scoped thread hands over as soon as its work is done ([`spawn_handing`]): taking it
/// does not wait for the thread to exit, as joining does. At its exit the allocator tidies the
/// thread's heap (on GitHub's description, 12 ms over the threads of a run), which the thread
/// then does beside what follows instead of before it.
pub(crate) struct Handed<T> {
    slot: std::sync::Mutex<Option<std::thread::Result<T>>>,
    done: std::sync::Condvar,
}

impl<T> Handed<T> {
    pub(crate) fn new() -> Self {
        Handed {
            slot: std::sync::Mutex::new(None),
            done: std::sync::Condvar::new(),
        }
    }

    /// Waits for the value; a panic of the thread is resumed here.
    pub(crate) fn take(&self) -> T {
        self.take_result()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }

    /// Waits for the value, or the panic of the thread.
    pub(crate) fn take_result(&self) -> std::thread::Result<T> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(made) = slot.take() {
                return made;
            }
            slot = self.done.wait(slot).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// Starts `f` on a thread of `scope` called `name`, its result (or panic) handed over through
/// `handed` when it returns; whether the thread started (if not, `f` was not called).
pub(crate) fn spawn_handing<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    name: &str,
    handed: &'scope Handed<T>,
    f: impl FnOnce() -> T + Send + 'scope,
) -> bool {
    std::thread::Builder::new()
        .name(name.into())
        .spawn_scoped(scope, move || {
            let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            *handed.slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(made);
            handed.done.notify_all();
        })
        .is_ok()
}

/// Parses YAML or JSON text (decided by the content) the way mcpgen reads every input document;
/// `file` names it in errors.
pub fn parse_document(file: &str, text: &str) -> Result<serde_json::Value> {
    crate::spec::load::parse_text(file, text)
}
