//! The tool search index of the generated crate (`src/search_index.rs`), built here at generation
//! time from the IR: one document per tool, ranked BM25F over the fields that say what an
//! operation does, with every (term, tool) score computed now so that the server only adds
//! integers. The analysis (words, stems, stop words, method words, synonyms) and the index format
//! are `runtime/src/search_text.rs`, compiled here as it is in every generated crate: queries and
//! documents are analysed by one piece of code.

#[path = "../../runtime/src/search_text.rs"]
#[allow(dead_code)]
pub(crate) mod search_text;

use std::collections::{BTreeMap, HashMap};

use crate::error::Result;
use crate::ir::{Api, ArgLocation, Tool};
use search_text::{IMPACT_DIGITS, Index, MAX_IMPACT, WIDTH, push_fixed, push_row, push_var};

/// A field of a tool's document: its weight (how much a match there says about the tool) and its
/// length normalisation `b` (long descriptions are diluted; names and paths hardly).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Field {
    /// The tool name and the operationId's words.
    Name,
    /// The title (the operation's summary).
    Title,
    Tags,
    /// Literal path segments.
    Path,
    /// The last literal path segment: the resource the operation acts on (`/repos/{o}/{r}/pulls`).
    Resource,
    /// `{param}` names of the path.
    PathParam,
    /// The description, markup reduced to text.
    Description,
    /// Parameter names (path, query, header, cookie) and flattened body fields.
    Param,
    /// Top-level property names of a body passed whole.
    BodyProperty,
    /// The meaning of the HTTP method ([`search_text::method_words`]).
    Method,
    /// Enum values of a body's top-level properties (passed whole or flattened): the states and
    /// kinds an operation can set (`state: [open, closed]` says an update can close). Enum
    /// values of path, query and header parameters are not indexed: on the development set they
    /// cost more than they gave (sort keys such as `created` read as actions).
    Values,
}

const FIELDS: [Field; 11] = [
    Field::Name,
    Field::Title,
    Field::Tags,
    Field::Path,
    Field::Resource,
    Field::PathParam,
    Field::Description,
    Field::Param,
    Field::BodyProperty,
    Field::Method,
    Field::Values,
];

impl Field {
    /// (weight, b). The name and summary state what the operation is; the path and tags what
    /// it acts on; the description explains (and mentions many things it does not do);
    /// parameter names only hint.
    fn params(self) -> (f64, f64) {
        match self {
            Field::Name => (3.0, 0.3),
            Field::Title => (3.0, 0.3),
            Field::Tags => (1.5, 0.0),
            Field::Path => (1.5, 0.3),
            Field::Resource => (1.5, 0.0),
            Field::PathParam => (0.5, 0.3),
            Field::Description => (1.0, 0.75),
            Field::Param => (0.5, 0.3),
            Field::BodyProperty => (0.3, 0.3),
            Field::Method => (1.5, 0.0),
            Field::Values => (VALUES_WEIGHT, 0.3),
        }
    }
}

/// Weight of [`Field::Values`]. Descriptions of parameters and properties are not indexed: on
/// the development set they cost recall@5 (0.69 → 0.64) and a quarter more index.
const VALUES_WEIGHT: f64 = 0.2;

/// BM25's term-frequency saturation.
const K1: f64 = 1.2;

/// The index built for an API: the data of `src/search_index.rs`, usable in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchIndex {
    pub docs: usize,
    pub terms: String,
    pub table: String,
    pub postings: String,
    pub actions: String,
    pub names: String,
}

impl SearchIndex {
    pub fn index(&self) -> Index<'_> {
        Index {
            docs: self.docs,
            terms: &self.terms,
            table: &self.table,
            postings: &self.postings,
            actions: &self.actions,
            names: &self.names,
        }
    }

    /// Positions of the best tools for `query`, as the generated server ranks them.
    pub fn search(&self, query: &str, limit: usize) -> Vec<usize> {
        self.index().search(query, limit, &|_| true)
    }
}

