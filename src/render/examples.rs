//! Example calls for the generated crate's own tests: for every tool, arguments derived from its
//! schemas (the spec's `example`/`examples`/`default` where they fit, else a value built from
//! the type and format) and the upstream request those arguments must produce — method, path,
//! query and JSON body — worked out here from the OpenAPI serialisation rules, independently of
//! the generated runtime that the test then checks against a recording HTTP server.
//!
//! Paths and query values are compared percent-decoded, and query pairs as a sorted list (their
//! order carries no meaning), so the expectation does not depend on which characters an encoder
//! chooses to escape. Where the rules leave the wire form open (objects nested inside query or
//! path values), the query or path is not predicted and only the rest is checked.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use crate::ir::{Arg, ArgLocation, BodyKind, KeyLocation, SchemeKind, SecurityScheme, Tool};
use crate::naming::is_http_token;
use crate::pointer::Pointer;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// The value the crate's tests give every credential variable they set.
pub const TEST_SECRET: &str = "mcpgen-test";

/// The upstream credentials the crate's tests can provide: API keys, bearer tokens and basic
/// credentials are plain variables, set to [`TEST_SECRET`]; OAuth client credentials would need
/// a token endpoint, so their variables stay unset and the tools that need them are not called.
#[derive(Debug, Default)]
pub struct TestCredentials {
    /// Variables the test sets.
    pub env: BTreeSet<String>,
    /// Scheme name → the query parameter an API key in the query travels in.
    query_keys: BTreeMap<String, String>,
}

impl TestCredentials {
    pub fn new(schemes: &[SecurityScheme], tools: &[Tool]) -> Self {
        let mut out = Self::default();
        let plain: BTreeSet<&str> = schemes
            .iter()
            .filter(|s| {
                matches!(
                    s.kind,
                    SchemeKind::ApiKey { .. } | SchemeKind::HttpBearer | SchemeKind::HttpBasic
                )
            })
            .map(|s| s.name.as_str())
            .collect();
        for s in schemes {
            if let SchemeKind::ApiKey {
                location: KeyLocation::Query,
                param,
            } = &s.kind
            {
                out.query_keys.insert(s.name.clone(), param.clone());
            }
        }
        for tool in tools {
            for alt in &tool.credentials {
                for u in alt {
                    if u.supported && plain.contains(u.scheme.as_str()) {
                        out.env.extend(u.env.iter().cloned());
                    }
                }
            }
        }
        out
    }

    /// The query pairs the credentials of `tool` add, as the server chooses them with only the
    /// test's variables set (the rules of the generated `credentials.rs`); `None` when the
    /// server would refuse the call for missing credentials.
    fn query(&self, tool: &Tool) -> Option<Vec<(String, String)>> {
        #[derive(PartialEq)]
        enum Status {
            Ready,
            Missing,
            Unsupported,
        }
        let rated: Vec<Vec<(Status, &str)>> = tool
            .credentials
            .iter()
            .map(|alt| {
                alt.iter()
                    .map(|u| {
                        let status = if !u.supported {
                            Status::Unsupported
                        } else if !u.env.is_empty() && u.env.iter().all(|v| self.env.contains(v)) {
                            Status::Ready
                        } else {
                            Status::Missing
                        };
                        (status, u.scheme.as_str())
                    })
                    .collect()
            })
            .collect();
        let pairs = |alt: &[(Status, &str)]| -> Vec<(String, String)> {
            alt.iter()
                .filter(|(s, _)| *s == Status::Ready)
                .filter_map(|(_, name)| self.query_keys.get(*name))
                .map(|param| (param.clone(), TEST_SECRET.to_owned()))
                .collect()
        };
        if rated.is_empty() {
            return Some(Vec::new());
        }
        if let Some(alt) = rated
            .iter()
            .filter(|a| !a.is_empty())
            .find(|a| a.iter().all(|(s, _)| *s == Status::Ready))
        {
            return Some(pairs(alt));
        }
        if rated.iter().any(Vec::is_empty) {
            return Some(Vec::new());
        }
        let servable = |a: &Vec<(Status, &str)>| a.iter().all(|(s, _)| *s != Status::Unsupported);
        if !rated.iter().any(servable) {
            return rated
                .iter()
                .find(|a| a.iter().all(|(s, _)| *s != Status::Missing))
                .map(|a| pairs(a));
        }
        None
    }
}

