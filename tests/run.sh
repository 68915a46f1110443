#!/usr/bin/env bash
# The test command (README, .ci/run). On a fresh machine it installs what it needs into .cache/
# (a Python venv with the official MCP SDK; Node 22, the MCP Inspector and the conformance suite
# from npm), then runs: formatting, lints, every Rust test — unit, snapshot (INSTA_UPDATE=no: a
# new or changed snapshot fails), error fixtures, determinism, build-and-start of every fixture's
# generated crate (warnings denied, clippy clean) — the end-to-end suite driven by the Python
# SDK, the Inspector CLI and conformance-suite checks, and the auth suite (bearer, and OAuth
# against a real oidc-provider with the SDK's OAuth client; upstream credentials of every scheme
# kind, with client-credentials tokens from that provider). The hostile-input fuzz target
# (tests/fuzz.rs) runs for MCPGEN_FUZZ_SECS seconds (default 60). The corpus runner
# (tests/corpus/run.sh) is not part of this: it takes tens of minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
export INSTA_UPDATE=no
export CARGO_TERM_COLOR=never
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets --no-fail-fast
MCPGEN_FUZZ_SECS="${MCPGEN_FUZZ_SECS:-60}" cargo test --test fuzz -- --ignored --nocapture fuzz
bash tests/e2e/run.sh
bash tests/conformance/run.sh
bash tests/auth/run.sh
