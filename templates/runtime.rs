//! Spec-independent runtime: the upstream HTTP client, the request builder that generated tool
//! code fills in, argument parsing and the mapping of upstream responses to MCP tool results.
//!
//! The builder covers every OpenAPI parameter location; a given API uses only some of them.
#![allow(dead_code)]

use std::time::Duration;

use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{HeaderName, HeaderValue};
use rmcp::model::{CallToolResult, ContentBlock};
use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Bytes of an upstream response body that are read at most.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Bytes of an upstream error body quoted in a tool error at most.
const MAX_ERROR_EXCERPT_BYTES: usize = 2 * 1024;

/// Percent-encodes everything but RFC 3986 unreserved characters: path segments, query names and
/// values, form fields.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes what RFC 6265 forbids in a cookie value.
const COOKIE_VALUE: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b',').add(b';').add(b'\\');

/// The upstream API: a pooled HTTP client and the base URL every tool path is appended to.
pub struct Upstream {
    client: reqwest::Client,
    base_url: String,
    timeout: Duration,
}

impl Upstream {
    /// Builds the client. `base_url` must be an absolute `http` or `https` URL without query or
    /// fragment; a trailing `/` is ignored.
    pub fn new(base_url: &str, timeout: Duration) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(base_url)
            .map_err(|e| format!("invalid upstream URL `{base_url}`: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "invalid upstream URL `{base_url}`: the scheme must be http or https"
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(format!(
                "invalid upstream URL `{base_url}`: it must not have a query or fragment"
            ));
        }
        let client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!(
                env!("CARGO_PKG_NAME"),
                "/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| format!("cannot build the upstream HTTP client: {e}"))?;
        Ok(Self {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            timeout,
        })
    }

    /// The base URL requests go to, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends `req` and maps the outcome to a tool result. Never panics: every failure is a tool
    /// error that says what went wrong.
    pub async fn execute(&self, req: Request, wrap_output: bool) -> CallToolResult {
        if let Some(message) = req.error {
            return tool_error(message);
        }
        let label = format!("{} {}", req.method, req.path);
        let mut url = String::with_capacity(self.base_url.len() + req.path.len() + 64);
        url.push_str(&self.base_url);
        url.push_str(&req.path);
        for (i, (name, value)) in req.query.iter().enumerate() {
            url.push(if i == 0 { '?' } else { '&' });
            url.push_str(name);
            url.push('=');
            url.push_str(value);
        }

        let mut builder = self.client.request(req.method, url);
        let mut has_accept = false;
        for (name, value) in req.headers {
            has_accept |= name.eq_ignore_ascii_case("accept");
            builder = builder.header(name, value);
        }
        if !has_accept {
            builder = builder.header("accept", "application/json, */*;q=0.5");
        }
        if !req.cookies.is_empty() {
            let cookie = req
                .cookies
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join("; ");
            builder = builder.header("cookie", cookie);
        }
        builder = match req.body {
            Body::None => builder,
            Body::Json(value) => match serde_json::to_vec(&value) {
                Ok(bytes) => builder
                    .header("content-type", "application/json")
                    .body(bytes),
                Err(e) => return tool_error(format!("Cannot encode the request body: {e}")),
            },
            Body::Form(pairs) => builder
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encode_pairs(&pairs)),
            Body::Multipart(fields) => {
                let (content_type, bytes) = multipart(&fields);
                builder.header("content-type", content_type).body(bytes)
            }
            Body::Raw { bytes, media_type } => builder.header("content-type", media_type).body(bytes),
        };

        let mut response = match builder.send().await {
            Ok(response) => response,
            Err(e) => return tool_error(self.describe_error(&label, e)),
        };
        let status = response.status();
        let mime = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let limit = if status.is_success() {
            MAX_BODY_BYTES
        } else {
            MAX_ERROR_EXCERPT_BYTES
        };
        let mut body = Vec::new();
        let mut truncated = false;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = limit - body.len();
                    if chunk.len() > room {
                        body.extend_from_slice(&chunk[..room]);
                        truncated = true;
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return tool_error(self.describe_error(&label, e)),
            }
        }