const MAX_DEPTH: usize = 12;
/// A small file, base64: `hello`.
const FILE_BASE64: &str = "aGVsbG8=";

/// One tool's example call. Fields in the order a `serde_json::Map` sorts keys, so it
/// serialises as its `serde_json::to_value` does (`tests_json` writes it directly).
#[derive(Debug, Clone, Serialize)]
pub struct Example {
    pub arguments: Map<String, Value>,
    /// Why some part is not checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What the upstream must receive; `None` when no valid arguments could be built.
    pub request: Option<Expected>,
    pub tool: String,
}

/// The expected upstream request (fields in sorted order, as [`Example`]'s).
#[derive(Debug, Clone, Serialize)]
pub struct Expected {
    /// The JSON body, for JSON bodies; `None`: not checked.
    pub json_body: Option<Value>,
    pub method: String,
    /// Percent-decoded; `None` when not predicted.
    pub path: Option<String>,
    /// Percent-decoded pairs, sorted; `None` when not predicted.
    pub query: Option<Vec<(String, String)>>,
}

/// The example call of `tool`, with the test's credentials: the general path, which
/// [`Examples`] holds to the same result with its caches.
#[cfg(test)]
pub fn example(tool: &Tool, credentials: &TestCredentials) -> Example {
    let defs = Defs::of_schema(&tool.input_schema);
    build(tool, credentials, |a| arg_value(a, &defs))
}

/// Whether the definitions read from `schema`'s `$defs` entries are those its whole text has.
#[cfg(test)]
pub(crate) fn entries_give_the_texts_defs(schema: &crate::ir::Schema) -> bool {
    let text = schema.text();
    let whole = Defs::of(&text);
    let pieces = Defs::of_schema(schema);
    whole.raw.len() == pieces.raw.len()
        && whole
            .raw
            .iter()
            .zip(&pieces.raw)
            .all(|((a, x), (b, y))| a == b && x.get() == y.get())
}

/// The example value of the argument `a` of a tool whose `$defs` are `defs`.
fn arg_value(a: &Arg, defs: &Defs) -> Option<Value> {
    let schema = a.schema.value();
    if a.is_file {
        file_value(&schema)
    } else {
        value(&schema, defs, 0)
    }
}

/// The example calls of many tools, the same as [`example`] of each: an argument's value
/// depends only on its schema's text and, when that text has a `$ref`, on the `$defs` of the
/// tool's input schema, so it is worked out once per distinct pair (texts told apart by their
/// shared allocation: [`crate::ir::Schema`] is one `Arc` for equal texts of a thread). For
/// 10,000 Graph-shaped tools, whose input schemas are 92 MB of text (5,556 distinct), this
/// reads each `$defs` once, and each definition of the same text once.
pub struct Examples<'s> {
    credentials: &'s TestCredentials,
    /// Input schema ([`crate::ir::Schema::identity`]) → its `$defs`.
    defs: RefCell<HashMap<(usize, usize), Rc<Defs<'s>>>>,
    /// Definitions parsed, by their text, shared by every [`Defs`] made here.
    parsed: Parsed<'s>,
    /// (argument schema, input schema or none, file) → the argument's value (schemas by
    /// [`crate::ir::Schema::identity`]).
    args: RefCell<HashMap<ArgKey, Option<Value>>>,
}

/// Definitions parsed, by their text, shared between [`Defs`].
type Parsed<'s> = Rc<RefCell<HashMap<&'s str, Rc<Value>>>>;

/// See [`Examples::args`].
type ArgKey = ((usize, usize), Option<(usize, usize)>, bool);

impl<'s> Examples<'s> {
    pub fn new(credentials: &'s TestCredentials) -> Self {
        Examples {
            credentials,
            defs: RefCell::new(HashMap::new()),
            parsed: Rc::new(RefCell::new(HashMap::new())),
            args: RefCell::new(HashMap::new()),
        }
    }

    /// The example call of `tool`: what [`example`] gives.
    pub fn example(&self, tool: &'s Tool) -> Example {
        let input = &tool.input_schema;
        build(tool, self.credentials, |a| {
            // Without a `$ref` (a key, or a string that spells one: then only cached apart)
            // the value does not depend on the definitions.
            let refers = a.schema.text().contains("\"$ref\"");
            let key = (
                a.schema.identity(),
                refers.then(|| input.identity()),
                a.is_file,
            );
            if let Some(v) = self.args.borrow().get(&key) {
                return v.clone();
            }
            let v = if refers {
                arg_value(a, &self.defs_of(input))
            } else {
                arg_value(a, &Defs::none())
            };
            self.args.borrow_mut().insert(key, v.clone());
            v
        })
    }

