//! Spec-independent runtime: the upstream HTTP client, the request builder that generated tool
//! code fills in, argument parsing and the mapping of upstream responses to MCP tool results.
//!
//! The builder covers every OpenAPI parameter location; a given API uses only some of them.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap, HeaderName, HeaderValue, USER_AGENT,
};
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::credentials::{Applied, Credentials};
use crate::transport::{self, Failure, Outgoing, Transport};

/// Bytes of an upstream response body passed on to the client at most, unless configured with
/// [`Upstream::with_max_response_bytes`]; longer bodies are truncated with a note.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Bytes of an upstream error body quoted in a tool error at most.
const MAX_ERROR_EXCERPT_BYTES: usize = 2 * 1024;

/// Base64 decoding that accepts missing padding.
const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const BASE64_STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const BASE64_URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// Percent-encodes everything but RFC 3986 unreserved characters: path segments, query names and
/// values, form fields.
pub const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes what RFC 6265 forbids in a cookie value.
pub const COOKIE_VALUE: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b',').add(b';').add(b'\\');

/// What a tool's `outputSchema` promises; it decides how a successful response is returned. A
/// tool with an `outputSchema` must answer with `structuredContent` that matches it (clients such
/// as the official Python SDK reject anything else), so a response that cannot match (not JSON,
/// empty, cut at the size cap, JSON of another shape) is returned as a tool error that says why
/// and still shows what the upstream API sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    /// No `outputSchema`. JSON is still returned as `structuredContent` too (non-objects wrapped
    /// as `{"result": ...}`).
    None,
    /// The response's object schema: a JSON object is the `structuredContent`.
    Object,
    /// `{"result": <response schema>}`: the JSON response is wrapped.
    Wrapped,
}

/// The upstream API: pooled connections and the base URL every tool path is appended to.
/// Cheap to clone (one call's forwarded credentials make a copy).
#[derive(Clone)]
pub struct Upstream {
    transport: Arc<Transport>,
    base_url: Arc<str>,
    /// `base_url` without user name and password: what results and errors show.
    shown_url: Arc<str>,
    timeout: Duration,
    max_response_bytes: usize,
    /// The caller's credentials, sent as the `Authorization` header when the auth configuration
    /// forwards them (see [`Upstream::with_authorization`]).
    authorization: Option<HeaderValue>,
    /// The server's own credentials for the API (`credentials.rs`).
    credentials: Arc<Credentials>,
}

/// Redirects followed within the upstream's origin at most, per call.
const MAX_REDIRECTS: usize = 10;

