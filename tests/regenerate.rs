//! Regeneration in CI (issue 6): `generate --check` exit codes and listings, generator-owned
//! files rewritten and stale ones deleted, user-owned files (`src/hooks.rs`,
//! `src/custom_tools.rs`) and the user's own files kept — and the regenerated crate still builds,
//! passes its own `cargo test`, and serves the user's hook and custom tool beside the generated
//! tools, while the operation removed from the spec is gone from the code and not callable.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

const CRATE: &str = "mcpgen-regen-test";

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn generate(spec: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "generate",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--name",
        CRATE,
    ];
    args.extend(extra);
    common::mcpgen(&args)
}

/// `--check`: exit code, stdout; asserts that it wrote nothing.
fn check(spec: &Path, out: &Path, extra: &[&str]) -> (i32, String) {
    let before = common::tree(out);
    let mut args = extra.to_vec();
    args.push("--check");
    let o = generate(spec, out, &args);
    assert_eq!(
        common::tree(out),
        before,
        "--check changed {}",
        out.display()
    );
    (
        o.status.code().unwrap_or(-1),
        text(&o.stdout) + &text(&o.stderr),
    )
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", text(&o.stderr));
    text(&o.stderr)
}

/// The petstore spec with an operation removed and a summary changed.
fn changed_spec(v1: &Path, v2: &Path) {
    let mut doc: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(v1).unwrap()).unwrap();
    let paths = doc.get_mut("paths").unwrap();
    let pet = paths
        .get_mut("/pets/{petId}")
        .and_then(serde_yaml::Value::as_mapping_mut)
        .unwrap();
    assert!(pet.remove("delete").is_some(), "the fixture has deletePet");
    let get = paths
        .get_mut("/pets")
        .and_then(|p| p.get_mut("get"))
        .and_then(serde_yaml::Value::as_mapping_mut)
        .unwrap();
    get.insert("summary".into(), "List the pets, a page at a time".into());
    std::fs::write(v2, serde_yaml::to_string(&doc).unwrap()).unwrap();
}

/// The user's hooks: a header on every upstream request, a note on every result.
const MY_HOOKS: &str = r#"//! My hooks.
use crate::auth::{Denial, HookRequest};
use crate::runtime::Request;
use rmcp::model::{CallToolResult, ContentBlock};

pub async fn check_request(request: &HookRequest<'_>) -> Result<(), Denial> {
    let _ = request;
    Ok(())
}

pub async fn on_tool_request(tool: &str, request: &mut Request) -> Result<(), String> {
    request
        .headers
        .push(("x-my-hook".to_owned(), format!("seen {tool}")));
    Ok(())
}

pub async fn on_tool_result(tool: &str, result: &mut CallToolResult) {
    result
        .content
        .push(ContentBlock::text(format!("checked by my hook: {tool}")));
}
"#;

/// The example of the default `src/custom_tools.rs` doc comment, as a file of its own.
fn custom_tools_example(default: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in default.lines() {
        let line = line
            .strip_prefix("//!")
            .map(|l| l.strip_prefix(' ').unwrap_or(l));
        match line {
            Some("```ignore") => inside = true,
            Some("```") if inside => break,
            Some(code) if inside => {
                out.push_str(code);
                out.push('\n');
            }
            _ => {}
        }
    }
    assert!(out.contains("pub fn tools()"), "no example in:\n{default}");
    out
}

/// A recording upstream API: every request answered `200 {}`; (request line, headers) kept.
struct Recorder {
    url: String,
    seen: Arc<Mutex<Vec<(String, String)>>>,
}

impl Recorder {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let mut headers = String::new();
                let mut length = 0usize;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    let lower = h.to_ascii_lowercase();
                    if let Some(v) = lower.strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                    headers.push_str(&lower);
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                log.lock()
                    .unwrap()
                    .push((line.trim_end().to_owned(), headers));
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                );
            }
        });
        Self { url, seen }
    }

    fn take(&self) -> Vec<(String, String)> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }
}

/// The generated server over stdio.
struct StdioServer {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    id: u64,
}

impl StdioServer {
    fn start(bin: &Path, upstream: &str) -> Self {
        let mut child = Command::new(bin)
            .args(["--transport", "stdio", "--upstream-url", upstream])
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the regenerated server");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut s = Self {
            child,
            stdin,
            lines,
            id: 0,
        };
        let init = s.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "regenerate-test", "version": "0"}}),
        );
        assert!(init["result"].is_object(), "{init}");
        writeln!(
            s.stdin,
            "{}",
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"})
        )
        .unwrap();
        s
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.id += 1;
        let id = self.id;
        writeln!(
            self.stdin,
            "{}",
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
        )
        .unwrap();
        self.stdin.flush().unwrap();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("no answer to {method}: {e}"));
            let msg: Value = serde_json::from_str(&line).expect("JSON-RPC on stdout");
            if msg["id"] == json!(id) {
                return msg;
            }
        }
    }
}

