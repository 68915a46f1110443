//! Inputs that must fail: a located message (snapshotted), exit code 2, no panic, and nothing
//! written — an existing output directory is left exactly as it was.

mod common;

fn check_failure(case: &str, args: &[&str]) {
    let out = common::mcpgen(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{case}: {stderr}");
    assert!(!stderr.contains("panicked"), "{case} panicked: {stderr}");
    insta::with_settings!({snapshot_suffix => case, prepend_module_to_snapshot => false}, {
        insta::assert_snapshot!("error", stderr);
    });
}

#[test]
fn bad_specs_fail_with_located_errors() {
    for case in [
        "not-yaml",
        "not-openapi",
        "missing-ref",
        "swagger12",
        "swagger2-missing-ref",
    ] {
        let out_dir = common::scratch(&format!("errors-{case}"));
        // An existing output directory with a user file and an older generated file.
        std::fs::create_dir_all(out_dir.join("src")).unwrap();
        std::fs::write(out_dir.join("keep.txt"), "mine").unwrap();
        std::fs::write(out_dir.join("src/tools.rs"), "// older").unwrap();
        let before = common::tree(&out_dir);
        let spec = format!("fixtures/errors/{case}.yaml");
        check_failure(
            case,
            &["generate", &spec, "--out", out_dir.to_str().unwrap()],
        );
        assert_eq!(
            common::tree(&out_dir),
            before,
            "{case}: output directory changed"
        );
        // A fresh output directory is not even created.
        let fresh = out_dir.join("fresh");
        let out = common::mcpgen(&["generate", &spec, "--out", fresh.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        assert!(!fresh.exists(), "{case}: created {}", fresh.display());
    }
}

#[test]
fn missing_file_and_unknown_flag() {
    check_failure(
        "missing-file",
        &["generate", "fixtures/errors/no-such-file.yaml"],
    );
    check_failure(
        "unknown-flag",
        &["generate", "fixtures/petstore/openapi.yaml", "--frobnicate"],
    );
    check_failure(
        "bad-name",
        &[
            "generate",
            "fixtures/petstore/openapi.yaml",
            "--name",
            "Not Valid",
        ],
    );
}

#[test]
fn bad_upstream_credentials_fail_with_located_errors() {
    // Each config under fixtures/errors/upstream/ is wrong for fixtures/upstream-auth's spec.
    for case in [
        "unknown-scheme",
        "literal-secret",
        "literal-password",
        "wrong-shape",
        "wrong-shape-key",
        "unknown-field",
        "unsupported-scheme",
        "no-client-credentials",
        "not-a-mapping",
    ] {
        let out_dir = common::scratch(&format!("errors-upstream-{case}"));
        std::fs::write(out_dir.join("keep.txt"), "mine").unwrap();
        let before = common::tree(&out_dir);
        let auth = format!("fixtures/errors/upstream/{case}.yaml");
        let pointer = format!("{auth}#/upstream");
        let args = [
            "generate",
            "fixtures/upstream-auth/openapi.yaml",
            "--auth",
            &auth,
            "--out",
            out_dir.to_str().unwrap(),
        ];
        let out = common::mcpgen(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("error: {pointer}")),
            "{case}: not located in the auth file: {stderr}"
        );
        check_failure(&format!("upstream-{case}"), &args);
        untouched_and_refused_by_inspect(case, &out_dir, &before, &args);
    }
}

/// After a refused `generate` (`args`): the output directory is as `before`, and `inspect`
/// refuses the same spec and config too.
fn untouched_and_refused_by_inspect(
    case: &str,
    out_dir: &std::path::Path,
    before: &std::collections::BTreeMap<String, Vec<u8>>,
    args: &[&str],
) {
    assert_eq!(
        common::tree(out_dir),
        *before,
        "{case}: output directory changed"
    );
    let out = common::mcpgen(&["inspect", args[1], args[2], args[3]]);
    assert_eq!(out.status.code(), Some(2), "{case}: inspect");
}

/// Bad `tools:` sections of the config file (fixtures/errors/tools/), against the
/// tools-select spec: a located error naming the selector or override, exit 2, nothing written.
#[test]
fn bad_tool_selections_fail_with_located_errors() {
    let dir = common::repo().join("fixtures/errors/tools");
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .expect("fixtures/errors/tools")
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".yaml")
                .map(str::to_owned)
        })
        .collect();
    cases.sort();
    assert!(cases.len() >= 10, "{cases:?}");
    for case in cases {
        let out_dir = common::scratch(&format!("errors-tools-{case}"));
        std::fs::write(out_dir.join("keep.txt"), "mine").unwrap();
        let before = common::tree(&out_dir);
        let config = format!("fixtures/errors/tools/{case}.yaml");
        let args = [
            "generate",
            "fixtures/tools-select/openapi.yaml",
            "--auth",
            &config,
            "--out",
            out_dir.to_str().unwrap(),
        ];
        check_failure(&format!("tools-{case}"), &args);
        assert!(
            String::from_utf8_lossy(&common::mcpgen(&args).stderr)
                .starts_with(&format!("error: {config}#/tools")),
            "{case}: not located in the config file"
        );
        untouched_and_refused_by_inspect(&case, &out_dir, &before, &args);
    }
}
