//! Compile what we generate: every fixture's crate is written to disk, built with warnings denied
//! and checked by clippy (one shared `CARGO_TARGET_DIR`, so dependencies build once), its own
//! tests run (`cargo test`: its tool list, the request each tool sends to a recording upstream,
//! its excluded operations), then started and asked for its tool list over Streamable HTTP,
//! which must match what was generated; the operations the fixture's `tools:` selection
//! excluded must be unknown tools there (JSON-RPC -32602).
//!
//! A fixture directory with an `auth.yaml` is generated with `--auth` it. Its server must refuse
//! to start without the environment variables the config names (and name them), and with them
//! it must refuse `/mcp` without credentials: 401 with a `Bearer` challenge. Mode `bearer` is then
//! driven with the token; mode `oauth` (no provider here) serves its protected-resource metadata.

mod common;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The fixture's `auth.yaml` (beside its spec), if it has one.
fn auth_file(spec: &str) -> Option<String> {
    let path = common::repo().join(spec).with_file_name("auth.yaml");
    path.exists().then(|| path.to_string_lossy().into_owned())
}

/// POSTs a JSON-RPC message with an optional `Authorization` header: ((status, body), the
/// `WWW-Authenticate` header).
fn post_as(
    url: &str,
    body: serde_json::Value,
    authorization: Option<&str>,
) -> ((u16, String), Option<String>) {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .new_agent();
    let mut request = agent
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18");
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let mut resp = request.send(body.to_string()).expect("POST /mcp");
    let status = resp.status().as_u16();
    let challenge = resp
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let text = resp.body_mut().read_to_string().unwrap_or_default();
    ((status, text), challenge)
}

/// Starting without the auth environment variables fails at once, naming one.
fn refuses_to_start_without(case: &str, bin: &std::path::Path, vars: &[String]) {
    let out = Command::new(bin)
        .args([
            "--bind",
            "127.0.0.1:0",
            "--upstream-url",
            "http://127.0.0.1:9",
        ])
        .envs(vars.iter().map(|v| (v.as_str(), "")))
        .stdin(Stdio::null())
        .output()
        .expect("run generated server");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{case}: {stderr}");
    assert!(
        vars.iter().any(|v| stderr.contains(v.as_str())),
        "{case}: the error names none of {vars:?}: {stderr}"
    );
}

