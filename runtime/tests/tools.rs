//! The crate's own checks (`cargo test`), so that CI notices when the server stops doing what
//! was generated — after a regeneration, or a change to `src/hooks.rs` or
//! `src/custom_tools.rs`.
//!
//! Each test starts the real server binary over stdio and, in place of the upstream API, a
//! recording HTTP server on 127.0.0.1 that answers every request with `{}`. They check that
//!
//! - `tools/list` serves exactly the generated tools of `src/tools.json`, in order, with their
//!   titles, descriptions, schemas and annotations (your own tools may follow them, under other
//!   names), and `src/tools.json` is the file mcpgen wrote (its digest);
//! - every generated tool, called with example arguments derived from its schemas, sends the
//!   expected request upstream: method, path and query (compared percent-decoded, the query as
//!   sorted pairs) and, for JSON bodies, the body;
//! - the operations the `tools:` selection of the config file excluded are unknown tools
//!   (JSON-RPC error -32602).
//!
//! The other expectations are in `tools_expected.json`, which mcpgen writes from the OpenAPI
//! document with this file and `src/tools.json`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const EXPECTED: &str = include_str!("tools_expected.json");
const TOOLS_JSON: &str = include_str!("../src/tools.json");
const SERVER: &str = env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")));
/// How long one answer of the server may take.
const TIMEOUT: Duration = Duration::from_secs(30);

fn expected() -> Value {
    serde_json::from_str(EXPECTED).expect("tests/tools_expected.json is JSON")
}

fn list<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value[key].as_array().map_or(&[], Vec::as_slice)
}

/// The digest mcpgen wrote for `src/tools.json` (`tools_json_digest`): 64-bit FNV-1a over its
/// bytes without carriage returns, so a CRLF checkout keeps it.
fn tools_json_digest(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in text.as_bytes() {
        if byte != b'\r' {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("fnv1a64:{hash:016x}")
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
struct Upstream {
    url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    _runtime: tokio::runtime::Runtime,
}

impl Upstream {
    fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
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
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a port for the recording upstream");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the upstream's address")
        );
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            url,
            requests,
            _runtime: runtime,
        }
    }

    fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.requests.lock().expect("the request log"))
    }
}

/// The server binary over stdio, driven as an MCP client would.
struct Server {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    next_id: u64,
}

impl Server {
    fn start(upstream: &Upstream) -> Self {
        let env: Vec<String> = list(&expected(), "env")
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect();
        let mut child = Command::new(SERVER)
            // Every generated tool listed, whatever the crate's default tool mode: in mode
            // `discover` (the default of a large API) tools/list shows the discovery tools.
            .args([
                "--transport",
                "stdio",
                "--tool-mode",
                "all",
                "--upstream-url",
                &upstream.url,
            ])
            .envs(env.iter().map(|name| (name.as_str(), "mcpgen-test")))
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the server binary starts");
        let stdin = child.stdin.take().expect("the server's stdin");
        let stdout = child.stdout.take().expect("the server's stdout");
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            stdin,
            lines,
            next_id: 0,
        };
        let init = server.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "generated-tests", "version": "0"},
            }),
        );
        assert!(init["result"].is_object(), "initialize failed: {init}");
        server.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        server
    }

    fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").expect("write to the server");
        self.stdin.flush().expect("write to the server");
    }

    /// Sends a request and returns the whole response message.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => panic!("no answer to {method} in {TIMEOUT:?}"),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().map(|s| s.to_string());
                    panic!("the server exited ({status:?}) before answering {method}")
                }
            };
            let Ok(message) = serde_json::from_str::<Value>(&line) else {
                panic!("the server wrote something that is not JSON-RPC to stdout: {line}");
            };
            if message["id"] == json!(id) {
                return message;
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

#[test]
fn tools_list_serves_the_generated_tools() {
    let upstream = Upstream::start();
    let mut server = Server::start(&upstream);
    let mut listed: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let params = match &cursor {
            Some(cursor) => json!({ "cursor": cursor }),
            None => json!({}),
        };
        let response = server.request("tools/list", params);
        let result = &response["result"];
        assert!(result.is_object(), "tools/list failed: {response}");
        listed.extend(list(result, "tools").iter().cloned());
        match result["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        json!(tools_json_digest(TOOLS_JSON)),
        expected()["tools_json_digest"],
        "src/tools.json is not the file mcpgen generated with tests/tools_expected.json: regenerate both"
    );
    let file: Value = serde_json::from_str(TOOLS_JSON).expect("src/tools.json is JSON");
    let tools = list(&file, "tools");
    assert!(
        listed.len() >= tools.len(),
        "tools/list has {} tools, {} were generated",
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
                "tool {position} (`{}`): `{key}` differs from src/tools.json",
                want["name"]
            );
        }
    }
    let generated: BTreeSet<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    for extra in &listed[tools.len()..] {
        let name = extra["name"].as_str().unwrap_or_default();
        assert!(
            !generated.contains(name),
            "`{name}` is listed twice: a custom tool must not take a generated tool's name"
        );
    }
}

#[test]
fn every_tool_sends_the_expected_request() {
    let upstream = Upstream::start();
    let mut server = Server::start(&upstream);
    let expected = expected();
    let mut failures = Vec::new();
    let mut called = 0;
    for call in list(&expected, "calls") {
        let tool = call["tool"].as_str().unwrap_or_default();
        let want = &call["request"];
        if !want.is_object() {
            eprintln!("{tool}: not called: {}", call["note"]);
            continue;
        }
        upstream.take();
        called += 1;
        let response = server.request(
            "tools/call",
            json!({"name": tool, "arguments": call["arguments"]}),
        );
        let result = &response["result"];
        if !result.is_object() {
            failures.push(format!("{tool}: tools/call failed: {response}"));
            continue;
        }
        let received = upstream.take();
        let [request] = received.as_slice() else {
            failures.push(format!(
                "{tool}: {} upstream requests instead of one; the result was {result}",
                received.len()
            ));
            continue;
        };
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
    }
    assert!(
        failures.is_empty(),
        "{} of {called} calls did not send the expected request:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn excluded_operations_are_unknown_tools() {
    let expected = expected();
    let excluded = list(&expected, "excluded");
    if excluded.is_empty() {
        return;
    }
    let upstream = Upstream::start();
    let mut server = Server::start(&upstream);
    for name in excluded {
        let response = server.request("tools/call", json!({"name": name, "arguments": {}}));
        assert_eq!(
            response["error"]["code"],
            json!(-32602),
            "calling the excluded `{name}`: {response}"
        );
    }
    assert!(
        upstream.take().is_empty(),
        "an excluded tool reached the upstream"
    );
}