impl Drop for StdioServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn check_and_regenerate_keep_user_code_and_follow_the_spec() {
    let work = common::scratch("regenerate");
    let v1 = work.join("openapi.yaml");
    std::fs::copy(common::repo().join("fixtures/petstore/openapi.yaml"), &v1).unwrap();
    let v2 = work.join("openapi-v2.yaml");
    changed_spec(&v1, &v2);
    let out = work.join("crate");

    // Fresh output: --check is happy.
    ok(generate(&v1, &out, &[]));
    let (code, said) = check(&v1, &out, &[]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("up to date"), "{said}");
    let manifest = std::fs::read_to_string(out.join(".mcpgen-manifest")).unwrap();
    assert!(manifest.contains("\nsrc/tools.rs\n"), "{manifest}");
    assert!(
        !manifest
            .lines()
            .any(|l| l == "src/hooks.rs" || l == "src/custom_tools.rs"),
        "user-owned files are not in the manifest"
    );
    let header = std::fs::read_to_string(out.join("src/server.rs")).unwrap();
    assert!(
        header.starts_with("// @generated by mcpgen 0.1.0. Do not edit"),
        "{header}"
    );
    assert!(
        manifest.contains("\n# Inputs: sha256:"),
        "the inputs' fingerprint is in the manifest: {manifest}"
    );