    /// The `$defs` of the input schema `schema`, read once per schema.
    fn defs_of(&self, schema: &'s crate::ir::Schema) -> Rc<Defs<'s>> {
        if let Some(d) = self.defs.borrow().get(&schema.identity()) {
            return d.clone();
        }
        let mut d = Defs::of_schema(schema);
        d.shared = Some(self.parsed.clone());
        let d = Rc::new(d);
        self.defs.borrow_mut().insert(schema.identity(), d.clone());
        d
    }
}

/// The example call of `tool`, given each argument's value by `arg_value`.
fn build(
    tool: &Tool,
    credentials: &TestCredentials,
    mut arg_value: impl FnMut(&Arg) -> Option<Value>,
) -> Example {
    let mut arguments = Map::new();
    let mut missing = Vec::new();
    for a in &tool.args {
        let v = arg_value(a);
        // A header or cookie the runtime cannot send (a name that is no HTTP token, a value
        // with control characters) makes the call a tool error by design: leave it out.
        let v = v.filter(|v| {
            !matches!(a.location, ArgLocation::Header | ArgLocation::Cookie)
                || (is_http_token(&a.wire_name) && sendable(v))
        });
        match v {
            Some(v) => {
                arguments.insert(a.name.clone(), v);
            }
            None if a.required => missing.push(a.name.clone()),
            None => {}
        }
    }
    if !missing.is_empty() {
        return Example {
            tool: tool.name.clone(),
            arguments,
            request: None,
            note: Some(format!(
                "no example value could be built for {}",
                missing.join(", ")
            )),
        };
    }
    let Some(credential_query) = credentials.query(tool) else {
        return Example {
            tool: tool.name.clone(),
            arguments,
            request: None,
            note: Some(
                "not called: its credentials need an OAuth access token from a token endpoint"
                    .to_owned(),
            ),
        };
    };
    let mut notes = Vec::new();
    let path = expected_path(tool, &arguments);
    if path.is_none() {
        notes.push("the path is not predicted (nested values)");
    }
    let query = expected_query(tool, &arguments).map(|mut query| {
        query.extend(credential_query);
        query.sort();
        query
    });
    if query.is_none() {
        notes.push("the query is not predicted (nested values)");
    }
    let json_body = expected_json_body(tool, &arguments);
    if tool.body.is_some() && json_body.is_none() {
        notes.push("the body is not checked (not JSON)");
    }
    Example {
        tool: tool.name.clone(),
        arguments,
        request: Some(Expected {
            method: tool.method.clone(),
            path,
            query,
            json_body,
        }),
        note: (!notes.is_empty()).then(|| notes.join("; ")),
    }
}

/// Whether a value can travel in a header: visible ASCII and spaces only.
fn sendable(v: &Value) -> bool {
    let text = v.to_string();
    text.bytes().all(|b| (0x20..0x7f).contains(&b)) && !text.contains("\\")
}

fn file_value(schema: &Value) -> Option<Value> {
    if schema.get("type").and_then(Value::as_str) == Some("array") {
        Some(json!([FILE_BASE64]))
    } else {
        Some(json!(FILE_BASE64))
    }
}

/// The types a schema allows besides `null`.
fn types(obj: &Map<String, Value>) -> Vec<&str> {
    match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a value from the spec (`example`, `default`) can stand as the example: scalars of
/// the schema's type only (objects and arrays from specs are often partial).
fn fits(v: &Value, obj: &Map<String, Value>) -> bool {
    let ts = types(obj);
    let ok = match v {
        Value::String(_) => ts.contains(&"string"),
        Value::Bool(_) => ts.contains(&"boolean"),
        Value::Number(n) => {
            ts.contains(&"number") || (ts.contains(&"integer") && (n.is_i64() || n.is_u64()))
        }
        _ => false,
    };
    let in_enum = match obj.get("enum") {
        Some(Value::Array(values)) => values.contains(v),
        _ => true,
    };
    ok && in_enum
}

/// `number` values travel as `f64`, which prints with a fraction (`2.0`): keep the example so.
fn as_type(v: Value, obj: &Map<String, Value>) -> Value {
    let ts = types(obj);
    match &v {
        Value::Number(n) if ts.contains(&"number") && !ts.contains(&"integer") => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .unwrap_or(v),
        _ => v,
    }
}

/// The `$defs` of a tool's input schema, each parsed from the schema's text when an example
/// first reaches it. An example follows required properties, and optional ones near the top
/// only, so it reaches few of a large schema's definitions: parsing each tool's whole schema
/// again cost 0.4 s and 96 MB of parsing for 10,000 Graph-shaped tools.
struct Defs<'s> {
    raw: BTreeMap<String, &'s serde_json::value::RawValue>,
    parsed: RefCell<BTreeMap<String, Rc<Value>>>,
    /// Definitions parsed by other `Defs` too, by their text ([`Examples`]).
    shared: Option<Parsed<'s>>,
}

impl<'s> Defs<'s> {
    /// The definitions of the schema `text` (none when it has none, or is not an object).
    fn of(text: &'s str) -> Self {
        #[derive(serde::Deserialize)]
        struct Top<'s> {
            #[serde(rename = "$defs", borrow, default)]
            defs: BTreeMap<String, &'s serde_json::value::RawValue>,
        }
        Defs {
            raw: serde_json::from_str::<Top<'s>>(text)
                .map(|t| t.defs)
                .unwrap_or_default(),
            parsed: RefCell::new(BTreeMap::new()),
            shared: None,
        }
    }

