#!/usr/bin/env bash
# Corpus runner: real public API descriptions through the release `mcpgen generate`, then
# `cargo check` on a sample of the generated crates. Installs the packages named in
# tests/corpus/sources.txt from npm and PyPI into .cache/corpus/ (never committed), and writes
# tests/corpus/SUMMARY.md. Not part of tests/run.sh: a full run takes tens of minutes.
#
#   tests/corpus/run.sh                 # everything
#   tests/corpus/run.sh --no-check      # generation only (a few minutes)
#   tests/corpus/run.sh --sample 20     # cargo check on 20 crates (+ GitHub's)
#
# Needs: cargo, python3 (standard library only), npm and pip (to fetch the packages).
# Exit 0 when every acceptance line of the summary holds, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TERM_COLOR=never
cargo build --release --quiet
exec python3 tests/corpus/driver.py "$@"
