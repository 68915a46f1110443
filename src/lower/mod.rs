//! Lowering, after the spec and config stages: the only stage that reads `openapiv3` types. It
//! walks the operations in a fixed order (paths sorted, then methods in [`crate::spec::normalise::METHODS`] order — never
//! document order, so a spec with its keys reordered generates the same bytes), applies the
//! config's `tools:` selection ([`select`]) and lowers each selected operation to a tool
//! ([`tool`]: [`security`], [`parameters`], [`body`], [`arguments`], output schema), deciding
//! everything the templates need: tool names, argument names and locations, JSON schemas, Rust
//! types, body handling, output wrapping, security requirements; then the upstream credentials
//! ([`upstream`]). What it returns is the finished IR: nothing patches it afterwards.

mod arguments;
mod body;
mod parameters;
mod security;
pub mod select;
pub mod text;
mod tool;
pub mod upstream;

use crate::config::Config;
use crate::config::tools::{ModeSetting, ToolsConfig};
use crate::error::{Error, Result};
use crate::ir::{self, Warning};
use crate::naming::{self, MAX_NAME_LEN, Unique};
use crate::pointer::Pointer;
use crate::schema::refs::Schemas;
use crate::schema::typegen::TypeGen;
use crate::spec::Spec;
use crate::spec::normalise::Dialect;
use crate::spec::paths::PathItems;
use heck::ToKebabCase;
use openapiv3::{Components, OpenAPI, Operation, PathItem, ReferenceOr};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Options that shape lowering.
#[derive(Debug, Clone, Default)]
pub struct LowerOptions {
    /// `--name`: the generated package name.
    pub name: Option<String>,
    /// Every operation prepared on this thread (see [`Lowerer::tools`]): the tests check that
    /// the two ways make the same IR.
    pub(crate) one_thread: bool,
    /// The operation at whose block the second thread is stopped, as if memory had passed
    /// [`SECOND_THREAD_MAX_RESIDENT_KIB`] there (the tests check that stopping changes
    /// nothing either).
    pub(crate) stop_second_thread_at: Option<usize>,
    /// Outputs made on the second thread, whatever the memory (see [`Lowerer::tools`]).
    pub(crate) outputs_apart: bool,
}

/// An operation's effective security requirements: alternatives of scheme name → scopes.
type Security = [BTreeMap<String, Vec<String>>];

/// One operation of the spec as the walk lists it, before its path item is parsed: where it
/// is, and what the `tools:` selection reads ([`crate::spec::paths::Op`]).
struct OpEntry<'o> {
    path: &'o str,
    /// Lower-case HTTP method.
    method: &'static str,
    /// Its path item's number in [`crate::spec::paths::PathItems`].
    item: usize,
    item_ptr: &'o Pointer,
    operation_id: Option<&'o str>,
    tags: &'o [String],
}

impl OpEntry<'_> {
    fn pointer(&self) -> Pointer {
        self.item_ptr.join(self.method)
    }

    /// The operation in its parsed path item.
    fn with<'o>(&'o self, file: &str, item: &'o PathItem) -> Result<OperationRef<'o>> {
        let operation = match self.method {
            "get" => &item.get,
            "put" => &item.put,
            "post" => &item.post,
            "delete" => &item.delete,
            "options" => &item.options,
            "head" => &item.head,
            "patch" => &item.patch,
            _ => &item.trace,
        };
        let Some(operation) = operation else {
            return Err(Error::invalid(
                file,
                &self.pointer(),
                "internal error: an operation listed is not in its parsed path item",
            ));
        };
        Ok(OperationRef {
            path: self.path,
            method: self.method,
            operation,
            item,
            item_ptr: self.item_ptr,
        })
    }
}

/// One operation of the spec and where it is.
struct OperationRef<'o> {
    path: &'o str,
    /// Lower-case HTTP method.
    method: &'static str,
    operation: &'o Operation,
    /// The path item it belongs to (its parameters apply too), and where that is.
    item: &'o PathItem,
    item_ptr: &'o Pointer,
}

impl OperationRef<'_> {
    fn pointer(&self) -> Pointer {
        self.item_ptr.join(self.method)
    }
}

/// The state of lowering one document: what is decided across operations (tool and type names,
/// the security schemes the operations use).
struct Lowerer<'a> {
    file: &'a str,
    api: &'a OpenAPI,
    /// The path items, parsed as operations need them.
    paths: &'a PathItems,
    /// `api` as JSON, made on the first `$ref` that points elsewhere than `components`
    /// ([`Lowerer::deref`]).
    api_json: std::cell::OnceCell<Value>,
    schemas: &'a Schemas<'a>,
    types: TypeGen<'a, 'a>,
    tool_names: Unique,
    struct_names: Unique,
    /// `components.securitySchemes` by name (plus undefined names operations require).
    schemes: BTreeMap<String, ir::SecurityScheme>,
    /// Tool names given by `tools.overrides` → the override's key, and the config file.
    override_names: BTreeMap<String, String>,
    config_file: String,
    /// The text of every tool schema made so far, so equal schemas share one.
    schema_texts: ir::SchemaTexts,
    /// Outputs made of plain references, by their targets (see `output_schema`).
    outputs: BTreeMap<Vec<String>, tool::Output>,
    /// Outputs made of other schemas, by their compact JSON, when making them warned of
    /// nothing new (see `output_schema`).
    outputs_by_text: std::collections::HashMap<String, tool::Output>,
    /// Outputs either lowering thread made without a warning, shared by both (see
    /// `output_schema`).
    shared_outputs: Option<SharedOutputs>,
    /// Whether outputs are made apart ([`Lowerer::tools`]), not by [`Lowerer::prepare`].
    outputs_apart: bool,
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

