//! Inputs that must fail: a located message (snapshotted), exit code 2, no panic, and nothing
//! written — an existing output directory is left exactly as it was.
//!
//! The cases are the files of `fixtures/errors/`, found there, so a new one cannot be skipped:
//!
//! - `fixtures/errors/*.yaml`: specs that must be refused (snapshot `error@<case>`);
//! - `fixtures/errors/upstream/*.yaml`: `upstream:` configs wrong for
//!   `fixtures/upstream-auth/openapi.yaml` (snapshot `error@upstream-<case>`);
//! - `fixtures/errors/tools/*.yaml`: `tools:` sections wrong for
//!   `fixtures/tools-select/openapi.yaml` (snapshot `error@tools-<case>`);
//! - `fixtures/errors/oauth/*.yaml`: `oauth:` sections that must be refused, with
//!   `fixtures/auth-oauth/openapi.yaml` (snapshot `error@oauth-<case>`).
//!
//! Every case of a group runs even when an earlier one fails; the test then names all that
//! failed (`cargo test --test errors upstream` runs one group). `every_error_fixture_has_a_test`
//! fails on a file or folder under `fixtures/errors/` that none of these groups reads.

mod common;

use std::path::Path;

/// The groups of error fixtures: folder under `fixtures/errors/` ("" for the folder itself).
const GROUPS: &[&str] = &["", "upstream", "tools", "oauth"];

/// The cases of a group: the `.yaml` files directly in `fixtures/errors/<group>`, sorted, by
/// name without the extension.
fn cases(group: &str) -> Vec<String> {
    let dir = common::repo().join("fixtures/errors").join(group);
    let mut cases: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".yaml")
                .map(str::to_owned)
        })
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no cases in {}", dir.display());
    cases
}

/// Command-line mistakes with no fixture file: (snapshot suffix, arguments).
const CLI_CASES: &[(&str, &[&str])] = &[
    (
        "missing-file",
        &["generate", "fixtures/errors/no-such-file.yaml"],
    ),
    (
        "unknown-flag",
        &["generate", "fixtures/petstore/openapi.yaml", "--frobnicate"],
    ),
    (
        "bad-name",
        &[
            "generate",
            "fixtures/petstore/openapi.yaml",
            "--name",
            "Not Valid",
        ],
    ),
];

/// The snapshot suffix of a case of a group: `<case>`, `upstream-<case>`, `tools-<case>`.
fn suffix(group: &str, case: &str) -> String {
    if group.is_empty() {
        case.to_owned()
    } else {
        format!("{group}-{case}")
    }
}

/// Runs `check` for every case, each to its end even when an earlier one failed, then fails
/// naming every case that did.
fn each(cases: &[String], check: impl Fn(&str)) {
    let mut failed = Vec::new();
    for case in cases {
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(case))) {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            failed.push(format!("{case}: {message}"));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n")
    );
}

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
fn every_error_fixture_has_a_test() {
    let root = common::repo().join("fixtures/errors");
    let mut unclaimed = Vec::new();
    let mut walk = vec![root.clone()];
    while let Some(dir) = walk.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("fixtures/errors")
            .filter_map(Result::ok)
        {
            let path = entry.path();
            let rel = path
                .strip_prefix(&root)
                .expect("under fixtures/errors")
                .to_string_lossy()
                .replace('\\', "/");
            let parent = rel.rsplit_once('/').map_or("", |(parent, _)| parent);
            if path.is_dir() {
                if GROUPS.contains(&rel.as_str()) {
                    walk.push(path);
                } else {
                    unclaimed.push(format!("{rel}/"));
                }
            } else if !(GROUPS.contains(&parent) && rel.ends_with(".yaml")) {
                unclaimed.push(rel);
            }
        }
    }
    unclaimed.sort();
    assert!(
        unclaimed.is_empty(),
        "fixtures/errors/ holds what no test reads (a case is a .yaml file in one of the \
         folders {GROUPS:?} of tests/errors.rs): {unclaimed:?}"
    );
    // And no snapshot is left of a case that is gone.
    let mut known: Vec<String> = CLI_CASES
        .iter()
        .map(|(case, _)| (*case).to_owned())
        .collect();
    for group in GROUPS {
        known.extend(cases(group).iter().map(|case| suffix(group, case)));
    }
    let mut orphans: Vec<String> = std::fs::read_dir(common::repo().join("tests/snapshots"))
        .expect("tests/snapshots")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let case = name.strip_prefix("error@")?.strip_suffix(".snap")?;
            (!known.iter().any(|k| k == case)).then_some(name)
        })
        .collect();
    orphans.sort();
    assert!(orphans.is_empty(), "snapshots of no case: {orphans:?}");
}

