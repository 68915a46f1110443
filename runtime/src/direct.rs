//! A direct route for the commonest stateless request: a plain `tools/call` from a client of
//! protocol 2025-03-26, 2025-06-18 or 2025-11-25. rmcp's Streamable HTTP service builds a
//! one-request service, a channel and a task for every stateless request; this route answers
//! the same request in place, with the same tool code and byte for byte the same response.
//!
//! It runs after the auth middleware (so authentication, scopes and the request hook apply as
//! before) and only takes a request when it can prove rmcp would treat it the same way: POST
//! without a session id or an Origin header, an allowed Host, `Accept` of both JSON and event
//! streams, a JSON body that is one `tools/call` request of a tool this configuration serves
//! (`catalog.rs`: the discovery tools in mode `discover`, never a tool outside the chosen
//! toolsets; the same test rmcp's route makes) with no `_meta`, and
//! no header of a newer protocol. Everything else — other methods, batches, notifications,
//! browsers, protocol 2026-07-28 and later, unknown tools, anything malformed — goes on to rmcp
//! unchanged, which answers (or refuses) it as usual. `RUST_LOG=mcp_fastpath=debug` logs each
//! call answered here (the log target keeps the name this route had before).

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rmcp::model::{JsonObject, RequestId, ServerJsonRpcMessage, ServerResult};
use rmcp::transport::StreamableHttpService;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;

use crate::admission::Caller;
use crate::auth::{Auth, admit_parts};
use crate::server::{Server, unknown_tool};

/// Protocol versions whose `tools/call` needs nothing beyond the JSON-RPC request.
const VERSIONS: &[&str] = &["2025-03-26", "2025-06-18", "2025-11-25"];

/// Headers of the 2026-07-28 protocol, which rmcp checks against the body.
const NEWER_HEADERS: [HeaderName; 2] = [
    HeaderName::from_static("mcp-method"),
    HeaderName::from_static("mcp-name"),
];
const SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");

/// An allowed Host authority as rmcp matches it: the lower-case host without brackets, and the
/// port when the entry fixes one.
type Authority = (String, Option<u16>);

/// The Host names rmcp accepts, for the same test here.
#[derive(Clone)]
pub struct Hosts(Option<Arc<[Authority]>>);

impl Hosts {
    /// `allowed_hosts` as given to rmcp; `None` when any host is accepted.
    pub fn new(allowed_hosts: Option<&[String]>) -> Self {
        Self(allowed_hosts.map(|hosts| {
            hosts
                .iter()
                .filter_map(|allowed| {
                    let allowed = allowed.trim();
                    if allowed.is_empty() {
                        return None;
                    }
                    Some(match allowed.parse::<axum::http::uri::Authority>() {
                        Ok(authority) => (normalise_host(authority.host()), authority.port_u16()),
                        Err(_) => (normalise_host(allowed), None),
                    })
                })
                .collect()
        }))
    }

    /// Whether the Host header names an allowed host; `false` whenever in doubt.
    fn allow(&self, headers: &HeaderMap) -> bool {
        let Some(hosts) = &self.0 else {
            return true;
        };
        let Some((host, port)) = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .and_then(split_host)
        else {
            return false;
        };
        !hosts.is_empty()
            && hosts.iter().any(|(allowed, fixed)| {
                allowed.eq_ignore_ascii_case(host) && fixed.is_none_or(|p| Some(p) == port)
            })
    }

    fn qualify(&self, method: &Method, headers: &HeaderMap) -> bool {
        method == Method::POST
            && !headers.contains_key(SESSION_ID)
            && !headers.contains_key(header::ORIGIN)
            && NEWER_HEADERS.iter().all(|name| !headers.contains_key(name))
            && headers
                .get(PROTOCOL_VERSION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| VERSIONS.contains(&v))
            && is_json(headers.get(header::CONTENT_TYPE))
            && accepts_json_and_event_stream(headers)
            && self.allow(headers)
    }
}