/// A tool's document: per field, the analysed terms.
fn document(tool: &Tool) -> BTreeMap<Field, Vec<String>> {
    let mut doc: BTreeMap<Field, Vec<String>> = BTreeMap::new();
    let mut put = |field: Field, text: &str| {
        doc.entry(field)
            .or_default()
            .extend(search_text::terms(text));
    };
    put(Field::Name, &tool.name);
    if let Some(id) = &tool.operation_id {
        put(Field::Name, id);
    }
    if let Some(title) = &tool.title {
        put(Field::Title, title);
    }
    for tag in &tool.tags {
        put(Field::Tags, tag);
    }
    for segment in tool.path.split('/') {
        if segment.starts_with('{') {
            put(Field::PathParam, segment);
        } else {
            put(Field::Path, segment);
        }
    }
    put(Field::Description, &plain_text(&tool.description));
    for arg in &tool.args {
        match arg.location {
            ArgLocation::Body => {
                let schema = arg.schema.value();
                if let Some(props) = schema.get("properties").and_then(|p| p.as_object()) {
                    for (name, schema) in props {
                        put(Field::BodyProperty, name);
                        for value in enum_values(schema) {
                            put(Field::Values, value);
                        }
                    }
                }
            }
            ArgLocation::BodyField => {
                put(Field::Param, &arg.name);
                let schema = arg.schema.value();
                for value in enum_values(&schema) {
                    put(Field::Values, value);
                }
            }
            _ => put(Field::Param, &arg.name),
        }
    }
    if let Some(last) = tool
        .path
        .split('/')
        .rev()
        .find(|s| !s.is_empty() && !s.starts_with('{'))
    {
        put(Field::Resource, last);
    }
    for word in search_text::method_words(&tool.method, is_item(&tool.path)) {
        put(Field::Method, word);
    }
    doc
}

/// The string enum values of `schema`, of its array items, and of its `anyOf`/`oneOf` branches
/// (a nullable enum is often `anyOf: [{enum}, {type: null}]`).
fn enum_values(schema: &serde_json::Value) -> Vec<&str> {
    let mut out = Vec::new();
    let mut stack = vec![(schema, 0)];
    while let Some((s, depth)) = stack.pop() {
        if let Some(values) = s.get("enum").and_then(|e| e.as_array()) {
            out.extend(values.iter().filter_map(|v| v.as_str()));
        }
        if depth < 2 {
            if let Some(items) = s.get("items") {
                stack.push((items, depth + 1));
            }
            for key in ["anyOf", "oneOf", "allOf"] {
                if let Some(branches) = s.get(key).and_then(|b| b.as_array()) {
                    stack.extend(branches.iter().map(|b| (b, depth + 1)));
                }
            }
        }
    }
    out
}