/// One warning for all the output schemas the bound cut (`inspect` says what, per tool).
fn output_cut_summary(tools: &[ir::Tool]) -> Option<Warning> {
    cut_summary(
        tools.iter().filter_map(|t| t.output_cut.as_ref()),
        "output",
        crate::schema::bound::OUTPUT_BOUND,
        "replaced by permissive ones",
        "every response still validates",
    )
}

/// One warning for all the input schemas the bound cut (`inspect` says what, per tool).
fn input_cut_summary(tools: &[ir::Tool]) -> Option<Warning> {
    cut_summary(
        tools.iter().filter_map(|t| t.input_cut.as_ref()),
        "input",
        crate::schema::bound::INPUT_BOUND,
        "not expanded",
        "every argument stays, and the server checks each call against the full schema",
    )
}

/// The warning of [`output_cut_summary`] and [`input_cut_summary`]: how many tools' `which`
/// schemas `bound` cut, and what became of the cut subschemas (`done`) and the calls
/// (`still`).
fn cut_summary<'a>(
    cuts: impl Iterator<Item = &'a ir::OutputCut>,
    which: &str,
    bound: crate::schema::bound::Bound,
    done: &str,
    still: &str,
) -> Option<Warning> {
    let cut: Vec<&ir::OutputCut> = cuts.collect();
    if cut.is_empty() {
        return None;
    }
    let subschemas: usize = cut.iter().map(|c| c.subschemas).sum();
    let before: usize = cut.iter().map(|c| c.bytes_before).sum();
    let after: usize = cut.iter().map(|c| c.bytes_after).sum();
    let nested = if which == "input" { "nested " } else { "" };
    Some(Warning {
        file: None,
        at: None,
        message: format!(
            "the {which} schemas of {} tool{} exceed the bound ({} KiB, {} levels): {} {nested}subschema{} {done} ({} → {} bytes as compact JSON; {still}); `mcpgen inspect` lists them",
            cut.len(),
            if cut.len() == 1 { "" } else { "s" },
            bound.bytes / 1024,
            bound.depth,
            ir::budget::thousands(subschemas),
            if subschemas == 1 { "" } else { "s" },
            ir::budget::thousands(before),
            ir::budget::thousands(after),
        ),
    })
}

fn lower_document(spec: &Spec, config: Option<&Config>, opts: &LowerOptions) -> Result<ir::Api> {
    let api = &spec.structure;
    let tools_config = config.and_then(|c| c.tools.as_ref());
    let mut warnings = spec.warnings.clone();
    let stage = crate::profile::Stage::start("lower: reference facts");
    let schemas = Schemas::with_placed(&spec.file, spec.root(), &spec.placed);
    stage.end();
    let crate_name = crate_name(api, opts)?;
    let default_upstream_url = default_upstream(api, spec.url(), &mut warnings);
    let stage = crate::profile::Stage::start("lower: security, selection");
    let mut lw = Lowerer::new(spec, &schemas, tools_config)?;
    // Every operation, in the fixed order, then the `tools:` selection over all of them: an
    // excluded operation is never lowered (no tool, no types, nothing to dispatch to).
    let ops = operations(&spec.paths);
    let selection = selection(tools_config, &ops)?;
    warnings.extend(selection.warnings.iter().cloned());
    lw.claim_override_names(&selection);
    stage.end();
    let stage = crate::profile::Stage::start("lower: tools");
    let facts = schemas.facts();
    let (tools, excluded) = lw.tools(spec, tools_config, facts, &ops, &selection, opts)?;
    stage.end();
    let stage = crate::profile::Stage::start("lower: tool mode");
    let tool_mode = tool_mode(tools_config, &tools);
    stage.end();
    let types = lw.types.finish();
    let security_schemes = std::mem::take(&mut lw.schemes).into_values().collect();
    warnings.extend(schemas.warnings.borrow().iter().cloned());
    warnings.extend(input_cut_summary(&tools));
    warnings.extend(output_cut_summary(&tools));
    let mut out = ir::Api {
        crate_name,
        title: api.info.title.trim().to_string(),
        api_version: api.info.version.clone(),
        description: api
            .info
            .description
            .clone()
            .filter(|d| !d.trim().is_empty()),
        dialect: match spec.dialect {
            Dialect::V20 => "2.0".into(),
            Dialect::V30 => "3.0".into(),
            Dialect::V31 => "3.1".into(),
        },
        default_upstream_url,
        tools,
        excluded,
        tool_mode,
        types,
        security_schemes,
        auth: config.map(|c| c.auth.clone()).unwrap_or_default(),
        // Set by the caller: the fingerprint is taken beside lowering (`crate::lower_loaded`).
        inputs_hash: String::new(),
        warnings,
    };
    upstream::resolve(&mut out, config.and_then(|c| c.upstream.as_ref()))?;
    Ok(out)
}

/// The tool names no operation gets: discover mode's tools are listed beside the generated ones
/// (`tools/call` of either must be unambiguous).
fn reserved_tool_names() -> Unique {
    let mut names = Unique::new();
    for name in naming::DISCOVERY_TOOLS {
        names.claim(name, "_", MAX_NAME_LEN);
    }
    names
}

