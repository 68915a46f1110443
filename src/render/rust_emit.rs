//! The per-tool Rust of `src/tools.rs`, emitted already formatted: the text `prettyplease`
//! prints for the same code, without parsing it with `syn` and printing it again (the largest
//! rendering cost of a big API: 3 MB of Rust for GitHub's description).
//!
//! The layout follows prettyplease's rules for the few shapes emitted here: a group (call
//! arguments, an array, a method chain) stays on one line when the line fits in 89 columns, up
//! to the next place the line could break (a trailing comma of the last element does not
//! count), else each element goes on its own line, four columns in; a struct literal stays on
//! one line only when it is also at most 34 columns wide. Where a line would need a rule this
//! module does not model (a type, a path or an argument too long for its line), the emitter
//! gives `None` and the caller formats that chunk with `syn` + `prettyplease` as before, so the
//! output is the same either way. `tests/formatting.rs` checks that every fixture's emitted
//! code is a fixpoint of prettyplease.

use crate::render::view::{BodyView, EnumView, FieldView, StructView, ToolView, UnionView, View};

/// prettyplease's line width.
const MARGIN: usize = 89;
/// prettyplease's widest struct literal kept on one line.
const STRUCT_LITERAL_MAX: usize = 34;

/// Lines being emitted; `None` once a line needs a layout this module does not model.
struct Lines {
    out: String,
}

impl Lines {
    fn new() -> Self {
        Self { out: String::new() }
    }