    /// The definitions of the input schema `schema`: its `$defs` entries, or those in its
    /// text when it is one piece.
    fn of_schema(schema: &'s crate::ir::Schema) -> Self {
        let entries = schema.def_entries();
        if entries.is_empty() {
            return match schema.text() {
                std::borrow::Cow::Borrowed(text) => Self::of(text),
                // A schema of several pieces has entries.
                std::borrow::Cow::Owned(_) => Self::none(),
            };
        }
        let raw = entries
            .iter()
            .filter_map(|entry| {
                let entry: &'s str = entry;
                let end = crate::schema::json_text::string_end(entry)?;
                let name: String = serde_json::from_str(entry.get(..end)?).ok()?;
                let body = entry.get(end..)?.strip_prefix(':')?;
                Some((name, serde_json::from_str(body).ok()?))
            })
            .collect();
        Defs {
            raw,
            parsed: RefCell::new(BTreeMap::new()),
            shared: None,
        }
    }

    /// No definitions.
    fn none() -> Self {
        Defs {
            raw: BTreeMap::new(),
            parsed: RefCell::new(BTreeMap::new()),
            shared: None,
        }
    }

    /// The definition `name`, parsed.
    fn get(&self, name: &str) -> Option<Rc<Value>> {
        if let Some(v) = self.parsed.borrow().get(name) {
            return Some(v.clone());
        }
        let text = self.raw.get(name)?.get();
        let known = self
            .shared
            .as_ref()
            .and_then(|shared| shared.borrow().get(text).cloned());
        let v: Rc<Value> = match known {
            Some(v) => v,
            None => {
                let v = Rc::new(serde_json::from_str::<Value>(text).ok()?);
                if let Some(shared) = &self.shared {
                    shared.borrow_mut().insert(text, v.clone());
                }
                v
            }
        };
        self.parsed.borrow_mut().insert(name.to_owned(), v.clone());
        Some(v)
    }
}

/// An example value for a (converted, JSON Schema 2020-12) schema; `None` when none can be built.
fn value(schema: &Value, defs: &Defs, depth: usize) -> Option<Value> {
    variant(schema, defs, depth, 0)
}

