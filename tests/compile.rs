//! Compile what we generate: one test per fixture (`cargo test --test compile petstore`; a test
//! is named after its folder under `fixtures/`, `-` as `_`), in one of two ways (the list is
//! `fixture_tests!` below):
//!
//! - **built and started**, as the user gets it, for one fixture per auth mode: the crate is
//!   written to disk, built and linted by clippy in one pass (warnings denied), its own test run
//!   (`cargo test --test tools`: its tool list, the request each tool sends to a recording
//!   upstream, its excluded operations), then started and asked for its tool list over
//!   Streamable HTTP, which must match what was generated; the operations the fixture's
//!   `tools:` selection excluded must be unknown tools there (JSON-RPC -32602). A fixture
//!   directory with an `auth.yaml` is generated with `--auth` it. Its server must refuse to
//!   start without the environment variables the config names (and name them), and with them it
//!   must refuse `/mcp` without credentials: 401 with a `Bearer` challenge. Mode `bearer` is
//!   then driven with the token; mode `oauth` (no provider here) serves its protected-resource
//!   metadata.
//! - **checked against the runtime crate**, for the others: only the files that depend on the
//!   spec (`tools.rs`, `types.rs`, `auth_config.rs`, `tools.json`, `tools_expected.json`) go
//!   into a small check crate under `target/check-crates/<fixture>` whose library is
//!   `runtime/` (by path) plus them, so the ~7k lines of runtime every generated crate carries
//!   compile once for all fixtures. Built and linted by clippy (warnings denied), then
//!   `tests/fixture-check/tools.rs`: every example call built by the fixture's
//!   `tools::request` and sent by the runtime's `Upstream` to a recording upstream, checked as
//!   the crate's own `tests/tools.rs` checks it; `tools.json` against the expected tool list;
//!   the excluded operations no tools.
//!
//! Every build here shares one `CARGO_TARGET_DIR` (`target/gen-crates`, with the end-to-end,
//! conformance and auth suites), so dependencies build once. `every_fixture_has_a_test` fails
//! when a folder under `fixtures/` has no test here.

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

/// One test per fixture folder: `test_name: "folder" => how`, where `how` is
/// `built_and_started` (the generated crate as the user gets it) or `checked_against_runtime`
/// (its spec-dependent files in a check crate with the runtime crate).
macro_rules! fixture_tests {
    ($($test:ident: $case:literal => $how:ident,)*) => {
        /// The fixture folders that have a test here.
        const TESTED: &[&str] = &[$($case),*];
        $(
            #[test]
            fn $test() {
                $how($case);
            }
        )*
    };
}

fixture_tests! {
    // As the user gets it, one fixture per auth mode: `none` (with operations excluded by a
    // `tools:` selection), `bearer`, `oauth`.
    tools_select: "tools-select" => built_and_started,
    auth_bearer: "auth-bearer" => built_and_started,
    auth_oauth: "auth-oauth" => built_and_started,
    // Issue 16's oauth config shapes (token validation, provider profiles, CIMD), as the user
    // gets them (mode oauth's runtime modules are the generated crate's own).
    auth_introspection: "auth-introspection" => built_and_started,
    auth_cimd_private: "auth-cimd-private" => built_and_started,
    auth_provider_entra: "auth-provider-entra" => built_and_started,
    auth_provider_github: "auth-provider-github" => built_and_started,
    // Token exchange for the upstream credential (mode oauth; the auth suite serves it to real
    // clients: tests/auth/test_token_exchange.py).
    auth_token_exchange: "auth-token-exchange" => built_and_started,
    // Against the runtime crate. `upstream-auth` (upstream credentials of every scheme kind) is
    // also built as the user gets it, and served to real clients, by the auth suite
    // (tests/auth/test_upstream.py).
    upstream_auth: "upstream-auth" => checked_against_runtime,
    client_safe: "client-safe" => checked_against_runtime,
    collisions: "collisions" => checked_against_runtime,
    // A crate whose default tool mode is `discover` (auto, 45 tools), as the user gets it: its
    // own tests list every generated tool in mode `all`.
    discover: "discover" => built_and_started,
    e2e: "e2e" => checked_against_runtime,
    external_refs: "external-refs" => checked_against_runtime,
    fastapi31: "fastapi31" => checked_against_runtime,
    hostile: "hostile" => checked_against_runtime,
    params: "params" => checked_against_runtime,
    petstore: "petstore" => checked_against_runtime,
    recursive: "recursive" => checked_against_runtime,
    swagger2: "swagger2" => checked_against_runtime,
    tools_include: "tools-include" => checked_against_runtime,
}