        if status.is_success() {
            success_result(&mime, body, truncated, wrap_output)
        } else {
            let reason = status.canonical_reason().unwrap_or("");
            let mut message = format!(
                "Upstream API returned HTTP {} {reason} for {label}",
                status.as_u16()
            );
            if !body.is_empty() {
                message.push_str(":\n");
                message.push_str(&String::from_utf8_lossy(&body));
                if truncated {
                    message.push_str("\n[error body truncated]");
                }
            }
            tool_error(message)
        }
    }

    fn describe_error(&self, label: &str, error: reqwest::Error) -> String {
        let error = error.without_url();
        if error.is_timeout() {
            return format!(
                "Upstream API did not answer {label} within {} s (UPSTREAM_TIMEOUT_SECS)",
                self.timeout.as_secs_f64()
            );
        }
        let mut message = if error.is_connect() {
            format!("Cannot connect to the upstream API at {}", self.base_url)
        } else {
            format!("Upstream request {label} failed")
        };
        let mut source: Option<&dyn std::error::Error> = Some(&error);
        while let Some(e) = source {
            message.push_str(": ");
            message.push_str(&e.to_string());
            source = e.source();
        }
        message
    }
}

/// Maps a 2xx response body to a tool result.
fn success_result(mime: &str, body: Vec<u8>, truncated: bool, wrap_output: bool) -> CallToolResult {
    let essence = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if body.is_empty() {
        return CallToolResult::success(vec![ContentBlock::text(
            "The upstream API returned no content.",
        )]);
    }
    let is_json = essence == "application/json" || essence.ends_with("+json");
    if is_json && !truncated {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) if !wrap_output => {
                return CallToolResult::structured(Value::Object(map));
            }
            Ok(other) => {
                let mut wrapped = Map::new();
                wrapped.insert("result".to_owned(), other);
                return CallToolResult::structured(Value::Object(wrapped));
            }
            Err(_) => {}
        }
    }
    let is_text = is_json
        || essence.starts_with("text/")
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/xml" | "application/javascript" | "application/x-www-form-urlencoded"
        );
    if is_text {
        let mut text = String::from_utf8_lossy(&body).into_owned();
        if truncated {
            text.push_str(&format!(
                "\n[response truncated after {} bytes]",
                MAX_BODY_BYTES
            ));
        }
        return CallToolResult::success(vec![ContentBlock::text(text)]);
    }
    let shown = if essence.is_empty() {
        "unknown type"
    } else {
        essence.as_str()
    };
    let more = if truncated { "more than " } else { "" };
    CallToolResult::success(vec![ContentBlock::text(format!(
        "The upstream API returned {more}{} bytes of {shown}.",
        body.len()
    ))])
}

/// A `multipart/form-data` body: one part per property (arrays repeat the part; objects are sent
/// as JSON parts).
fn multipart(fields: &[(String, Value)]) -> (String, Vec<u8>) {
    let boundary = format!(
        "mcp-boundary-{:016x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    );
    let mut out = Vec::new();
    let mut part = |name: &str, value: &Value| {
        let (ctype, text) = match value {
            Value::Object(_) | Value::Array(_) => ("application/json", value.to_string()),
            other => ("text/plain; charset=utf-8", scalar_text(other).unwrap_or_default()),
        };
        let name = name.replace('"', "%22").replace(['\r', '\n'], " ");
        out.extend_from_slice(
            format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{name}\"\r\ncontent-type: {ctype}\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    for (name, value) in fields {
        match value {
            Value::Null => {}
            Value::Array(items) => items.iter().for_each(|item| part(name, item)),
            other => part(name, other),
        }
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), out)
}

fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// An upstream request being built by generated tool code.
#[derive(Debug)]
pub struct Request {
    pub method: reqwest::Method,
    /// The path with its parameters substituted and encoded.
    pub path: String,
    /// Query pairs, already percent-encoded (delimiters of non-exploded styles stay literal).
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub cookies: Vec<(String, String)>,
    pub body: Body,
    /// The first problem met while building; the request is then not sent.
    error: Option<String>,
}

/// OpenAPI parameter serialisation styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Simple,
    Label,
    Matrix,
    Form,
    SpaceDelimited,
    PipeDelimited,
    DeepObject,
}

