//! Arguments, the last phase of a tool's input. Every parameter and body property the earlier
//! phases collected ([`Candidate`]s, in order) gets its argument name — a name taken already is
//! told apart by its location (`id_query`), with a warning — its Rust field, its JSON Schema
//! (converted for clients; a multipart file marked as base64) and its Rust type. Together they
//! make the tool's `inputSchema`: a closed object of every argument, with the `$defs` they need.

use crate::error::Result;
use crate::ir::{
    Arg, ArgLocation, Body, BodyKind, OutputCut, Schema, SchemaTexts, Simplification, Warning,
};
use crate::lower::Lowerer;
use crate::naming::{self, MAX_NAME_LEN, Unique};
use crate::pointer::Pointer;
use crate::schema::bound::{INPUT_BOUND, Root};
use crate::schema::convert::Conversion;
use crate::schema::json_text;
use crate::schema::shape::{Mode, Note};
use crate::schema::typegen::{RType, field_doc};
use serde_json::Value;

/// One argument before naming.
pub(super) struct Candidate {
    pub wire: String,
    pub location: ArgLocation,
    pub required: bool,
    pub description: Option<String>,
    pub deprecated: bool,
    pub style: String,
    pub explode: bool,
    /// Raw schema and where it sits (for `$ref` resolution and errors).
    pub schema: Value,
    pub schema_at: Pointer,
}

/// A tool's arguments, the `inputSchema` they make, what was simplified for clients, and what
/// the input bound left out. The arguments' Rust types are not there yet: each has its
/// [`Typing`], for [`Lowerer::type_arguments`].
pub(super) struct Input {
    pub args: Vec<Arg>,
    pub typing: Vec<Typing>,
    /// The `inputSchema` as compact JSON.
    pub schema: InputText,
    pub notes: Vec<Simplification>,
    pub cut: Option<OutputCut>,
}

/// What an argument's Rust type is made from: its raw schema, where it is, and whether it is
/// a binary or text body (a string whatever its schema).
pub(super) type Typing = (Value, Pointer, bool);

impl Lowerer<'_> {
    /// Names and schemas of a tool's arguments, and its `inputSchema` (their Rust types:
    /// [`Lowerer::type_arguments`]); `body_notes` are what shaping a flattened body changed.
    pub(super) fn arguments(
        &mut self,
        candidates: Vec<Candidate>,
        body: Option<&Body>,
        body_notes: Vec<Note>,
        op_ptr: &Pointer,
        warnings: &mut Vec<Warning>,
    ) -> Result<Input> {
        let mut names = Unique::new();
        let mut fields = Unique::new();
        let mut conversion = Conversion::new(self.schemas, Mode::Input);
        conversion.enter("body");
        conversion.note(body_notes);
        let named: Vec<(Candidate, String, String)> = candidates
            .into_iter()
            .map(|c| {
                let name = argument_name(&mut names, &c, op_ptr, warnings);
                let rust_field = fields.claim_field(&name);
                (c, name, rust_field)
            })
            .collect();
        // Every argument's schema at once, breadth-first within the input bound: the arguments
        // themselves are always there, their nested parts nearest first.
        let roots: Vec<Root> = named
            .iter()
            .map(|(c, name, _)| Root {
                schema: &c.schema,
                at: c.schema_at.clone(),
                path: name.clone(),
                extra: around(c, name),
            })
            .collect();
        let mut bounded = conversion.convert_bounded(&roots, INPUT_BOUND)?;
        let defs = bounded.def_entries();
        let before = if bounded.cuts == 0 {
            None
        } else {
            // `"$defs":{...}` and a comma around the definitions.
            let converted =
                bounded.roots.iter().map(String::len).sum::<usize>() + InputText::defs_len(&defs);
            Some((conversion.unbounded_bytes(&roots)?, converted))
        };
        drop(roots);
        let mut args = Vec::new();
        let mut typing = Vec::new();
        for ((c, name, rust_field), schema) in named.into_iter().zip(bounded.roots.drain(..)) {
            let (arg, types) = self.argument(c, name, rust_field, schema, body);
            args.push(arg);
            typing.push(types);
        }
        let schema = InputText {
            defs,
            rest: input_schema(&args),
        };
        let cut = before.map(|(unbounded, converted)| {
            let after = schema.len();
            let subschemas = bounded.cuts;
            // Only the first places are kept, in an `Arc<[String]>` of their size (not with the
            // capacity of every cut's).
            OutputCut {
                bytes_before: (after + unbounded).saturating_sub(converted),
                bytes_after: after,
                subschemas,
                annotations_dropped: bounded.stripped,
                at: std::mem::take(&mut bounded.cut).into(),
            }
        });
        Ok(Input {
            args,
            typing,
            schema,
            notes: conversion.take_notes(),
            cut,
        })
    }

    /// The Rust types of a tool's arguments (of their full schemas), named after `camel` (the
    /// tool's name in UpperCamelCase): what [`Lowerer::arguments`] left for the thread that
    /// lowers the operations in order, as type names are claimed in that order.
    pub(super) fn type_arguments(
        &mut self,
        args: &mut [Arg],
        typing: Vec<Typing>,
        camel: &str,
    ) -> Result<()> {
        for (arg, (schema, at, string)) in args.iter_mut().zip(typing) {
            let rtype = if string {
                RType::Str
            } else {
                let hint = format!("{}{}", camel, naming::type_ident(&arg.name));
                self.types.rust_type(&schema, &at, &hint)?
            };
            arg.type_summary = rtype.summary();
            let (rtype, keeps_null) = if arg.required {
                (rtype, false)
            } else {
                rtype.optional()
            };
            arg.rust_doc = field_doc(&schema, &rtype).or_else(|| arg.description.clone());
            arg.rust_type = rtype.render_field();
            arg.keeps_null = keeps_null;
        }
        Ok(())
    }

    /// One named argument: its schema as clients see it (converted within the bound), and what
    /// its Rust type is made from. The schema is returned too, for the `inputSchema`.
    fn argument(
        &mut self,
        c: Candidate,
        name: String,
        rust_field: String,
        mut schema: String,
        body: Option<&Body>,
    ) -> (Arg, Typing) {
        let mut is_file = false;
        if c.location == ArgLocation::BodyField
            && body.is_some_and(|b| b.kind == BodyKind::Multipart)
            && let Some(mut v) = json_text::parse(&schema)
            && label_file_schema(&mut v)
        {
            is_file = true;
            schema = serde_json::to_string(&v).unwrap_or(schema);
        }
        // Laid over the schema when it is an object (`with_entry` is `None` otherwise).
        if let Some(d) = &c.description {
            let mut text = String::new();
            json_text::push_str_json(&mut text, d);
            schema = json_text::with_entry(&schema, "description", &text, true).unwrap_or(schema);
        }
        if c.deprecated {
            schema = json_text::with_entry(&schema, "deprecated", "true", false).unwrap_or(schema);
        }
        let string = c.location == ArgLocation::Body
            && matches!(
                body.map(|b| b.kind),
                Some(BodyKind::Binary | BodyKind::Text)
            );
        // The Rust type, its summary, doc and null handling: `type_arguments`.
        let arg = Arg {
            name,
            wire_name: c.wire,
            location: c.location,
            required: c.required,
            description: c.description,
            rust_field,
            rust_type: String::new(),
            keeps_null: false,
            rust_doc: None,
            type_summary: String::new(),
            style: c.style,
            explode: c.explode,
            is_file,
            schema: Schema::shared_text(&schema, &mut self.schema_texts),
        };
        (arg, (c.schema, c.schema_at, string))
    }
}

