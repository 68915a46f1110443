//! A fixture's tools against the runtime crate: `tests/compile.rs` copies this file into the
//! check crate it makes for each fixture (`target/check-crates/<fixture>/tests/tools.rs`), whose
//! library is the runtime crate plus the fixture's generated `tools.rs`, `types.rs` and
//! `auth_config.rs`, and runs it there. It checks what the generated crate's own
//! `tests/tools.rs` checks through the server binary, in process:
//!
//! - `src/tools.json` is the file of the digest in `tests/tools_expected.json`, and rmcp serves
//!   its tools as they are written there, in order, with their titles, descriptions, schemas
//!   and annotations;
//! - every tool called with the example arguments of `tests/tools_expected.json` (built by
//!   the fixture's `tools::request` at the tool's position in `tools.json`, the server's dispatch
//!   index, and sent by the runtime's `Upstream` with the credentials `auth_config::UPSTREAM`
//!   reads from the environment) sends the expected request to a recording HTTP server on
//!   127.0.0.1: method, path, query (percent-decoded, as sorted pairs) and JSON body;
//! - the operations the `tools:` selection excluded are no tools (the server answers a call
//!   of a name it does not list with JSON-RPC error -32602), and no index past the last tool
//!   dispatches;
//! - the fixture's search index (`src/search_index.rs`) covers exactly its tools, and a tool's
//!   own name finds it among the first three.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

const EXPECTED: &str = include_str!("tools_expected.json");
const TOOLS_JSON: &str = include_str!("../src/tools.json");

fn expected() -> Value {
    serde_json::from_str(EXPECTED).expect("tests/tools_expected.json is JSON")
}

fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value[key].as_array().map_or(&[], Vec::as_slice)
}

/// `tools.json` as the server reads it (`rmcp` tools), and as `tools/list` serialises them.
fn served_tools() -> Vec<Value> {
    #[derive(serde::Deserialize)]
    struct ToolFile {
        tools: Vec<rmcp::model::Tool>,
    }
    let file: ToolFile = serde_json::from_str(TOOLS_JSON).expect("src/tools.json parses");
    file.tools
        .iter()
        .map(|tool| serde_json::to_value(tool).expect("a tool serialises"))
        .collect()
}

/// The dispatch index of the tool called `name`: its position in `tools.json`.
fn index_of(name: &str) -> Option<usize> {
    served_tools()
        .iter()
        .position(|tool| tool["name"].as_str() == Some(name))
}