/// How a request body is encoded, from the operation's media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Json,
    Form,
    Multipart,
    Text,
    /// Bytes given as base64 (or a `data:` URI) in the argument.
    Binary,
}

/// The body of an upstream request.
#[derive(Debug)]
pub enum Body {
    None,
    Json(Value),
    Form(Vec<(String, String)>),
    Multipart(Vec<(String, Value)>),
    Raw { bytes: Vec<u8>, media_type: String },
}

/// An object body assembled from separate arguments; absent optional ones are left out.
#[derive(Debug, Default)]
pub struct Object {
    map: Map<String, Value>,
    error: Option<String>,
}

impl Object {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds property `name` unless the value is `None`.
    pub fn field(mut self, name: &str, value: &impl Serialize) -> Self {
        match to_value(value) {
            Ok(Value::Null) => {}
            Ok(v) => {
                self.map.insert(name.to_owned(), v);
            }
            Err(e) => {
                self.error.get_or_insert(format!("Invalid body property `{name}`: {e}"));
            }
        }
        self
    }
}

impl Request {
    /// Starts a request for a path template such as `/pets/{petId}`.
    pub fn new(method: reqwest::Method, path_template: &'static str) -> Self {
        Self {
            method,
            path: path_template.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            cookies: Vec::new(),
            body: Body::None,
            error: None,
        }
    }

    fn fail(mut self, message: String) -> Self {
        if self.error.is_none() {
            self.error = Some(message);
        }
        self
    }

    /// Substitutes `{name}` in the path. Values are percent-encoded so they stay inside their
    /// segment; empty, `.` and `..` values are refused (URL parsers resolve them).
    pub fn path_param(self, name: &str, value: &impl Serialize, style: Style, explode: bool) -> Self {
        let value = match to_value(value) {
            Ok(value) => value,
            Err(e) => return self.fail(format!("Invalid path parameter `{name}`: {e}")),
        };
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        let text = match style {
            Style::Label => {
                let sep = if explode { "." } else { "," };
                pieces(&value, explode, &enc).map(|p| format!(".{}", p.join(sep)))
            }
            Style::Matrix => pieces(&value, explode, &enc).map(|p| match (&value, explode) {
                (Value::Array(_), true) => p
                    .iter()
                    .map(|v| format!(";{}={v}", enc(name)))
                    .collect::<String>(),
                (Value::Object(_), true) => p.iter().map(|kv| format!(";{kv}")).collect(),
                _ => format!(";{}={}", enc(name), p.join(",")),
            }),
            _ => pieces(&value, explode, &enc).map(|p| p.join(",")),
        };
        let text = match text {
            Some(text) if !matches!(text.as_str(), "" | "." | "..") => text,
            _ => {
                return self.fail(format!(
                    "Invalid path parameter `{name}`: it must be a non-empty value other than `.` and `..`"
                ));
            }
        };
        let placeholder = format!("{{{name}}}");
        let path = self.path.replace(&placeholder, &text);
        Self { path, ..self }
    }

