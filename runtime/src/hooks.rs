//! Your own code around every request: checks on MCP requests (like FastAPI dependencies), and
//! hooks on the upstream requests tools send and on the results they return.
//!
//! This file is yours: mcpgen wrote it once and never overwrites it when the crate is
//! regenerated (`mcpgen generate --check` ignores it too). Delete it to get this default back.
//! The generated code calls the three functions below: keep their signatures.
//!
//! [`check_request`] runs on every HTTP request to `/mcp` after the configured authentication
//! has accepted it (mode `none`: on every request) and after the scopes of the called tool were
//! checked (mode `oauth`), before the MCP server sees it. Return `Ok(())` to let the request
//! through, or a [`Denial`] to refuse it:
//!
//! - `Denial::unauthorized(message)`: 401 with the mode's `WWW-Authenticate` challenge,
//! - `Denial::forbidden(message)`: 403,
//! - `Denial::new(status, message)`: any other status.
//!
//! [`HookRequest`] gives the HTTP method, URI and headers, the caller's token, its verified JWT
//! claims and scopes (mode `oauth`), and the JSON-RPC methods and tool names in the body. In
//! tool mode `discover` a call of `execute_tool` or `execute_read_only_tool` names the tool it
//! runs, so a check on a tool holds however it is called; `on_tool_request` and
//! `on_tool_result` see that tool's name too.
//! An example that lets only members of one organisation delete anything:
//!
//! ```ignore
//! pub async fn check_request(request: &HookRequest<'_>) -> Result<(), Denial> {
//!     let org = request.claims().and_then(|c| c["org_id"].as_str());
//!     if request.tools().iter().any(|t| t.starts_with("delete_")) && org != Some("org_123") {
//!         return Err(Denial::forbidden("only org_123 may delete"));
//!     }
//!     Ok(())
//! }
//! ```
//!
//! Stdio clients are not checked: they run the server themselves.
//!
//! [`on_tool_request`] runs on both transports before a generated tool sends its upstream
//! request, with the request as the arguments built it: the method, the path (parameters
//! substituted and encoded), the encoded query pairs, headers, cookies and body are public
//! fields you may change. Return `Err(message)` to answer the call with a tool error instead of
//! sending anything. For example, a tenant header on every request:
//!
//! ```ignore
//! pub async fn on_tool_request(tool: &str, request: &mut Request) -> Result<(), String> {
//!     let _ = tool;
//!     request.headers.push(("x-tenant".to_owned(), "acme".to_owned()));
//!     Ok(())
//! }
//! ```
//!
//! [`on_tool_result`] runs on every tool result (generated tools and your own, errors too)
//! before it goes to the client: redact, annotate or replace it.
//!
//! Each function may `.await` (to ask another service, say); they run on every request or call,
//! so keep them fast.

use crate::admission::{Denial, HookRequest};
use crate::request::Request;
use rmcp::model::CallToolResult;

/// Decides whether an authenticated `/mcp` request may proceed.
pub async fn check_request(request: &HookRequest<'_>) -> Result<(), Denial> {
    let _ = request;
    Ok(())
}

/// Sees (and may change or refuse) the upstream request of a call of the generated `tool`.
pub async fn on_tool_request(tool: &str, request: &mut Request) -> Result<(), String> {
    let _ = (tool, request);
    Ok(())
}

/// Sees (and may change) the result of every call of `tool`.
pub async fn on_tool_result(tool: &str, result: &mut CallToolResult) {
    let _ = (tool, result);
}