impl Upstream {
    /// Builds the client. `base_url` must be an absolute `http` or `https` URL without query or
    /// fragment; a trailing `/` is ignored. A user name and password in it are sent as basic
    /// authentication, unless a credential sets `Authorization`. Responses are capped at
    /// [`DEFAULT_MAX_RESPONSE_BYTES`].
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
        let mut shown = parsed.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        let transport = Transport::new(&parsed, timeout)
            .map_err(|e| format!("invalid upstream URL `{}`: {e}", shown.as_str()))?;
        Ok(Self {
            transport: Arc::new(transport),
            base_url: base_url.trim_end_matches('/').into(),
            shown_url: shown.as_str().trim_end_matches('/').into(),
            timeout,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            authorization: None,
            credentials: Arc::new(Credentials::none()),
        })
    }

    /// This upstream for one call that sends `authorization` as its `Authorization` header (the
    /// caller's, forwarded), replacing any the request sets. Shares the connection pool.
    pub fn with_authorization(&self, authorization: HeaderValue) -> Self {
        Self {
            authorization: Some(authorization),
            ..self.clone()
        }
    }

    /// Sets the server's credentials for the API.
    pub fn with_credentials(mut self, credentials: Arc<Credentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Sets how many bytes of a successful response body are passed on at most; the rest is
    /// not read, and the result says so.
    pub fn with_max_response_bytes(mut self, bytes: usize) -> Self {
        self.max_response_bytes = bytes;
        self
    }

    /// The base URL requests go to, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Sends `req` with the credentials its security requirement asks for and maps the outcome
    /// to a tool result. Never panics: every failure is a tool error that says what went wrong.
    /// A 401 to a cached OAuth access token gets one retry with a new token. Redirects within
    /// the upstream's origin are followed (up to [`MAX_REDIRECTS`]); one to another origin is
    /// not, so no credential leaves it.
    pub async fn execute(&self, mut req: Request, output: Output) -> CallToolResult {
        if let Some(message) = req.error.take() {
            return tool_error(message);
        }
        // `GET /pets/1`: what messages call this request (made only for one).
        let label = |req: &Request| format!("{} {}", req.method, req.path);
        let choice = match self
            .credentials
            .choose(req.security, self.authorization.is_some())
        {
            Ok(choice) => choice,
            Err(message) => return tool_error(format!("Cannot call {}: {message}", label(&req))),
        };
        let mut body = match encode_body(std::mem::replace(&mut req.body, Body::None)) {
            Ok(body) => body,
            Err(message) => return tool_error(message),
        };
        let mut method = req.method.clone();
        // Where a redirect sent the request: a path and query on the upstream's origin.
        let mut redirected: Option<String> = None;
        let mut redirects = 0;
        let mut retried = false;
        let exchange = loop {
            let applied = match self
                .credentials
                .apply(&choice, self.transport.tokens(), &self.base_url)
                .await
            {
                Ok(applied) => applied,
                Err(message) => return tool_error(message),
            };
            let outgoing = match self.outgoing(
                &req,
                &method,
                redirected.as_deref(),
                &applied,
                body.as_ref(),
            ) {
                Ok(outgoing) => outgoing,
                Err(message) => {
                    return tool_error(format!("Cannot call {}: {message}", label(&req)));
                }
            };
            let sent =
                self.transport
                    .exchange(outgoing, self.max_response_bytes, MAX_ERROR_EXCERPT_BYTES);
            let exchange = match tokio::time::timeout(self.timeout, sent).await {
                Ok(Ok(exchange)) => exchange,
                Ok(Err(failure)) => {
                    return tool_error(self.describe_failure(&label(&req), failure));
                }
                Err(_) => {
                    return tool_error(format!(
                        "Upstream API did not answer {} within {} s (UPSTREAM_TIMEOUT_SECS)",
                        label(&req),
                        self.timeout.as_secs_f64()
                    ));
                }
            };
            if exchange.status == StatusCode::UNAUTHORIZED && applied.has_tokens() && !retried {
                tracing::info!(
                    "{}: the upstream API refused the access token (401); fetching a new one and retrying once",
                    label(&req)
                );
                retried = true;
                self.credentials.refresh(&applied).await;
                continue;
            }
            if let (Some((next_method, keep_body)), Some(location)) = (
                transport::redirect_method(exchange.status, &method),
                transport::location(&exchange.headers),
            ) {
                if redirects == MAX_REDIRECTS {
                    return tool_error(format!(
                        "Upstream API redirected {} more than {MAX_REDIRECTS} times",
                        label(&req)
                    ));
                }
                let here = self.target(&req, redirected.as_deref(), &applied);
                match self.transport.redirect_target(&here, location) {
                    Ok(next) => {
                        tracing::debug!("{}: following a redirect to {next}", label(&req));
                        redirects += 1;
                        redirected = Some(next);
                        method = next_method;
                        if !keep_body {
                            body = None;
                        }
                        continue;
                    }
                    Err(why) => {
                        return tool_error(format!(
                            "Upstream API returned HTTP {} for {}, but {why}",
                            status_line(exchange.status),
                            label(&req)
                        ));
                    }
                }
            }
            break exchange;
        };
        let transport::Exchange {
            status,
            headers,
            mut body,
            truncated,
            total,
        } = exchange;
        let essence = headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        // The API may echo what it was sent (headers, URLs): no secret goes back to the client.
        self.credentials.redact(&mut body, truncated);

        let reply = Reply {
            status,
            essence,
            body,
            truncated,
            total,
            cap: if status.is_success() {
                self.max_response_bytes
            } else {
                MAX_ERROR_EXCERPT_BYTES
            },
            base_url: self.shown_url.clone(),
            path: std::mem::take(&mut req.path),
        };
        if status.is_success() {
            success_result(reply, output)
        } else {
            let mut message = format!(
                "Upstream API returned HTTP {} for {} {}",
                status_line(status),
                req.method,
                reply.path
            );
            if !reply.body.is_empty() {
                message.push_str(":\n");
                message.push_str(&utf8_prefix(&reply.body));
                if reply.truncated {
                    message.push_str("\n[error body truncated]");
                }
            }
            tool_error(message)
        }
    }

    /// The path and query `req` goes to on the upstream's origin: the base path, the request's
    /// path and its query with the call's API keys; or where a redirect sent it.
    fn target(&self, req: &Request, redirected: Option<&str>, applied: &Applied) -> String {
        if let Some(target) = redirected {
            return target.to_owned();
        }
        let base = self.transport.base_path();
        let mut target = String::with_capacity(base.len() + req.path.len() + 64);
        target.push_str(base);
        target.push_str(&req.path);
        let query = req
            .query
            .iter()
            .filter(|(name, _)| !applied.query.iter().any(|(n, _)| n == name))
            .chain(applied.query.iter());
        for (i, (name, value)) in query.enumerate() {
            target.push(if i == 0 { '?' } else { '&' });
            target.push_str(name);
            target.push('=');
            target.push_str(value);
        }
        target
    }

    /// The HTTP request for `req` with the call's credentials: an API key replaces an argument
    /// of the same name and place; the server's `Authorization` takes precedence over a
    /// forwarded caller's (which is sent for the bearer-token schemes it stands in for), and
    /// either over a user name and password in the base URL. `redirected` replaces the target.
    fn outgoing(
        &self,
        req: &Request,
        method: &reqwest::Method,
        redirected: Option<&str>,
        applied: &Applied,
        body: Option<&(String, Bytes)>,
    ) -> Result<Outgoing, String> {
        let path_and_query = self.target(req, redirected, applied);

        let mut headers = HeaderMap::with_capacity(8);
        let authorization = applied
            .authorization
            .as_ref()
            .or(self.authorization.as_ref())
            .or(self.transport.basic_authorization());
        for (name, value) in &req.headers {
            if (authorization.is_some() && name.eq_ignore_ascii_case("authorization"))
                || applied
                    .headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(name))
            {
                continue;
            }
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid HTTP header name"))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| format!("the value of header `{name}` cannot be sent in HTTP"))?;
            headers.append(header, value);
        }
        for (name, value) in &applied.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("`{name}` is not a valid HTTP header name"))?;
            headers.append(header, value.clone());
        }
        if let Some(authorization) = authorization {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        if !headers.contains_key(ACCEPT) {
            headers.insert(
                ACCEPT,
                HeaderValue::from_static("application/json, */*;q=0.5"),
            );
        }
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, self.transport.user_agent().clone());
        }
        let mut cookies = String::new();
        let pairs = req
            .cookies
            .iter()
            .filter(|(name, _)| !applied.cookies.iter().any(|(n, _)| n == name))
            .chain(applied.cookies.iter());
        for (name, value) in pairs {
            if !cookies.is_empty() {
                cookies.push_str("; ");
            }
            cookies.push_str(name);
            cookies.push('=');
            cookies.push_str(value);
        }
        if !cookies.is_empty() {
            let mut value = HeaderValue::try_from(cookies)
                .map_err(|_| "a cookie value cannot be sent in HTTP".to_owned())?;
            value.set_sensitive(!applied.cookies.is_empty());
            headers.insert(COOKIE, value);
        }
        let body = match body {
            Some((content_type, bytes)) => {
                let value = HeaderValue::from_str(content_type).map_err(|_| {
                    format!("the media type `{content_type}` cannot be sent in HTTP")
                })?;
                headers.insert(CONTENT_TYPE, value);
                Some(bytes.clone())
            }
            None => None,
        };
        Ok(Outgoing {
            method: method.clone(),
            path_and_query,
            headers,
            body,
        })
    }

    fn describe_failure(&self, label: &str, failure: Failure) -> String {
        match failure {
            Failure::Connect(chain) => format!(
                "Cannot connect to the upstream API at {}: {chain}",
                self.shown_url
            ),
            Failure::Other(chain) => format!("Upstream request {label} failed: {chain}"),
        }
    }
}