/// An `inputSchema` as compact JSON, in two parts: its `$defs` entries (`"Name":{...}`) and
/// the rest (an object whose keys all come after `$defs`), so that the entries can be shared
/// between tools ([`crate::ir::Schema`]).
#[derive(Debug, Default)]
pub(super) struct InputText {
    pub defs: Vec<String>,
    pub rest: String,
}

/// What comes before the `$defs` entries of an input schema.
const DEFS_HEAD: &str = r#"{"$defs":{"#;

impl InputText {
    /// Bytes of `"$defs":{...}` and its comma in the text, for `defs` (none: 0).
    fn defs_len(defs: &[String]) -> usize {
        if defs.is_empty() {
            return 0;
        }
        // `"$defs":{`, the entries and their commas, `},`.
        DEFS_HEAD.len() - 1 + defs.iter().map(String::len).sum::<usize>() + defs.len() - 1 + 2
    }

    /// Bytes of the whole text.
    pub fn len(&self) -> usize {
        self.rest.len() + Self::defs_len(&self.defs)
    }

    /// The whole text.
    fn whole(&self) -> String {
        if self.defs.is_empty() {
            return self.rest.clone();
        }
        format!(
            "{DEFS_HEAD}{}}},{}",
            self.defs.join(","),
            self.rest.get(1..).unwrap_or_default()
        )
    }

    /// The schema, its pieces shared through `shared`, with every object or array nested
    /// deeper than `max` emptied ([`json_text::cut_deeper_than`]); and whether any was.
    pub fn into_schema(self, max: usize, shared: &mut SchemaTexts) -> (Schema, bool) {
        if !self.defs.is_empty() {
            let tail = format!("}},{}", self.rest.get(1..).unwrap_or_default());
            // An entry is two levels down (in the schema, in `$defs`).
            let deep = json_text::nests_deeper_than(&format!("{DEFS_HEAD}{tail}"), max)
                || self
                    .defs
                    .iter()
                    .any(|d| json_text::nests_deeper_than(d, max.saturating_sub(2)));
            if !deep {
                return (
                    Schema::shared_parts(DEFS_HEAD, self.defs, &tail, shared),
                    false,
                );
            }
        }
        let (text, deep) = json_text::cut_deeper_than(&self.whole(), max);
        (Schema::shared_text(&text, shared), deep)
    }
}

