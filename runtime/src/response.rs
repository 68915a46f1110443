//! Upstream responses as tool results: JSON as `structuredContent` (as the tool's output schema
//! promises), text, images, audio, other bytes as embedded resources; oversized bodies cut with a
//! note; errors that say what the upstream API sent.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::StatusCode;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::{Map, Value};

/// What a tool's `outputSchema` promises; it decides how a successful response is returned. A
/// tool with an `outputSchema` must answer with `structuredContent` that matches it (clients such
/// as the official Python SDK reject anything else), so a response that cannot match (not JSON,
/// empty, cut at the size cap, JSON of another shape) is returned as a tool error that says why
/// and still shows what the upstream API sent.
#[allow(
    dead_code,
    reason = "named by the generated tools.rs: an API uses some"
)]
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

/// A received upstream response, its body read up to the cap.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    /// The media type without parameters, in lower case; empty when the upstream sent none.
    pub(crate) essence: String,
    pub(crate) body: Vec<u8>,
    /// More bytes followed than the cap let through (they were not read).
    pub(crate) truncated: bool,
    /// The whole body's size, when the upstream said (`Content-Length`).
    pub(crate) total: Option<u64>,
    pub(crate) cap: usize,
    /// With `path`, names a binary body in an embedded resource: the request URL without its
    /// query (and without credentials).
    pub(crate) base_url: Arc<str>,
    pub(crate) path: String,
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
pub(crate) fn status_line(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// Maps a 2xx response to a tool result: JSON → `structuredContent` (as `output` says) plus the
/// JSON as text; text → text; `image/*` → image; `audio/*` → audio; other bytes → an embedded
/// resource (base64 with its media type). A body cut at the cap is shown as text with a note, or
/// only described when it is binary.
pub(crate) fn success_result(reply: Reply, output: Output) -> CallToolResult {
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
pub(crate) fn utf8_prefix(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(e) if e.error_len().is_none() => {
            String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned()
        }
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

pub(crate) fn tool_error(message: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(message)])
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

    fn reply(status: u16, mime: &str, body: &[u8]) -> Reply {
        Reply {
            status: StatusCode::from_u16(status).unwrap(),
            essence: mime.split(';').next().unwrap().trim().to_ascii_lowercase(),
            body: body.to_vec(),
            truncated: false,
            total: Some(body.len() as u64),
            cap: crate::upstream::DEFAULT_MAX_RESPONSE_BYTES,
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
}
