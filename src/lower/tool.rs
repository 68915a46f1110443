//! One selected operation → its [`Tool`], phase by phase: the tool's name (an override's, else
//! from the operationId, or the method and path, made unique), its security requirements, its
//! input (parameters, request body, then the arguments with their schemas and Rust types), its
//! output schema, the OAuth scopes it needs, and how it presents itself (title, description,
//! annotations, with what an override changes).

use crate::config::tools::Override;
use crate::error::{Error, Result};
use crate::ir::{Body, OutputCut, Schema, Simplification, Tool, Warning};
use crate::lower::arguments::Input;
use crate::lower::body::is_json;
use crate::lower::text;
use crate::lower::{Lowerer, OperationRef};
use crate::naming::{self, MAX_NAME_LEN};
use crate::pointer::Pointer;
use crate::schema::bound::{OUTPUT_BOUND, Root};
use crate::schema::convert::Conversion;
use crate::schema::shape::Mode;
use openapiv3::{Operation, ReferenceOr};
use serde_json::{Value, json};

/// What lowering an operation makes that no other operation's lowering changes: its
/// arguments (without their Rust types) and schemas. [`Lowerer::prepare`] makes it on either
/// thread; [`Lowerer::tool`] finishes it, in operation order.
pub(super) struct Prepared {
    /// The arguments (their `schema` taken out: `input_schema`).
    input: Input,
    input_schema: Schema,
    /// Whether the input schema was cut for nesting deeper than JSON parsers allow.
    input_deep: bool,
    body: Option<Body>,
    /// The output, or what failed making it (reported after what comes before it in a tool);
    /// `None` while it is made apart ([`Lowerer::output_apart`]).
    output: Option<Result<Output>>,
    /// What the parameters, body and arguments said about the tool.
    warnings: Vec<Warning>,
    /// What the schema stages first found while preparing.
    schema_warnings: Vec<Warning>,
}