/// An error and its sources, `: `-separated.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// A received upstream response, its body read up to the cap.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    /// The media type without parameters, in lower case; empty when the upstream sent none.
    essence: String,
    body: Vec<u8>,
    /// More bytes followed than the cap let through (they were not read).
    truncated: bool,
    /// The whole body's size, when the upstream said (`Content-Length`).
    total: Option<u64>,
    cap: usize,
    /// With `path`, names a binary body in an embedded resource: the request URL without its
    /// query (and without credentials).
    base_url: Arc<str>,
    path: String,
}

/// How a response body is shown to the client.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Json,
    Text,
    Image,
    Audio,
    Binary,
}

impl Reply {
    fn kind(&self) -> Kind {
        let essence = self.essence.as_str();
        if essence == "application/json" || essence == "text/json" || essence.ends_with("+json") {
            return Kind::Json;
        }
        if essence.starts_with("text/")
            || essence.ends_with("+xml")
            || essence.ends_with("+yaml")
            || matches!(
                essence,
                "application/xml"
                    | "application/javascript"
                    | "application/ecmascript"
                    | "application/x-www-form-urlencoded"
                    | "application/yaml"
                    | "application/x-yaml"
                    | "application/toml"
                    | "application/x-ndjson"
                    | "application/graphql"
                    | "application/sql"
            )
        {
            return Kind::Text;
        }
        if essence.starts_with("image/") {
            return Kind::Image;
        }
        if essence.starts_with("audio/") {
            return Kind::Audio;
        }
        if !essence.is_empty() {
            return Kind::Binary;
        }
        // No media type: look at the bytes.
        match std::str::from_utf8(&self.body) {
            Err(e) if e.error_len().is_some() => Kind::Binary,
            _ => match self.body.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{' | b'[') => Kind::Json,
                _ => Kind::Text,
            },
        }
    }

    /// The media type for a client: the upstream's, or `application/octet-stream`.
    fn media_type(&self) -> &str {
        if self.essence.is_empty() {
            "application/octet-stream"
        } else {
            &self.essence
        }
    }

    /// The body as text, with a note when it was cut at the cap.
    fn text(&self) -> String {
        let mut text = utf8_prefix(&self.body);
        if self.truncated {
            let shown = text.len();
            text.push_str("\n\n");
            text.push_str(&match self.total {
                Some(total) => format!(
                    "[Truncated: the upstream response has {total} bytes; only the first {shown} are shown (the server's response size cap is {} bytes).]",
                    self.cap
                ),
                None => format!(
                    "[Truncated: the upstream response is longer than the server's response size cap of {} bytes; only the first {shown} bytes are shown.]",
                    self.cap
                ),
            });
        }
        text
    }

    /// One sentence on the body's size and type, for bodies that are not shown.
    fn describe(&self) -> String {
        let size = match (self.truncated, self.total) {
            (false, _) => format!("{} bytes", self.body.len()),
            (true, Some(total)) => format!("{total} bytes"),
            (true, None) => format!("more than {} bytes", self.cap),
        };
        format!(
            "The upstream API answered HTTP {} with {size} of {}",
            status_line(self.status),
            self.media_type()
        )
    }

    /// A result for a response this tool's output schema cannot describe.
    fn mismatch(&self, why: &str, shown: Option<String>) -> CallToolResult {
        let mut message = format!(
            "{}, but {why}; this tool's output schema expects JSON, so the response is returned as an error.",
            self.describe()
        );
        if let Some(shown) = shown {
            message.push('\n');
            message.push_str(&shown);
        }
        tool_error(message)
    }
}

/// `404 Not Found`, or just the code when it has no standard reason.
fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// Maps a 2xx response to a tool result: JSON → `structuredContent` (as `output` says) plus the
/// JSON as text; text → text; `image/*` → image; `audio/*` → audio; other bytes → an embedded
/// resource (base64 with its media type). A body cut at the cap is shown as text with a note, or
/// only described when it is binary.
fn success_result(reply: Reply, output: Output) -> CallToolResult {
    let schema = output != Output::None;
    if reply.body.is_empty() && !reply.truncated {
        let text = format!(
            "The upstream API answered HTTP {} with no content.",
            status_line(reply.status)
        );
        return if schema {
            tool_error(format!(
                "{text} This tool's output schema expects JSON, so the response is returned as an error."
            ))
        } else {
            CallToolResult::success(vec![ContentBlock::text(text)])
        };
    }
    let kind = reply.kind();
    if kind == Kind::Json && !reply.truncated {
        match serde_json::from_slice::<Value>(&reply.body) {
            Ok(value) => return json_result(&reply, value, output),
            Err(e) if schema => {
                return reply.mismatch(&format!("it is not valid JSON ({e})"), Some(reply.text()));
            }
            Err(_) => {}
        }
    }
    match kind {
        Kind::Json | Kind::Text => {
            if schema {
                let why = if kind == Kind::Json {
                    "it is cut at the server's response size cap"
                } else {
                    "it is not JSON"
                };
                reply.mismatch(why, Some(reply.text()))
            } else {
                CallToolResult::success(vec![ContentBlock::text(reply.text())])
            }
        }
        _ if reply.truncated => {
            let text = format!(
                "{}, more than the server's response size cap of {} bytes: it is not shown.",
                reply.describe(),
                reply.cap
            );
            if schema {
                tool_error(text)
            } else {
                CallToolResult::success(vec![ContentBlock::text(text)])
            }
        }
        _ if schema => reply.mismatch("it is not JSON", None),
        Kind::Image => CallToolResult::success(vec![ContentBlock::image(
            STANDARD.encode(&reply.body),
            reply.media_type(),
        )]),
        Kind::Audio => CallToolResult::success(vec![ContentBlock::audio(
            STANDARD.encode(&reply.body),
            reply.media_type(),
        )]),
        Kind::Binary => CallToolResult::success(vec![
            ContentBlock::text(format!(
                "{}, embedded as a resource (base64).",
                reply.describe()
            )),
            ContentBlock::resource(
                ResourceContents::blob(
                    STANDARD.encode(&reply.body),
                    format!("{}{}", reply.base_url, reply.path),
                )
                .with_mime_type(reply.media_type()),
            ),
        ]),
    }
}

/// A parsed JSON response as `structuredContent` that matches the tool's output schema.
fn json_result(reply: &Reply, value: Value, output: Output) -> CallToolResult {
    match (output, value) {
        (Output::None | Output::Object, Value::Object(map)) => {
            structured(Value::Object(map), reply.body.len())
        }
        (Output::Object, other) => {
            reply.mismatch("it is not a JSON object", Some(other.to_string()))
        }
        (Output::None | Output::Wrapped, other) => {
            let mut wrapped = Map::new();
            wrapped.insert("result".to_owned(), other);
            structured(Value::Object(wrapped), reply.body.len() + 16)
        }
    }
}

/// `value` as `structuredContent` and, serialised, as text: what
/// [`CallToolResult::structured`] returns, written straight into a buffer of about the right
/// size rather than through `Display`.
fn structured(value: Value, size_hint: usize) -> CallToolResult {
    let mut text = Vec::with_capacity(size_hint);
    let text = match serde_json::to_writer(&mut text, &value) {
        Ok(()) => String::from_utf8(text).unwrap_or_else(|_| value.to_string()),
        Err(_) => value.to_string(),
    };
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(value);
    result
}

/// The longest UTF-8 text at the start of `bytes`: a character cut at the end is dropped, invalid
/// bytes elsewhere become U+FFFD.
fn utf8_prefix(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

/// One part of a `multipart/form-data` body.
#[derive(Debug, PartialEq, Eq)]
pub struct Part {
    name: String,
    /// Set for file parts.
    filename: Option<String>,
    /// `None` for plain text fields (RFC 7578's default, `text/plain`).
    content_type: Option<String>,
    bytes: Vec<u8>,
}

/// The parts of a multipart body: one per property, one per item for arrays; objects are sent
/// as JSON parts. Properties named in `files` hold files given as base64 or `data:` URIs: they
/// are decoded and sent as file parts with the URI's media type (else
/// `application/octet-stream`).
fn multipart_parts(map: Map<String, Value>, files: &[String]) -> Result<Vec<Part>, String> {
    let mut parts = Vec::with_capacity(map.len());
    for (name, value) in map {
        let items = match value {
            Value::Null => continue,
            Value::Array(items) => items,
            other => vec![other],
        };
        let is_file = files.contains(&name);
        for item in items {
            let part = if is_file {
                let Value::String(text) = &item else {
                    return Err(format!(
                        "Invalid argument `{name}`: expected a file as base64 or a data: URI"
                    ));
                };
                let (bytes, media_type) =
                    decode_binary(text).map_err(|e| format!("Invalid argument `{name}`: {e}"))?;
                Part {
                    filename: Some(name.clone()),
                    content_type: Some(
                        media_type.unwrap_or_else(|| "application/octet-stream".to_owned()),
                    ),
                    bytes,
                    name: name.clone(),
                }
            } else {
                match &item {
                    Value::Null => continue,
                    Value::Object(_) | Value::Array(_) => Part {
                        name: name.clone(),
                        filename: None,
                        content_type: Some("application/json".to_owned()),
                        bytes: item.to_string().into_bytes(),
                    },
                    other => Part {
                        name: name.clone(),
                        filename: None,
                        content_type: None,
                        bytes: scalar_text(other).unwrap_or_default().into_bytes(),
                    },
                }
            };
            parts.push(part);
        }
    }
    Ok(parts)
}

/// Encodes multipart parts under a boundary that occurs in none of them.
fn multipart(parts: &[Part]) -> (String, Vec<u8>) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let boundary = boundary(parts, seed);
    let quote = |s: &str| s.replace('"', "%22").replace(['\r', '\n'], " ");
    let size: usize = parts.iter().map(|p| p.bytes.len() + 160).sum();
    let mut out = Vec::with_capacity(size + 64);
    for part in parts {
        out.extend_from_slice(
            format!(
                "--{boundary}\r\ncontent-disposition: form-data; name=\"{}\"",
                quote(&part.name)
            )
            .as_bytes(),
        );
        if let Some(filename) = &part.filename {
            out.extend_from_slice(format!("; filename=\"{}\"", quote(filename)).as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        if let Some(content_type) = &part.content_type {
            out.extend_from_slice(format!("content-type: {content_type}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&part.bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), out)
}

/// A multipart boundary, derived from `seed`, that occurs in none of the parts.
fn boundary(parts: &[Part], seed: u64) -> String {
    let mut attempt = seed;
    loop {
        let boundary = format!(
            "mcp-boundary-{:016x}",
            attempt.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        );
        let needle = boundary.as_bytes();
        if !parts
            .iter()
            .any(|p| p.bytes.windows(needle.len()).any(|w| w == needle))
        {
            return boundary;
        }
        attempt = attempt.wrapping_add(1);
    }
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
    /// The operation's security requirement: alternatives (any one suffices) of security
    /// scheme names (all sent together); empty: no credentials.
    pub security: &'static [&'static [&'static str]],
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
    Multipart(Vec<Part>),
    Raw { bytes: Vec<u8>, media_type: String },
}

/// An object body assembled from separate arguments; absent optional ones are left out.
#[derive(Debug, Default)]
pub struct Object {
    map: Map<String, Value>,
    /// Properties that hold files (base64 or `data:` URIs), sent as file parts in a multipart
    /// body and as given in any other.
    files: Vec<String>,
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
                self.error
                    .get_or_insert(format!("Invalid body property `{name}`: {e}"));
            }
        }
        self
    }

    /// Adds property `name` unless the outer value is `None`: an explicit `null` (`Some(None)`,
    /// `Some(Value::Null)`) is sent as `null`.
    pub fn field_opt<T: Serialize>(mut self, name: &str, value: &Option<T>) -> Self {
        if let Some(inner) = value {
            match to_value(inner) {
                Ok(v) => {
                    self.map.insert(name.to_owned(), v);
                }
                Err(e) => {
                    self.error
                        .get_or_insert(format!("Invalid body property `{name}`: {e}"));
                }
            }
        }
        self
    }

    /// Adds property `name`, a file (or an array of files) given as base64 or a `data:` URI,
    /// unless the value is `None`.
    pub fn file(mut self, name: &str, value: &impl Serialize) -> Self {
        self.files.push(name.to_owned());
        self.field(name, value)
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
            security: &[],
            error: None,
        }
    }

    /// Sets the operation's security requirement: alternatives of security scheme names.
    pub fn security(self, alternatives: &'static [&'static [&'static str]]) -> Self {
        Self {
            security: alternatives,
            ..self
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
    pub fn path_param(
        self,
        name: &str,
        value: &impl Serialize,
        style: Style,
        explode: bool,
    ) -> Self {
        let value = match to_value(value) {
            Ok(value) => value,
            Err(e) => return self.fail(format!("Invalid path parameter `{name}`: {e}")),
        };
        let enc = |s: &str| utf8_percent_encode(s, COMPONENT).to_string();
        let text = match (style, &value) {
            // The common case, without the general machinery.
            (Style::Simple, Value::String(text)) => Some(enc(text)),
            (Style::Label, _) => {
                let sep = if explode { "." } else { "," };
                pieces(&value, explode, &enc).map(|p| format!(".{}", p.join(sep)))
            }
            (Style::Matrix, _) => pieces(&value, explode, &enc).map(|p| match (&value, explode) {
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
    pub fn query(
        mut self,
        name: &str,
        value: &impl Serialize,
        style: Style,
        explode: bool,
    ) -> Self {
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
                                self.query
                                    .push((format!("{n}%5B{}%5D", enc(key)), enc(&element)));
                            }
                        }
                        other => {
                            if let Some(text) = scalar_text(other) {
                                self.query
                                    .push((format!("{n}%5B{}%5D", enc(key)), enc(&text)));
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
    pub fn header(
        mut self,
        name: &str,
        value: &impl Serialize,
        _style: Style,
        explode: bool,
    ) -> Self {
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
    pub fn cookie(
        mut self,
        name: &str,
        value: &impl Serialize,
        _style: Style,
        _explode: bool,
    ) -> Self {
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
            (BodyKind::Multipart, Value::Object(map)) => match multipart_parts(map, &[]) {
                Ok(parts) => Body::Multipart(parts),
                Err(e) => return self.fail(e),
            },
            (BodyKind::Form | BodyKind::Multipart, _) => {
                return self.fail("Invalid argument `body`: it must be an object".to_owned());
            }
            (BodyKind::Text, v) => Body::Raw {
                bytes: scalar_text(&v).unwrap_or_default().into_bytes(),
                media_type: media_type.to_owned(),
            },
            (BodyKind::Binary, Value::String(s)) => match decode_binary(&s) {
                Ok((bytes, given)) => Body::Raw {
                    bytes,
                    // A wildcard (`image/*`) is no media type to send: take the data URI's.
                    media_type: if media_type.contains('*') {
                        given.unwrap_or_else(|| "application/octet-stream".to_owned())
                    } else {
                        media_type.to_owned()
                    },
                },
                Err(e) => return self.fail(format!("Invalid argument `body`: {e}")),
            },
            (BodyKind::Binary, _) => {
                return self
                    .fail("Invalid argument `body`: expected base64 or a data: URI".to_owned());
            }
        };
        Self { body, ..self }
    }

    /// Sets an object body assembled from separate arguments. An optional body with no
    /// properties given is left out.
    pub fn body_object(
        self,
        object: Object,
        kind: BodyKind,
        media_type: &str,
        required: bool,
    ) -> Self {
        if let Some(e) = object.error {
            return self.fail(e);
        }
        if object.map.is_empty() && !required {
            return self;
        }
        if kind == BodyKind::Multipart {
            return match multipart_parts(object.map, &object.files) {
                Ok(parts) => Self {
                    body: Body::Multipart(parts),
                    ..self
                },
                Err(e) => self.fail(e),
            };
        }
        self.body(&Value::Object(object.map), kind, media_type)
    }
}

/// Decodes a file given as base64 (standard or URL-safe alphabet, padding optional, whitespace
/// ignored) or as a `data:` URI; also returns the URI's media type, when it has one.
fn decode_binary(s: &str) -> Result<(Vec<u8>, Option<String>), String> {
    let Some(rest) = s.trim_start().strip_prefix("data:") else {
        return decode_base64(s).map(|bytes| (bytes, None));
    };
    let Some((meta, data)) = rest.split_once(',') else {
        return Err("a data: URI needs a `,` before its content".to_owned());
    };
    let mut params = meta.split(';');
    let media_type = params
        .next()
        .map(str::trim)
        .filter(|m| m.contains('/'))
        .map(str::to_ascii_lowercase);
    let bytes = if params.any(|p| p.trim().eq_ignore_ascii_case("base64")) {
        decode_base64(data)?
    } else {
        percent_encoding::percent_decode_str(data).collect()
    };
    Ok((bytes, media_type))
}

fn decode_base64(s: &str) -> Result<Vec<u8>, String> {
    let cleaned: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    BASE64_STANDARD
        .decode(&cleaned)
        .or_else(|e| BASE64_URL_SAFE.decode(&cleaned).map_err(|_| e))
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

/// The encoded body and its content type (`None`: no body). Encoded once, so a retried request
/// sends the same bytes.
fn encode_body(body: Body) -> Result<Option<(String, Bytes)>, String> {
    Ok(Some(match body {
        Body::None => return Ok(None),
        Body::Json(value) => match serde_json::to_vec(&value) {
            Ok(bytes) => ("application/json".to_owned(), Bytes::from(bytes)),
            Err(e) => return Err(format!("Cannot encode the request body: {e}")),
        },
        Body::Form(pairs) => (
            "application/x-www-form-urlencoded".to_owned(),
            Bytes::from(encode_pairs(&pairs)),
        ),
        Body::Multipart(parts) => {
            let (content_type, bytes) = multipart(&parts);
            (content_type, Bytes::from(bytes))
        }
        Body::Raw { bytes, media_type } => (media_type, Bytes::from(bytes)),
    }))
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

/// `deserialize_with` for optional nullable fields: a present value, `null` included, is `Some`,
/// so an explicit `null` is kept apart from an absent field (serde alone maps both to `None`).
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
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
            let req =
                Request::new(GET, "/pets/{petId}").path_param("petId", &bad, Style::Simple, false);
            assert!(req.error.is_some(), "{bad:?} accepted");
        }
        let ids = [1, 2, 3];
        let path = |style, explode| {
            Request::new(GET, "/p/{ids}")
                .path_param("ids", &ids, style, explode)
                .path
        };
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
        let req = Request::new(reqwest::Method::POST, "/pets").body_object(
            obj,
            BodyKind::Json,
            "application/json",
            true,
        );
        match &req.body {
            Body::Json(v) => assert_eq!(v, &serde_json::json!({"name": "rex"})),
            other => panic!("unexpected body {other:?}"),
        }
        let req = Request::new(reqwest::Method::POST, "/pets").body_object(
            Object::new(),
            BodyKind::Json,
            "application/json",
            false,
        );
        assert!(matches!(req.body, Body::None));

        let req = Request::new(reqwest::Method::PUT, "/f").body(
            &"aGVsbG8=",
            BodyKind::Binary,
            "application/octet-stream",
        );
        assert!(matches!(&req.body, Body::Raw { bytes, .. } if bytes == b"hello"));
        let req = Request::new(reqwest::Method::PUT, "/f").body(
            &"data:text/plain;base64,aGVsbG8",
            BodyKind::Binary,
            "image/png",
        );
        assert!(
            matches!(&req.body, Body::Raw { bytes, media_type } if bytes == b"hello" && media_type == "image/png")
        );
        let req = Request::new(reqwest::Method::PUT, "/f").body(
            &"data:image/gif;base64,aGVsbG8",
            BodyKind::Binary,
            "image/*",
        );
        assert!(matches!(&req.body, Body::Raw { media_type, .. } if media_type == "image/gif"));
        let req = Request::new(reqwest::Method::PUT, "/f").body(
            &"not base64!",
            BodyKind::Binary,
            "image/png",
        );
        assert!(
            req.error
                .unwrap()
                .starts_with("Invalid argument `body`: expected base64")
        );
    }

    #[test]
    fn files_decode_from_base64_and_data_uris() {
        let decode = |s: &str| decode_binary(s).unwrap();
        assert_eq!(decode("aGVsbG8="), (b"hello".to_vec(), None));
        assert_eq!(decode("aGVsbG8"), (b"hello".to_vec(), None));
        assert_eq!(decode(" aGVs\nbG8= "), (b"hello".to_vec(), None));
        assert_eq!(decode("_-8"), (vec![0xff, 0xef], None));
        assert_eq!(decode("+/8="), (vec![0xfb, 0xff], None));
        assert_eq!(
            decode("data:Image/PNG;name=a.png;base64,aGVsbG8="),
            (b"hello".to_vec(), Some("image/png".to_owned()))
        );
        assert_eq!(decode("data:,a%20b"), (b"a b".to_vec(), None));
        assert!(decode_binary("data:image/png;base64").is_err());
        assert!(decode_binary("a$b").is_err());
    }

    #[test]
    fn multipart_bodies_carry_files() {
        let obj = Object::new()
            .field("description", &"a \"quoted\" name")
            .file("file", &"data:image/png;base64,iVBORw0K")
            .file("more", &Some(vec!["aGVsbG8=", "d29ybGQ="]))
            .field("labels", &["x", "y"])
            .field("meta", &serde_json::json!({"k": 1}))
            .file("none", &None::<String>);
        let req = Request::new(reqwest::Method::POST, "/upload").body_object(
            obj,
            BodyKind::Multipart,
            "multipart/form-data",
            true,
        );
        let Body::Multipart(parts) = &req.body else {
            panic!("unexpected body {:?}", req.body);
        };
        type Summary<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);
        let summary: Vec<Summary> = parts
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.filename.as_deref(),
                    p.content_type.as_deref(),
                    p.bytes.as_slice(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("description", None, None, &b"a \"quoted\" name"[..]),
                ("file", Some("file"), Some("image/png"), &b"\x89PNG\r\n"[..]),
                ("labels", None, None, b"x"),
                ("labels", None, None, b"y"),
                ("meta", None, Some("application/json"), br#"{"k":1}"#),
                (
                    "more",
                    Some("more"),
                    Some("application/octet-stream"),
                    b"hello"
                ),
                (
                    "more",
                    Some("more"),
                    Some("application/octet-stream"),
                    b"world"
                ),
            ]
        );
        let (content_type, bytes) = multipart(parts);
        let mark = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with(&format!("--{mark}\r\ncontent-disposition: form-data; name=\"description\"\r\n\r\na \"quoted\" name\r\n")), "{text}");
        assert!(text.contains("content-disposition: form-data; name=\"file\"; filename=\"file\"\r\ncontent-type: image/png\r\n\r\n"));
        assert!(text.ends_with(&format!("\r\n--{mark}--\r\n")));

        // The boundary never occurs in a part.
        let first = boundary(&[], 7);
        let part = Part {
            name: "a".into(),
            filename: None,
            content_type: None,
            bytes: format!("x{first}y").into_bytes(),
        };
        let second = boundary(std::slice::from_ref(&part), 7);
        assert_ne!(first, second);
        assert_eq!(second, boundary(&[], 8));

        let bad = Object::new().file("file", &"%%%");
        let req = Request::new(reqwest::Method::POST, "/upload").body_object(
            bad,
            BodyKind::Multipart,
            "multipart/form-data",
            true,
        );
        assert!(
            req.error
                .unwrap()
                .starts_with("Invalid argument `file`: expected base64 or a data: URI")
        );
        let bad = Object::new().file("file", &7);
        let req = Request::new(reqwest::Method::POST, "/upload").body_object(
            bad,
            BodyKind::Multipart,
            "multipart/form-data",
            true,
        );
        assert!(req.error.unwrap().starts_with("Invalid argument `file`"));
        // Outside multipart a file stays the string it was given.
        let obj = Object::new().file("file", &"aGVsbG8=");
        let req = Request::new(reqwest::Method::POST, "/j").body_object(
            obj,
            BodyKind::Json,
            "application/json",
            true,
        );
        assert!(
            matches!(&req.body, Body::Json(v) if v == &serde_json::json!({"file": "aGVsbG8="}))
        );
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

    fn reply(status: u16, mime: &str, body: &[u8]) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            essence: mime.split(';').next().unwrap().trim().to_ascii_lowercase(),
            body: body.to_vec(),
            truncated: false,
            total: Some(body.len() as u64),
            cap: DEFAULT_MAX_RESPONSE_BYTES,
            base_url: "http://api.test".into(),
            path: "/files/x".to_owned(),
        }
    }

    fn cut(mut r: Reply, cap: usize, total: Option<u64>) -> Reply {
        r.body.truncate(cap);
        r.cap = cap;
        r.truncated = true;
        r.total = total;
        r
    }

    #[test]
    fn structured_results_are_what_rmcp_builds() {
        for value in [
            serde_json::json!({"a": [1, "x\"y", null], "b": {"c": 1.5, "d": "é\n"}}),
            serde_json::json!({}),
        ] {
            for hint in [0, 4, 1000] {
                let ours = serde_json::to_string(&structured(value.clone(), hint)).unwrap();
                let rmcp =
                    serde_json::to_string(&CallToolResult::structured(value.clone())).unwrap();
                assert_eq!(ours, rmcp);
            }
        }
    }

    #[test]
    fn upstream_urls_shown_without_credentials() {
        let up = Upstream::new("https://user:secret@api.test/v1/", Duration::from_secs(1)).unwrap();
        assert_eq!(up.base_url(), "https://user:secret@api.test/v1");
        assert_eq!(&*up.shown_url, "https://api.test/v1");
        assert_eq!(up.max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES);
        assert_eq!(up.with_max_response_bytes(10).max_response_bytes, 10);
        for bad in ["ftp://x", "http://x/?a=1", "http://x/#f", "not a url"] {
            assert!(Upstream::new(bad, Duration::from_secs(1)).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_responses_match_the_output_schema() {
        let json =
            |body: &[u8], output| success_result(reply(200, "application/json", body), output);
        let r = json(b"[1,2]", Output::Wrapped);
        assert_eq!(
            r.structured_content,
            Some(serde_json::json!({"result": [1, 2]}))
        );
        assert_eq!(r.is_error, Some(false));
        let r = json(br#"{"a":1}"#, Output::Wrapped);
        assert_eq!(
            r.structured_content,
            Some(serde_json::json!({"result": {"a": 1}}))
        );
        let r = json(br#"{"a":1}"#, Output::Object);
        assert_eq!(r.structured_content, Some(serde_json::json!({"a": 1})));
        assert_eq!(text_of(&r), r#"{"a":1}"#);
        let r = json(br#"{"a":1}"#, Output::None);
        assert_eq!(r.structured_content, Some(serde_json::json!({"a": 1})));
        let r = json(b"3", Output::None);
        assert_eq!(r.structured_content, Some(serde_json::json!({"result": 3})));
        let r = success_result(
            reply(200, "application/problem+json; charset=utf-8", b"null"),
            Output::Wrapped,
        );
        assert_eq!(
            r.structured_content,
            Some(serde_json::json!({"result": null}))
        );

        // Responses that cannot match a schema are errors that still show what came.
        let r = json(b"[1]", Output::Object);
        assert_eq!(
            (r.is_error, r.structured_content.is_none()),
            (Some(true), true)
        );
        assert!(text_of(&r).contains("it is not a JSON object") && text_of(&r).ends_with("\n[1]"));
        let r = json(b"{oops", Output::Object);
        assert_eq!(r.is_error, Some(true));
        assert!(text_of(&r).contains("not valid JSON") && text_of(&r).ends_with("{oops"));
        let r = json(b"{oops", Output::None);
        assert_eq!((r.is_error, text_of(&r)), (Some(false), "{oops".to_owned()));
        let r = success_result(reply(200, "text/html", b"<p>hi</p>"), Output::Wrapped);
        assert_eq!(r.is_error, Some(true));
        assert!(text_of(&r).starts_with(
            "The upstream API answered HTTP 200 OK with 9 bytes of text/html, but it is not JSON"
        ));
        let r = success_result(reply(204, "", b""), Output::Object);
        assert_eq!(r.is_error, Some(true));
        assert!(
            text_of(&r)
                .starts_with("The upstream API answered HTTP 204 No Content with no content.")
        );
        let r = success_result(reply(200, "image/png", b"\x89PNG"), Output::Object);
        assert_eq!(r.is_error, Some(true));
        // Without a content type, JSON-looking UTF-8 is JSON.
        let r = success_result(reply(200, "", b" {\"a\":1}"), Output::Object);
        assert_eq!(r.structured_content, Some(serde_json::json!({"a": 1})));
    }

    #[test]
    fn other_responses_map_to_content() {
        let r = success_result(reply(204, "", b""), Output::None);
        assert_eq!(
            (r.is_error, text_of(&r)),
            (
                Some(false),
                "The upstream API answered HTTP 204 No Content with no content.".to_owned()
            )
        );
        let r = success_result(reply(200, "text/plain; charset=utf-8", b"hi"), Output::None);
        assert_eq!(text_of(&r), "hi");
        assert_eq!(r.structured_content, None);
        let r = success_result(reply(200, "image/svg+xml", b"<svg/>"), Output::None);
        assert_eq!(text_of(&r), "<svg/>");
        let r = success_result(reply(200, "", b"plain words"), Output::None);
        assert_eq!(text_of(&r), "plain words");

        let r = success_result(reply(200, "image/png", b"\x89PNG"), Output::None);
        let image = r.content[0].as_image().expect("image content");
        assert_eq!(
            (image.data.as_str(), image.mime_type.as_str()),
            ("iVBORw==", "image/png")
        );
        let r = success_result(reply(200, "audio/wav", b"RIFF"), Output::None);
        assert!(
            matches!(&r.content[0], ContentBlock::Audio(a) if a.data == "UklGRg==" && a.mime_type == "audio/wav")
        );

        for (mime, shown) in [
            ("application/pdf", "application/pdf"),
            ("", "application/octet-stream"),
        ] {
            let r = success_result(reply(200, mime, b"\x00\xff\x01"), Output::None);
            assert_eq!(r.is_error, Some(false));
            assert_eq!(
                text_of(&r),
                format!(
                    "The upstream API answered HTTP 200 OK with 3 bytes of {shown}, embedded as a resource (base64)."
                )
            );
            let value = serde_json::to_value(&r.content[1]).unwrap();
            assert_eq!(
                value,
                serde_json::json!({"type": "resource", "resource": {"uri": "http://api.test/files/x", "mimeType": shown, "blob": "AP8B"}})
            );
        }
    }

    #[test]
    fn oversized_responses_are_cut_with_a_note() {
        let r = success_result(
            cut(reply(200, "text/plain", "añb".as_bytes()), 2, Some(4)),
            Output::None,
        );
        assert_eq!(r.is_error, Some(false));
        assert_eq!(
            text_of(&r),
            "a\n\n[Truncated: the upstream response has 4 bytes; only the first 1 are shown (the server's response size cap is 2 bytes).]"
        );
        let r = success_result(
            cut(reply(200, "text/plain", b"abcdef"), 4, None),
            Output::None,
        );
        assert!(text_of(&r).starts_with("abcd\n\n[Truncated: the upstream response is longer than the server's response size cap of 4 bytes"));
        // Cut JSON is text without a schema, an error (with the text) with one.
        let r = success_result(
            cut(reply(200, "application/json", b"[1,2,3]"), 4, Some(7)),
            Output::None,
        );
        assert_eq!(
            (r.is_error, r.structured_content.is_none()),
            (Some(false), true)
        );
        assert!(text_of(&r).starts_with("[1,2\n\n[Truncated"));
        let r = success_result(
            cut(reply(200, "application/json", b"[1,2,3]"), 4, Some(7)),
            Output::Wrapped,
        );
        assert_eq!(r.is_error, Some(true));
        assert!(
            text_of(&r).contains("cut at the server's response size cap")
                && text_of(&r).contains("[1,2\n\n[Truncated")
        );
        // Cut binary is described, not shown.
        let r = success_result(
            cut(reply(200, "image/png", &[0; 10]), 4, Some(10)),
            Output::None,
        );
        assert_eq!(r.content.len(), 1);
        assert_eq!(
            text_of(&r),
            "The upstream API answered HTTP 200 OK with 10 bytes of image/png, more than the server's response size cap of 4 bytes: it is not shown."
        );
        assert_eq!(utf8_prefix("añ".as_bytes()), "añ");
        assert_eq!(utf8_prefix(&"añ".as_bytes()[..2]), "a");
        assert_eq!(utf8_prefix(b"a\xffb"), "a\u{fffd}b");
    }

    #[derive(serde::Deserialize)]
    struct Nullable {
        #[serde(default, deserialize_with = "present")]
        price: Option<Option<f64>>,
        #[serde(default, deserialize_with = "present")]
        any: Option<Value>,
    }

    #[test]
    fn explicit_nulls_are_kept_apart_from_absence() {
        let given: Nullable =
            serde_json::from_value(serde_json::json!({"price": null, "any": null})).unwrap();
        let absent: Nullable = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!((given.price, &given.any), (Some(None), &Some(Value::Null)));
        assert_eq!((absent.price, &absent.any), (None, &None));
        let obj = Object::new()
            .field_opt("price", &given.price)
            .field_opt("any", &absent.any);
        assert_eq!(Value::Object(obj.map), serde_json::json!({"price": null}));
    }
}