/// The generated server's default tool mode: the config's `tools: mode`, or what `auto` makes of
/// the API's size.
fn tool_mode(config: Option<&ToolsConfig>, tools: &[ir::Tool]) -> ir::ToolModeChoice {
    let setting = config.map(|c| c.mode).unwrap_or_default();
    let at = |file: &str| format!("`tools: mode` in {file}");
    match (setting, config) {
        (ModeSetting::All, Some(c)) => ir::ToolModeChoice {
            mode: ir::ToolMode::All,
            auto: false,
            reason: format!("{} says `all`", at(&c.file)),
        },
        (ModeSetting::Discover, Some(c)) => ir::ToolModeChoice {
            mode: ir::ToolMode::Discover,
            auto: false,
            reason: format!("{} says `discover`", at(&c.file)),
        },
        _ => {
            let (mode, reason) = ir::budget::budget(tools).auto_mode();
            ir::ToolModeChoice {
                mode,
                auto: true,
                reason,
            }
        }
    }
}

/// Every operation of the path items, paths sorted, methods in [`crate::spec::normalise::METHODS`] order.
fn operations(paths: &PathItems) -> Vec<OpEntry<'_>> {
    let mut ops = Vec::new();
    for (i, item) in paths.items.iter().enumerate() {
        for op in &item.ops {
            ops.push(OpEntry {
                path: &item.path,
                method: op.method,
                item: i,
                item_ptr: &item.at,
                operation_id: op.operation_id.as_deref(),
                tags: &op.tags,
            });
        }
    }
    ops
}

/// The config's `tools:` selection over the operations; without one, every operation.
fn selection(config: Option<&ToolsConfig>, ops: &[OpEntry]) -> Result<select::Selection> {
    let Some(config) = config else {
        return Ok(select::Selection {
            excluded: vec![None; ops.len()],
            overrides: vec![None; ops.len()],
            warnings: Vec::new(),
        });
    };
    let refs: Vec<select::OpRef<'_>> = ops
        .iter()
        .map(|op| select::OpRef {
            method: op.method,
            path: op.path,
            operation_id: op.operation_id,
            tags: op.tags,
        })
        .collect();
    select::select(config, &refs)
}

/// An operation the selection left out, with the name its tool would have had.
fn excluded_operation(op: &OpEntry, reason: &str) -> ir::Excluded {
    ir::Excluded {
        name: naming::tool_base_name(op.operation_id, op.method, op.path),
        method: op.method.to_ascii_uppercase(),
        path: op.path.to_string(),
        operation_id: op.operation_id.map(str::to_owned),
        pointer: op.pointer(),
        reason: reason.to_string(),
    }
}

/// Outputs made without a warning by either lowering thread, by their schemas (JSON of the
/// targets of plain references, or of the schemas themselves).
pub(crate) type SharedOutputs =
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, tool::Output>>>;

/// Operations per block of the split between the two lowering threads ([`Lowerer::tools`]).
const BLOCK: usize = 16;

/// Operations the output thread may be ahead of this one by (see [`Lowerer::tools`]).
const OUTPUTS_AHEAD: usize = 64;

/// Resident memory past which the second lowering thread stops (checked at each block) and
/// frees its caches, and is not started: the caches of a Graph-shaped document's schemas
/// are hundreds of megabytes per thread, and memory, not time, is then what limits
/// generation (with 512 MiB, 15,000 Graph-shaped operations peaked 20 MiB higher than on one
/// thread; GitHub's description, 112 MiB, is far below). What is generated is the same either
/// way; only the time and memory differ.
const SECOND_THREAD_MAX_RESIDENT_KIB: u64 = 256 * 1024;

/// Whether the process's resident memory is past [`SECOND_THREAD_MAX_RESIDENT_KIB`] (never,
/// where the platform does not tell).
fn past_second_thread_memory() -> bool {
    crate::profile::resident_kib().is_some_and(|kib| kib > SECOND_THREAD_MAX_RESIDENT_KIB)
}

/// Prepares the operations of block `b` that the selection keeps, in order, handing each to
/// `out`, until one fails or `out` says to stop.
fn prepare_block(
    lw: &mut Lowerer,
    ops: &[OpEntry],
    selection: &select::Selection,
    b: usize,
    mut out: impl FnMut(usize, Result<tool::Prepared>) -> bool,
) {
    let first = b * BLOCK;
    for (i, op) in ops.iter().enumerate().skip(first).take(BLOCK) {
        if selection.excluded[i].is_some() {
            continue;
        }
        let prepared = lw
            .paths
            .load(lw.file, op.item)
            .and_then(|item| lw.prepare(&op.with(lw.file, &item)?));
        let failed = prepared.is_err();
        if !out(i, prepared) || failed {
            return;
        }
    }
}

impl<'a> Lowerer<'a> {
    /// A lowerer of the spec's document, reading its schemas through `schemas`.
    fn new(
        spec: &'a Spec,
        schemas: &'a Schemas<'a>,
        tools_config: Option<&ToolsConfig>,
    ) -> Result<Self> {
        let mut lw = Lowerer {
            file: &spec.file,
            api: &spec.structure,
            paths: &spec.paths,
            api_json: std::cell::OnceCell::new(),
            schemas,
            types: TypeGen::new(schemas),
            tool_names: reserved_tool_names(),
            struct_names: Unique::new(),
            schemes: BTreeMap::new(),
            override_names: BTreeMap::new(),
            config_file: tools_config.map(|t| t.file.clone()).unwrap_or_default(),
            schema_texts: ir::SchemaTexts::default(),
            outputs: BTreeMap::new(),
            outputs_by_text: std::collections::HashMap::new(),
            shared_outputs: None,
            outputs_apart: false,
        };
        lw.security_schemes()?;
        Ok(lw)
    }