/// A new fixture folder cannot be skipped: each has a spec and a test above, and no test names
/// a folder that is gone. Some fixture excludes an operation, so the excluded-tool check runs.
#[test]
fn every_fixture_has_a_test() {
    let fixtures: Vec<String> = common::fixtures()
        .into_iter()
        .map(|(case, _)| case)
        .collect();
    // A folder without a spec would be no fixture at all; `errors/` is tests/errors.rs's.
    let mut folders: Vec<String> = std::fs::read_dir(common::repo().join("fixtures"))
        .expect("fixtures/")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name != "errors" && !fixtures.contains(name))
        .collect();
    folders.sort();
    assert!(
        folders.is_empty(),
        "folders under fixtures/ with no openapi.yaml or openapi.json: {folders:?}"
    );
    common::assert_tests_cover_fixtures("tests/compile.rs", TESTED);
    let excluding = fixtures
        .iter()
        .filter(|case| !generate_in_memory(case).excluded.is_empty())
        .count();
    assert!(excluding > 0, "no fixture excludes an operation");
}

/// The fixture's spec, relative to the repository.
fn spec_of(case: &str) -> String {
    common::fixtures()
        .into_iter()
        .find_map(|(name, spec)| (name == case).then_some(spec))
        .unwrap_or_else(|| panic!("no spec in fixtures/{case}"))
}