/// The `n`th example value: array items differ where the schema allows (another enum value,
/// number or string), so delimited serialisation styles show their separators.
fn variant(schema: &Value, defs: &Defs, depth: usize, n: usize) -> Option<Value> {
    let value = |schema: &Value, defs: &Defs, depth: usize| variant(schema, defs, depth, n);
    if depth > MAX_DEPTH {
        return None;
    }
    let obj = match schema {
        Value::Object(o) => o,
        Value::Bool(true) => return Some(json!("example")),
        _ => return None,
    };
    // A part the input bound did not expand: an object that requires nothing is sent empty;
    // for anything else no value is known to fit (an optional one is left out of the call, a
    // required one leaves the tool without an example call).
    if obj.get("description").and_then(Value::as_str) == Some(crate::ir::NOT_EXPANDED) {
        let free = obj.get("type").and_then(Value::as_str) == Some("object")
            && !obj.contains_key("required");
        return free.then(|| Value::Object(Map::new()));
    }
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        // Converted tool schemas refer only to their own `$defs`.
        let pointer = Pointer::parse(r.strip_prefix('#')?)?;
        if pointer.parent() != Some(Pointer::root().join("$defs")) {
            return None;
        }
        let target = defs.get(&pointer.last()?)?;
        return value(&target, defs, depth + 1);
    }
    if let Some(c) = obj.get("const") {
        return Some(c.clone());
    }
    if let Some(Value::Array(values)) = obj.get("enum") {
        let non_null: Vec<&Value> = values.iter().filter(|v| !v.is_null()).collect();
        return (!non_null.is_empty()).then(|| non_null[n % non_null.len()].clone());
    }
    let given = obj
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .into_iter()
        .chain(obj.get("default"))
        .find(|v| fits(v, obj));
    if let Some(v) = given {
        return Some(as_type(v.clone(), obj));
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(members)) = obj.get(key) {
            return members
                .iter()
                .filter(|m| m.get("type").and_then(Value::as_str) != Some("null"))
                .find_map(|m| value(m, defs, depth + 1));
        }
    }
    if let Some(Value::Array(all)) = obj.get("allOf") {
        let mut merged = Map::new();
        for m in all {
            match value(m, defs, depth + 1)? {
                Value::Object(o) => merged.extend(o),
                other if all.len() == 1 => return Some(other),
                _ => return None,
            }
        }
        return Some(Value::Object(merged));
    }
    let ts = types(obj);
    let ty = match ts.first() {
        Some(t) => *t,
        None if crate::schema::keywords::has_properties(obj) => "object",
        None if obj.contains_key("items") => "array",
        None => return Some(json!("example")),
    };
    let num = |key: &str| obj.get(key).and_then(Value::as_f64);
    let step = n;
    Some(match ty {
        "string" => json!(string_for(obj, step)),
        "integer" => {
            let mut n: i64 = 1 + step as i64;
            if let Some(min) = num("minimum").filter(|m| *m > n as f64) {
                n = min.ceil() as i64;
            }
            if let Some(min) = num("exclusiveMinimum") {
                n = min.floor() as i64 + 1;
            }
            if let Some(max) = num("maximum").filter(|m| (*m as i64) < n) {
                n = max.floor() as i64;
            }
            if let Some(max) = num("exclusiveMaximum").filter(|m| (*m as i64) <= n) {
                n = max.ceil() as i64 - 1;
            }
            json!(n)
        }
        "number" => {
            let mut n = 1.5 + step as f64;
            if let Some(min) = num("minimum").filter(|m| *m > n) {
                n = min;
            }
            if let Some(min) = num("exclusiveMinimum").filter(|m| *m >= n) {
                n = min + 0.5;
            }
            if let Some(max) = num("maximum").filter(|m| *m < n) {
                n = max;
            }
            if let Some(max) = num("exclusiveMaximum").filter(|m| *m <= n) {
                n = max - 0.5;
            }
            serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
        }
        "boolean" => json!(step.is_multiple_of(2)),
        "null" => Value::Null,
        "array" => {
            // Two items, different where possible, within minItems/maxItems.
            let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(0);
            let max = obj
                .get("maxItems")
                .and_then(Value::as_u64)
                .unwrap_or(u64::MAX);
            let count = min.max(2).min(max).min(3) as usize;
            let unique = obj.get("uniqueItems") == Some(&Value::Bool(true));
            let mut items: Vec<Value> = Vec::new();
            for i in 0..count {
                let item = match obj.get("items") {
                    Some(schema) => variant(schema, defs, depth + 1, i),
                    None => Some(json!(format!("example{}", i + 1))),
                };
                match item {
                    Some(item) if unique && items.contains(&item) => {}
                    Some(item) => items.push(item),
                    None => break,
                }
            }
            if (items.len() as u64) < min {
                return None;
            }
            Value::Array(items)
        }
        "object" => {
            let mut out = Map::new();
            let required: Vec<&str> = obj
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = obj.get("properties").and_then(Value::as_object) {
                for name in &required {
                    let v = value(props.get(*name)?, defs, depth + 1)?;
                    out.insert(name.to_string(), v);
                }
                // Near the top, optional properties too (skipped when no value fits).
                if depth < 3 {
                    for (name, schema) in props {
                        if !required.contains(&name.as_str())
                            && let Some(v) = value(schema, defs, depth + 1)
                            && !v.is_null()
                        {
                            out.insert(name.clone(), v);
                        }
                    }
                }
            }
            Value::Object(out)
        }
        _ => json!("example"),
    })
}

