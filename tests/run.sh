#!/usr/bin/env bash
# The test command (README, .ci/run): formatting, lints, then every test — unit tests, snapshot
# tests (INSTA_UPDATE=no: a new or changed snapshot fails), error fixtures, determinism, and the
# build-and-start test of every fixture's generated crate (warnings denied, clippy clean).
set -euo pipefail
cd "$(dirname "$0")/.."
export INSTA_UPDATE=no
export CARGO_TERM_COLOR=never
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets --no-fail-fast