    /// The tools of the selected operations and the operations left out, in operation order.
    /// Two threads share the work: each claims the next block of [`BLOCK`] operations not yet
    /// claimed and prepares it ([`Lowerer::prepare`]: arguments and schemas, most of the
    /// cost), the second with a lowerer of its own (its own caches, the same `$defs` names:
    /// `facts`); this one also finishes every tool in operation order (names, Rust types,
    /// security schemes: what is decided across operations), claiming a block whenever the
    /// next operation to finish is not prepared yet. The output is the same whichever thread
    /// prepared what. The second thread stops when memory passes
    /// [`SECOND_THREAD_MAX_RESIDENT_KIB`].
    ///
    /// When memory is past that already, the second thread makes only the output schemas,
    /// operation by operation ([`Lowerer::output_apart`]), and this one prepares the rest:
    /// output and input schemas are converted apart anyway (each side has its own caches), so
    /// neither thread converts what the other does, and no cache is held twice. It runs at
    /// most [`OUTPUTS_AHEAD`] operations ahead, so that the path items parsed for it are
    /// dropped soon ([`crate::spec::paths`]).
    fn tools(
        &mut self,
        spec: &Spec,
        tools_config: Option<&ToolsConfig>,
        facts: crate::schema::refs::Facts,
        ops: &[OpEntry],
        selection: &select::Selection,
        opts: &LowerOptions,
    ) -> Result<(Vec<ir::Tool>, Vec<ir::Excluded>)> {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
        let mut tools = Vec::new();
        let mut excluded = Vec::new();
        let blocks = ops.len().div_ceil(BLOCK);
        // Blocks are claimed in order, so every block below this count is claimed.
        let claimed = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let (claimed, stop) = (&claimed, &stop);
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<tool::Prepared>)>();
            let second = blocks > 1
                && !opts.one_thread
                && !opts.outputs_apart
                && !past_second_thread_memory();
            let apart = !second && blocks > 1 && !opts.one_thread;
            // The document's facts, for the thread that makes a lowerer of its own.
            let (mut facts_apart, mut facts_second) = (None, None);
            if apart {
                facts_apart = Some(facts);
            } else {
                facts_second = Some(facts);
            }
            let (otx, orx) = std::sync::mpsc::sync_channel::<(usize, tool::Apart)>(OUTPUTS_AHEAD);
            let orx = if apart {
                self.outputs_apart = true;
                scope.spawn(move || {
                    let Some(facts) = facts_apart.take() else {
                        return;
                    };
                    let schemas = Schemas::from_facts(&spec.file, spec.root(), &spec.placed, facts);
                    let Ok(mut lw) = Lowerer::new(spec, &schemas, tools_config) else {
                        // This thread's lowerer failed the same way already.
                        return;
                    };
                    for (i, op) in ops.iter().enumerate() {
                        if selection.excluded[i].is_some() {
                            continue;
                        }
                        let apart = match lw.paths.load(lw.file, op.item) {
                            Ok(item) => match op.with(lw.file, &item) {
                                Ok(op) => lw.output_apart(&op),
                                Err(e) => (Err(e), Vec::new()),
                            },
                            // Reported where the operation is prepared.
                            Err(e) => (Err(e), Vec::new()),
                        };
                        // Closed: this thread stopped at an error.
                        if otx.send((i, apart)).is_err() {
                            return;
                        }
                    }
                });
                Some(orx)
            } else {
                drop((otx, orx));
                None
            };
            let mut outputs: BTreeMap<usize, tool::Apart> = BTreeMap::new();
            if second {
                let shared = SharedOutputs::default();
                self.shared_outputs = Some(shared.clone());
                scope.spawn(move || {
                    let Some(facts) = facts_second.take() else {
                        return;
                    };
                    let schemas = Schemas::from_facts(&spec.file, spec.root(), &spec.placed, facts);
                    let Ok(mut lw) = Lowerer::new(spec, &schemas, tools_config) else {
                        // This thread's lowerer failed the same way already.
                        return;
                    };
                    lw.shared_outputs = Some(shared);
                    while !stop.load(Relaxed) {
                        let b = claimed.fetch_add(1, Relaxed);
                        if b >= blocks {
                            return;
                        }
                        let mut go_on = true;
                        prepare_block(&mut lw, ops, selection, b, |i, prepared| {
                            // Past a failure, or a closed channel (this thread stopped at
                            // an error), nothing more is needed.
                            let ok = prepared.is_ok();
                            go_on = tx.send((i, prepared)).is_ok() && ok;
                            go_on
                        });
                        if !go_on {
                            return;
                        }
                    }
                });
            } else {
                drop(tx);
            }
            let mut ready: BTreeMap<usize, Result<tool::Prepared>> = BTreeMap::new();
            for (i, op) in ops.iter().enumerate() {
                // The last operation of its path item: the item's parse is dropped after it.
                let last_of_item = ops.get(i + 1).is_none_or(|next| next.item != op.item);
                if let Some(reason) = &selection.excluded[i] {
                    // Parsed all the same: an invalid operation is an error, selected or not.
                    self.paths.load(self.file, op.item)?;
                    if last_of_item {
                        self.paths.release(op.item);
                    }
                    excluded.push(excluded_operation(op, reason));
                    continue;
                }
                if second
                    && i % BLOCK == 0
                    && !stop.load(Relaxed)
                    && (past_second_thread_memory()
                        || opts.stop_second_thread_at.is_some_and(|at| i >= at))
                {
                    stop.store(true, Relaxed);
                }
                let prepared = loop {
                    if let Some(prepared) = ready.remove(&i) {
                        break prepared;
                    }
                    while let Ok((j, prepared)) = rx.try_recv() {
                        ready.insert(j, prepared);
                    }
                    if let Some(prepared) = ready.remove(&i) {
                        break prepared;
                    }
                    let b = claimed.fetch_add(1, Relaxed);
                    if b < blocks {
                        prepare_block(self, ops, selection, b, |j, prepared| {
                            ready.insert(j, prepared);
                            true
                        });
                        continue;
                    }
                    // Every block is claimed and this operation's is the second thread's,
                    // which sends every operation of a block it claimed (or fails on one
                    // before this).
                    match rx.recv() {
                        Ok((j, prepared)) => {
                            ready.insert(j, prepared);
                        }
                        Err(_) => {
                            return Err(Error::invalid(
                                self.file,
                                &op.pointer(),
                                "internal error: the second lowering thread stopped early",
                            ));
                        }
                    }
                };
                let prepared = match (prepared, &orx) {
                    (Ok(mut prepared), Some(orx)) => {
                        // Outputs come in operation order.
                        let apart = loop {
                            if let Some(apart) = outputs.remove(&i) {
                                break apart;
                            }
                            match orx.recv() {
                                Ok((j, apart)) => {
                                    outputs.insert(j, apart);
                                }
                                Err(_) => {
                                    return Err(Error::invalid(
                                        self.file,
                                        &op.pointer(),
                                        "internal error: the output thread stopped early",
                                    ));
                                }
                            }
                        };
                        prepared.set_output(apart);
                        Ok(prepared)
                    }
                    (prepared, _) => prepared,
                };
                let item = self.paths.load(self.file, op.item)?;
                let tool = self.tool(
                    &op.with(self.file, &item)?,
                    selection.overrides[i].as_ref(),
                    prepared,
                )?;
                tools.push(tool);
                if last_of_item {
                    self.paths.release(op.item);
                }
            }
            Ok::<(), Error>(())
        })?;
        Ok((tools, excluded))
    }

    /// Names given by overrides are claimed first, so a generated name never takes one.
    fn claim_override_names(&mut self, selection: &select::Selection) {
        for (o, excluded) in selection.overrides.iter().zip(&selection.excluded) {
            if let (Some((key, o)), None) = (o, excluded)
                && let Some(name) = &o.name
            {
                self.tool_names.claim(name, "_", MAX_NAME_LEN);
                self.override_names.insert(name.clone(), key.clone());
            }
        }
    }

    /// Resolves a `ReferenceOr<T>`, returning the pointer it lives at. What `components` holds
    /// is borrowed from `openapiv3`'s parse of it (an item is not copied: a large API's path items
    /// are megabytes, and GitHub's operations name the same shared parameters thousands of
    /// times); any other place is read from the parsed structure as JSON.
    pub(super) fn deref<'r, T: Referable>(
        &self,
        r: &'r ReferenceOr<T>,
        at: &Pointer,
    ) -> Result<(Pointer, Cow<'r, T>)>
    where
        'a: 'r,
    {
        let mut reference = match r {
            ReferenceOr::Item(t) => return Ok((at.clone(), Cow::Borrowed(t))),
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
            let not_found = || {
                Error::invalid(
                    self.file,
                    &from.join("$ref"),
                    format!("$ref target `{reference}` not found"),
                )
            };
            let tokens: Vec<String> = p.tokens().collect();
            if let [components, kind, name] = tokens.as_slice()
                && components == "components"
                && kind == T::COMPONENTS
            {
                let found = self
                    .api
                    .components
                    .as_ref()
                    .and_then(|c| T::component(c, name));
                match found.ok_or_else(not_found)? {
                    ReferenceOr::Item(t) => return Ok((p, Cow::Borrowed(t))),
                    ReferenceOr::Reference { reference: next } => {
                        reference = next.clone();
                        from = p;
                        continue;
                    }
                }
            }
            // A place inside a path item (not in `api`, which is parsed without them) is read
            // from the item's parse as JSON.
            let in_item;
            let target = match tokens.as_slice() {
                [paths, path, ..]
                    if paths == "paths"
                        && let Some(k) = self.paths.find(path) =>
                {
                    in_item =
                        serde_json::to_value(&*self.paths.load(self.file, k)?).unwrap_or_default();
                    p.strip_prefix(&Pointer::root().join("paths").join(path))
                        .and_then(|rest| rest.find(&in_item))
                }
                _ => p.find(
                    self.api_json
                        .get_or_init(|| serde_json::to_value(self.api).unwrap_or_default()),
                ),
            }
            .ok_or_else(not_found)?;
            if let Some(next) = target.get("$ref").and_then(Value::as_str) {
                reference = next.to_string();
                from = p;
                continue;
            }
            let t = serde_path_to_error::deserialize::<_, T>(target).map_err(|e| {
                Error::invalid(self.file, &p, format!("invalid object: {}", e.inner()))
            })?;
            return Ok((p, Cow::Owned(t)));
        }
        Err(Error::invalid(
            self.file,
            at,
            "$ref chain too long or circular",
        ))
    }
}