/// `fixtures/errors/*.yaml`: each spec is refused, an existing output directory is left as it
/// was, and a fresh one is not created.
#[test]
fn bad_specs_fail_with_located_errors() {
    each(&cases(""), |case| {
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
    });
}

/// A missing spec file, an unknown flag, an invalid `--name`.
#[test]
fn missing_file_and_unknown_flag() {
    assert!(
        !common::repo()
            .join("fixtures/errors/no-such-file.yaml")
            .exists()
    );
    let cases: Vec<String> = CLI_CASES
        .iter()
        .map(|(case, _)| (*case).to_owned())
        .collect();
    each(&cases, |case| {
        let (_, args) = CLI_CASES
            .iter()
            .find(|(c, _)| *c == case)
            .expect("a CLI case");
        check_failure(case, args);
    });
}

/// Each `fixtures/errors/<group>/*.yaml` is a config that is wrong for `spec`: generation fails
/// with the error located at `<auth file>#<pointer>`, nothing is written, and `inspect`
/// refuses the config too.
fn bad_configs_fail_located(group: &str, spec: &str, pointer: &str) {
    each(&cases(group), |case| {
        let out_dir = common::scratch(&format!("errors-{group}-{case}"));
        std::fs::write(out_dir.join("keep.txt"), "mine").unwrap();
        let before = common::tree(&out_dir);
        let auth = format!("fixtures/errors/{group}/{case}.yaml");
        let located = format!("error: {auth}#{pointer}");
        let args = [
            "generate",
            spec,
            "--auth",
            &auth,
            "--out",
            out_dir.to_str().unwrap(),
        ];
        let out = common::mcpgen(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&located),
            "{case}: not located at {pointer} of the auth file: {stderr}"
        );
        check_failure(&suffix(group, case), &args);
        untouched_and_refused_by_inspect(case, &out_dir, &before, &args);
    });
}

/// `fixtures/errors/upstream/*.yaml`: each config is wrong for fixtures/upstream-auth's spec;
/// the error is located in the config's `upstream` section.
#[test]
fn bad_upstream_credentials_fail_with_located_errors() {
    bad_configs_fail_located(
        "upstream",
        "fixtures/upstream-auth/openapi.yaml",
        "/upstream",
    );
}

/// `fixtures/errors/oauth/*.yaml`: wrong `oauth:` sections; the error is located in the
/// config's `oauth` section.
#[test]
fn bad_oauth_configs_fail_with_located_errors() {
    bad_configs_fail_located("oauth", "fixtures/auth-oauth/openapi.yaml", "/oauth/");
}

/// After a refused `generate` (`args`): the output directory is as `before`, and `inspect`
/// refuses the same spec and config too.
fn untouched_and_refused_by_inspect(
    case: &str,
    out_dir: &Path,
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

/// `fixtures/errors/tools/*.yaml`: bad `tools:` sections of the config file, against the
/// tools-select spec: a located error naming the selector or override, exit 2, nothing written.
#[test]
fn bad_tool_selections_fail_with_located_errors() {
    let cases = cases("tools");
    assert!(cases.len() >= 10, "{cases:?}");
    each(&cases, |case| {
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
        check_failure(&suffix("tools", case), &args);
        assert!(
            String::from_utf8_lossy(&common::mcpgen(&args).stderr)
                .starts_with(&format!("error: {config}#/tools")),
            "{case}: not located in the config file"
        );
        untouched_and_refused_by_inspect(case, &out_dir, &before, &args);
    });
}