/// Bytes an argument adds to the `inputSchema` besides its schema: its name as a property
/// (and in `required`), the description and `deprecated` laid over its schema.
fn around(c: &Candidate, name: &str) -> usize {
    let name_len = crate::ir::budget::str_len(name);
    let mut n = name_len + 2;
    if c.required {
        n += name_len + 1;
    }
    if let Some(d) = &c.description {
        n += r#","description":"#.len() + crate::ir::budget::str_len(d);
    }
    if c.deprecated {
        n += r#","deprecated":true"#.len();
    }
    n
}

/// The argument name of a candidate: its wire name made a property name, or — when another
/// argument has that name already — with its location appended, with a warning.
fn argument_name(
    names: &mut Unique,
    c: &Candidate,
    op_ptr: &Pointer,
    warnings: &mut Vec<Warning>,
) -> String {
    let base = naming::property_name(&c.wire);
    if !names.is_taken(&base) {
        return names.claim(&base, "_", MAX_NAME_LEN);
    }
    let with_loc = naming::shorten(&format!("{base}_{}", c.location.as_str()), MAX_NAME_LEN);
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
}

/// What an argument is, in words, for warnings.
pub(super) fn location_label(l: ArgLocation) -> &'static str {
    match l {
        ArgLocation::Path => "path parameter",
        ArgLocation::Query => "query parameter",
        ArgLocation::Header => "header parameter",
        ArgLocation::Cookie => "cookie parameter",
        ArgLocation::Body => "request body",
        ArgLocation::BodyField => "body property",
    }
}

/// The `inputSchema`: a closed object of every argument (`schemas`, in the order of `args`),
/// with the shared definitions.
fn input_schema(args: &[Arg]) -> String {
    // Keys in `Map` order: (`$defs`: [`InputText`]), `additionalProperties`, `properties`,
    // `required`, `type`.
    let mut out = String::from(r#"{"additionalProperties":false,"properties":{"#);
    let mut by_name: Vec<&Arg> = args.iter().collect();
    by_name.sort_by(|a, b| a.name.cmp(&b.name));
    // Names are told apart (`argument_name`); were two the same, the last would stand, as in
    // a map.
    let last: Vec<&Arg> = by_name
        .iter()
        .enumerate()
        .filter(|(i, a)| by_name.get(i + 1).is_none_or(|n| n.name != a.name))
        .map(|(_, a)| *a)
        .collect();
    for (i, a) in last.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_text::push_str_json(&mut out, &a.name);
        out.push(':');
        out.push_str(&a.schema.text());
    }
    out.push('}');
    let mut required = args.iter().filter(|a| a.required).peekable();
    if required.peek().is_some() {
        out.push_str(r#","required":["#);
        for (i, a) in required.enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_text::push_str_json(&mut out, &a.name);
        }
        out.push(']');
    }
    out.push_str(r#","type":"object"}"#);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!(
            "{}{}",
            "{\"a\":".repeat(levels),
            "1".to_owned() + &"}".repeat(levels)
        )
    }

    /// An input schema made of pieces is the text it would be whole, and is cut where the
    /// whole text would be: at the root's depth, in an entry, or nowhere.
    #[test]
    fn input_pieces_are_the_whole_text_and_cut_as_it() {
        let rest = r##"{"additionalProperties":false,"properties":{"x":{"$ref":"#/$defs/A"}},"type":"object"}"##;
        let mut cut_some = 0;
        for (defs, max) in [
            (vec![], 8),
            (vec![r#""A":{"type":"string"}"#.to_owned()], 8),
            (
                vec![r#""A":{}"#.to_owned(), format!(r#""B":{}"#, nested(3))],
                8,
            ),
            // Deep entries: 2 levels down, the whole text nests 2 more than the entry.
            (vec![format!(r#""A":{}"#, nested(5))], 6),
            (vec![format!(r#""A":{}"#, nested(5))], 7),
            (vec![format!(r#""A":{}"#, nested(5))], 8),
            (vec![r#""A":{}"#.to_owned()], 2),
        ] {
            let text = InputText {
                defs,
                rest: rest.to_owned(),
            };
            let whole = text.whole();
            assert_eq!(text.len(), whole.len(), "{whole}");
            serde_json::from_str::<Value>(&whole).expect("valid JSON");
            let (schema, deep) = text.into_schema(max, &mut SchemaTexts::default());
            let (cut, whole_deep) = json_text::cut_deeper_than(&whole, max);
            assert_eq!(schema.text(), cut, "max {max}");
            assert_eq!(deep, whole_deep, "max {max}: {whole}");
            cut_some += usize::from(deep);
        }
        assert!(cut_some >= 2);
    }
}