/// The fixture's API as mcpgen lowers it (nothing written).
fn generate_in_memory(case: &str) -> mcpgen::ir::Api {
    let spec = spec_of(case);
    let (api, _) = mcpgen::generate(
        common::repo().join(&spec).to_str().unwrap(),
        &mcpgen::Options {
            auth: auth_file(&spec),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{case}: {e}"));
    api
}

/// Writes the fixture's crate to `target/fixture-crates/<case>` with the mcpgen binary.
fn generate_crate(case: &str) -> std::path::PathBuf {
    let spec = spec_of(case);
    let dir = common::repo()
        .join("target")
        .join("fixture-crates")
        .join(case);
    // User-owned files are never overwritten: one left by an older mcpgen in this scratch
    // crate goes, so the crate is built with today's defaults.
    for (path, _, needed) in mcpgen::ownership::USER_OWNED {
        let file = dir.join(path);
        if std::fs::read_to_string(&file).is_ok_and(|text| !needed.iter().all(|f| text.contains(f)))
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
    dir
}

/// Generates, builds, lints, tests and starts the crate of `fixtures/<case>`.
fn built_and_started(case: &str) {
    let dir = generate_crate(case);
    let api = generate_in_memory(case);
    // Built and linted by clippy in one pass, warnings denied: the binary, then its one test
    // target (the binary has no unit tests: the runtime's run in `runtime/`).
    common::cargo_linted(&dir, &["build", "--quiet"]);
    common::cargo_linted(&dir, &["test", "--quiet", "--test", "tools"]);
    let bin = common::repo()
        .join("target/gen-crates/debug")
        .join(&api.crate_name);
    serves_its_tools(case, &api, &bin);
}

/// The files of a generated crate that depend on the spec, which a check crate compiles
/// against the runtime crate (`src/oauth.rs` and `src/sealed.rs` too in mode `oauth`: its
/// `auth_config.rs` includes the one, which declares the other).
const SPEC_DEPENDENT: &[&str] = &[
    "src/tools.rs",
    "src/types.rs",
    "src/auth_config.rs",
    "src/tools.json",
    "src/search_index.rs",
    "tests/tools_expected.json",
];

/// The root of every check crate. `types` stays private, so that a type no tool uses is dead
/// code here as it is in the generated binary.
const CHECK_LIB_RS: &str = "\
//! A fixture's check crate, written by mcpgen's tests/compile.rs: the runtime crate with the
//! fixture's generated `tools.rs`, `types.rs`, `auth_config.rs` and `search_index.rs` in place
//! of its stand-ins.
pub use mcpgen_runtime::*;
pub mod auth_config;
pub mod search_index;
pub mod tools;
#[allow(hidden_glob_reexports)] // private on purpose: see tests/compile.rs
mod types;
";

/// Checks the crate of `fixtures/<case>` against the runtime crate: its spec-dependent files
/// in a check crate (`target/check-crates/<case>`) whose library is the runtime crate plus
/// them, linted by clippy with warnings denied, and tested by `tests/fixture-check/tools.rs`:
/// every tool's request sent by the runtime to a recording upstream, `tools.json` against the
/// expected tool list, the excluded operations no tools. The runtime's own code is compiled
/// once for every fixture (a path dependency in the shared target directory) and tested by
/// `cargo test -p mcpgen-runtime`.
fn checked_against_runtime(case: &str) {
    let spec = spec_of(case);
    let (api, generated) = mcpgen::generate(
        common::repo().join(&spec).to_str().unwrap(),
        &mcpgen::Options {
            auth: auth_file(&spec),
            ..Default::default()
        },
    )
    .unwrap_or_else(|e| panic!("{case}: {e}"));
    let oauth = api.auth.mode == mcpgen::ir::auth::Mode::Oauth;
    let mut files: std::collections::BTreeMap<String, String> = Default::default();
    let oauth_rs: &[&str] = if oauth {
        &["src/oauth.rs", "src/sealed.rs"]
    } else {
        &[]
    };
    for path in SPEC_DEPENDENT.iter().chain(oauth_rs).copied() {
        let text = generated
            .get(path)
            .unwrap_or_else(|| panic!("{case}: mcpgen generated no {path}"));
        files.insert(path.to_owned(), text.clone());
    }
    files.insert("src/lib.rs".to_owned(), CHECK_LIB_RS.to_owned());
    let harness = common::repo().join("tests/fixture-check/tools.rs");
    files.insert(
        "tests/tools.rs".to_owned(),
        std::fs::read_to_string(&harness).expect("tests/fixture-check/tools.rs"),
    );
    files.insert(
        "Cargo.toml".to_owned(),
        check_manifest(case, &generated["Cargo.toml"], oauth),
    );
    // The versions the runtime crate is tested with.
    files.insert(
        "Cargo.lock".to_owned(),
        std::fs::read_to_string(common::repo().join("Cargo.lock")).expect("Cargo.lock"),
    );
    let dir = common::repo().join("target/check-crates").join(case);
    write_crate(&dir, &files);
    // The library and its one test, built and linted by clippy in one pass (warnings denied),
    // not the library's empty unit-test harness or doctests.
    common::cargo_linted(&dir, &["test", "--quiet", "--test", "tools"]);
}

/// The check crate's `Cargo.toml`: the generated one's dependencies (the runtime crate's) and
/// the runtime crate by path, a library named `check` in place of the binary.
fn check_manifest(case: &str, generated: &str, oauth: bool) -> String {
    let mut manifest: toml::Table = generated
        .parse()
        .unwrap_or_else(|e| panic!("{case}: the generated Cargo.toml: {e}"));
    let package = manifest["package"]
        .as_table_mut()
        .expect("[package] in the generated Cargo.toml");
    package.insert("name".into(), format!("check-{case}").into());
    manifest.remove("bin");
    let mut lib = toml::Table::new();
    lib.insert("name".into(), "check".into());
    lib.insert("path".into(), "src/lib.rs".into());
    manifest.insert("lib".into(), lib.into());
    let mut runtime = toml::Table::new();
    let path = common::repo().join("runtime");
    runtime.insert("path".into(), path.to_string_lossy().into_owned().into());
    runtime.insert("default-features".into(), false.into());
    let features: Vec<toml::Value> = if oauth { vec!["oauth".into()] } else { vec![] };
    runtime.insert("features".into(), features.into());
    manifest["dependencies"]
        .as_table_mut()
        .expect("[dependencies] in the generated Cargo.toml")
        .insert("mcpgen-runtime".into(), runtime.into());
    format!(
        "# The check crate of fixtures/{case}, written by mcpgen's tests/compile.rs.\n{}",
        toml::to_string(&manifest).expect("Cargo.toml")
    )
}

/// Writes `files` under `dir`, each only when its content changed (so cargo sees unchanged
/// sources as unchanged), and removes any other file of its `src/` and `tests/`.
fn write_crate(dir: &std::path::Path, files: &std::collections::BTreeMap<String, String>) {
    for sub in ["src", "tests"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let rel = format!("{sub}/{}", entry.file_name().to_string_lossy());
            if !files.contains_key(&rel) {
                std::fs::remove_file(entry.path()).expect("remove a stale check-crate file");
            }
        }
    }
    for (path, text) in files {
        let file = dir.join(path);
        if std::fs::read_to_string(&file).is_ok_and(|old| old == *text) {
            continue;
        }
        std::fs::create_dir_all(file.parent().expect("a parent")).expect("check-crate dir");
        std::fs::write(&file, text).expect("write a check-crate file");
    }
}

/// Starts the built server `bin` over Streamable HTTP and checks its auth refusals, its tool
/// list and that the excluded operations are unknown tools.
fn serves_its_tools(case: &str, api: &mcpgen::ir::Api, bin: &std::path::Path) {
    // Every auth variable set to a test value; mode `bearer` accepts that value as a token.
    let vars = api.auth.env_vars();
    if !vars.is_empty() {
        refuses_to_start_without(case, bin, &vars);
    }
    let port = free_port();
    let child = Command::new(bin)
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
                let doc: serde_json::Value = serde_json::from_str(&text).expect("metadata JSON");
                assert_eq!(doc["resource"], mcp.as_str(), "{case}: {doc}");
                // Tokens come from a provider this test does not run: tests/auth does that.
                return;
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
    if api.tool_mode.mode == mcpgen::ir::ToolMode::Discover {
        // The default of a large API: the discovery tools are listed; the crate's own tests
        // (run above) list every generated tool in mode `all`.
        assert_eq!(
            names,
            [
                "search_tools",
                "describe_tools",
                "execute_tool",
                "execute_read_only_tool"
            ],
            "{case}"
        );
        return;
    }
    assert_eq!(names, expected, "{case}");
    for (tool, ir) in list["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&api.tools)
    {
        assert_eq!(
            tool["inputSchema"],
            ir.input_schema.value(),
            "{case}: {}",
            ir.name
        );
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
    }
}