/// The stateless `/mcp` endpoint: authentication, then the direct route or rmcp's service.
pub struct Endpoint {
    pub auth: Auth,
    pub hosts: Hosts,
    pub server: Server,
    pub mcp: StreamableHttpService<Server, NeverSessionManager>,
}

/// The handler of `/mcp` (stateless mode).
pub async fn serve(State(endpoint): State<Arc<Endpoint>>, request: Request) -> Response {
    let (parts, body) = match admit_parts(&endpoint.auth, request).await {
        Ok(admitted) => admitted,
        Err(refusal) => return refusal,
    };
    if endpoint.hosts.qualify(&parts.method, &parts.headers)
        && let Some(response) = direct(&endpoint.server, &parts, &body).await
    {
        return response;
    }
    let request = Request::from_parts(parts, Body::from(body));
    endpoint.mcp.handle(request).await.map(Body::new)
}

/// The host (without brackets) and port of a `Host` header of the plainest form: a name or
/// IPv4 address of letters, digits, `-`, `_` and `.`, or a bracketed IPv6 address, and an
/// optional decimal port. Anything else is `None`, and the request goes to rmcp, which decides.
fn split_host(value: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = match value.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']')?;
            if host.is_empty()
                || !host
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return None;
            }
            (host, after)
        }
        None => {
            let end = value.find(':').unwrap_or(value.len());
            let host = &value[..end];
            if host.is_empty()
                || !host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            {
                return None;
            }
            (host, &value[end..])
        }
    };
    let port = match port {
        "" => None,
        port => {
            let digits = port.strip_prefix(':')?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            Some(digits.parse().ok()?)
        }
    };
    Some((host, port))
}

fn normalise_host(host: &str) -> String {
    host.trim_matches('[')
        .trim_matches(']')
        .to_ascii_lowercase()
}

fn is_json(value: Option<&HeaderValue>) -> bool {
    value.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .eq_ignore_ascii_case("application/json")
    })
}

/// Both media types listed without parameters or weights (anything fancier goes to rmcp).
fn accepts_json_and_event_stream(headers: &HeaderMap) -> bool {
    // What clients send, checked in one comparison.
    let mut values = headers.get_all(header::ACCEPT).iter();
    if let (Some(only), None) = (values.next(), values.next())
        && only.as_bytes() == b"application/json, text/event-stream"
    {
        return true;
    }
    let (mut json, mut events) = (false, false);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else {
            return false;
        };
        for item in value.split(',') {
            let item = item.trim();
            if item.contains(';') || item.contains('"') {
                return false;
            }
            json |= item.eq_ignore_ascii_case("application/json");
            events |= item.eq_ignore_ascii_case("text/event-stream");
        }
    }
    json && events
}

/// One JSON-RPC `tools/call` request, nothing else (unknown members, `_meta` included, make it
/// rmcp's).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Call<'a> {
    #[serde(borrow)]
    jsonrpc: Cow<'a, str>,
    id: RequestId,
    #[serde(borrow)]
    method: Cow<'a, str>,
    #[serde(borrow)]
    params: Params<'a>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Params<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    arguments: Option<JsonObject>,
}

