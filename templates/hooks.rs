//! Your own checks on MCP requests, like FastAPI dependencies.
//!
//! This file is yours: mcpgen wrote it once and never overwrites it when the crate is
//! regenerated (`mcpgen generate --check` ignores it too). Delete it to get this default back.
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
//! claims and scopes (mode `oauth`), and the JSON-RPC methods and tool names in the body.
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
//! The function may `.await` (to ask another service, say); it runs for every request, so keep
//! it fast. Stdio clients are not checked: they run the server themselves.

use crate::auth::{Denial, HookRequest};

/// Decides whether an authenticated `/mcp` request may proceed.
pub async fn check_request(request: &HookRequest<'_>) -> Result<(), Denial> {
    let _ = request;
    Ok(())
}
