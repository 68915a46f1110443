//! insta snapshots of every generated file and of `inspect` for every fixture. Spec-independent
//! files (the runtime's modules under `src/` — `src/oauth.rs` in mode `oauth` only — its
//! `tests/tools.rs`, and the user-owned `src/hooks.rs` and `src/custom_tools.rs`) are snapshotted
//! once, and every fixture's copy is checked to be identical but for the inputs hash of its
//! `@generated` header. A fixture directory with an `auth.yaml` is generated with `--auth` it.

mod common;

const STATIC_FILES: &[&str] = &[
    "src/main.rs",
    "src/admission.rs",
    "src/args.rs",
    "src/auth.rs",
    "src/body.rs",
    "src/client_credentials.rs",
    "src/config.rs",
    "src/credentials.rs",
    "src/direct.rs",
    "src/encoding.rs",
    "src/errors.rs",
    "src/origins.rs",
    "src/redact.rs",
    "src/request.rs",
    "src/response.rs",
    "src/runtime.rs",
    "src/server.rs",
    "src/settings.rs",
    "src/transport.rs",
    "src/upstream.rs",
    "src/oauth.rs",
    "src/hooks.rs",
    "src/custom_tools.rs",
    "tests/tools.rs",
];

/// The fixture's `auth.yaml` (beside its spec), if it has one, relative to the repository (the
/// working directory of tests), so messages naming it are the same on every machine.
fn auth_file(spec: &str) -> Option<String> {
    let path = std::path::Path::new(spec).with_file_name("auth.yaml");
    common::repo()
        .join(&path)
        .exists()
        .then(|| path.to_string_lossy().into_owned())
}

#[test]
fn generated_files() {
    let fixtures = common::fixtures();
    assert!(fixtures.len() >= 6, "fixtures missing: {fixtures:?}");
    let mut statics: Option<mcpgen::FileMap> = None;
    for (case, spec) in fixtures {
        let opts = mcpgen::Options {
            auth: auth_file(&spec),
            ..Default::default()
        };
        let spec = common::repo().join(&spec);
        let (api, files) = mcpgen::generate(spec.to_str().unwrap(), &opts)
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert!(api.inputs_hash.starts_with("sha256:"), "{case}");
        for (path, contents) in &files {
            if STATIC_FILES.contains(&path.as_str()) {
                let s = statics.get_or_insert_with(Default::default);
                match s.get(path) {
                    Some(prev) => assert_eq!(prev, contents, "{path} differs for {case}"),
                    None => {
                        s.insert(path.clone(), contents.clone());
                    }
                }
                continue;
            }
            let name = path.replace('/', "__");
            insta::with_settings!({snapshot_suffix => case.as_str(), prepend_module_to_snapshot => false}, {
                insta::assert_snapshot!(name, contents);
            });
            if path.ends_with(".json") {
                serde_json::from_str::<serde_json::Value>(contents).expect("generated JSON parses");
            }
        }
    }
    for (path, contents) in statics.expect("static files") {
        let name = path.replace('/', "__");
        insta::with_settings!({prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(name, contents);
        });
    }
}

#[test]
fn inspect_output() {
    for (case, spec) in common::fixtures() {
        let mut args = vec!["inspect".to_string(), spec.clone()];
        if let Some(auth) = auth_file(&spec) {
            args.extend(["--auth".to_string(), auth]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = common::mcpgen(&args);
        assert!(
            out.status.success(),
            "{case}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        insta::with_settings!({snapshot_suffix => case.as_str(), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("inspect", text);
        });
    }
    let out = common::mcpgen(&["inspect", "--json", "fixtures/petstore/openapi.yaml"]);
    assert!(out.status.success());
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("inspect --json is JSON");
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("inspect_json@petstore", json);
    });
    // Upstream credentials for machines: the schemes, and each tool's credential alternatives.
    let out = common::mcpgen(&[
        "inspect",
        "--json",
        "fixtures/upstream-auth/openapi.yaml",
        "--auth",
        "fixtures/upstream-auth/auth.yaml",
    ]);
    assert!(out.status.success());
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("inspect --json is JSON");
    let credentials = serde_json::json!({
        "security_schemes": json["security_schemes"],
        "upstream": json["auth"]["upstream"],
        "tools": json["tools"]
            .as_array()
            .expect("tools")
            .iter()
            .map(|t| serde_json::json!({"name": t["name"], "credentials": t["credentials"]}))
            .collect::<Vec<_>>(),
    });
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("inspect_json_credentials@upstream-auth", credentials);
    });
}