/// 64-bit FNV-1a over the bytes of `text` without carriage returns, as mcpgen's
/// `tools_json_digest` and the generated crate's `tests/tools.rs` compute it.
fn tools_json_digest(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in text.as_bytes() {
        if byte != b'\r' {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("fnv1a64:{hash:016x}")
}

#[test]
fn tools_json_lists_the_generated_tools() {
    assert_eq!(
        json!(tools_json_digest(TOOLS_JSON)),
        expected()["tools_json_digest"],
        "src/tools.json is not the file of tests/tools_expected.json's digest"
    );
    let listed = served_tools();
    let file: Value = serde_json::from_str(TOOLS_JSON).expect("src/tools.json is JSON");
    let tools = list(&file, "tools");
    assert_eq!(
        listed.len(),
        tools.len(),
        "rmcp reads {} tools of src/tools.json's {}",
        listed.len(),
        tools.len()
    );
    for (position, (got, want)) in listed.iter().zip(tools).enumerate() {
        for key in [
            "name",
            "title",
            "description",
            "inputSchema",
            "outputSchema",
            "annotations",
        ] {
            assert_eq!(
                got.get(key),
                want.get(key),
                "tool {position} (`{}`): `{key}` is served other than src/tools.json has it",
                want["name"]
            );
        }
    }
}

#[test]
fn excluded_operations_are_no_tools() {
    let names: BTreeSet<String> = served_tools()
        .iter()
        .filter_map(|tool| tool["name"].as_str().map(str::to_owned))
        .collect();
    for name in list(&expected(), "excluded")
        .iter()
        .filter_map(Value::as_str)
    {
        assert!(
            !names.contains(name),
            "the excluded `{name}` is a tool in src/tools.json"
        );
    }
    assert!(
        check::tools::request(names.len(), None).is_none(),
        "`tools::request` dispatches an index past the last tool"
    );
}

/// A request the recording upstream received.
#[derive(Debug)]
struct Recorded {
    method: String,
    path: String,
    query: String,
    body: Vec<u8>,
}

/// The stand-in upstream API: answers everything with `{}` and records what it received.
async fn recording_upstream() -> (String, Arc<Mutex<Vec<Recorded>>>) {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    let app = axum::Router::new().fallback(
        move |method: axum::http::Method, uri: axum::http::Uri, body: axum::body::Bytes| {
            let seen = Arc::clone(&seen);
            async move {
                seen.lock().expect("the request log").push(Recorded {
                    method: method.to_string(),
                    path: uri.path().to_owned(),
                    query: uri.query().unwrap_or_default().to_owned(),
                    body: body.to_vec(),
                });
                ([("content-type", "application/json")], "{}")
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port for the recording upstream");
    let url = format!(
        "http://{}",
        listener.local_addr().expect("the upstream's address")
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, requests)
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// Percent-decoded query pairs, sorted.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect();
    pairs.sort();
    pairs
}

/// What is wrong with `request` for the expected one, `want`.
fn differences(tool: &str, want: &Value, request: &Recorded) -> Vec<String> {
    let mut failures = Vec::new();
    if want["method"] != json!(request.method) {
        failures.push(format!(
            "{tool}: method {} instead of {}",
            request.method, want["method"]
        ));
    }
    if let Some(path) = want["path"].as_str()
        && decode(&request.path) != path
    {
        failures.push(format!("{tool}: path {} instead of {path}", request.path));
    }
    if let Some(pairs) = want["query"].as_array() {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|p| {
                (
                    p[0].as_str().unwrap_or_default().to_owned(),
                    p[1].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let got = query_pairs(&request.query);
        if got != pairs {
            failures.push(format!("{tool}: query {got:?} instead of {pairs:?}"));
        }
    }
    if !want["json_body"].is_null() {
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        if body != want["json_body"] {
            failures.push(format!(
                "{tool}: JSON body {body} instead of {}",
                want["json_body"]
            ));
        }
    }
    failures
}

#[tokio::test]
async fn every_tool_sends_the_expected_request() {
    let expected = expected();
    // The variables the server's credentials read, as the generated crate's own test sets
    // them for the server it starts; this is the only test here that reads the environment.
    for name in list(&expected, "env").iter().filter_map(Value::as_str) {
        // SAFETY: no other thread of this test binary reads or writes the environment.
        unsafe { std::env::set_var(name, "mcpgen-test") };
    }
    let credentials = check::credentials::Credentials::load(check::auth_config::UPSTREAM);
    let (url, requests) = recording_upstream().await;
    let upstream = check::upstream::Upstream::new(&url, Duration::from_secs(30))
        .expect("the recording upstream's URL")
        .with_credentials(Arc::new(credentials));
    let take = || std::mem::take(&mut *requests.lock().expect("the request log"));
    let mut failures = Vec::new();
    let mut called = 0;
    for call in list(&expected, "calls") {
        let tool = call["tool"].as_str().unwrap_or_default();
        let want = &call["request"];
        if !want.is_object() {
            eprintln!("{tool}: not called: {}", call["note"]);
            continue;
        }
        called += 1;
        let Some(index) = index_of(tool) else {
            failures.push(format!("{tool}: not in src/tools.json"));
            continue;
        };
        let arguments = call["arguments"].as_object().cloned();
        let (request, output) = match check::tools::request(index, arguments) {
            None => {
                failures.push(format!("{tool}: `tools::request` has no tool {index}"));
                continue;
            }
            Some(Err(refused)) => {
                failures.push(format!(
                    "{tool}: the example arguments are refused: {refused:?}"
                ));
                continue;
            }
            Some(Ok(built)) => built,
        };
        take();
        let result = upstream.execute(request, output).await;
        let received = take();
        let [request] = received.as_slice() else {
            failures.push(format!(
                "{tool}: {} upstream requests instead of one; the result was {result:?}",
                received.len()
            ));
            continue;
        };
        failures.extend(differences(tool, want, request));
    }
    assert!(
        failures.is_empty(),
        "{} of {called} calls did not send the expected request:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn search_index_finds_every_tool_by_its_name() {
    let index = check::search_text::Index {
        docs: check::search_index::DOCS,
        terms: check::search_index::TERMS,
        table: check::search_index::TABLE,
        postings: check::search_index::POSTINGS,
        actions: check::search_index::ACTIONS,
        names: check::search_index::NAMES,
    };
    let tools = served_tools();
    assert_eq!(index.docs, tools.len(), "one document per tool");
    for (position, tool) in tools.iter().enumerate() {
        let name = tool["name"].as_str().expect("a name");
        let found = index.search(name, 3, &|_| true);
        if check::search_text::terms(name).is_empty() {
            continue;
        }
        assert!(
            found.contains(&position),
            "`{name}` (tool {position}) finds {found:?}"
        );
    }
}