    /// Adds a query parameter in its style: `None` adds nothing; arrays are repeated (`form`,
    /// exploded) or joined with `,`, `%20` or `|`; objects become `key=value` pairs (exploded
    /// `form`), `name=k,v` (not exploded) or `name[key]=value` (`deepObject`).
    pub fn query(mut self, name: &str, value: &impl Serialize, style: Style, explode: bool) -> Self {
        let value = match to_value(value) {
            Ok(v) => v,
            Err(e) => return self.fail(format!("Invalid query parameter `{name}`: {e}")),
        };
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        let n = enc(name);
        match (&value, style, explode) {
            (Value::Null, _, _) => {}
            (Value::Object(map), Style::DeepObject, _) => {
                for (key, item) in map {
                    match item {
                        Value::Array(items) => {
                            for element in items.iter().filter_map(scalar_text) {
                                self.query.push((format!("{n}%5B{}%5D", enc(key)), enc(&element)));
                            }
                        }
                        other => {
                            if let Some(text) = scalar_text(other) {
                                self.query.push((format!("{n}%5B{}%5D", enc(key)), enc(&text)));
                            }
                        }
                    }
                }
            }
            (Value::Array(items), Style::Form | Style::DeepObject, true) => {
                for text in items.iter().filter_map(scalar_text) {
                    self.query.push((n.clone(), enc(&text)));
                }
            }
            (Value::Object(map), _, true) => {
                for (key, item) in map {
                    if let Some(text) = scalar_text(item) {
                        self.query.push((enc(key), enc(&text)));
                    }
                }
            }
            (Value::Array(_) | Value::Object(_), _, _) => {
                let sep = match style {
                    Style::SpaceDelimited => "%20",
                    Style::PipeDelimited => "%7C",
                    _ => ",",
                };
                if let Some(p) = pieces(&value, false, &enc) {
                    self.query.push((n, p.join(sep)));
                }
            }
            (other, _, _) => {
                if let Some(text) = scalar_text(other) {
                    self.query.push((n, enc(&text)));
                }
            }
        }
        self
    }

    /// Adds a header (simple style: arrays and objects comma-joined). `None` adds nothing.
    pub fn header(mut self, name: &str, value: &impl Serialize, _style: Style, explode: bool) -> Self {
        let value = match to_value(value) {
            Ok(value) => value,
            Err(e) => return self.fail(format!("Invalid header `{name}`: {e}")),
        };
        let Some(text) = pieces(&value, explode, &str::to_owned).map(|p| p.join(",")) else {
            return self;
        };
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            return self.fail(format!("`{name}` is not a valid HTTP header name"));
        }
        if HeaderValue::from_str(&text).is_err() {
            return self.fail(format!(
                "Invalid header `{name}`: it must not contain control characters or line breaks"
            ));
        }
        self.headers.push((name.to_owned(), text));
        self
    }

    /// Adds a cookie (form style; arrays and objects comma-joined). `None` adds nothing.
    pub fn cookie(mut self, name: &str, value: &impl Serialize, _style: Style, _explode: bool) -> Self {
        let value = match to_value(value) {
            Ok(value) => value,
            Err(e) => return self.fail(format!("Invalid cookie `{name}`: {e}")),
        };
        let enc = |s: &str| utf8_percent_encode(s, COOKIE_VALUE).to_string();
        if let Some(p) = pieces(&value, false, &enc) {
            self.cookies.push((name.to_owned(), p.join(",")));
        }
        self
    }

    /// Sets the body from one argument. `None` leaves the request without a body.
    pub fn body(self, value: &impl Serialize, kind: BodyKind, media_type: &str) -> Self {
        let value = match to_value(value) {
            Ok(Value::Null) => return self,
            Ok(v) => v,
            Err(e) => return self.fail(format!("Invalid request body: {e}")),
        };
        let body = match (kind, value) {
            (BodyKind::Json, v) => Body::Json(v),
            (BodyKind::Form, Value::Object(map)) => Body::Form(form_pairs(&map)),
            (BodyKind::Multipart, Value::Object(map)) => Body::Multipart(map.into_iter().collect()),
            (BodyKind::Form | BodyKind::Multipart, _) => {
                return self.fail("Invalid request body: it must be an object".to_owned());
            }
            (BodyKind::Text, v) => Body::Raw {
                bytes: scalar_text(&v).unwrap_or_default().into_bytes(),
                media_type: media_type.to_owned(),
            },
            (BodyKind::Binary, Value::String(s)) => match decode_binary(&s) {
                Ok(bytes) => Body::Raw {
                    bytes,
                    media_type: media_type.to_owned(),
                },
                Err(e) => return self.fail(format!("Invalid argument `body`: {e}")),
            },
            (BodyKind::Binary, _) => {
                return self.fail("Invalid argument `body`: expected a base64 string".to_owned());
            }
        };
        Self { body, ..self }
    }

    /// Sets an object body assembled from separate arguments. An optional body with no
    /// properties given is left out.
    pub fn body_object(self, object: Object, kind: BodyKind, media_type: &str, required: bool) -> Self {
        if let Some(e) = object.error {
            return self.fail(e);
        }
        if object.map.is_empty() && !required {
            return self;
        }
        self.body(&Value::Object(object.map), kind, media_type)
    }
}