/// What an operation's `$ref`s name, with the `components` map `openapiv3` parses it into.
pub(super) trait Referable: DeserializeOwned + Clone + 'static {
    /// The key under `components`.
    const COMPONENTS: &'static str;
    fn component<'c>(components: &'c Components, name: &str) -> Option<&'c ReferenceOr<Self>>;
}

impl Referable for openapiv3::Parameter {
    const COMPONENTS: &'static str = "parameters";
    fn component<'c>(c: &'c Components, name: &str) -> Option<&'c ReferenceOr<Self>> {
        c.parameters.get(name)
    }
}

impl Referable for openapiv3::RequestBody {
    const COMPONENTS: &'static str = "requestBodies";
    fn component<'c>(c: &'c Components, name: &str) -> Option<&'c ReferenceOr<Self>> {
        c.request_bodies.get(name)
    }
}

impl Referable for openapiv3::Response {
    const COMPONENTS: &'static str = "responses";
    fn component<'c>(c: &'c Components, name: &str) -> Option<&'c ReferenceOr<Self>> {
        c.responses.get(name)
    }
}

impl Referable for openapiv3::SecurityScheme {
    const COMPONENTS: &'static str = "securitySchemes";
    fn component<'c>(c: &'c Components, name: &str) -> Option<&'c ReferenceOr<Self>> {
        c.security_schemes.get(name)
    }
}