/// The longest example string padded to a `minLength`.
const MAX_EXAMPLE_CHARS: u64 = 4096;

fn string_for(obj: &Map<String, Value>, n: usize) -> String {
    if obj.get("contentEncoding").and_then(Value::as_str) == Some("base64") {
        return FILE_BASE64.to_string();
    }
    let s = match obj.get("format").and_then(Value::as_str).unwrap_or("") {
        "date" => "2024-01-15",
        "date-time" => "2024-01-15T10:30:00Z",
        "time" => "10:30:00",
        "uuid" => "123e4567-e89b-12d3-a456-426614174000",
        "email" => "user@example.com",
        "uri" | "url" | "iri" => "https://example.com/",
        "hostname" => "example.com",
        "ipv4" => "192.0.2.1",
        "ipv6" => "2001:db8::1",
        "byte" => FILE_BASE64,
        _ => "",
    };
    let mut s = match (s, n) {
        ("", 0) => "example".to_string(),
        ("", n) => format!("example{}", n + 1),
        (s, _) => s.to_string(),
    };
    // Padded to `minLength`, up to a bound: a spec may ask for 2^64 - 1 characters, and an
    // example only needs to show the shape of a call.
    let min = obj
        .get("minLength")
        .and_then(Value::as_u64)
        .map_or(0, |min| min.min(MAX_EXAMPLE_CHARS) as usize);
    let have = s.chars().count();
    if have < min {
        s.extend(std::iter::repeat_n('x', min - have));
    }
    if let Some(max) = obj.get("maxLength").and_then(Value::as_u64) {
        s = s.chars().take(max as usize).collect();
    }
    s
}

/// A scalar as the wire shows it; `None` for null, arrays and objects.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The pieces of a value for the delimited styles: scalars one piece, arrays one per item,
/// objects `k, v` (or `k=v` exploded). `Err` for nested values.
fn pieces(v: &Value, explode: bool) -> Result<Vec<String>, ()> {
    match v {
        Value::Array(items) => items.iter().map(|i| scalar(i).ok_or(())).collect(),
        Value::Object(map) => {
            let mut out = Vec::new();
            for (k, v) in map {
                let v = scalar(v).ok_or(())?;
                if explode {
                    out.push(format!("{k}={v}"));
                } else {
                    out.push(k.clone());
                    out.push(v);
                }
            }
            Ok(out)
        }
        other => scalar(other).map(|s| vec![s]).ok_or(()),
    }
}

fn expected_path(tool: &Tool, args: &Map<String, Value>) -> Option<String> {
    let mut path = tool.path.clone();
    for a in tool.args.iter().filter(|a| a.location == ArgLocation::Path) {
        let v = args.get(&a.name)?;
        let p = pieces(v, a.explode).ok()?;
        let text = match a.style.as_str() {
            "label" => format!(".{}", p.join(if a.explode { "." } else { "," })),
            "matrix" => match (v, a.explode) {
                (Value::Array(_), true) => {
                    p.iter().map(|x| format!(";{}={x}", a.wire_name)).collect()
                }
                (Value::Object(_), true) => p.iter().map(|kv| format!(";{kv}")).collect(),
                _ => format!(";{}={}", a.wire_name, p.join(",")),
            },
            _ => p.join(","),
        };
        path = path.replace(&format!("{{{}}}", a.wire_name), &text);
    }
    Some(path)
}

fn expected_query(tool: &Tool, args: &Map<String, Value>) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    for a in tool
        .args
        .iter()
        .filter(|a| a.location == ArgLocation::Query)
    {
        let Some(v) = args.get(&a.name) else { continue };
        let n = a.wire_name.clone();
        match (v, a.style.as_str(), a.explode) {
            (Value::Null, _, _) => {}
            (Value::Object(map), "deepObject", _) => {
                for (k, item) in map {
                    match item {
                        Value::Array(items) => {
                            for i in items {
                                out.push((format!("{n}[{k}]"), scalar(i)?));
                            }
                        }
                        other => out.push((format!("{n}[{k}]"), scalar(other)?)),
                    }
                }
            }
            (Value::Array(items), "form" | "deepObject", true) => {
                for i in items {
                    out.push((n.clone(), scalar(i)?));
                }
            }
            (Value::Object(map), _, true) => {
                for (k, item) in map {
                    out.push((k.clone(), scalar(item)?));
                }
            }
            (Value::Array(_) | Value::Object(_), style, _) => {
                let sep = match style {
                    "spaceDelimited" => " ",
                    "pipeDelimited" => "|",
                    _ => ",",
                };
                let p = pieces(v, false).ok()?;
                if !p.is_empty() {
                    out.push((n, p.join(sep)));
                }
            }
            (other, _, _) => out.push((n, scalar(other)?)),
        }
    }
    out.sort();
    Some(out)
}