/// Decodes a base64 string or a `data:` URI with base64 content.
fn decode_binary(s: &str) -> Result<Vec<u8>, String> {
    let payload = match s.strip_prefix("data:") {
        Some(rest) => match rest.split_once(',') {
            Some((meta, data)) if meta.ends_with(";base64") => data,
            Some((_, data)) => return Ok(percent_encoding::percent_decode_str(data).collect()),
            None => return Err("a data: URI needs a `,` before its content".to_owned()),
        },
        None => s,
    };
    let cleaned: String = payload.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(cleaned.trim_end_matches('='))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(cleaned.trim_end_matches('=')))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(cleaned.trim_end_matches('=')))
        .map_err(|e| format!("expected base64 or a data: URI ({e})"))
}

/// Form pairs for an object: one per property, one per item for arrays, nested values as JSON.
fn form_pairs(map: &Map<String, Value>) -> Vec<(String, String)> {
    let mut pairs = Vec::with_capacity(map.len());
    for (key, item) in map {
        match item {
            Value::Array(items) => {
                for text in items.iter().filter_map(scalar_text) {
                    pairs.push((key.clone(), text));
                }
            }
            other => {
                if let Some(text) = scalar_text(other) {
                    pairs.push((key.clone(), text));
                }
            }
        }
    }
    pairs
}

/// The pieces of a value for delimited styles, each encoded: scalars as one piece, arrays one
/// per item, objects `k,v` pairs (or `k=v` when exploded). `None` for null and empty values.
fn pieces(value: &Value, explode: bool, encode: &dyn Fn(&str) -> String) -> Option<Vec<String>> {
    let out: Vec<String> = match value {
        Value::Null => return None,
        Value::Array(items) => items
            .iter()
            .filter_map(scalar_text)
            .map(|t| encode(&t))
            .collect(),
        Value::Object(map) => map
            .iter()
            .filter_map(|(k, v)| Some((encode(k), encode(&scalar_text(v)?))))
            .flat_map(|(k, v)| {
                if explode {
                    vec![format!("{k}={v}")]
                } else {
                    vec![k, v]
                }
            })
            .collect(),
        other => vec![encode(&scalar_text(other)?)],
    };
    (!out.is_empty()).then_some(out)
}

fn to_value(value: &impl Serialize) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}

/// A scalar as text: strings as they are, numbers and booleans printed, `null` as nothing, and
/// nested arrays or objects as JSON text.
fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(_) | Value::Object(_) => Some(value.to_string()),
    }
}