/// The response to a qualifying request's `tools/call`, or `None` when the body is not one
/// (rmcp answers it then).
async fn direct(server: &Server, parts: &Parts, body: &Bytes) -> Option<Response> {
    let call = serde_json::from_slice::<Call>(body)
        .ok()
        .filter(|call| call.jsonrpc == "2.0" && call.method == "tools/call")?;
    let target = server.resolve(&call.params.name)?;
    let name = call.params.name;
    tracing::debug!(target: "mcp_fastpath", tool = %name, "tools/call answered directly");
    let caller = parts.extensions.get::<Caller>();
    let parent = crate::telemetry::Parent::of_call(None, Some(&parts.headers));
    let message = match crate::telemetry::observe_call(
        Some(&name),
        &call.id,
        parent,
        Box::pin(server.call(target, &name, call.params.arguments, caller)),
    )
    .await
    {
        Some(mut result) => {
            // Older protocols do not carry `resultType` (rmcp clears it for them too).
            result.result_type = None;
            ServerJsonRpcMessage::response(ServerResult::CallToolResult(result), call.id)
        }
        None => ServerJsonRpcMessage::error(unknown_tool(&name), Some(call.id)),
    };
    // Most results fit; a larger one grows the buffer.
    let mut out = Vec::with_capacity(1024);
    Some(match serde_json::to_writer(&mut out, &message) {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            Bytes::from(out),
        )
            .into_response(),
        Err(e) => {
            tracing::error!("cannot serialise a tools/call result: {e}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot serialise the result",
            )
                .into_response()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    const PLAIN: &[(&str, &str)] = &[
        ("host", "127.0.0.1:8000"),
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
        ("mcp-protocol-version", "2025-06-18"),
    ];

    fn hosts(hosts: Option<&[&str]>) -> Hosts {
        let hosts: Option<Vec<String>> = hosts.map(|h| h.iter().map(|s| (*s).to_owned()).collect());
        Hosts::new(hosts.as_deref())
    }

    #[test]
    fn a_plain_stateless_call_qualifies() {
        let fast = hosts(Some(&["localhost", "127.0.0.1", "::1"]));
        assert!(fast.qualify(&Method::POST, &headers(PLAIN)));
        for version in VERSIONS {
            let mut map = headers(PLAIN);
            map.insert(
                "mcp-protocol-version",
                HeaderValue::from_str(version).expect("ascii"),
            );
            assert!(fast.qualify(&Method::POST, &map), "{version}");
        }
    }

    #[test]
    fn anything_else_goes_to_rmcp() {
        let fast = hosts(Some(&["localhost", "127.0.0.1:8000", "::1"]));
        assert!(!fast.qualify(&Method::GET, &headers(PLAIN)));
        let cases: &[(&str, Option<&'static str>)] = &[
            ("host", Some("evil.example")),
            ("host", Some("127.0.0.1:9999")),
            ("host", None),
            ("origin", Some("http://localhost:8000")),
            ("mcp-session-id", Some("abc")),
            ("mcp-protocol-version", Some("2026-07-28")),
            ("mcp-protocol-version", Some("1999-01-01")),
            ("mcp-protocol-version", None),
            ("mcp-method", Some("tools/call")),
            ("content-type", Some("text/plain")),
            ("accept", Some("application/json")),
            ("accept", Some("application/json;q=0, text/event-stream")),
        ];
        for (name, value) in cases {
            let mut map = headers(PLAIN);
            match value {
                Some(value) => {
                    map.insert(*name, HeaderValue::from_static(value));
                }
                None => {
                    map.remove(*name);
                }
            }
            assert!(!fast.qualify(&Method::POST, &map), "{name}: {value:?}");
        }
    }

    #[test]
    fn hosts_match_as_rmcp_matches_them() {
        let fast = hosts(Some(&["LocalHost", "[::1]", "example.com:8443"]));
        for (host, allowed) in [
            ("localhost:8000", true),
            ("LOCALHOST", true),
            ("[::1]:8000", true),
            ("example.com:8443", true),
            ("example.com:443", false),
            ("example.com", false),
            ("localhost.evil", false),
            // Unusual forms are not taken here (rmcp decides on them).
            ("user@localhost:8000", false),
            ("localhost:", false),
            ("localhost:80x", false),
            ("localhost:99999", false),
            ("[::1", false),
            ("local host", false),
            ("", false),
        ] {
            let map = headers(&[("host", host)]);
            assert_eq!(fast.allow(&map), allowed, "{host}");
        }
        assert!(self::hosts(None).allow(&headers(&[("host", "any.example")])));
    }

    #[test]
    fn only_a_bare_tools_call_is_taken() {
        let ok: Call = serde_json::from_str(
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t","arguments":{"a":1}}}"#,
        )
        .expect("a call");
        assert_eq!(ok.params.name, "t");
        for other in [
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t","_meta":{"progressToken":1}}}"#,
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"t"}}"#,
            r#"[{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t"}}]"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"t"},"extra":1}"#,
        ] {
            assert!(serde_json::from_str::<Call>(other).is_err(), "{other}");
        }
    }
}