    // A file that differs only in its @generated line (another mcpgen version wrote it).
    let main_rs = out.join("src/main.rs");
    let current = std::fs::read_to_string(&main_rs).unwrap();
    std::fs::write(
        &main_rs,
        current.replacen("mcpgen 0.1.0.", "mcpgen 0.0.9.", 1),
    )
    .unwrap();
    let (code, said) = check(&v1, &out, &[]);
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("  changed: src/main.rs (only the @generated header)\n"),
        "{said}"
    );
    std::fs::write(&main_rs, current).unwrap();

    // An edit to a generated file: 1, naming it, with a diff; regeneration restores it.
    let tools_rs = out.join("src/tools.rs");
    let mut edited = std::fs::read_to_string(&tools_rs).unwrap();
    edited.push_str("// a hand edit\n");
    std::fs::write(&tools_rs, &edited).unwrap();
    let (code, said) = check(&v1, &out, &[]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("  changed: src/tools.rs\n"), "{said}");
    assert!(said.contains("-// a hand edit"), "the diff: {said}");
    assert!(said.contains("(1 file)"), "{said}");
    // A deleted generated file is reported as one to add.
    std::fs::remove_file(out.join("src/types.rs")).unwrap();
    let (code, said) = check(&v1, &out, &[]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("  added:   src/types.rs\n"), "{said}");
    ok(generate(&v1, &out, &[]));
    assert_eq!(check(&v1, &out, &[]).0, 0);

    // Edits to user-owned files, and files of the user's own: --check stays 0.
    let default_custom = std::fs::read_to_string(out.join("src/custom_tools.rs")).unwrap();
    let my_custom = custom_tools_example(&default_custom);
    std::fs::write(out.join("src/hooks.rs"), MY_HOOKS).unwrap();
    std::fs::write(out.join("src/custom_tools.rs"), &my_custom).unwrap();
    std::fs::create_dir_all(out.join("notes")).unwrap();
    std::fs::write(out.join("notes/todo.md"), "mine").unwrap();
    std::fs::write(out.join("tests/my_test.rs"), "#[test]\nfn mine() {}\n").unwrap();
    let (code, said) = check(&v1, &out, &[]);
    assert_eq!(code, 0, "user-owned edits are not drift: {said}");

    // The spec changes (deletePet removed, a summary changed): 1, naming the files.
    let (code, said) = check(&v2, &out, &[]);
    assert_eq!(code, 1, "{said}");
    for file in [
        "src/tools.rs",
        "src/tools.json",
        "README.md",
        "tests/tools_expected.json",
    ] {
        assert!(
            said.contains(&format!("  changed: {file}\n")),
            "{file}: {said}"
        );
    }
    // Files the change does not touch stay as they are: no header carries the inputs hash.
    assert!(!said.contains("src/main.rs"), "{said}");
    assert!(
        said.contains("  changed: .mcpgen-manifest\n") && said.contains("+# Inputs: sha256:"),
        "the manifest's fingerprint line changes: {said}"
    );
    assert!(
        said.lines()
            .any(|l| l.starts_with('-') && l.contains("delete_pet")),
        "the diff shows the tool going: {said}"
    );
    // (The manifest's diff context names them in its comment; the file list must not.)
    assert!(
        !said
            .lines()
            .filter(|l| l.starts_with("  changed:")
                || l.starts_with("  added:")
                || l.starts_with("  removed:"))
            .any(|l| l.contains("src/hooks.rs") || l.contains("custom_tools")),
        "{said}"
    );

    // Regeneration: the user's files are kept byte for byte, the removed operation is gone.
    ok(generate(&v2, &out, &[]));
    assert_eq!(check(&v2, &out, &[]).0, 0);
    assert_eq!(
        std::fs::read_to_string(out.join("src/hooks.rs")).unwrap(),
        MY_HOOKS
    );
    assert_eq!(
        std::fs::read_to_string(out.join("src/custom_tools.rs")).unwrap(),
        my_custom
    );
    assert!(out.join("notes/todo.md").exists() && out.join("tests/my_test.rs").exists());
    for file in [
        "src/tools.rs",
        "src/tools.json",
        "README.md",
        "tests/tools_expected.json",
    ] {
        let t = std::fs::read_to_string(out.join(file)).unwrap();
        assert!(
            !t.contains("delete_pet") && !t.contains("DeletePet"),
            "{file} still has deletePet"
        );
        assert!(!t.contains("Delete a pet"), "{file}");
    }
    assert!(
        std::fs::read_to_string(out.join("src/tools.json"))
            .unwrap()
            .contains("List the pets, a page at a time")
    );

    // The regenerated crate with the user's code builds and passes its own tests.
    common::cargo(&out, &["build", "--quiet"]);
    let tests = common::cargo(&out, &["test", "--quiet"]);
    assert_eq!(
        tests.matches("test result: ok.").count(),
        3,
        "the binary's harness (empty: the runtime's unit tests run in runtime/), tests/tools.rs \
         and the user's tests/my_test.rs ran: {tests}"
    );

    // And serves it: the hook on generated tools, the custom tool after them, no delete_pet.
    let upstream = Recorder::start();
    let bin = common::repo().join("target/gen-crates/debug").join(CRATE);
    let mut server = StdioServer::start(&bin, &upstream.url);
    let list = server.request("tools/list", json!({}));
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "list_pets",
            "create_pets",
            "show_pet_by_id",
            "upstream_status"
        ]
    );
    let gone = server.request(
        "tools/call",
        json!({"name": "delete_pet", "arguments": {"petId": "1"}}),
    );
    assert_eq!(gone["error"]["code"], -32602, "{gone}");
    assert!(upstream.take().is_empty());

    let r = server.request(
        "tools/call",
        json!({"name": "list_pets", "arguments": {"limit": 2}}),
    );
    let seen = upstream.take();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "GET /pets?limit=2 HTTP/1.1");
    assert!(
        seen[0].1.contains("x-my-hook: seen list_pets\r\n"),
        "{}",
        seen[0].1
    );
    assert!(
        r["result"]["content"]
            .to_string()
            .contains("checked by my hook: list_pets"),
        "{r}"
    );

    let r = server.request(
        "tools/call",
        json!({"name": "upstream_status", "arguments": {}}),
    );
    let seen = upstream.take();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].0, "GET / HTTP/1.1");
    let content = r["result"]["content"].to_string();
    assert!(
        content.contains(&format!("the upstream API at {} is up", upstream.url)),
        "{r}"
    );
    assert!(
        content.contains("checked by my hook: upstream_status"),
        "{r}"
    );
}

#[test]
fn files_no_longer_generated_are_removed_and_only_those() {
    let work = common::scratch("regenerate-removal");
    let spec = common::repo().join("fixtures/auth-oauth/openapi.yaml");
    let auth = common::repo().join("fixtures/auth-oauth/auth.yaml");
    let auth = auth.to_str().unwrap();
    let out = work.join("crate");
    ok(generate(&spec, &out, &["--auth", auth]));
    assert!(out.join("src/oauth.rs").exists());
    std::fs::write(out.join("src/mine.rs"), "// mine\n").unwrap();
    std::fs::write(out.join("NOTES.md"), "mine").unwrap();
    let hooks = "// my hooks, kept\n";
    std::fs::write(out.join("src/hooks.rs"), hooks).unwrap();

    // Without the OAuth config the OAuth module is no longer generated.
    let (code, said) = check(&spec, &out, &[]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("  removed: src/oauth.rs\n"), "{said}");
    assert!(!said.contains("mine") && !said.contains("NOTES"), "{said}");
    assert!(
        said.contains("src/hooks.rs: your file has no `fn check_request`"),
        "an outdated user-owned file is reported: {said}"
    );
    let stderr = ok(generate(&spec, &out, &[]));
    assert!(
        stderr.contains("removed src/oauth.rs (no longer generated)"),
        "{stderr}"
    );
    assert!(!out.join("src/oauth.rs").exists());
    assert!(out.join("src/mine.rs").exists() && out.join("NOTES.md").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("src/hooks.rs")).unwrap(),
        hooks
    );
    assert!(
        !std::fs::read_to_string(out.join(".mcpgen-manifest"))
            .unwrap()
            .contains("src/oauth.rs")
    );
    assert_eq!(check(&spec, &out, &[]).0, 0);
}