impl Referable for PathItem {
    // `openapiv3` (3.0) has no `components.pathItems`: read as JSON.
    const COMPONENTS: &'static str = "pathItems";
    fn component<'c>(_: &'c Components, _: &str) -> Option<&'c ReferenceOr<Self>> {
        None
    }
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
            let joined = without_userinfo(joined.as_str(), warnings);
            return joined.trim_end_matches('/').to_string();
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
        let url = without_userinfo(&url, warnings);
        return url.trim_end_matches('/').to_string();
    }
    if let Some(base) = spec_url
        && let Ok(joined) = base.join(&url)
    {
        let joined = without_userinfo(joined.as_str(), warnings);
        return joined.trim_end_matches('/').to_string();
    }
    warnings.push(Warning::spec(
        Pointer::root().join("servers").join(0).join("url"),
        format!("`{url}` is not an absolute URL; the generated server needs --upstream-url"),
    ));
    String::new()
}

/// `url` (absolute, `http` or `https`) without a user name and password: credentials in the
/// spec's `servers` URL are not written into generated files (the constant, the README), where
/// anyone who reads the crate would see them; a warning says how to give them at run time.
fn without_userinfo(url: &str, warnings: &mut Vec<Warning>) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let stripped = format!("{scheme}://{}", &rest[at + 1..]);
    warnings.push(Warning::spec(
        Pointer::root().join("servers").join(0).join("url"),
        format!(
            "has a user name or password: not written into the generated files (the server's default upstream URL is `{stripped}`); give credentials when the server runs: an `upstream:` entry of the --auth file for the API's security scheme, or --upstream-url (UPSTREAM_BASE_URL) with them, sent as basic authentication"
        ),
    ));
    stripped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_servers_url_are_not_kept() {
        for (given, kept) in [
            (
                "https://alice:s3cret@api.example.com/v1/",
                "https://api.example.com/v1",
            ),
            ("http://token@api.example.com", "http://api.example.com"),
            (
                "https://a%40b:p%40ss@api.example.com:8443/x?y=1",
                "https://api.example.com:8443/x?y=1",
            ),
        ] {
            let doc = serde_json::json!({
                "openapi": "3.0.3",
                "info": {"title": "T", "version": "1"},
                "servers": [{"url": given}],
                "paths": {},
            });
            let loaded =
                crate::spec::load::load_text("spec.json", &doc.to_string()).expect("loads");
            let spec = crate::spec::read(loaded, |_, _| ()).expect("reads").0;
            let api = lower(&spec, None, &LowerOptions::default()).expect("lowers");
            assert_eq!(api.default_upstream_url, kept, "{given}");
            let warning = api
                .warnings
                .iter()
                .map(ToString::to_string)
                .find(|w| w.contains("user name or password"))
                .expect("a warning");
            assert!(warning.contains("/servers/0/url"), "{warning}");
            assert!(
                !warning.contains("s3cret") && !warning.contains("p%40ss"),
                "{warning}"
            );
        }
        let mut warnings = Vec::new();
        assert_eq!(
            without_userinfo("https://api.example.com/a@b", &mut warnings),
            "https://api.example.com/a@b"
        );
        assert!(warnings.is_empty());
    }

    /// The IR of a spec with `ops` (`(method, path, operationId, tags)`) and an optional config.
    fn lowered(ops: &[(&str, &str, &str, &[&str])], config: Option<&str>) -> ir::Api {
        let mut paths = serde_json::Map::new();
        for (method, path, id, tags) in ops {
            let entry = paths
                .entry(path.to_string())
                .or_insert_with(|| serde_json::json!({}));
            entry[*method] = serde_json::json!({
                "operationId": id,
                "tags": tags,
                "responses": {"204": {"description": "done"}},
            });
        }
        let doc = serde_json::json!({
            "openapi": "3.0.3",
            "info": {"title": "T", "version": "1"},
            "servers": [{"url": "https://api.example.com"}],
            "paths": paths,
        });
        let loaded = crate::spec::load::load_text("spec.json", &doc.to_string()).expect("loads");
        let spec = crate::spec::read(loaded, |_, _| ()).expect("reads").0;
        let config = config.map(|c| crate::config::parse_config("auth.yaml", c).expect("config"));
        lower(&spec, config.as_ref(), &LowerOptions::default()).expect("lowers")
    }

    /// The IR is the same whichever thread prepares which operation: names claimed across
    /// operations (tools, argument types, `$defs`), warnings and their order, errors.
    #[test]
    fn two_threads_make_what_one_makes() {
        let mut paths = serde_json::Map::new();
        for i in 0..(BLOCK * 5 + 3) {
            let schema_ref = if i % 3 == 0 { "a+b" } else { "a_b" };
            paths.insert(
                format!("/r{i}"),
                serde_json::json!({
                    "post": {
                        // One operationId for all: names `create`, `create_2`, ... in order.
                        "operationId": "create",
                        "parameters": [
                            {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["x", format!("y{}", i % 4)]}},
                            {"name": "n", "in": "query", "schema": {"type": "integer", "format": format!("odd{i}")}},
                        ],
                        "requestBody": {"content": {"application/json": {"schema": {
                            "type": "object",
                            "properties": {
                                "node": {"$ref": "#/components/schemas/Node"},
                                "pair": {"$ref": format!("#/components/schemas/{schema_ref}")},
                                "deep": {"type": "object", "properties": {"v": {"type": "string", "format": format!("f{}", i % 5)}}},
                                // Not a schema: a warning at each operation's own place.
                                "odd": 5,
                            },
                        }}}},
                        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                            "type": "object",
                            "properties": {
                                "node": {"$ref": "#/components/schemas/Node"},
                                // Not a schema: a warning from the output, after the input's.
                                "out": 6,
                            },
                        }}}}},
                    }
                }),
            );
        }
        let doc = serde_json::json!({
            "openapi": "3.0.3",
            "info": {"title": "T", "version": "1"},
            "servers": [{"url": "https://api.example.com"}],
            "paths": paths,
            "components": {"schemas": {
                "Node": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Node"}, "pair": {"$ref": "#/components/schemas/a_b"}}},
                "a+b": {"type": "object", "properties": {"up": {"$ref": "#/components/schemas/Node"}}},
                "a_b": {"type": "object", "properties": {"down": {"$ref": "#/components/schemas/a+b"}}},
            }},
        });
        let loaded = crate::spec::load::load_text("spec.json", &doc.to_string()).expect("loads");
        let spec = crate::spec::read(loaded, |_, _| ()).expect("reads").0;
        let one = lower(
            &spec,
            None,
            &LowerOptions {
                one_thread: true,
                ..LowerOptions::default()
            },
        )
        .expect("lowers");
        // However far ahead either thread prepares, the warnings come in operation order.
        let odd: Vec<String> = one
            .warnings
            .iter()
            .map(ToString::to_string)
            .filter(|w| w.contains("a schema must be an object or a boolean"))
            .collect();
        assert_eq!(odd.len(), 2 * (BLOCK * 5 + 3), "{odd:#?}");
        assert!(odd[1].contains("/paths/~1r0/post/responses"), "{odd:#?}");
        assert!(odd[2].contains("/paths/~1r1/post/requestBody"), "{odd:#?}");
        let mut two = lower(&spec, None, &LowerOptions::default()).expect("lowers");
        for _ in 0..5 {
            two = lower(&spec, None, &LowerOptions::default()).expect("lowers");
            assert_eq!(format!("{two:#?}"), format!("{one:#?}"));
        }
        let stopped = lower(
            &spec,
            None,
            &LowerOptions {
                stop_second_thread_at: Some(BLOCK * 2),
                ..LowerOptions::default()
            },
        )
        .expect("lowers");
        assert_eq!(format!("{stopped:#?}"), format!("{one:#?}"));
        for _ in 0..3 {
            let apart = lower(
                &spec,
                None,
                &LowerOptions {
                    outputs_apart: true,
                    ..LowerOptions::default()
                },
            )
            .expect("lowers");
            assert_eq!(format!("{apart:#?}"), format!("{one:#?}"));
        }
        assert_eq!(two.tools.len(), BLOCK * 5 + 3);
        assert_eq!(
            two.tools[BLOCK * 5 + 2].name,
            format!("create_{}", BLOCK * 5 + 3)
        );
        let defs = two.tools[1].input_schema.text();
        assert!(defs.contains(r##""$ref":"#/$defs/a_b""##), "{defs}");
        assert!(defs.contains(r##""$ref":"#/$defs/a_b_2""##), "{defs}");
    }

    /// An undefined security scheme is warned about once, at the first tool that names it,
    /// whichever thread prepared which operation.
    #[test]
    fn an_undefined_scheme_is_warned_about_once() {
        let mut paths = serde_json::Map::new();
        for i in 0..(BLOCK * 3) {
            let mut op = serde_json::json!({
                "operationId": format!("get{i}"),
                "parameters": [{"name": "key", "in": "query", "schema": {"type": "string"}}],
                "responses": {"204": {"description": "done"}},
            });
            if i % 5 == 0 {
                op["security"] = serde_json::json!([{"missing": []}, {"key": []}]);
            }
            paths.insert(format!("/r{i:03}"), serde_json::json!({ "get": op }));
        }
        let doc = serde_json::json!({
            "openapi": "3.0.3",
            "info": {"title": "T", "version": "1"},
            "paths": paths,
            "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "query", "name": "key"}}},
        });
        let loaded = crate::spec::load::load_text("spec.json", &doc.to_string()).expect("loads");
        let spec = crate::spec::read(loaded, |_, _| ()).expect("reads").0;
        for one_thread in [true, false] {
            let api = lower(
                &spec,
                None,
                &LowerOptions {
                    one_thread,
                    ..LowerOptions::default()
                },
            )
            .expect("lowers");
            let warned: Vec<&str> = api
                .tools
                .iter()
                .filter(|t| {
                    t.warnings.iter().any(|w| {
                        w.to_string()
                            .contains("securityScheme `missing` is not defined")
                    })
                })
                .map(|t| t.name.as_str())
                .collect();
            assert_eq!(warned, ["get0"], "one thread: {one_thread}");
            // The key is a credential wherever the scheme applies, never an argument there.
            assert!(api.tools[0].args.iter().all(|a| a.wire_name != "key"));
            assert!(api.tools[1].args.iter().any(|a| a.wire_name == "key"));
            let scheme = api
                .security_schemes
                .iter()
                .find(|s| s.name == "missing")
                .expect("the undefined scheme");
            assert!(scheme.used);
        }
    }

    /// The first operation that fails, in operation order, is the error lowering reports,
    /// whichever thread prepared it and whatever the other prepared after it.
    #[test]
    fn the_first_failing_operation_is_reported() {
        for failing in [
            vec![0],
            vec![BLOCK + 1],
            vec![BLOCK + 1, BLOCK * 2 + 3],
            vec![BLOCK * 3 - 1, BLOCK * 2],
        ] {
            let mut paths = serde_json::Map::new();
            for i in 0..(BLOCK * 3) {
                let target = if failing.contains(&i) {
                    format!("Missing{i}")
                } else {
                    "Here".to_string()
                };
                paths.insert(
                    format!("/r{i:03}"),
                    serde_json::json!({"get": {
                        "operationId": format!("get{i}"),
                        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{target}")}}}}},
                    }}),
                );
            }
            let doc = serde_json::json!({
                "openapi": "3.0.3",
                "info": {"title": "T", "version": "1"},
                "paths": paths,
                "components": {"schemas": {"Here": {"type": "object"}}},
            });
            let loaded =
                crate::spec::load::load_text("spec.json", &doc.to_string()).expect("loads");
            let spec = crate::spec::read(loaded, |_, _| ()).expect("reads").0;
            let first = failing.iter().min().copied().unwrap_or_default();
            for _ in 0..4 {
                let err = lower(&spec, None, &LowerOptions::default())
                    .expect_err("a missing target")
                    .to_string();
                assert!(err.contains(&format!("Missing{first}`")), "{err}");
                assert!(err.contains(&format!("/paths/~1r{first:03}/get")), "{err}");
            }
        }
    }

    fn many(n: usize) -> Vec<(String, String)> {
        (0..n)
            .map(|i| (format!("/r{i}"), format!("op{i}")))
            .collect()
    }

    #[test]
    fn discovery_names_are_reserved() {
        let api = lowered(
            &[
                ("get", "/a", "searchTools", &[]),
                ("get", "/b", "describe_tools", &[]),
                ("post", "/c", "executeTool", &[]),
                ("post", "/d", "ExecuteReadOnlyTool", &[]),
                ("get", "/e", "search_tools_2", &[]),
            ],
            None,
        );
        let names: Vec<&str> = api.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "search_tools_2",
                "describe_tools_2",
                "execute_tool_2",
                "execute_read_only_tool_2",
                "search_tools_2_2"
            ]
        );
        assert!(
            api.tools[0].warnings[0]
                .to_string()
                .ends_with("tool name `search_tools` is reserved for the discovery tools of `--tool-mode discover`; this one is `search_tools_2`"),
            "{:?}",
            api.tools[0].warnings
        );
        assert!(
            api.tools[4].warnings[0]
                .to_string()
                .contains("already taken")
        );
    }

    #[test]
    fn toolsets_come_from_the_first_tag_or_an_override() {
        let api = lowered(
            &[
                ("get", "/a", "a", &["Pet Store", "admin"]),
                ("get", "/b", "b", &[]),
                ("get", "/c", "c", &["admin"]),
            ],
            Some("tools:\n  overrides:\n    c: {toolset: ops}\n"),
        );
        let sets: Vec<&str> = api.tools.iter().map(|t| t.toolset.as_str()).collect();
        assert_eq!(sets, ["pet_store", "default", "ops"]);
        assert_eq!(api.tools[2].overridden, ["toolset"]);
    }

    #[test]
    fn the_config_sets_or_leaves_the_mode_to_auto() {
        let ops = many(41);
        let ops: Vec<(&str, &str, &str, &[&str])> = ops
            .iter()
            .map(|(p, id)| ("get", p.as_str(), id.as_str(), &[] as &[&str]))
            .collect();
        let auto = lowered(&ops, None).tool_mode;
        assert_eq!((auto.mode, auto.auto), (ir::ToolMode::Discover, true));
        assert_eq!(lowered(&ops[..40], None).tool_mode.mode, ir::ToolMode::All);
        let all = lowered(&ops, Some("tools:\n  mode: all\n")).tool_mode;
        assert_eq!((all.mode, all.auto), (ir::ToolMode::All, false));
        assert_eq!(all.reason, "`tools: mode` in auth.yaml says `all`");
        let discover = lowered(&ops[..1], Some("tools:\n  mode: discover\n")).tool_mode;
        assert_eq!(discover.mode, ir::ToolMode::Discover);
        let explicit_auto = lowered(&ops[..1], Some("tools:\n  mode: auto\n")).tool_mode;
        assert_eq!(
            (explicit_auto.mode, explicit_auto.auto),
            (ir::ToolMode::All, true)
        );
    }
}