/// Description text without markup: HTML tags, Markdown link targets and bare URLs go (their
/// words would match everything: `https`, `docs`, `com`), entities are decoded, the visible text
/// stays.
pub(crate) fn plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            // A tag: `<` + letter, `/` or `!`, up to `>`.
            let tag = rest[1..]
                .chars()
                .next()
                .is_some_and(|n| n.is_ascii_alphabetic() || n == '/' || n == '!');
            if tag && let Some(end) = rest.find('>') {
                out.push(' ');
                rest = &rest[end + 1..];
                continue;
            }
        } else if c == ']' && rest[1..].starts_with('(') {
            if let Some(end) = rest.find(')') {
                out.push(' ');
                rest = &rest[end + 1..];
                continue;
            }
        } else if c == '&' {
            let entity = [
                ("&amp;", "&"),
                ("&lt;", "<"),
                ("&gt;", ">"),
                ("&quot;", "\""),
                ("&#39;", "'"),
                ("&nbsp;", " "),
            ]
            .into_iter()
            .find(|(e, _)| rest.starts_with(e));
            if let Some((e, text)) = entity {
                out.push_str(text);
                rest = &rest[e.len()..];
                continue;
            }
        } else if rest.starts_with("http://") || rest.starts_with("https://") {
            let end = rest
                .find(|c: char| c.is_whitespace() || matches!(c, ')' | '>' | '"' | '\''))
                .unwrap_or(rest.len());
            out.push(' ');
            rest = &rest[end..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Builds the index of `api`'s tools, in their order.
pub fn build(api: &Api) -> SearchIndex {
    let actions = api
        .tools
        .iter()
        .map(|t| search_text::action_letter(&t.method, is_item(&t.path)))
        .collect();
    let stage = crate::profile::Stage::start("render: search documents");
    let docs = documents(&api.tools);
    stage.end();
    let stage = crate::profile::Stage::start("render: search postings");
    let index = build_from(docs, actions);
    stage.end();
    index
}

/// Tools per block of [`documents`].
const DOCUMENT_BLOCK: usize = 64;

/// The documents of `tools`, in their order, made on two threads ([`crate::in_blocks`], blocks of
/// [`DOCUMENT_BLOCK`] tools). The rest of the rendering runs beside this
/// stage and ends first, so the second thread uses the core it leaves (GitHub's description:
/// 47 ms of documents that were the render's last 30 ms on one core). A document depends on
/// its tool alone: the same whichever thread made it.
fn documents(tools: &[Tool]) -> Vec<BTreeMap<Field, Vec<String>>> {
    crate::in_blocks("mcpgen-search-docs", tools, DOCUMENT_BLOCK, || (), document).1
}

/// Whether `path` names one thing (ends in a parameter) rather than a collection.
fn is_item(path: &str) -> bool {
    path.trim_end_matches('/').ends_with('}')
}

fn build_from(docs: Vec<BTreeMap<Field, Vec<String>>>, actions: String) -> SearchIndex {
    let n = docs.len();
    // Average length of each field over the tools.
    let mut avg = [0f64; FIELDS.len()];
    for doc in &docs {
        for (i, f) in FIELDS.iter().enumerate() {
            avg[i] += doc.get(f).map_or(0, Vec::len) as f64;
        }
    }
    for a in &mut avg {
        *a = (*a / n.max(1) as f64).max(1.0);
    }
    // term → [(tool, weighted, normalised term frequency)], tools in order. Hashed, then sorted
    // once: a tree keyed by the terms compared strings at every insert (a third of the index's
    // time on GitHub's description). Each term's weights are summed in the order of its
    // fields, as before, so the sums are the same to the last bit.
    let mut tf: HashMap<&str, Vec<(usize, f64)>> = HashMap::new();
    let mut per_doc: HashMap<&str, f64> = HashMap::new();
    for (d, doc) in docs.iter().enumerate() {
        per_doc.clear();
        for (i, f) in FIELDS.iter().enumerate() {
            let Some(terms) = doc.get(f) else { continue };
            let (weight, b) = f.params();
            let norm = 1.0 - b + b * terms.len() as f64 / avg[i];
            for t in terms {
                *per_doc.entry(t.as_str()).or_default() += weight / norm;
            }
        }
        for (&t, &w) in &per_doc {
            tf.entry(t).or_default().push((d, w));
        }
    }
    let mut tf: Vec<(&str, Vec<(usize, f64)>)> = tf.into_iter().collect();
    tf.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut index = SearchIndex {
        docs: n,
        terms: String::new(),
        table: String::new(),
        postings: String::new(),
        actions,
        names: String::new(),
    };
    for (term, list) in &tf {
        push_row(
            &mut index.table,
            index.terms.len(),
            index.postings.len(),
            list.len(),
        );
        index.terms.push_str(term);
        let mut prev = 0;
        for &(d, w) in list {
            push_var(&mut index.postings, (d - prev) as u32);
            prev = d;
            // BM25's saturation, as a share of its maximum `K1 + 1`; the IDF is the query's.
            let share = w / (K1 + w);
            let impact = (share * f64::from(MAX_IMPACT)).round() as u32;
            push_fixed(
                &mut index.postings,
                impact.clamp(1, MAX_IMPACT),
                IMPACT_DIGITS,
            );
        }
    }
    push_row(&mut index.table, index.terms.len(), index.postings.len(), 0);
    // Each tool's name and title terms, by their row in the vocabulary.
    let rows: HashMap<&str, usize> = tf.iter().enumerate().map(|(i, (t, _))| (*t, i)).collect();
    for doc in &docs {
        let mut name: Vec<usize> = [Field::Name, Field::Title]
            .iter()
            .flat_map(|f| doc.get(f).into_iter().flatten())
            .filter_map(|t| rows.get(t.as_str()).copied())
            .collect();
        name.sort_unstable();
        name.dedup();
        push_var(&mut index.names, name.len() as u32);
        for row in name {
            push_var(&mut index.names, row as u32);
        }
    }
    index
}

/// The largest offset the table can hold.
const MAX_OFFSET: usize = (1 << (6 * WIDTH)) - 1;

/// `src/search_index.rs`: the index as three string literals, broken into lines of 100
/// characters (`\` continuations, which the compiler drops) so that diffs stay readable.
pub fn render(api: &Api) -> Result<String> {
    let index = build(api);
    if index.terms.len() > MAX_OFFSET || index.postings.len() > MAX_OFFSET {
        return Err(crate::error::Error::Render {
            template: "src/search_index.rs".into(),
            message: format!(
                "the search index is too large ({} bytes of postings; at most {MAX_OFFSET})",
                index.postings.len()
            ),
        });
    }
    let src = format!(
        "//! The search index of the tools, built by mcpgen at generation time (see\n\
         //! `search_text.rs` for its format and ranking).\n\
         /// Tools indexed, in the order of `tools.json`.\n\
         pub const DOCS: usize = {};\n\
         /// The sorted vocabulary, concatenated.\n\
         pub const TERMS: &str = {};\n\
         /// Per term: its start in `TERMS` and in `POSTINGS`, and its document frequency.\n\
         pub const TABLE: &str = {};\n\
         /// Per term: the tools that contain it and its weighted frequency there.\n\
         pub const POSTINGS: &str = {};\n\
         /// Per tool: what its operation does, one letter.\n\
         pub const ACTIONS: &str = {};\n\
         /// Per tool: the terms of its name and title.\n\
         pub const NAMES: &str = {};\n",
        index.docs,
        literal(&index.terms),
        literal(&index.table),
        literal(&index.postings),
        literal(&index.actions),
        literal(&index.names),
    );
    // Laid out as `prettyplease` would (a test holds it to that): no parse and print.
    Ok(src)
}

/// A string literal of `text` in lines of about 100 characters. Characters other than ASCII
/// letters, digits, `-` and `_` are escaped, so nothing can end the literal.
fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 50 + 2);
    out.push('"');
    let mut line = 0;
    for c in text.chars() {
        if line >= 100 {
            out.push_str("\\\n");
            line = 0;
        }
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
            line += 1;
        } else {
            let escaped = format!("\\u{{{:x}}}", u32::from(c));
            line += escaped.len();
            out.push_str(&escaped);
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_is_reduced_to_text() {
        assert_eq!(
            plain_text(
                "See <a href=\"https://x.example/a\">the docs</a> &amp; [more](https://y.example/b) at https://z.example/c."
            ),
            "See  the docs  & [more  at  "
        );
        assert_eq!(plain_text("a < b, <3"), "a < b, <3");
        assert_eq!(plain_text("unterminated <b"), "unterminated <b");
    }

    /// The operationId of the first result for `query` over `fixtures/<case>`.
    fn first(case: &str, query: &str) -> Option<String> {
        let spec = format!(
            "{}/fixtures/{case}/openapi.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let api = crate::build_ir(&spec, &Default::default()).expect("the fixture lowers");
        let index = build(&api);
        let hits = index.search(query, 5);
        hits.first()
            .and_then(|&i| api.tools[i].operation_id.clone())
    }

    #[test]
    fn enum_values_of_a_schema_its_items_and_branches() {
        let schema = serde_json::json!({
            "anyOf": [
                {"type": "string", "enum": ["open", "closed", 3]},
                {"type": "array", "items": {"enum": ["draft"]}},
                {"type": "null"}
            ]
        });
        let mut values = enum_values(&schema);
        values.sort_unstable();
        assert_eq!(values, ["closed", "draft", "open"]);
        assert!(enum_values(&serde_json::json!({"type": "string"})).is_empty());
    }

    #[test]
    fn a_person_finds_the_operation_meant() {
        assert_eq!(
            first("petstore", "remove a pet").as_deref(),
            Some("deletePet")
        );
        assert_eq!(
            first("petstore", "get rid of that animal's pet record").as_deref(),
            Some("deletePet")
        );
        assert_eq!(
            first("petstore", "add a new pet to the store").as_deref(),
            Some("createPets")
        );
        assert_eq!(
            first("petstore", "list all the pets").as_deref(),
            Some("listPets")
        );
        assert_eq!(
            first("petstore", "look up one pet by its id").as_deref(),
            Some("showPetById")
        );
        assert_eq!(first("petstore", "the of and"), None);
    }

    #[test]
    fn the_index_is_deterministic_and_covers_every_tool() {
        let spec = format!(
            "{}/fixtures/petstore/openapi.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let api = crate::build_ir(&spec, &Default::default()).expect("the fixture lowers");
        assert_eq!(
            render(&api).expect("renders"),
            render(&api).expect("renders")
        );
        let index = build(&api);
        assert_eq!(index.docs, api.tools.len());
        for (i, tool) in api.tools.iter().enumerate() {
            assert!(index.search(&tool.name, 3).contains(&i), "{}", tool.name);
        }
    }

    /// The file is written already formatted: what `syn` + `prettyplease` make of it is itself,
    /// over every fixture (names, hostile text, non-ASCII) and a crate without tools.
    #[test]
    fn the_index_file_is_already_formatted() {
        let fixtures = format!("{}/fixtures", env!("CARGO_MANIFEST_DIR"));
        let mut checked = 0;
        for entry in std::fs::read_dir(&fixtures).expect("fixtures") {
            let dir = entry.expect("fixture").path();
            let spec = ["openapi.yaml", "openapi.json", "swagger.yaml"]
                .iter()
                .map(|f| dir.join(f))
                .find(|p| p.is_file());
            let Some(spec) = spec else { continue };
            let Ok(api) = crate::build_ir(&spec.to_string_lossy(), &Default::default()) else {
                continue;
            };
            let src = render(&api).expect("renders");
            assert_eq!(
                crate::render::format_rust("search_index", &src).expect("parses"),
                src,
                "{}",
                dir.display()
            );
            checked += 1;
            let mut none = api;
            none.tools.clear();
            let src = render(&none).expect("renders");
            assert_eq!(
                crate::render::format_rust("search_index", &src).expect("parses"),
                src
            );
        }
        assert!(checked >= 10, "{checked} fixtures");
    }

    #[test]
    fn literal_escapes_and_wraps() {
        let text = "ab\"\\é".repeat(60);
        let lit = literal(&text);
        let parsed: syn::LitStr = syn::parse_str(&lit).expect("a string literal");
        assert_eq!(parsed.value(), text);
        assert!(lit.lines().all(|l| l.len() <= 120));
    }
}