#[test]
fn generated_crates_build_and_start() {
    let mut excluded_calls = 0;
    for (case, spec) in common::fixtures() {
        let dir = common::repo()
            .join("target")
            .join("fixture-crates")
            .join(&case);
        // User-owned files are never overwritten: one left by an older mcpgen in this scratch
        // crate goes, so the crate is built with today's defaults.
        for (path, _, needed) in mcpgen::ownership::USER_OWNED {
            let file = dir.join(path);
            if std::fs::read_to_string(&file)
                .is_ok_and(|text| !needed.iter().all(|f| text.contains(f)))
            {
                std::fs::remove_file(&file).expect("remove an outdated user-owned file");
            }
        }
        let auth = auth_file(&spec);
        let mut args = vec!["generate", &spec, "--out", dir.to_str().unwrap()];
        if let Some(auth) = &auth {
            args.extend(["--auth", auth.as_str()]);
        }
        let out = common::mcpgen(&args);
        assert!(
            out.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (api, _) = mcpgen::generate(
            common::repo().join(&spec).to_str().unwrap(),
            &mcpgen::Options {
                auth: auth.clone(),
                ..Default::default()
            },
        )
        .unwrap();
        common::cargo(&dir, &["build", "--quiet"]);
        common::cargo(
            &dir,
            &["clippy", "--quiet", "--all-targets", "--", "-D", "warnings"],
        );
        common::cargo(&dir, &["test", "--quiet"]);

        let bin = common::repo()
            .join("target/gen-crates/debug")
            .join(&api.crate_name);
        // Every auth variable set to a test value; mode `bearer` accepts that value as a token.
        let vars = api.auth.env_vars();
        if !vars.is_empty() {
            refuses_to_start_without(&case, &bin, &vars);
        }
        let port = free_port();
        let child = Command::new(&bin)
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .args(["--upstream-url", "http://127.0.0.1:9"])
            .envs(vars.iter().map(|v| (v.as_str(), format!("test-{v}"))))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start generated server");
        let mut child = Kill(child);
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        loop {
            if ureq::get(&format!("{base}/healthz")).call().is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.0.try_wait() {
                let mut err = String::new();
                let _ = child
                    .0
                    .stderr
                    .take()
                    .map(|mut s| s.read_to_string(&mut err));
                panic!("{case}: server exited with {status}: {err}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{case}: server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mcp = format!("{base}/mcp");
        let initialize = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "mcpgen-test", "version": "0"}}});
        let token = match api.auth.mode {
            mcpgen::ir::auth::Mode::None => None,
            mode => {
                let ((status, text), challenge) = post_as(&mcp, initialize.clone(), None);
                assert_eq!(status, 401, "{case}: /mcp without credentials: {text}");
                let challenge = challenge.unwrap_or_default();
                assert!(challenge.starts_with("Bearer"), "{case}: {challenge}");
                if mode == mcpgen::ir::auth::Mode::Oauth {
                    let prm = format!("{base}/.well-known/oauth-protected-resource/mcp");
                    assert!(
                        challenge.contains(&format!("resource_metadata=\"{prm}\"")),
                        "{case}: {challenge}"
                    );
                    let text = ureq::get(&prm)
                        .call()
                        .expect("GET protected-resource metadata")
                        .body_mut()
                        .read_to_string()
                        .expect("metadata body");
                    let doc: serde_json::Value =
                        serde_json::from_str(&text).expect("metadata JSON");
                    assert_eq!(doc["resource"], mcp.as_str(), "{case}: {doc}");
                    // Tokens come from a provider this test does not run: tests/auth does that.
                    continue;
                }
                let ((status, _), _) = post_as(&mcp, initialize.clone(), Some("Bearer nope"));
                assert_eq!(status, 401, "{case}: a wrong token");
                vars.first().map(|v| format!("Bearer test-{v}"))
            }
        };
        let post = |url: &str, body: serde_json::Value| post_as(url, body, token.as_deref()).0;
        let (status, text) = post(
            &mcp,
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "mcpgen-test", "version": "0"}}}),
        );
        assert_eq!(status, 200, "{case}: initialize: {text}");
        let init: serde_json::Value = serde_json::from_str(&text).expect("initialize JSON");
        assert_eq!(
            init["result"]["serverInfo"]["name"],
            api.crate_name.as_str(),
            "{case}"
        );
        let (status, text) = post(
            &mcp,
            serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}),
        );
        assert_eq!(status, 200, "{case}: tools/list: {text}");
        let list: serde_json::Value = serde_json::from_str(&text).expect("tools/list JSON");
        let names: Vec<&str> = list["result"]["tools"]
            .as_array()
            .expect("tools array")
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = api.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, expected, "{case}");
        for (tool, ir) in list["result"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&api.tools)
        {
            assert_eq!(tool["inputSchema"], ir.input_schema, "{case}: {}", ir.name);
        }
        // An excluded operation is not callable: no tool has its name (FastAPI-MCP lists it
        // no more but still runs it when called by name).
        for (i, excluded) in api.excluded.iter().enumerate() {
            if expected.contains(&excluded.name.as_str()) {
                continue;
            }
            let (status, text) = post(
                &mcp,
                serde_json::json!({"jsonrpc": "2.0", "id": 10 + i, "method": "tools/call",
                    "params": {"name": excluded.name, "arguments": {}}}),
            );
            assert_eq!(status, 200, "{case}: {text}");
            let reply: serde_json::Value = serde_json::from_str(&text).expect("JSON-RPC reply");
            assert_eq!(
                reply["error"]["code"], -32602,
                "{case}: calling the excluded `{}`: {reply}",
                excluded.name
            );
            excluded_calls += 1;
        }
    }
    assert!(excluded_calls > 0, "no fixture excludes an operation");
}