impl Lowerer<'_> {
    /// The part of an operation's tool that depends on nothing decided across operations (see
    /// [`Prepared`]); an error is the first of its parameters, body or arguments.
    pub(super) fn prepare(&mut self, op: &OperationRef) -> Result<Prepared> {
        let op_ptr = op.pointer();
        let seen = self.schemas.warning_count();
        let mut warnings = Vec::new();
        // What the parameters need of the tool's security (which are credentials); `tool`
        // decides the rest in operation order (schemes marked used, undefined ones added with
        // a warning, once).
        let security = self.requirements(op.operation);
        let mut candidates = self.parameters(op, &security, &mut warnings)?;
        let (body, body_notes) =
            self.request_body(op.operation, &op_ptr, &mut candidates, &mut warnings)?;
        let mut input = self.arguments(
            candidates,
            body.as_ref(),
            body_notes,
            &op_ptr,
            &mut warnings,
        )?;
        let output = (!self.outputs_apart).then(|| self.output_schema(op.operation, &op_ptr));
        // Texts are shared within the thread that makes them (across two threads, an equal
        // schema may be two strings).
        // The generated server parses tools.json with serde_json's default recursion limit.
        let (input_schema, input_deep) = std::mem::take(&mut input.schema)
            .into_schema(MAX_SCHEMA_JSON_DEPTH, &mut self.schema_texts);
        Ok(Prepared {
            input,
            input_schema,
            input_deep,
            body,
            output,
            warnings,
            // Taken out, and recorded again when the tool is finished: in operation order,
            // however far ahead of the finished tools this thread prepares.
            schema_warnings: self.schemas.take_warnings_since(seen),
        })
    }

    /// The output of an operation made apart from the rest of [`Lowerer::prepare`] (on a
    /// thread of its own: [`Lowerer::tools`]), with the schema warnings found making it.
    pub(super) fn output_apart(&mut self, op: &OperationRef) -> Apart {
        let seen = self.schemas.warning_count();
        let output = self.output_schema(op.operation, &op.pointer());
        (output, self.schemas.take_warnings_since(seen))
    }

    /// The tool of one selected operation, with the override the config gives it, if any, from
    /// its [`Prepared`] part (by this thread or another).
    pub(super) fn tool(
        &mut self,
        op: &OperationRef,
        over: Option<&(String, Override)>,
        prepared: Result<Prepared>,
    ) -> Result<Tool> {
        let op_ptr = op.pointer();
        let mut warnings = Vec::new();
        let name = self.tool_name(op, over, &mut warnings)?;
        let camel = naming::upper_camel(&name);
        let args_struct = self.struct_names.claim(
            &format!("{}Args", naming::type_ident(&camel)),
            "",
            usize::MAX,
        );
        let security = self.security(op.operation, &op_ptr, &mut warnings);
        let Prepared {
            input,
            input_schema,
            input_deep,
            body,
            output,
            warnings: found,
            schema_warnings,
        } = prepared?;
        warnings.extend(found);
        self.schemas.adopt_warnings(schema_warnings);
        let mut args = input.args;
        self.type_arguments(&mut args, input.typing, &camel)?;
        let mut simplifications = input.notes;
        let input_cut = input.cut;
        let (output_schema, wrap_output, output_notes, output_cut, output_deep) = output
            .unwrap_or_else(|| {
                Err(Error::invalid(
                    self.file,
                    &op_ptr,
                    "internal error: the output made apart is missing",
                ))
            })?;
        simplifications.extend(output_notes);
        // Kept for the tool's life: without the spare capacity of growing (a Graph-shaped body
        // makes hundreds of notes).
        simplifications.shrink_to_fit();
        if input_deep | output_deep {
            warnings.push(Warning::spec(
                op_ptr.clone(),
                format!(
                    "a schema (or a default or example value in it) is nested deeper than {MAX_SCHEMA_JSON_DEPTH} JSON levels; the deeper part is cut"
                ),
            ));
        }
        let scope_alternatives = self.scope_alternatives(&security);
        let shown = presentation(op, over);
        let toolset = over
            .and_then(|(_, o)| o.toolset.clone())
            .unwrap_or_else(|| naming::toolset_name(op.operation.tags.first().map(String::as_str)));
        let summary = text::summary(
            shown.title.as_deref(),
            &shown.description,
            op.operation.deprecated,
        );
        Ok(Tool {
            name,
            title: shown.title,
            description: shown.description,
            method: op.method.to_ascii_uppercase(),
            path: op.path.to_string(),
            operation_id: op.operation.operation_id.clone(),
            pointer: op_ptr,
            tags: op.operation.tags.clone(),
            toolset,
            summary,
            read_only: shown.read_only,
            destructive: shown.destructive,
            idempotent: shown.idempotent,
            open_world: shown.open_world,
            overridden_by: over.map(|(key, _)| key.clone()),
            overridden: shown.overridden,
            args,
            body,
            input_schema,
            output_schema,
            wrap_output,
            output_cut,
            input_cut,
            security,
            scope_alternatives,
            credentials: Vec::new(),
            args_struct,
            simplifications,
            warnings,
        })
    }

    /// The tool's name: the override's (claimed before any operation was lowered), else one
    /// made from the operationId (or method and path), shortened and made unique, with a
    /// warning for either. A generated name that an override gives another tool is an error.
    fn tool_name(
        &mut self,
        op: &OperationRef,
        over: Option<&(String, Override)>,
        warnings: &mut Vec<Warning>,
    ) -> Result<String> {
        if let Some(name) = over.and_then(|(_, o)| o.name.clone()) {
            return Ok(name);
        }
        let (path, method, operation) = (op.path, op.method, op.operation);
        let base = naming::tool_base_name(operation.operation_id.as_deref(), method, path);
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
                    operation
                        .operation_id
                        .as_deref()
                        .map_or("the operation".to_string(), |id| format!("`{id}`")),
                    method.to_ascii_uppercase()
                ),
            ));
        }
        let op_ptr = op.pointer();
        if let Some(id) = &operation.operation_id
            && id.len() > MAX_NAME_LEN
        {
            warnings.push(Warning::spec(
                op_ptr.join("operationId"),
                format!("longer than {MAX_NAME_LEN} characters; tool name shortened to `{base}`"),
            ));
        }
        let name = self.tool_names.claim(&base, "_", MAX_NAME_LEN);
        if naming::DISCOVERY_TOOLS.contains(&base.as_str()) {
            warnings.push(Warning::spec(
                op_ptr,
                format!(
                    "tool name `{base}` is reserved for the discovery tools of `--tool-mode discover`; this one is `{name}`"
                ),
            ));
        } else if name != base {
            warnings.push(Warning::spec(
                op_ptr,
                format!("tool name `{base}` is already taken; this one is `{name}`"),
            ));
        }
        Ok(name)
    }

    /// The output schema from the JSON success responses (lowest 2xx code first). Several
    /// distinct schemas become an `anyOf`. Roots that are not plainly objects are wrapped as
    /// `{"result": ..}`. Responses that are plain references to the document's schemas convert
    /// the same in every tool that has them (an entity graph's get, create and navigation
    /// tools return a few entities between them): their output is made once per document.
    fn output_schema(&mut self, op: &Operation, op_ptr: &Pointer) -> Result<Output> {
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
                return Ok((None, false, Vec::new(), None, false));
            }
            if let Some(mt) = json_types.first() {
                let at = rptr.join("content").join(mt).join("schema");
                let raw = self.schemas.find(&at).cloned().unwrap_or(json!({}));
                if !schemas.iter().any(|(_, s)| *s == raw) {
                    schemas.push((at, raw));
                }
            }
        }
        if schemas.is_empty() {
            return Ok((None, false, Vec::new(), None, false));
        }
        let key: Option<Vec<String>> = schemas
            .iter()
            .map(|(_, raw)| self.plain_reference(raw))
            .collect();
        if let Some(hit) = key.as_ref().and_then(|k| self.outputs.get(k)) {
            return Ok(hit.clone());
        }
        // Other schemas are often alike too (`type: array` of the same items, on GitHub's
        // description 410 outputs of about 220 schemas): made once when making them warned of
        // nothing new. A warning names where it was found, so one that did is made again for
        // each place; what else it makes depends on the schemas alone.
        let text_key = match key {
            Some(_) => None,
            None => {
                let raws: Vec<&Value> = schemas.iter().map(|(_, raw)| raw).collect();
                serde_json::to_string(&raws).ok()
            }
        };
        if let Some(hit) = text_key.as_ref().and_then(|k| self.outputs_by_text.get(k)) {
            return Ok(hit.clone());
        }
        // Across the two lowering threads, outputs whose making warned of nothing at all: made
        // again on either, in any order, they would be the same and warn of nothing.
        let shared_key = match (&key, &text_key) {
            (Some(targets), _) => serde_json::to_string(targets).ok(),
            (None, Some(text)) => Some(format!("schemas {text}")),
            (None, None) => None,
        };
        let shared_hit = match (&self.shared_outputs, &shared_key) {
            (Some(shared), Some(k)) => shared.lock().ok().and_then(|m| m.get(k).cloned()),
            _ => None,
        };
        if let Some(hit) = shared_hit {
            if let Some(k) = key {
                self.outputs.insert(k, hit.clone());
            } else if let Some(k) = text_key {
                self.outputs_by_text.insert(k, hit.clone());
            }
            return Ok(hit);
        }
        let warned = self.schemas.warning_count();
        let made = self.schemas.warnings_made();
        let (text, wrap, notes, cut) = self.bounded_output(&schemas)?;
        let warned_nothing = self.schemas.warning_count() == warned;
        let made_none = self.schemas.warnings_made() == made;
        let (text, deep) = json_text::cut_deeper_than(&text, MAX_SCHEMA_JSON_DEPTH);
        let out = (
            Some(Schema::shared_text(&text, &mut self.schema_texts)),
            wrap,
            notes,
            cut,
            deep,
        );
        if let (Some(shared), Some(k), true) = (&self.shared_outputs, shared_key, made_none)
            && let Ok(mut m) = shared.lock()
        {
            m.insert(k, out.clone());
        }
        if let Some(k) = key {
            self.outputs.insert(k, out.clone());
        } else if let Some(k) = text_key.filter(|_| warned_nothing) {
            self.outputs_by_text.insert(k, out.clone());
        }
        Ok(out)
    }

    /// The target of `raw` when it is a plain `$ref` (no siblings) to a schema the document has.
    fn plain_reference(&self, raw: &Value) -> Option<String> {
        let m = raw.as_object().filter(|m| m.len() == 1)?;
        let r = m.get("$ref")?.as_str()?;
        self.schemas.find(&Pointer::from_ref(r)?)?;
        Some(r.to_owned())
    }

    /// The bounded output schema of the response schemas (with their places), whether it is
    /// wrapped, the shaping notes and what the bound cut.
    fn bounded_output(
        &self,
        schemas: &[(Pointer, Value)],
    ) -> Result<(String, bool, Vec<Simplification>, Option<OutputCut>)> {
        let several = schemas.len() > 1;
        let roots: Vec<Root> = schemas
            .iter()
            .enumerate()
            .map(|(i, (at, raw))| Root {
                schema: raw,
                at: at.clone(),
                path: if several {
                    format!("output.anyOf[{i}]")
                } else {
                    "output".to_string()
                },
                extra: 0,
            })
            .collect();
        let mut conversion = Conversion::new(self.schemas, Mode::Output);
        let mut bounded = conversion.convert_bounded(&roots, OUTPUT_BOUND)?;
        let plain_object = !several && bounded.plain.first() == Some(&true);
        let something_cut = bounded.cuts > 0 || bounded.stripped > 0;
        let roots_bytes: usize = bounded.roots.iter().map(String::len).sum();
        let root = if several {
            format!(r#"{{"anyOf":[{}]}}"#, bounded.roots.join(","))
        } else {
            bounded.roots.pop().unwrap_or_else(|| "{}".to_owned())
        };
        // Wrapped, keys in `Map` order.
        let mut out = if plain_object {
            root
        } else {
            format!(r#"{{"properties":{{"result":{root}}},"required":["result"],"type":"object"}}"#)
        };
        // The bytes around the roots (the `anyOf`, the wrapping), for the report.
        let around = out.len().saturating_sub(roots_bytes);
        let defs = bounded.defs_text();
        let defs_bytes = if something_cut && !bounded.defs.is_empty() {
            // `"$defs":` and a comma.
            defs.len() + 9
        } else {
            0
        };
        if !bounded.defs.is_empty()
            && let Some(with) = json_text::with_entry(&out, "$defs", &defs, false)
        {
            out = with;
        }
        let notes = conversion.take_notes();
        let cut = if !something_cut {
            None
        } else {
            let after = around + roots_bytes + defs_bytes;
            let before = conversion.unbounded_bytes(&roots)? + around;
            let subschemas = bounded.cuts;
            // Only the first places are kept, in an `Arc<[String]>` of their size (not with the
            // capacity of every cut's).
            Some(OutputCut {
                bytes_before: before,
                bytes_after: after,
                subschemas,
                annotations_dropped: bounded.stripped,
                at: bounded.cut.into(),
            })
        };
        Ok((out, !plain_object, notes, cut))
    }
}

/// An output made apart and the schema warnings found making it ([`Lowerer::output_apart`]).
pub(super) type Apart = (Result<Output>, Vec<Warning>);

impl Prepared {
    /// Puts in the output made apart, its schema warnings after those found preparing the
    /// rest (the order [`Lowerer::prepare`] finds them in when it makes the output itself).
    pub(super) fn set_output(&mut self, (output, warnings): Apart) {
        self.output = Some(output);
        self.schema_warnings.extend(warnings);
    }
}

/// A tool's output: its schema, whether the result is wrapped, the shaping notes, what the
/// bound cut, whether the schema was cut for nesting deeper than JSON parsers allow.
pub(super) type Output = (
    Option<Schema>,
    bool,
    Vec<Simplification>,
    Option<OutputCut>,
    bool,
);

use crate::schema::json_text;

/// How a tool presents itself to clients.
struct Presentation {
    title: Option<String>,
    description: String,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
    open_world: bool,
    /// What the override changed (`name`, `title`, `readOnlyHint`, ...).
    overridden: Vec<String>,
}

/// Title and description from the operation's summary and description; annotations from the
/// HTTP method (GET/HEAD/OPTIONS/TRACE read-only; PUT/DELETE idempotent; DELETE, PUT and PATCH
/// destructive); then whatever the override sets instead.
fn presentation(op: &OperationRef, over: Option<&(String, Override)>) -> Presentation {
    let (operation, method) = (op.operation, op.method);
    // Clients show titles and models read descriptions as text: HTML in them is reduced to
    // text (Markdown stays as it is).
    let summary = operation
        .summary
        .as_deref()
        .map(|s| text::to_text(s.trim()))
        .filter(|s| !s.is_empty());
    let mut description = operation
        .description
        .as_deref()
        .map(|d| text::to_text(d.trim()))
        .filter(|s| !s.is_empty())
        .or_else(|| summary.clone())
        .unwrap_or_else(|| format!("{} {}", method.to_ascii_uppercase(), op.path));
    if operation.deprecated {
        description = format!("Deprecated. {description}");
    }
    let mut shown = Presentation {
        title: summary,
        description,
        read_only: matches!(method, "get" | "head" | "options" | "trace"),
        destructive: matches!(method, "delete" | "put" | "patch"),
        idempotent: matches!(
            method,
            "get" | "head" | "options" | "trace" | "put" | "delete"
        ),
        open_world: true,
        overridden: Vec::new(),
    };
    let Some((_, o)) = over else {
        return shown;
    };
    let mut overridden = Vec::new();
    let mut note = |field: &str| overridden.push(field.to_string());
    if o.name.is_some() {
        note("name");
    }
    if let Some(t) = &o.title {
        shown.title = Some(t.clone());
        note("title");
    }
    if let Some(d) = &o.description {
        shown.description = d.clone();
        note("description");
    }
    if o.toolset.is_some() {
        note("toolset");
    }
    if let Some(a) = &o.annotations {
        for (value, slot, field) in [
            (a.read_only_hint, &mut shown.read_only, "readOnlyHint"),
            (
                a.destructive_hint,
                &mut shown.destructive,
                "destructiveHint",
            ),
            (a.idempotent_hint, &mut shown.idempotent, "idempotentHint"),
            (a.open_world_hint, &mut shown.open_world, "openWorldHint"),
        ] {
            if let Some(v) = value {
                *slot = v;
                note(field);
            }
        }
    }
    shown.overridden = overridden;
    shown
}

/// Nesting allowed inside a tool schema: tools.json adds four levels around it, and the generated
/// server reads that file with serde_json, which refuses more than 128.
const MAX_SCHEMA_JSON_DEPTH: usize = 100;
