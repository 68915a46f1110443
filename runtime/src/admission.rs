//! The admission of `/mcp` requests as `hooks.rs` sees it: who is calling ([`Caller`], as the
//! configured authentication established it), the request with the JSON-RPC methods and tools
//! its body names ([`HookRequest`]), and a refusal ([`Denial`]).

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::Value;

/// Who is calling, as the `/mcp` middleware established it. Put into the request's extensions,
/// so tools find it in `http::request::Parts::extensions`.
#[derive(Clone, Default)]
pub struct Caller {
    /// The bearer token the client sent (never logged).
    pub token: Option<Arc<str>>,
    /// The verified JWT claims (mode `oauth`).
    pub claims: Option<Arc<Value>>,
    /// The OAuth scopes the token grants (mode `oauth`).
    pub scopes: Arc<[String]>,
    /// The `Authorization` header to send to the upstream API, when the configuration forwards
    /// the caller's credentials.
    pub forward: Option<HeaderValue>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("scopes", &self.scopes)
            .field("forward", &self.forward.is_some())
            .finish()
    }
}

/// The discovery tools that run another tool (mode `discover`).
const EXECUTE_TOOLS: [&str; 2] = ["execute_tool", "execute_read_only_tool"];

/// What the JSON-RPC body of a `/mcp` POST asks for: the methods, and the tools it calls.
#[derive(Debug, Default)]
struct Peek {
    methods: Vec<String>,
    tools: Vec<String>,
}

impl Peek {
    /// Reads the message (or batch). Parsed as `serde_json::Value`, as the MCP server reads it
    /// too (a duplicated key means the same to both). With `discover` (mode `discover`), a call
    /// of `execute_tool` or `execute_read_only_tool` counts as a call of the tool it runs, named
    /// in `params.arguments.name`, so that scopes and hooks judge that tool as they would
    /// judge a direct call of it.
    fn parse(body: &[u8], discover: bool) -> Self {
        let mut peek = Peek::default();
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return peek;
        };
        let messages = match &value {
            Value::Array(items) => items.iter().collect::<Vec<_>>(),
            other => vec![other],
        };
        for message in messages {
            let Some(method) = message.get("method").and_then(Value::as_str) else {
                continue;
            };
            if method == "tools/call"
                && let Some(params) = message.get("params")
                && let Some(name) = params.get("name").and_then(Value::as_str)
            {
                let inner = params
                    .get("arguments")
                    .and_then(|a| a.get("name"))
                    .and_then(Value::as_str)
                    .filter(|_| discover && EXECUTE_TOOLS.contains(&name));
                peek.tools.push(inner.unwrap_or(name).to_owned());
            }
            peek.methods.push(method.to_owned());
        }
        peek
    }
}

/// What [`crate::hooks::check_request`] sees of a `/mcp` request.
pub struct HookRequest<'a> {
    parts: &'a Parts,
    caller: &'a Caller,
    body: &'a Bytes,
    /// The body's methods and tools, read when first asked for.
    peek: OnceLock<Peek>,
    mode: &'static str,
    /// Tool mode `discover`: `execute_tool` calls count as calls of the tool they run.
    discover: bool,
}

impl<'a> HookRequest<'a> {
    /// The request as the hook sees it, once `caller` is established and its `body` read.
    pub(crate) fn new(
        parts: &'a Parts,
        caller: &'a Caller,
        body: &'a Bytes,
        mode: &'static str,
        discover: bool,
    ) -> Self {
        Self {
            parts,
            caller,
            body,
            peek: OnceLock::new(),
            mode,
            discover,
        }
    }

    /// Who is calling.
    pub(crate) fn caller(&self) -> &Caller {
        self.caller
    }
}

#[allow(dead_code, reason = "what hooks.rs may ask; the default asks nothing")]
impl HookRequest<'_> {
    /// The HTTP method (`POST` for MCP messages; `GET` and `DELETE` for sessions).
    pub fn method(&self) -> &Method {
        &self.parts.method
    }

    pub fn uri(&self) -> &Uri {
        &self.parts.uri
    }

    /// The request headers (`Authorization` included).
    pub fn headers(&self) -> &HeaderMap {
        &self.parts.headers
    }

    /// The auth mode: `none`, `bearer` or `oauth`.
    pub fn mode(&self) -> &str {
        self.mode
    }

    /// The bearer token the caller sent (checked as the mode says; `None` in mode `none`).
    pub fn token(&self) -> Option<&str> {
        self.caller.token.as_deref()
    }

    /// The verified JWT claims (mode `oauth`).
    pub fn claims(&self) -> Option<&Value> {
        self.caller.claims.as_deref()
    }

    /// The OAuth scopes the caller's token grants (mode `oauth`).
    pub fn scopes(&self) -> &[String] {
        &self.caller.scopes
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.caller.scopes.iter().any(|s| s == scope)
    }

    /// The JSON-RPC methods of the body (`initialize`, `tools/list`, `tools/call`, ...).
    pub fn mcp_methods(&self) -> &[String] {
        &self.peek().methods
    }

    /// The tools a `tools/call` body calls (usually one). In tool mode `discover`, a call of
    /// `execute_tool` or `execute_read_only_tool` names the tool it runs (its `name`
    /// argument), not the discovery tool: a check on a tool holds however it is called.
    pub fn tools(&self) -> &[String] {
        &self.peek().tools
    }

    fn peek(&self) -> &Peek {
        self.peek
            .get_or_init(|| Peek::parse(self.body, self.discover))
    }
}

/// A refusal from [`crate::hooks::check_request`].
#[derive(Debug, Clone)]
pub struct Denial {
    status: StatusCode,
    message: String,
}

#[allow(
    dead_code,
    reason = "refusals hooks.rs may make; the default makes none"
)]
impl Denial {
    /// 401 with the mode's `WWW-Authenticate` challenge: the client should authenticate again.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403: the caller is known but may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// Any status (a 4xx or 5xx).
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// The status of the refusal.
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// Why, for the client.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peeks_at_called_tools() {
        for discover in [false, true] {
            let one = Peek::parse(
                br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a"}}"#,
                discover,
            );
            assert_eq!(one.tools, ["a"]);
            let batch = Peek::parse(
                br#"[{"method":"tools/list"},{"method":"tools/call","params":{"name":"b","name":"c"}}]"#,
                discover,
            );
            assert_eq!(batch.methods, ["tools/list", "tools/call"]);
            assert_eq!(batch.tools, ["c"]);
            assert!(Peek::parse(b"not json", discover).tools.is_empty());
        }
    }

    #[test]
    fn execute_tool_calls_name_the_tool_they_run_in_mode_discover() {
        let body = br#"[
            {"method":"tools/call","params":{"name":"execute_tool","arguments":{"name":"delete_note","arguments":{}}}},
            {"method":"tools/call","params":{"name":"execute_read_only_tool","arguments":{"name":"get_note"}}},
            {"method":"tools/call","params":{"name":"execute_tool","arguments":{"name":7}}},
            {"method":"tools/call","params":{"name":"execute_tool"}},
            {"method":"tools/call","params":{"name":"search_tools","arguments":{"name":"x"}}}
        ]"#;
        assert_eq!(
            Peek::parse(body, true).tools,
            [
                "delete_note",
                "get_note",
                "execute_tool",
                "execute_tool",
                "search_tools"
            ]
        );
        // In mode all these names are whatever tools (custom ones) have them.
        assert_eq!(
            Peek::parse(body, false).tools,
            [
                "execute_tool",
                "execute_read_only_tool",
                "execute_tool",
                "execute_tool",
                "search_tools"
            ]
        );
    }
}
