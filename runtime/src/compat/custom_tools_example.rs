//! The complete example in the documentation of `custom_tools.rs`, as it is written there.

use std::sync::Arc;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde_json::json;

use crate::request::Request;
use crate::response::Output;
use crate::upstream::Upstream;

pub fn tools() -> Vec<Tool> {
    let schema = json!({"type": "object", "properties": {}, "additionalProperties": false});
    let schema: JsonObject = serde_json::from_value(schema).unwrap_or_default();
    vec![
        Tool::new(
            "upstream_status",
            "Checks that the upstream API answers: GET on its base URL.",
            Arc::new(schema),
        )
        .with_title("Upstream status")
        .with_annotations(ToolAnnotations::new().read_only(true)),
    ]
}

pub async fn call(
    name: &str,
    arguments: Option<JsonObject>,
    upstream: &Upstream,
) -> Option<CallToolResult> {
    match name {
        "upstream_status" => {
            if arguments.is_some_and(|a| !a.is_empty()) {
                return Some(CallToolResult::error(vec![ContentBlock::text(
                    "upstream_status takes no arguments",
                )]));
            }
            let request = Request::new(reqwest::Method::GET, "/");
            let result = upstream.execute(request, Output::None).await;
            let status = if result.is_error == Some(true) {
                "down"
            } else {
                "up"
            };
            Some(CallToolResult::success(vec![ContentBlock::text(format!(
                "the upstream API at {} is {status}",
                upstream.base_url()
            ))]))
        }
        _ => None,
    }
}
