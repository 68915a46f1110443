//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fixture cases: every directory under `fixtures/` with an `openapi.yaml` or `openapi.json`,
/// sorted, as (case name, spec path relative to the repository).
pub fn fixtures() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let dir = repo().join("fixtures");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        for spec in ["openapi.yaml", "openapi.json"] {
            if p.join(spec).exists() {
                out.push((name.clone(), format!("fixtures/{name}/{spec}")));
            }
        }
    }
    out
}

/// Runs the mcpgen binary from the repository root.
pub fn mcpgen(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mcpgen"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run mcpgen")
}

/// A fresh scratch directory under the target dir.
pub fn scratch(name: &str) -> PathBuf {
    let dir = repo().join("target").join("test-scratch").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Every file under `dir` (relative path → bytes).
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// The environment of every cargo command on a generated crate (`tests/gen-crates.env`).
pub fn gen_crates_env() -> Vec<(&'static str, &'static str)> {
    include_str!("../gen-crates.env")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            line.split_once('=')
                .expect("NAME=value in tests/gen-crates.env")
        })
        .collect()
}

/// Runs `cargo` with `args` in a generated crate at `dir`, with the target directory and the
/// environment every generated-crate build here shares (`tests/gen-crates.env`: another
/// RUSTFLAGS would rebuild every dependency); fails the test with cargo's output unless it
/// succeeds. Returns its standard output.
pub fn cargo(dir: &Path, args: &[&str]) -> String {
    run_cargo(dir, args, false)
}

/// [`cargo`] with clippy's lints denied while the crate compiles: clippy-driver in place of
/// rustc for the crate itself (what `cargo clippy` runs, in check mode only), so a crate is
/// built and linted in one pass rather than checked a second time (warnings are denied by
/// `tests/gen-crates.env`). Its dependencies are compiled by rustc, shared with every build.
pub fn cargo_linted(dir: &Path, args: &[&str]) -> String {
    run_cargo(dir, args, true)
}

fn run_cargo(dir: &Path, args: &[&str], lint: bool) -> String {
    let mut command = std::process::Command::new(env!("CARGO"));
    command
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", repo().join("target").join("gen-crates"))
        .envs(gen_crates_env())
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    if lint {
        command.env("RUSTC_WORKSPACE_WRAPPER", "clippy-driver");
    }
    let out = command.output().expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} failed in {}:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Fails unless the fixture cases named by a test file's per-fixture tests (`tested`) are
/// exactly the fixtures: a new fixture folder cannot go untested, a test cannot outlive its
/// fixture. `file` names the test file in the message.
pub fn assert_tests_cover_fixtures(file: &str, tested: &[&str]) {
    let fixtures: Vec<String> = fixtures().into_iter().map(|(case, _)| case).collect();
    assert!(fixtures.len() >= 6, "fixtures missing: {fixtures:?}");
    let untested: Vec<&String> = fixtures
        .iter()
        .filter(|case| !tested.contains(&case.as_str()))
        .collect();
    assert!(
        untested.is_empty(),
        "fixtures without tests in {file} (add them to `fixture_tests!`): {untested:?}"
    );
    let gone: Vec<&&str> = tested
        .iter()
        .filter(|case| !fixtures.iter().any(|f| f == *case))
        .collect();
    assert!(gone.is_empty(), "tests of no fixture in {file}: {gone:?}");
}
