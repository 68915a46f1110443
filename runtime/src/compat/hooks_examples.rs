//! The examples in the documentation of `hooks.rs`, as they are written there, with the imports
//! of that file.

use crate::admission::{Denial, HookRequest};
use crate::request::Request;

pub async fn check_request(request: &HookRequest<'_>) -> Result<(), Denial> {
    let org = request.claims().and_then(|c| c["org_id"].as_str());
    if request.tools().iter().any(|t| t.starts_with("delete_")) && org != Some("org_123") {
        return Err(Denial::forbidden("only org_123 may delete"));
    }
    Ok(())
}

pub async fn on_tool_request(tool: &str, request: &mut Request) -> Result<(), String> {
    let _ = tool;
    request
        .headers
        .push(("x-tenant".to_owned(), "acme".to_owned()));
    Ok(())
}
