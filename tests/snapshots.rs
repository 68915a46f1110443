//! insta snapshots of every generated file and of `inspect` for every fixture. Spec-independent
//! files (`src/main.rs`, `src/server.rs`, `src/runtime.rs`) are snapshotted once, and every
//! fixture's copy is checked to be identical.

mod common;

const STATIC_FILES: &[&str] = &["src/main.rs", "src/server.rs", "src/runtime.rs"];

#[test]
fn generated_files() {
    let fixtures = common::fixtures();
    assert!(fixtures.len() >= 6, "fixtures missing: {fixtures:?}");
    let mut statics: Option<mcpgen::output::FileMap> = None;
    for (case, spec) in fixtures {
        let spec = common::repo().join(&spec);
        let (_, files) = mcpgen::generate(spec.to_str().unwrap(), &mcpgen::Options::default())
            .unwrap_or_else(|e| panic!("{case}: {e}"));
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
        let out = common::mcpgen(&["inspect", &spec]);
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
}
