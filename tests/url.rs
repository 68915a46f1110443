//! A spec fetched over HTTP (as FastAPI serves `/openapi.json`), with its relative-file `$ref`s
//! resolved against the URL, generates the same tools as the local file.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

/// Serves files under `fixtures/` until the listener is dropped with the test process.
fn serve_fixtures() -> u16 {
    serve_dir(common::repo().join("fixtures"))
}

/// Serves the files under `root` until the test process ends.
fn serve_dir(root: std::path::PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).map(|n| n == 0).unwrap_or(true) || h == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            let file = root.join(path.trim_start_matches('/'));
            let mut stream = stream;
            match std::fs::read(&file) {
                Ok(body) if !path.contains("..") => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(&body);
                }
                _ => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    );
                }
            }
        }
    });
    port
}

#[test]
fn spec_from_url_with_relative_refs() {
    let port = serve_fixtures();
    let url = format!("http://127.0.0.1:{port}/external-refs/openapi.yaml");
    let from_url = mcpgen::build_ir(&url, &mcpgen::Options::default()).expect("generate from URL");
    let local = common::repo().join("fixtures/external-refs/openapi.yaml");
    let from_file = mcpgen::build_ir(local.to_str().unwrap(), &mcpgen::Options::default()).unwrap();
    let schemas = |api: &mcpgen::ir::Api| {
        api.tools
            .iter()
            .map(|t| {
                (
                    t.name.clone(),
                    t.input_schema.clone(),
                    t.output_schema.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(schemas(&from_url), schemas(&from_file));

    let missing = format!("http://127.0.0.1:{port}/nope.yaml");
    let out = common::mcpgen(&["inspect", &missing]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&missing) && err.contains("404"), "{err}");
}

/// A document without `servers` (as FastAPI emits it), the crate's default upstream URL and the
/// generated README line that shows it.
fn default_upstream(spec: &str) -> (String, String, Vec<String>) {
    let (api, files) = mcpgen::generate(spec, &mcpgen::Options::default()).expect("generate");
    let readme = files["README.md"]
        .lines()
        .find(|l| l.contains("UPSTREAM_BASE_URL") && l.starts_with('|'))
        .unwrap_or_default()
        .to_string();
    let warnings = api.warnings.iter().map(ToString::to_string).collect();
    (api.default_upstream_url, readme, warnings)
}

/// OpenAPI: a document without `servers` has one server at `/`, relative to where it came from.
/// Fetched from FastAPI's `/openapi.json`, that is the API's origin; from a local file there is
/// no origin, and the warning says the server needs `--upstream-url`.
#[test]
fn no_servers_means_the_documents_origin() {
    let dir = common::scratch("url-no-servers");
    let spec = r#"{"openapi": "3.1.0", "info": {"title": "Items", "version": "1"},
        "paths": {"/items": {"get": {"operationId": "list_items",
            "responses": {"200": {"description": "ok"}}}}}}"#;
    std::fs::write(dir.join("openapi.json"), spec).unwrap();
    let port = serve_dir(dir.clone());

    let (url, readme, warnings) =
        default_upstream(&format!("http://127.0.0.1:{port}/openapi.json"));
    assert_eq!(url, format!("http://127.0.0.1:{port}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    let (local_url, local_readme, local_warnings) =
        default_upstream(dir.join("openapi.json").to_str().unwrap());
    assert_eq!(local_url, "");
    insta::assert_snapshot!(
        "no_servers",
        format!(
            "from the URL:\n{}\nfrom the local file:\n{}\n{}",
            readme.replace(&port.to_string(), "<port>"),
            local_readme,
            local_warnings.join("\n")
        )
    );
}

/// A user name and password in the spec's `servers` URL (issue 14, finding 4) are written into
/// no generated file (the default-URL constant, the README, the auth configuration): a warning
/// says where they went, and the URL is kept without them.
#[test]
fn credentials_in_the_servers_url_reach_no_generated_file() {
    let spec = r#"
openapi: 3.0.3
info: { title: Creds, version: "1" }
servers:
  - url: https://svc-user:pw-9f3Kq2xZ@api.creds.example/v1
components:
  securitySchemes:
    token: { type: http, scheme: bearer }
security: [{ token: [] }]
paths:
  /things:
    get:
      operationId: listThings
      responses: { "200": { description: ok } }
"#;
    let dir = std::env::temp_dir().join(format!("mcpgen-url-creds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let auth = dir.join("auth.yaml");
    std::fs::write(
        &auth,
        "mode: bearer\nbearer:\n  tokens: ${MCP_TOKENS}\n  forward: true\nupstream:\n  token: ${API_TOKEN}\n",
    )
    .unwrap();
    let options = mcpgen::Options {
        auth: Some(auth.to_string_lossy().into_owned()),
        ..mcpgen::Options::default()
    };
    let (api, files) = mcpgen::generate_text("spec.yaml", spec, &options).expect("generates");
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(api.default_upstream_url, "https://api.creds.example/v1");
    for (path, text) in &files {
        assert!(!text.contains("pw-9f3Kq2xZ"), "the password in {path}");
        assert!(!text.contains("svc-user"), "the user name in {path}");
    }
    assert!(files["src/tools.rs"].contains("https://api.creds.example/v1"));
    let warning = api
        .warnings
        .iter()
        .map(ToString::to_string)
        .find(|w| w.contains("user name or password"))
        .expect("a warning about the credentials");
    assert!(!warning.contains("pw-9f3Kq2xZ"), "{warning}");
}