/// One changed word in `info.description` changes the files that show it and the manifest's
/// fingerprint, nothing else: no header carries the inputs hash (issue 12, point 4).
#[test]
fn a_description_change_touches_only_what_shows_it() {
    let work = common::scratch("regenerate-description");
    let v1 = work.join("openapi.yaml");
    std::fs::copy(common::repo().join("fixtures/petstore/openapi.yaml"), &v1).unwrap();
    let mut doc: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&v1).unwrap()).unwrap();
    let info = doc
        .get_mut("info")
        .and_then(serde_yaml::Value::as_mapping_mut)
        .unwrap();
    info.insert(
        "description".into(),
        "A pet store, changed by one word.".into(),
    );
    let v2 = work.join("openapi-v2.yaml");
    std::fs::write(&v2, serde_yaml::to_string(&doc).unwrap()).unwrap();
    let out = work.join("crate");
    ok(generate(&v1, &out, &[]));
    let (code, said) = check(&v2, &out, &[]);
    assert_eq!(code, 1, "{said}");
    let changed: Vec<&str> = said
        .lines()
        .filter_map(|l| l.strip_prefix("  changed: "))
        .collect();
    assert_eq!(changed, [".mcpgen-manifest", "README.md"], "{said}");
    assert!(
        !said.contains("  added:") && !said.contains("  removed:"),
        "{said}"
    );
}

/// `src/tools.json` is streamed into the output directory while the crate renders: regenerated
/// unchanged it keeps its mtime, edited by hand it is drift for `--check` and rewritten by the
/// next run, and a run that fails to write another file leaves it as it was and no temporary
/// file behind.
#[test]
fn tools_json_is_put_in_place_only_when_changed() {
    let work = common::scratch("regenerate-tools-json");
    let spec = common::repo().join("fixtures/petstore/openapi.yaml");
    let out = work.join("crate");
    ok(generate(&spec, &out, &[]));
    let tools = out.join("src/tools.json");
    let generated = std::fs::read(&tools).unwrap();
    let mtime = || std::fs::metadata(&tools).unwrap().modified().unwrap();
    let before = mtime();
    std::thread::sleep(Duration::from_millis(20));
    let stderr = ok(generate(&spec, &out, &[]));
    assert!(stderr.contains(", 0 changed, "), "{stderr}");
    assert_eq!(mtime(), before, "an unchanged tools.json keeps its mtime");
    assert_eq!(check(&spec, &out, &[]).0, 0);

    // The same length, one byte changed.
    let mut edited = generated.clone();
    let at = edited.iter().rposition(|&b| b == b'e').unwrap();
    edited[at] = b'E';
    std::fs::write(&tools, &edited).unwrap();
    let (code, said) = check(&spec, &out, &[]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("  changed: src/tools.json\n"), "{said}");
    assert!(said.contains("(1 file)"), "{said}");

    // A file before it in path order cannot be written: the run fails naming that file, and
    // the edited tools.json stays (it was not reached) with nothing temporary left beside.
    let cargo_toml = out.join("Cargo.toml");
    std::fs::remove_file(&cargo_toml).unwrap();
    std::fs::create_dir_all(cargo_toml.join("blocked")).unwrap();
    let o = generate(&spec, &out, &[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains(&cargo_toml.display().to_string()),
        "{}",
        text(&o.stderr)
    );
    assert_eq!(std::fs::read(&tools).unwrap(), edited);
    let temporary: Vec<String> = common::tree(&out)
        .into_keys()
        .filter(|f| f.ends_with(".tmp"))
        .collect();
    assert!(temporary.is_empty(), "{temporary:?}");
    std::fs::remove_dir_all(&cargo_toml).unwrap();

    let stderr = ok(generate(&spec, &out, &[]));
    assert!(stderr.contains(", 2 changed, "), "{stderr}");
    assert_eq!(std::fs::read(&tools).unwrap(), generated, "rewritten");
    assert_eq!(check(&spec, &out, &[]).0, 0);
}
