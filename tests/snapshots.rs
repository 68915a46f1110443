//! insta snapshots of every generated file and of `inspect` for every fixture. Spec-independent
//! files (the runtime's modules under `src/` — `src/oauth.rs` and `src/sealed.rs` in mode `oauth` only — its
//! `tests/tools.rs`, and the user-owned `src/hooks.rs` and `src/custom_tools.rs`) have one
//! snapshot each, which every fixture's copy must match, header included (no header carries
//! the inputs hash). A fixture directory with an `auth.yaml` is generated with `--auth` it.
//!
//! Two tests per fixture, in a module named after its folder (`-` as `_`):
//! `cargo test --test snapshots petstore` runs `petstore::generated_files` and
//! `petstore::inspect`. `every_fixture_has_a_test` fails on a fixture folder without them and on
//! a snapshot file that no test checks any more.

mod common;

const STATIC_FILES: &[&str] = &[
    "src/main.rs",
    "src/admission.rs",
    "src/args.rs",
    "src/auth.rs",
    "src/body.rs",
    "src/catalog.rs",
    "src/client_credentials.rs",
    "src/config.rs",
    "src/credentials.rs",
    "src/direct.rs",
    "src/discover.rs",
    "src/discover_tools.json",
    "src/encoding.rs",
    "src/errors.rs",
    "src/limits.rs",
    "src/metrics.rs",
    "src/origins.rs",
    "src/readiness.rs",
    "src/redact.rs",
    "src/request.rs",
    "src/response.rs",
    "src/runtime.rs",
    "src/search.rs",
    "src/search_text.rs",
    "src/server.rs",
    "src/sessions.rs",
    "src/settings.rs",
    "src/telemetry.rs",
    "src/token_exchange.rs",
    "src/tool_info.rs",
    "src/tools_json.rs",
    "src/transport.rs",
    "src/upstream.rs",
    "src/oauth.rs",
    "src/sealed.rs",
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

/// Two tests per fixture folder, in a module `name`: `name => "folder"`.
macro_rules! fixture_tests {
    ($($test:ident => $case:literal,)*) => {
        /// The fixture folders that have tests here.
        const TESTED: &[&str] = &[$($case),*];
        $(
            mod $test {
                #[test]
                fn generated_files() {
                    super::generated_files($case);
                }

                #[test]
                fn inspect() {
                    super::inspect($case);
                }
            }
        )*
    };
}

fixture_tests! {
    auth_bearer => "auth-bearer",
    auth_cimd_private => "auth-cimd-private",
    auth_introspection => "auth-introspection",
    auth_oauth => "auth-oauth",
    auth_provider_entra => "auth-provider-entra",
    auth_provider_github => "auth-provider-github",
    auth_token_exchange => "auth-token-exchange",
    client_safe => "client-safe",
    collisions => "collisions",
    discover => "discover",
    e2e => "e2e",
    external_refs => "external-refs",
    fastapi31 => "fastapi31",
    hostile => "hostile",
    params => "params",
    petstore => "petstore",
    recursive => "recursive",
    swagger2 => "swagger2",
    tools_include => "tools-include",
    tools_select => "tools-select",
    upstream_auth => "upstream-auth",
}

/// A new fixture cannot be skipped, and no snapshot is left that nothing checks: every
/// `<file>@<fixture>.snap` names a fixture, every snapshot without `@` a file of
/// `STATIC_FILES` (`error@…` snapshots are tests/errors.rs's, `<test>__….snap` those of
/// `tests/<test>.rs`).
#[test]
fn every_fixture_has_a_test() {
    let fixtures: Vec<String> = common::fixtures()
        .into_iter()
        .map(|(case, _)| case)
        .collect();
    common::assert_tests_cover_fixtures("tests/snapshots.rs", TESTED);
    let statics: Vec<String> = STATIC_FILES
        .iter()
        .map(|path| format!("{}.snap", path.replace('/', "__")))
        .collect();
    let mut orphans: Vec<String> = std::fs::read_dir(common::repo().join("tests/snapshots"))
        .expect("tests/snapshots")
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(
            |name| match name.strip_suffix(".snap").and_then(|n| n.split_once('@')) {
                Some(("error", _)) => false,
                Some((_, case)) => !fixtures.iter().any(|f| f == case),
                // Another test file's snapshot (`url__no_servers.snap` is tests/url.rs's).
                None => {
                    !statics.contains(name)
                        && !name.split_once("__").is_some_and(|(file, _)| {
                            common::repo().join(format!("tests/{file}.rs")).is_file()
                        })
                }
            },
        )
        .collect();
    orphans.sort();
    assert!(
        orphans.is_empty(),
        "snapshots that no test checks: {orphans:?}"
    );
    let mut generated = std::collections::BTreeSet::new();
    for case in &fixtures {
        generated.extend(generate(case).1.into_keys());
    }
    let never: Vec<&&str> = STATIC_FILES
        .iter()
        .filter(|path| !generated.contains(**path))
        .collect();
    assert!(
        never.is_empty(),
        "STATIC_FILES no fixture generates: {never:?}"
    );
}

/// Every file generated for `fixtures/<case>`: spec-dependent files snapshotted as
/// `<file>@<case>`, spec-independent ones (`STATIC_FILES`) compared with their one snapshot.
fn generated_files(case: &str) {
    let (api, files) = generate(case);
    assert!(api.inputs_hash.starts_with("sha256:"), "{case}");
    for (path, contents) in &files {
        let name = path.replace('/', "__");
        // The deployment files differ between fixtures in names and variables only: one
        // fixture's are snapshotted (mode oauth: the Secret's variables and MCP_STATE_KEY);
        // every fixture's parse (YAML manifests, at rendering).
        if is_deploy_file(path) && case != DEPLOY_FIXTURE {
            continue;
        }
        if STATIC_FILES.contains(&path.as_str()) {
            insta::with_settings!({prepend_module_to_snapshot => false}, {
                insta::assert_snapshot!(name, contents);
            });
            continue;
        }
        insta::with_settings!({snapshot_suffix => case, prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(name, contents);
        });
        if path.ends_with(".json") {
            serde_json::from_str::<serde_json::Value>(contents).expect("generated JSON parses");
        }
    }
}

/// The fixture whose deployment files are snapshotted.
const DEPLOY_FIXTURE: &str = "auth-oauth";

/// `Dockerfile`, `.dockerignore` and `deploy/...`.
fn is_deploy_file(path: &str) -> bool {
    path == "Dockerfile" || path == ".dockerignore" || path.starts_with("deploy/")
}

/// What mcpgen generates for `fixtures/<case>` (nothing written).
fn generate(case: &str) -> (mcpgen::ir::Api, mcpgen::FileMap) {
    let spec = spec_of(case);
    let opts = mcpgen::Options {
        auth: auth_file(&spec),
        ..Default::default()
    };
    let spec = common::repo().join(&spec);
    mcpgen::generate(spec.to_str().unwrap(), &opts).unwrap_or_else(|e| panic!("{case}: {e}"))
}

/// The fixture's spec, relative to the repository.
fn spec_of(case: &str) -> String {
    common::fixtures()
        .into_iter()
        .find_map(|(name, spec)| (name == case).then_some(spec))
        .unwrap_or_else(|| panic!("no spec in fixtures/{case}"))
}

/// `mcpgen inspect` of `fixtures/<case>`, snapshotted as `inspect@<case>`.
fn inspect(case: &str) {
    let spec = spec_of(case);
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
    insta::with_settings!({snapshot_suffix => case, prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("inspect", text);
    });
}

/// `inspect --json`: of petstore whole, of upstream-auth the upstream credentials.
#[test]
fn inspect_json() {
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
    // The token budget for machines, of the API big enough for `auto` to pick discover mode.
    let out = common::mcpgen(&[
        "inspect",
        "--json",
        "fixtures/discover/openapi.yaml",
        "--auth",
        "fixtures/discover/auth.yaml",
    ]);
    assert!(out.status.success());
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("inspect --json is JSON");
    assert_eq!(json["tool_mode"]["mode"], "discover");
    insta::with_settings!({prepend_module_to_snapshot => false}, {
        insta::assert_json_snapshot!("inspect_json_budget@discover", json["budget"]);
    });
}

/// `generate` prints the budget's warnings on stderr, as `inspect` shows them.
#[test]
fn generate_warns_about_the_budget() {
    let out_dir = common::scratch("generate-budget-warnings");
    let out = common::mcpgen(&[
        "generate",
        "fixtures/discover/openapi.yaml",
        "--auth",
        "fixtures/discover/auth.yaml",
        "--out",
        out_dir.to_str().expect("UTF-8 path"),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: 45 tools: past 40, clients warn and models choose worse in `all` mode (the crate's default is `--tool-mode discover`"),
        "{stderr}"
    );
    let tools = std::fs::read_to_string(out_dir.join("src/tools.rs")).expect("tools.rs");
    assert!(tools.contains("crate::tool_info::ToolMode::Discover"));
    let _ = std::fs::remove_dir_all(&out_dir);
}
