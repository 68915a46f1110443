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
