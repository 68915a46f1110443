//! Your own tools, served beside the generated ones: listed after them in `tools/list` and
//! called through the same server, auth and hooks.
//!
//! This file is yours: mcpgen wrote it once and never overwrites it when the crate is
//! regenerated (`mcpgen generate --check` ignores it too). Delete it to get this default back.
//! The server calls the two functions below: keep their signatures. A tool here must not take
//! the name of a generated tool (the server refuses to start, naming it). Auth applies to
//! these tools as to the others, but they need no OAuth scopes: check any in
//! `hooks::check_request` (its `tools()` names the tools a request calls).
//!
//! A complete example, a tool that reports whether the upstream API answers (replace this
//! file's code with it to try it):
//!
//! ```ignore
//! use std::sync::Arc;
//!
//! use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
//! use serde_json::json;
//!
//! use crate::request::Request;
//! use crate::response::Output;
//! use crate::upstream::Upstream;
//!
//! pub fn tools() -> Vec<Tool> {
//!     let schema = json!({"type": "object", "properties": {}, "additionalProperties": false});
//!     let schema: JsonObject = serde_json::from_value(schema).unwrap_or_default();
//!     vec![
//!         Tool::new(
//!             "upstream_status",
//!             "Checks that the upstream API answers: GET on its base URL.",
//!             Arc::new(schema),
//!         )
//!         .with_title("Upstream status")
//!         .with_annotations(ToolAnnotations::new().read_only(true)),
//!     ]
//! }
//!
//! pub async fn call(
//!     name: &str,
//!     arguments: Option<JsonObject>,
//!     upstream: &Upstream,
//! ) -> Option<CallToolResult> {
//!     match name {
//!         "upstream_status" => {
//!             if arguments.is_some_and(|a| !a.is_empty()) {
//!                 return Some(CallToolResult::error(vec![ContentBlock::text(
//!                     "upstream_status takes no arguments",
//!                 )]));
//!             }
//!             let request = Request::new(reqwest::Method::GET, "/");
//!             let result = upstream.execute(request, Output::None).await;
//!             let status = if result.is_error == Some(true) { "down" } else { "up" };
//!             Some(CallToolResult::success(vec![ContentBlock::text(format!(
//!                 "the upstream API at {} is {status}",
//!                 upstream.base_url()
//!             ))]))
//!         }
//!         _ => None,
//!     }
//! }
//! ```
//!
//! `crate::request::Request` builds upstream requests as the generated tools do (path, query,
//! header and cookie parameters in their OpenAPI styles, JSON/form/multipart bodies), and
//! `Upstream::execute` sends them and maps the response to a tool result.

use rmcp::model::{CallToolResult, JsonObject, Tool};

use crate::upstream::Upstream;

/// Your tools, as `tools/list` shows them (after the generated ones).
pub fn tools() -> Vec<Tool> {
    Vec::new()
}

/// Calls your tool `name` with its arguments; `None` for a name that is not one of yours.
pub async fn call(
    name: &str,
    arguments: Option<JsonObject>,
    upstream: &Upstream,
) -> Option<CallToolResult> {
    let _ = (name, arguments, upstream);
    None
}
