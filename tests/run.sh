#!/usr/bin/env bash
# The test command (README, .ci/run). On a fresh machine it installs what it needs into .cache/
# (a Python venv with the official MCP SDK; Node 22, the MCP Inspector and the conformance suite
# from npm), then runs: formatting, lints, the runtime crate's lints and tests, every Rust test —
# unit, snapshot (INSTA_UPDATE=no: a new or changed snapshot fails), error fixtures,
# determinism, every fixture's generated code compiled (warnings denied, clippy clean) against
# the runtime crate or built and started as the user gets it — the end-to-end suite driven by the Python
# SDK, the Inspector CLI and conformance-suite checks, and the auth suite (bearer, and OAuth
# against a real oidc-provider with the SDK's OAuth client; upstream credentials of every scheme
# kind, with client-credentials tokens from that provider). The hostile-input fuzz target
# (tests/fuzz.rs) runs for MCPGEN_FUZZ_SECS seconds (default 60). The corpus runner
# (tests/corpus/run.sh) is not part of this: it takes tens of minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export INSTA_UPDATE=no
export CARGO_TERM_COLOR=never
# mcpgen's own builds (its test binaries, the fuzz target, the suites' `cargo build`), built once
# per run: incremental compilation data would only be written, and full debug info would make
# every test binary several times larger (a CI run once ran out of disk). Backtraces
# keep file and line. Every cargo command below on mcpgen has this environment, so none of them
# builds mcpgen a second time.
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=line-tables-only
cargo fmt --all -- --check
# The check crates' test (tests/compile.rs copies it into them), in no target of this workspace.
rustfmt --edition 2024 --check tests/fixture-check/tools.rs
# Clippy lints as the crates compile: cargo runs clippy-driver in place of rustc for the
# workspace's own crates (as `cargo clippy` does, there in check mode only), with its lints
# denied, so `cargo test --all-targets` below builds and lints mcpgen's crates in one pass and no
# crate or dependency is checked a second time. Every later cargo command on mcpgen (the fuzz
# target, the suites' `cargo build`) has the same environment and reuses that build.
export RUSTC_WORKSPACE_WRAPPER=clippy-driver
export CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__
# The runtime crate (runtime/), in the target directory and with the environment of every
# generated-crate build (tests/gen-crates.env), so its dependencies build once for it, the
# fixtures' check crates and the generated crates.
# `gen_cargo lint ...` builds with clippy-driver as above (warnings are denied by that file).
gen_cargo() {
    (
        while IFS='=' read -r name value; do
            [[ -z $name || $name == \#* ]] || export "$name=$value"
        done <tests/gen-crates.env
        if [[ $1 == lint ]]; then
            shift
            export RUSTC_WORKSPACE_WRAPPER=clippy-driver
        fi
        CARGO_TARGET_DIR=target/gen-crates cargo "$@"
    )
}
# Without the `oauth` feature: the code of modes none and bearer needs none of its dependencies.
# Built, not only checked: the dependencies built here are those of every generated crate of
# those modes, built once for all of them.
gen_cargo lint build -p mcpgen-runtime --lib --no-default-features --quiet
# Every target with every feature, built and linted in one pass, then its tests and doctests.
gen_cargo lint test -p mcpgen-runtime --all-features --no-fail-fast
cargo test --all-targets --no-fail-fast
# The fuzz target runs for a fixed time on one core, beside the suites below (which spend much of
# their time waiting on servers); its test binary runs directly, so it holds no cargo lock. Its
# output is printed when it ends, and a failure fails the run.
fuzz_bin=$(cargo test --test fuzz --no-run 2>&1 | sed -n 's/.*Executable tests\/fuzz\.rs (\(.*\))$/\1/p')
[[ -x $fuzz_bin ]] || { echo "tests/run.sh: the fuzz target's test binary was not found" >&2; exit 1; }
mkdir -p target
MCPGEN_FUZZ_SECS="${MCPGEN_FUZZ_SECS:-60}" "$fuzz_bin" --ignored --nocapture fuzz >target/fuzz.log 2>&1 &
fuzz_pid=$!
trap 'kill "$fuzz_pid" 2>/dev/null || true' EXIT
bash tests/e2e/run.sh
bash tests/conformance/run.sh
bash tests/auth/run.sh
fuzz_status=0
wait "$fuzz_pid" || fuzz_status=$?
trap - EXIT
echo "--- the fuzz target (tests/fuzz.rs), run beside the suites:"
cat target/fuzz.log
if ((fuzz_status != 0)); then
    echo "tests/run.sh: the fuzz target failed (exit $fuzz_status)" >&2
    exit 1
fi