fn expected_json_body(tool: &Tool, args: &Map<String, Value>) -> Option<Value> {
    let body = tool.body.as_ref()?;
    if body.kind != BodyKind::Json {
        return None;
    }
    if body.flattened {
        let mut obj = Map::new();
        for a in tool
            .args
            .iter()
            .filter(|a| a.location == ArgLocation::BodyField)
        {
            if let Some(v) = args.get(&a.name) {
                obj.insert(a.wire_name.clone(), v.clone());
            }
        }
        return Some(Value::Object(obj));
    }
    let a = tool.args.iter().find(|a| a.location == ArgLocation::Body)?;
    args.get(&a.name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `minLength` of 2^64 - 1 (found by the fuzz target: it once padded forever).
    #[test]
    fn huge_min_lengths_are_bounded() {
        let schema = serde_json::json!({"type": "string", "minLength": u64::MAX});
        let s = string_for(schema.as_object().expect("an object"), 0);
        assert_eq!(s.chars().count(), MAX_EXAMPLE_CHARS as usize);
        assert!(s.starts_with("example"));
        let short = serde_json::json!({"type": "string", "minLength": 10, "maxLength": 12});
        assert_eq!(
            string_for(short.as_object().expect("an object"), 0),
            "examplexxx"
        );
    }

    #[test]
    fn values_follow_the_schema() {
        let defs = Defs::of("{}");
        let v = |s: Value| value(&s, &defs, 0);
        assert_eq!(v(json!({"type": "integer", "minimum": 5})), Some(json!(5)));
        assert_eq!(
            v(json!({"type": "array", "items": {"enum": ["a", "b"]}})),
            Some(json!(["a", "b"]))
        );
        assert_eq!(
            v(json!({"type": "array", "items": {"type": "boolean"}, "maxItems": 1})),
            Some(json!([true]))
        );
        assert_eq!(
            v(json!({"type": "array", "uniqueItems": true, "items": {"const": 1}})),
            Some(json!([1]))
        );
        assert_eq!(v(json!({"type": "integer", "maximum": 0})), Some(json!(0)));
        assert_eq!(
            v(json!({"type": "number", "examples": [3]})),
            Some(json!(3.0))
        );
        assert_eq!(
            v(json!({"type": "string", "examples": [3]})),
            Some(json!("example"))
        );
        assert_eq!(
            v(json!({"type": ["string", "null"], "format": "date"})),
            Some(json!("2024-01-15"))
        );
        assert_eq!(v(json!({"enum": [null, "b"]})), Some(json!("b")));
        assert_eq!(
            v(
                json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "boolean"}, "b": {"type": "string"}}})
            ),
            Some(json!({"a": true, "b": "example"}))
        );
        assert_eq!(
            v(json!({"anyOf": [{"type": "null"}, {"type": "integer"}]})),
            Some(json!(1))
        );
        assert_eq!(
            v(json!({"type": "string", "minLength": 9})),
            Some(json!("examplexx"))
        );
        let text = json!({"$defs": {"Node": {"type": "object", "required": ["next"], "properties": {"next": {"$ref": "#/$defs/Node"}}}}}).to_string();
        let defs = Defs::of(&text);
        assert_eq!(
            value(&json!({"$ref": "#/$defs/Node"}), &defs, 0),
            None,
            "no finite value"
        );
    }

    #[test]
    fn pieces_and_styles() {
        assert_eq!(
            pieces(&json!(["a", 1]), false),
            Ok(vec!["a".into(), "1".into()])
        );
        assert_eq!(pieces(&json!({"k": "v"}), true), Ok(vec!["k=v".into()]));
        assert!(pieces(&json!([{"a": 1}]), false).is_err());
    }
}