fn encode_pairs(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| {
            format!(
                "{}={}",
                utf8_percent_encode(name, COMPONENT),
                utf8_percent_encode(value, COMPONENT)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Parses tool arguments into `T`. Unknown argument names are refused first (with a suggestion
/// from `known`); then every type or presence error names the argument it concerns.
pub fn parse_args<T: DeserializeOwned>(
    args: Option<Map<String, Value>>,
    known: &[&str],
) -> Result<T, CallToolResult> {
    let args = args.unwrap_or_default();
    let unknown: Vec<String> = args
        .keys()
        .filter(|key| !known.contains(&key.as_str()))
        .map(|key| match suggest(key, known) {
            Some(near) => format!("`{key}` (did you mean `{near}`?)"),
            None => format!("`{key}`"),
        })
        .collect();
    if !unknown.is_empty() {
        let expected = if known.is_empty() {
            "this tool takes no arguments".to_owned()
        } else {
            format!("expected: {}", known.join(", "))
        };
        let noun = if unknown.len() == 1 {
            "Unknown argument"
        } else {
            "Unknown arguments"
        };
        return Err(tool_error(format!(
            "{noun} {}; {expected}.",
            unknown.join(", ")
        )));
    }
    serde_path_to_error::deserialize(Value::Object(args)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            tool_error(format!("Invalid arguments: {inner}."))
        } else {
            tool_error(format!("Invalid argument `{path}`: {inner}."))
        }
    })
}

/// The known name closest to `name`, when it is close enough to be a plausible typo.
fn suggest<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    let folded = fold(name);
    if let Some(exact) = known.iter().find(|k| fold(k) == folded) {
        return Some(exact);
    }
    let (best, distance) = known
        .iter()
        .map(|k| (*k, edit_distance(&folded, &fold(k))))
        .min_by_key(|(_, d)| *d)?;
    (distance <= (name.chars().count() / 3).max(1)).then_some(best)
}

/// Lower case without `_` and `-`, so `pet_id`, `petId` and `PET-ID` compare equal.
fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_of(result: &CallToolResult) -> String {
        result
            .content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect()
    }

    const GET: reqwest::Method = reqwest::Method::GET;

    #[test]
    fn path_params_stay_in_their_segment() {
        let req = Request::new(GET, "/pets/{petId}/toys/{toy}")
            .path_param("petId", &"../admin", Style::Simple, false)
            .path_param("toy", &"a/b?c#d e", Style::Simple, false);
        assert_eq!(req.path, "/pets/..%2Fadmin/toys/a%2Fb%3Fc%23d%20e");
        assert!(req.error.is_none());
        for bad in ["", ".", ".."] {
            let req = Request::new(GET, "/pets/{petId}").path_param("petId", &bad, Style::Simple, false);
            assert!(req.error.is_some(), "{bad:?} accepted");
        }
        let ids = [1, 2, 3];
        let path = |style, explode| Request::new(GET, "/p/{ids}").path_param("ids", &ids, style, explode).path;
        assert_eq!(path(Style::Simple, false), "/p/1,2,3");
        assert_eq!(path(Style::Label, false), "/p/.1,2,3");
        assert_eq!(path(Style::Label, true), "/p/.1.2.3");
        assert_eq!(path(Style::Matrix, false), "/p/;ids=1,2,3");
        assert_eq!(path(Style::Matrix, true), "/p/;ids=1;ids=2;ids=3");
    }

    #[test]
    fn query_params_follow_their_style() {
        let tags = Some(vec!["a b", "c&d"]);
        let none: Option<i64> = None;
        let filter = serde_json::json!({"x": 1, "y": true});
        let req = Request::new(GET, "/pets")
            .query("limit", &Some(10), Style::Form, true)
            .query("skip", &none, Style::Form, true)
            .query("tags", &tags, Style::Form, true)
            .query("ids", &[1, 2], Style::Form, false)
            .query("words", &["a", "b"], Style::SpaceDelimited, false)
            .query("pipes", &["a", "b"], Style::PipeDelimited, false)
            .query("filter", &filter, Style::Form, true)
            .query("deep", &filter, Style::DeepObject, true);
        let pairs: Vec<String> = req.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            pairs,
            [
                "limit=10",
                "tags=a%20b",
                "tags=c%26d",
                "ids=1,2",
                "words=a%20b",
                "pipes=a%7Cb",
                "x=1",
                "y=true",
                "deep%5Bx%5D=1",
                "deep%5By%5D=true"
            ]
        );
    }

    #[test]
    fn headers_cookies_and_bodies() {
        let req = Request::new(reqwest::Method::POST, "/x")
            .header("X-Ids", &[1, 2], Style::Simple, false)
            .header("X-None", &None::<String>, Style::Simple, false)
            .cookie("session", &"a; b", Style::Form, true)
            .body(
                &serde_json::json!({"a": "1 2", "b": [true, false], "c": null}),
                BodyKind::Form,
                "application/x-www-form-urlencoded",
            );
        assert_eq!(req.headers, [("X-Ids".to_owned(), "1,2".to_owned())]);
        assert_eq!(req.cookies, [("session".to_owned(), "a%3B%20b".to_owned())]);
        match &req.body {
            Body::Form(pairs) => assert_eq!(encode_pairs(pairs), "a=1%202&b=true&b=false"),
            other => panic!("unexpected body {other:?}"),
        }
        let bad = Request::new(GET, "/x").header("X-A", &"a\r\nb: c", Style::Simple, false);
        assert!(bad.error.is_some());

        let absent: Option<String> = None;
        let obj = Object::new().field("name", &"rex").field("tag", &absent);
        let req = Request::new(reqwest::Method::POST, "/pets").body_object(obj, BodyKind::Json, "application/json", true);
        match &req.body {
            Body::Json(v) => assert_eq!(v, &serde_json::json!({"name": "rex"})),
            other => panic!("unexpected body {other:?}"),
        }
        let req = Request::new(reqwest::Method::POST, "/pets").body_object(Object::new(), BodyKind::Json, "application/json", false);
        assert!(matches!(req.body, Body::None));

        let req = Request::new(reqwest::Method::PUT, "/f").body(&"aGVsbG8=", BodyKind::Binary, "application/octet-stream");
        assert!(matches!(&req.body, Body::Raw { bytes, .. } if bytes == b"hello"));
        let req = Request::new(reqwest::Method::PUT, "/f").body(&"data:text/plain;base64,aGVsbG8", BodyKind::Binary, "image/png");
        assert!(matches!(&req.body, Body::Raw { bytes, media_type } if bytes == b"hello" && media_type == "image/png"));
    }

    #[derive(serde::Deserialize, Debug)]
    struct Args {
        #[serde(rename = "petId")]
        pet_id: String,
        #[serde(default)]
        limit: Option<i64>,
    }

    #[test]
    fn argument_errors_name_the_argument() {
        let known = &["petId", "limit"];
        let args = |v: Value| v.as_object().cloned();

        let ok: Args = parse_args(args(serde_json::json!({"petId": "7"})), known).unwrap();
        assert_eq!((ok.pet_id.as_str(), ok.limit), ("7", None));

        let err = parse_args::<Args>(args(serde_json::json!({"pet_id": "7"})), known).unwrap_err();
        assert!(text_of(&err).contains("`pet_id` (did you mean `petId`?)"));
        assert_eq!(err.is_error, Some(true));

        let err = parse_args::<Args>(None, known).unwrap_err();
        assert!(text_of(&err).contains("missing field `petId`"));

        let err = parse_args::<Args>(args(serde_json::json!({"petId": "7", "limit": "x"})), known)
            .unwrap_err();
        assert!(text_of(&err).starts_with("Invalid argument `limit`: invalid type"));
    }

    #[test]
    fn responses_map_to_results() {
        let r = success_result("application/json", b"[1,2]".to_vec(), false, true);
        assert_eq!(
            r.structured_content,
            Some(serde_json::json!({"result": [1, 2]}))
        );
        let r = success_result("application/json", br#"{"a":1}"#.to_vec(), false, true);
        assert_eq!(r.structured_content, Some(serde_json::json!({"result": {"a": 1}})));
        let r = success_result("application/json", br#"{"a":1}"#.to_vec(), false, false);
        assert_eq!(r.structured_content, Some(serde_json::json!({"a": 1})));
        let r = success_result("text/plain; charset=utf-8", b"hi".to_vec(), false, false);
        assert_eq!(text_of(&r), "hi");
        let r = success_result("image/png", vec![0; 10], false, false);
        assert_eq!(
            text_of(&r),
            "The upstream API returned 10 bytes of image/png."
        );
    }
}
