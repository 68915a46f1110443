//! Compile checks of user-owned files (tests only): `hooks.rs` and `custom_tools.rs` as earlier
//! mcpgen versions wrote them, which crates keep and which must go on compiling against this
//! runtime, and the examples in the documentation of today's defaults, which users copy.

#[allow(
    dead_code,
    reason = "compiled for its signatures; called by the tests below"
)]
mod custom_tools_example;
#[allow(
    dead_code,
    reason = "compiled for its signatures; called by the tests below"
)]
mod custom_tools_old_paths;
#[allow(
    dead_code,
    reason = "compiled for its signatures; called by the tests below"
)]
mod hooks_examples;
#[allow(
    dead_code,
    reason = "compiled for its signatures; called by the tests below"
)]
mod hooks_old_paths;

use std::time::Duration;

use axum::body::Bytes;
use rmcp::model::CallToolResult;

use crate::admission::{Caller, HookRequest};
use crate::request::Request;
use crate::upstream::Upstream;

/// The ```` ```ignore ```` blocks of a file's `//!` documentation, their lines unindented.
fn doc_examples(source: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in source.lines().filter_map(|l| l.strip_prefix("//!")) {
        let line = line.strip_prefix(' ').unwrap_or(line);
        match (&mut current, line.trim()) {
            (None, "```ignore") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                blocks.push(lines.join("\n"));
                current = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn the_documented_examples_are_the_compiled_ones() {
    let hooks = doc_examples(include_str!("../hooks.rs"));
    assert_eq!(hooks.len(), 2);
    let custom = doc_examples(include_str!("../custom_tools.rs"));
    assert_eq!(custom.len(), 1);
    for (examples, compiled) in [
        (hooks, include_str!("hooks_examples.rs")),
        (custom, include_str!("custom_tools_example.rs")),
    ] {
        // Compared without whitespace: rustfmt formats the compiled copy.
        let squeeze = |s: &str| s.split_whitespace().collect::<String>();
        for example in examples {
            assert!(
                squeeze(compiled).contains(&squeeze(&example)),
                "an example in the docs is not in src/compat/:\n{example}"
            );
        }
    }
}

/// Every hook of each version is callable as the server calls it.
#[tokio::test]
async fn hooks_keep_their_signatures() {
    let parts = axum::http::Request::new(()).into_parts().0;
    let caller = Caller::default();
    let body = Bytes::from_static(br#"{"method":"tools/call","params":{"name":"delete_x"}}"#);
    let hook = HookRequest::new(&parts, &caller, &body, "none", false);
    let request = || Request::new(reqwest::Method::GET, "/x");
    let mut result = CallToolResult::success(Vec::new());

    assert!(hooks_old_paths::check_request(&hook).await.is_ok());
    assert!(
        hooks_old_paths::on_tool_request("t", &mut request())
            .await
            .is_ok()
    );
    hooks_old_paths::on_tool_result("t", &mut result).await;

    // The documented example refuses deletions outside org_123, and adds a header.
    assert!(hooks_examples::check_request(&hook).await.is_err());
    // In tool mode discover it judges the tool `execute_tool` runs: deletions stay refused.
    let executed = Bytes::from_static(
        br#"{"method":"tools/call","params":{"name":"execute_tool","arguments":{"name":"delete_x"}}}"#,
    );
    let through = HookRequest::new(&parts, &caller, &executed, "none", true);
    assert_eq!(through.tools(), ["delete_x"]);
    assert!(hooks_examples::check_request(&through).await.is_err());
    let mut sent = request();
    assert!(
        hooks_examples::on_tool_request("t", &mut sent)
            .await
            .is_ok()
    );
    assert_eq!(sent.headers, [("x-tenant".to_owned(), "acme".to_owned())]);

    assert!(crate::hooks::check_request(&hook).await.is_ok());
    assert!(
        crate::hooks::on_tool_request("t", &mut request())
            .await
            .is_ok()
    );
    crate::hooks::on_tool_result("t", &mut result).await;
}

/// Every custom-tools version lists tools and answers calls as the server asks.
#[tokio::test]
async fn custom_tools_keep_their_signatures() {
    let upstream = Upstream::new("http://127.0.0.1:9", Duration::from_secs(1)).expect("upstream");
    assert!(custom_tools_old_paths::tools().is_empty());
    assert!(
        custom_tools_old_paths::call("x", None, &upstream)
            .await
            .is_none()
    );
    assert!(crate::custom_tools::tools().is_empty());
    assert!(
        crate::custom_tools::call("x", None, &upstream)
            .await
            .is_none()
    );

    // The example's tool reports the upstream (nothing listens on port 9) as down.
    assert_eq!(custom_tools_example::tools()[0].name, "upstream_status");
    let result = custom_tools_example::call("upstream_status", None, &upstream)
        .await
        .expect("its tool");
    let text = serde_json::to_string(&result).expect("JSON");
    assert!(text.contains("is down"), "{text}");
    assert!(
        custom_tools_example::call("other", None, &upstream)
            .await
            .is_none()
    );
}