    /// A line at `indent` that nothing can break.
    fn push(&mut self, indent: usize, text: &str) {
        for _ in 0..indent {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// A line at `indent` whose groups stay flat only if it fits (`counted`: the columns past
    /// the text up to the next break, such as a comma); `None` when it does not.
    fn flat(&mut self, indent: usize, text: &str, counted: usize) -> Option<()> {
        fits(indent, text.len() + counted).then(|| self.push(indent, text))
    }

    /// Doc comment lines for `text`, as `doc_attrs` writes them and prettyplease prints them.
    fn doc(&mut self, indent: usize, text: &str) {
        for line in text.trim_end().lines() {
            let line = line.trim_end();
            if line.is_empty() {
                self.push(indent, "///");
            } else {
                self.push(indent, &format!("/// {line}"));
            }
        }
    }
}

fn fits(indent: usize, len: usize) -> bool {
    indent + len <= MARGIN
}

/// A call's arguments: on the line (`.name(a, b)`) when it fits, else one per line; `suffix`
/// (a comma or nothing) follows it and counts for the fit.
fn call(lines: &mut Lines, indent: usize, name: &str, args: &[String], suffix: &str) {
    let flat = format!("{name}({})", args.join(", "));
    if fits(indent, flat.len() + suffix.len()) {
        lines.push(indent, &format!("{flat}{suffix}"));
        return;
    }
    lines.push(indent, &format!("{name}("));
    for arg in args {
        // Arguments here are literals, paths and `&self.field`: nothing in them can break.
        lines.push(indent + 4, &format!("{arg},"));
    }
    lines.push(indent, &format!("){suffix}"));
}

/// `prefix` + type `ty` + `suffix` at `indent` (`counted`: how much of `suffix` counts for the
/// fit). A type too long for the line breaks inside its outermost angle brackets, the argument
/// on a line of its own (several: each on its own line, laid out here only when each fits).
fn field_type(
    l: &mut Lines,
    indent: usize,
    prefix: &str,
    ty: &str,
    suffix: &str,
    counted: usize,
) -> Option<()> {
    // A path without generic arguments cannot break: it runs past the margin if it must.
    if fits(indent, prefix.len() + ty.len() + counted) || !ty.contains('<') {
        l.push(indent, &format!("{prefix}{ty}{suffix}"));
        return Some(());
    }
    let (head, inner) = ty.strip_suffix('>')?.split_once('<')?;
    let mut args = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                args.push(inner[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return None;
    }
    args.push(inner[start..].trim());
    l.push(indent, &format!("{prefix}{head}<"));
    if let [only] = args[..] {
        // The argument is the last of its list: its comma does not count.
        field_type(l, indent + 4, "", only, ",", 0)?;
    } else {
        let last = args.len() - 1;
        for (i, arg) in args.iter().enumerate() {
            // Several arguments: each on its line, laid out here only when it fits there.
            l.flat(indent + 4, &format!("{arg},"), usize::from(i != last))?;
        }
    }
    l.push(indent, &format!(">{suffix}"));
    Some(())
}

/// One tool's arguments struct and its `ToolArgs` impl, as `templates/tool.rs.tera` renders
/// them and prettyplease prints them; `None` when a line needs a layout not modelled here.
pub fn tool(t: &ToolView) -> Option<String> {
    let mut l = Lines::new();
    l.doc(0, &t.struct_doc);
    if t.fields.is_empty() {
        l.push(0, &format!("pub struct {} {{}}", t.args_struct));
    } else {
        // Nothing in a struct's head can break.
        l.push(0, &format!("pub struct {} {{", t.args_struct));
        for f in &t.fields {
            if let Some(doc) = &f.doc {
                l.doc(4, doc);
            }
            field_type(&mut l, 4, &format!("pub {}: ", f.ident), &f.ty, ",", 1)?;
        }
        l.push(0, "}");
    }
    let head = format!("impl crate::runtime::ToolArgs for {} {{", t.args_struct);
    if fits(0, head.len()) {
        l.push(0, &head);
    } else {
        // A longer head breaks before `for`.
        l.push(0, "impl crate::runtime::ToolArgs");
        l.push(0, &format!("for {} {{", t.args_struct));
    }
    let names: Vec<&str> = t.fields.iter().map(|f| f.wire_lit.as_str()).collect();
    let known = format!(
        "const KNOWN: &'static [&'static str] = &[{}];",
        names.join(", ")
    );
    if fits(4, known.len()) {
        l.push(4, &known);
    } else {
        l.push(4, "const KNOWN: &'static [&'static str] = &[");
        for name in &names {
            l.push(8, &format!("{name},"));
        }
        l.push(4, "];");
    }
    parse(&mut l, t)?;
    l.push(4, "fn request(&self) -> crate::runtime::Request {");
    request(&mut l, t)?;
    l.push(4, "}");
    l.push(0, "}");
    Some(l.out)
}

/// `ToolArgs::parse`: one read per field, in a struct literal.
fn parse(l: &mut Lines, t: &ToolView) -> Option<()> {
    let param = if t.fields.is_empty() { "_" } else { "a" };
    l.push(
        4,
        &format!("fn parse({param}: &mut crate::runtime::Args) -> crate::runtime::Parsed<Self> {{"),
    );
    let reads: Vec<String> = t
        .fields
        .iter()
        .map(|f| {
            let read = if !f.optional {
                "required"
            } else if f.keeps_null {
                "present"
            } else {
                "optional"
            };
            format!("{}: a.{read}({})?", f.ident, f.wire_lit)
        })
        .collect();
    const OK: &str = "::std::result::Result::Ok(";
    if reads.is_empty() {
        l.push(8, &format!("{OK}Self {{}})"));
    } else {
        // `Self { ` .. ` }` without the closing brace, as prettyplease measures it.
        let joined = reads.join(", ");
        let width = "Self { ".len() + joined.len() + 1;
        let flat = format!("{OK}Self {{ {joined} }})");
        if width <= STRUCT_LITERAL_MAX && fits(8, flat.len()) {
            l.push(8, &flat);
        } else {
            l.push(8, &format!("{OK}Self {{"));
            let last = reads.len() - 1;
            for (i, read) in reads.iter().enumerate() {
                // The last field's comma is printed only because the literal breaks.
                l.flat(12, &format!("{read},"), usize::from(i != last))?;
            }
            l.push(8, "})");
        }
    }
    l.push(4, "}");
    Some(())
}

/// A call in a method chain: `.name(args)`, its arguments Rust tokens.
struct Call {
    name: String,
    args: Vec<String>,
    /// The first argument is itself a chain (`Object::new().field(..)`), the rest `args`.
    object: Option<(String, Vec<Call>)>,
}

impl Call {
    fn new(name: &str, args: Vec<String>) -> Self {
        Self {
            name: format!(".{name}"),
            args,
            object: None,
        }
    }

    fn flat(&self) -> String {
        let mut args = Vec::new();
        if let Some((receiver, calls)) = &self.object {
            args.push(chain_flat(receiver, calls));
        }
        args.extend(self.args.iter().cloned());
        format!("{}({})", self.name, args.join(", "))
    }
}

fn chain_flat(receiver: &str, calls: &[Call]) -> String {
    let mut out = receiver.to_owned();
    for c in calls {
        out.push_str(&c.flat());
    }
    out
}

/// `ToolArgs::request`'s body: the method chain that builds the request.
fn request(l: &mut Lines, t: &ToolView) -> Option<()> {
    let receiver = format!(
        "crate::runtime::Request::new(::reqwest::Method::{}, {})",
        t.method, t.path_lit
    );
    let mut calls = Vec::new();
    if !t.security_lit.is_empty() {
        calls.push(Call::new("security", vec![t.security_lit.clone()]));
    }
    for p in &t.params {
        calls.push(Call::new(
            p.func,
            vec![
                p.wire_lit.clone(),
                format!("&self.{}", p.field),
                format!("crate::runtime::Style::{}", p.style),
                p.explode.to_string(),
            ],
        ));
    }
    if let Some(b) = &t.body {
        calls.push(body(b));
    }
    let flat = chain_flat(&receiver, &calls);
    if fits(8, flat.len()) {
        l.push(8, &flat);
        return Some(());
    }
    if !fits(8, receiver.len()) {
        // `Request::new`'s arguments one per line: four columns in from the call, or eight
        // when the call starts a broken chain (whose indentation they add to).
        let args = [
            format!("::reqwest::Method::{}", t.method),
            t.path_lit.clone(),
        ];
        let close = if calls.is_empty() { 8 } else { 12 };
        l.push(8, "crate::runtime::Request::new(");
        for arg in &args {
            l.push(close + 4, &format!("{arg},"));
        }
        l.push(close, ")");
    } else {
        l.push(8, &receiver);
    }
    for c in &calls {
        match &c.object {
            None => {
                if c.name == ".security" && !fits(12, c.flat().len()) {
                    // Its argument is nested arrays, which break by rules not modelled here.
                    return None;
                }
                call(l, 12, &c.name, &c.args, "");
            }
            Some((object, fields)) => {
                if fits(12, c.flat().len()) {
                    l.push(12, &c.flat());
                    continue;
                }
                l.push(12, &format!("{}(", c.name));
                // The object chain is the first argument: its comma counts.
                let chain = chain_flat(object, fields);
                if fits(16, chain.len() + 1) {
                    l.push(16, &format!("{chain},"));
                } else {
                    l.flat(16, object, 0)?;
                    let last = fields.len().saturating_sub(1);
                    for (i, f) in fields.iter().enumerate() {
                        let comma = if i == last { "," } else { "" };
                        call(l, 20, &f.name, &f.args, comma);
                    }
                    if fields.is_empty() {
                        return None;
                    }
                }
                for arg in &c.args {
                    l.push(16, &format!("{arg},"));
                }
                l.push(12, ")");
            }
        }
    }
    Some(())
}

/// The body call: `.body(&self.x, kind, media)` or `.body_object(Object::new()..., ...)`.
fn body(b: &BodyView) -> Call {
    let kind = format!("crate::runtime::BodyKind::{}", b.kind);
    if !b.flattened {
        return Call::new(
            "body",
            vec![
                format!("&self.{}", b.whole_field),
                kind,
                b.media_lit.clone(),
            ],
        );
    }
    let fields = b
        .fields
        .iter()
        .map(|f| {
            let func = if f.file {
                "file"
            } else if f.keeps_null {
                "field_opt"
            } else {
                "field"
            };
            Call::new(func, vec![f.wire_lit.clone(), format!("&self.{}", f.field)])
        })
        .collect();
    Call {
        name: ".body_object".to_owned(),
        args: vec![kind, b.media_lit.clone(), b.required.to_string()],
        object: Some(("crate::runtime::Object::new()".to_owned(), fields)),
    }
}

/// The end of `src/tools.rs` (`templates/tools_call.rs.tera`): the dispatch, the table of
/// tools, the default tool mode and `TOOL_INFO`; `None` when a line needs a layout not
/// modelled here.
pub fn tools_call(view: &View) -> Option<String> {
    let mut l = Lines::new();
    l.out.push_str(DISPATCH);
    if view.tools.is_empty() {
        l.push(
            0,
            "static TOOLS: &[(crate::runtime::Build, crate::runtime::Output)] = &[];",
        );
    } else {
        l.push(
            0,
            "static TOOLS: &[(crate::runtime::Build, crate::runtime::Output)] = &[",
        );
        let last = view.tools.len() - 1;
        for (i, t) in view.tools.iter().enumerate() {
            let build = format!("crate::runtime::build::<{}>", t.args_struct);
            let output = format!("crate::runtime::Output::{}", t.output);
            let tuple = format!("({build}, {output})");
            // The last element's comma is printed only because the array breaks.
            let comma = usize::from(i != last);
            if fits(4, tuple.len() + comma) {
                l.push(4, &format!("{tuple},"));
            } else {
                l.push(4, "(");
                // A name too long breaks inside the turbofish's angle brackets.
                field_type(&mut l, 8, "", &build, ",", 1)?;
                l.push(8, &format!("{output},"));
                l.push(4, "),");
            }
        }
        l.push(0, "];");
    }
    l.doc(
        0,
        "The tool mode `tools/list` starts in when neither `--tool-mode` nor `MCP_TOOL_MODE` is given.",
    );
    // Nothing in it can break.
    l.push(
        0,
        &format!(
            "pub const DEFAULT_TOOL_MODE: crate::tool_info::ToolMode = crate::tool_info::ToolMode::{};",
            view.default_tool_mode
        ),
    );
    l.doc(
        0,
        "What discover mode and `--toolsets` know of each tool, in `tools.json` order.",
    );
    if view.tool_info_fields.is_empty() {
        l.push(
            0,
            "pub static TOOL_INFO: &[crate::tool_info::ToolInfo] = &[];",
        );
    } else {
        l.push(
            0,
            "pub static TOOL_INFO: &[crate::tool_info::ToolInfo] = &[",
        );
        for fields in &view.tool_info_fields {
            l.push(4, "crate::tool_info::ToolInfo {");
            for (name, value) in fields {
                // Literals: nothing in them can break.
                l.push(8, &format!("{name}: {value},"));
            }
            l.push(4, "},");
        }
        l.push(0, "];");
    }
    Some(l.out)
}

/// Columns around the margin where an attribute's layout is left to prettyplease: its rules for
/// attribute arguments are not modelled to the column.
const ATTR_UNSURE: std::ops::RangeInclusive<usize> = MARGIN - 3..=MARGIN + 3;

/// `#[name(item, item)]` at `indent`: on one line when it clearly fits, else one item per line
/// (no trailing comma, as prettyplease prints attribute arguments); `None` near the margin.
fn attr(l: &mut Lines, indent: usize, name: &str, items: &[String]) -> Option<()> {
    let flat = format!("#[{name}({})]", items.join(", "));
    let end = indent + flat.len();
    if ATTR_UNSURE.contains(&end) {
        return None;
    }
    if end < *ATTR_UNSURE.start() {
        l.push(indent, &flat);
        return Some(());
    }
    l.push(indent, &format!("#[{name}("));
    let last = items.len().saturating_sub(1);
    for (i, item) in items.iter().enumerate() {
        let comma = if i == last { "" } else { "," };
        let line = format!("{item}{comma}");
        if indent + 4 + line.len() >= *ATTR_UNSURE.start() {
            return None;
        }
        l.push(indent + 4, &line);
    }
    l.push(indent, ")]");
    Some(())
}

const DERIVE: &str = "#[derive(::serde::Serialize, ::serde::Deserialize)]";

/// One struct of `types.rs`, as `templates/type_struct.rs.tera` renders it and prettyplease
/// prints it; `None` when a line needs a layout not modelled here.
pub fn type_struct(s: &StructView) -> Option<String> {
    let mut l = Lines::new();
    l.doc(0, &s.doc);
    l.push(0, DERIVE);
    if s.fields.is_empty() && s.extra.is_none() {
        l.push(0, &format!("pub struct {} {{}}", s.name));
        return Some(l.out);
    }
    l.push(0, &format!("pub struct {} {{", s.name));
    for f in &s.fields {
        let mut items = vec![format!("rename = {}", f.wire_lit)];
        if f.optional {
            items.push("default".to_owned());
            if f.keeps_null {
                items.push("deserialize_with = \"crate::runtime::present\"".to_owned());
            }
            items.push("skip_serializing_if = \"::std::option::Option::is_none\"".to_owned());
        }
        struct_field(&mut l, f, &items)?;
    }
    if let Some(extra) = &s.extra {
        struct_field(&mut l, extra, &["flatten".to_owned()])?;
    }
    l.push(0, "}");
    Some(l.out)
}

fn struct_field(l: &mut Lines, f: &FieldView, serde: &[String]) -> Option<()> {
    if let Some(doc) = &f.doc {
        l.doc(4, doc);
    }
    attr(l, 4, "serde", serde)?;
    field_type(l, 4, &format!("pub {}: ", f.ident), &f.ty, ",", 1)
}

/// One string enum of `types.rs` (`templates/type_enum.rs.tera`).
pub fn type_enum(e: &EnumView) -> Option<String> {
    let mut l = Lines::new();
    l.doc(0, &e.doc);
    l.push(0, DERIVE);
    if e.variants.is_empty() {
        l.push(0, &format!("pub enum {} {{}}", e.name));
        return Some(l.out);
    }
    l.push(0, &format!("pub enum {} {{", e.name));
    for v in &e.variants {
        attr(&mut l, 4, "serde", &[format!("rename = {}", v.wire_lit)])?;
        l.flat(4, &format!("{},", v.ident), 3)?;
    }
    l.push(0, "}");
    Some(l.out)
}

/// One tagged union of `types.rs` (`templates/type_union.rs.tera`).
pub fn type_union(u: &UnionView) -> Option<String> {
    let mut l = Lines::new();
    l.doc(0, &u.doc);
    l.push(0, DERIVE);
    attr(&mut l, 0, "serde", &[format!("tag = {}", u.tag_lit)])?;
    if u.variants.is_empty() {
        l.push(0, &format!("pub enum {} {{}}", u.name));
        return Some(l.out);
    }
    l.push(0, &format!("pub enum {} {{", u.name));
    for v in &u.variants {
        attr(&mut l, 4, "serde", &[format!("rename = {}", v.wire_lit)])?;
        // A variant too long for its line breaks inside its parentheses: left to prettyplease.
        l.flat(4, &format!("{}({}),", v.ident, v.ty), 3)?;
    }
    l.push(0, "}");
    Some(l.out)
}

/// The fixed start of `templates/tools_call.rs.tera` as prettyplease prints it.
const DISPATCH: &str = "\
/// The upstream request of the tool at `index` in `tools.json`, built from its arguments, and
/// how its response is returned; a tool error when the arguments are invalid; `None` when there
/// is no such tool.
#[allow(clippy::type_complexity)]
pub fn request(
    index: usize,
    args: ::std::option::Option<
        ::serde_json::Map<::std::string::String, ::serde_json::Value>,
    >,
) -> ::std::option::Option<
    ::std::result::Result<
        (crate::runtime::Request, crate::runtime::Output),
        ::rmcp::model::CallToolResult,
    >,
> {
    let (build, output) = TOOLS.get(index)?;
    ::std::option::Option::Some(build(args).map(|request| (request, *output)))
}
/// Each tool's arguments struct (its `crate::runtime::build`) and how its response is returned,
/// in `tools.json` order: a table, so the dispatch is one function whatever the number of tools.
";

#[cfg(test)]
mod tests {
    use crate::render::view::view;
    use crate::render::{TEMPLATES, format_rust, item};
    use serde_json::{Value, json};

    /// Operations whose names, paths, parameters and body properties sweep lengths across the
    /// margin, in every argument location and body kind, so each rule meets its boundary.
    fn sweep_spec() -> String {
        let mut paths = serde_json::Map::new();
        for i in 1..=72usize {
            let word = |c: char, n: usize| std::iter::repeat_n(c, n).collect::<String>();
            let segment = word('s', i);
            let path = format!("/r{i}/{segment}/{{id}}");
            let mut params = vec![
                json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}),
                json!({"name": format!("q{}", word('q', i % 41)), "in": "query",
                       "schema": {"type": "array", "items": {"type": "integer"}}}),
                json!({"name": format!("X-H{}", word('h', (i * 7) % 23)), "in": "header",
                       "schema": {"type": "string", "enum": ["a", "b"]}}),
            ];
            if i % 3 == 0 {
                params.push(
                    json!({"name": format!("c{}", word('c', i % 29)), "in": "cookie",
                                   "schema": {"type": "integer"}}),
                );
            }
            if i % 5 == 0 {
                params.push(
                    json!({"name": "filter", "in": "query", "style": "deepObject",
                                   "explode": true, "schema": {"type": "object",
                                   "properties": {"a": {"type": "string"}}}}),
                );
            }
            let mut props = serde_json::Map::new();
            for k in 0..(i % 6) {
                props.insert(
                    format!("p{k}{}", word('p', (i * 3 + k * 11) % 45)),
                    match k % 3 {
                        0 => json!({"type": "string", "nullable": true}),
                        1 => json!({"type": "array", "items": {"type": "string"}}),
                        _ => json!({"type": "integer"}),
                    },
                );
            }
            let media = match i % 4 {
                0 => "application/x-www-form-urlencoded",
                1 => "multipart/form-data",
                _ => "application/json",
            };
            let body = if i % 7 == 0 {
                json!({"required": true, "content": {"application/json": {"schema": {
                    "type": "array", "items": {"type": "string"}}}}})
            } else {
                json!({"required": i % 2 == 0, "content": {media: {"schema": {
                    "type": "object", "required": props.keys().take(1).collect::<Vec<_>>(),
                    "properties": props}}}})
            };
            let mut op = json!({
                // Every ninth name long enough to break the `impl` head and the turbofish.
                "operationId": if i % 9 == 0 {
                    format!("op{i}{}", word('l', 36 + i / 3))
                } else {
                    format!("op{i}{}", word('o', (i * 5) % 19))
                },
                "summary": format!("Operation {i}"),
                "description": format!("Line one of {i}.\n\n  indented {}   \nlast", word('d', i)),
                "parameters": params,
                "responses": {"200": {"description": "ok", "content": {"application/json":
                    {"schema": {"type": "object"}}}}},
            });
            if i % 2 == 1 {
                op["security"] = json!([{"k": []}, {"b": [], "k": []}]);
            }
            let mut item = serde_json::Map::new();
            item.insert("post".to_owned(), op.clone());
            op["operationId"] = Value::String(format!("get{i}{}", word('g', (i * 13) % 17)));
            if let Some(o) = op.as_object_mut() {
                o.remove("requestBody");
            }
            item.insert("get".to_owned(), op);
            item["post"]["requestBody"] = body;
            paths.insert(path, Value::Object(item));
        }
        json!({
            "openapi": "3.0.3",
            "info": {"title": "Sweep", "version": "1"},
            "servers": [{"url": "https://sweep.example"}],
            "components": {"securitySchemes": {
                "k": {"type": "apiKey", "in": "header", "name": "K"},
                "b": {"type": "http", "scheme": "bearer"}}},
            "paths": paths,
        })
        .to_string()
    }

    #[test]
    fn emitted_tools_are_what_the_template_and_prettyplease_give() {
        let (api, files) =
            crate::generate_text("sweep.json", &sweep_spec(), &crate::Options::default())
                .expect("the sweep spec generates");
        let view = view(&api);
        let mut tera = tera::Tera::new();
        tera.autoescape_on(Vec::<&str>::new());
        tera.add_raw_templates(TEMPLATES.iter().copied()).unwrap();
        let mut emitted = 0;
        for t in &view.tools {
            let Some(fast) = super::tool(t) else {
                continue;
            };
            emitted += 1;
            let rendered = tera.render("tool", &item("t", t)).unwrap();
            let formatted = format_rust("tool", &rendered).unwrap();
            assert_eq!(fast, formatted, "{}", t.args_struct);
        }
        // Names here are far longer than usual (GitHub's tools all take the emitter's path but
        // one); the rest are the long-line cases left to prettyplease.
        assert!(
            emitted * 2 >= view.tools.len(),
            "{emitted} of {}",
            view.tools.len()
        );
        for (name, fast, template, context) in view
            .structs
            .iter()
            .map(|s| (&s.name, super::type_struct(s), "type_struct", item("s", s)))
            .chain(
                view.enums
                    .iter()
                    .map(|e| (&e.name, super::type_enum(e), "type_enum", item("e", e))),
            )
            .chain(
                view.unions
                    .iter()
                    .map(|u| (&u.name, super::type_union(u), "type_union", item("u", u))),
            )
        {
            let formatted = format_rust(template, &tera.render(template, &context).unwrap());
            if let Some(fast) = fast {
                assert_eq!(fast, formatted.unwrap(), "{name}");
            }
        }
        let whole = tera
            .render("tools_call", &tera::Context::from_serialize(&view).unwrap())
            .unwrap();
        assert_eq!(
            super::tools_call(&view),
            Some(format_rust("tools_call", &whole).unwrap())
        );
        let (_header, tools) = files["src/tools.rs"].split_once("\n\n").unwrap();
        assert_eq!(format_rust("tools.rs", tools).unwrap(), tools);
    }
}
