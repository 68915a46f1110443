#!/usr/bin/env bash
# Build time of a generated crate, dependencies already built: generates the crate for a
# description (default: GitHub's, as tests/e2e/run.sh fetches it into .cache/), builds its
# dependencies once in a target directory of its own (target/crate-build/<name>, the
# environment of tests/gen-crates.env; about 10 minutes on 2 cores the first time, and each
# mode builds the crate once untimed), then times
# `cargo check` and `cargo build --release` of the crate alone (its `src/main.rs` touched, so
# only it rebuilds), with wall and CPU time from /usr/bin/time: on a shared machine the CPU
# time is the number to compare.
# Usage: bench/crate_build.sh [SPEC] [MCPGEN]
#   SPEC    the description (default: GitHub's, .cache/octokit-openapi-23.0.2/...)
#   MCPGEN  the generator binary (default: this tree's release build, built here); give an
#           older build to measure its crate in the same run and conditions.
set -euo pipefail
cd "$(dirname "$0")/.."
spec=${1:-.cache/octokit-openapi-23.0.2/package/generated/api.github.com.json}
if [[ -z ${2:-} ]]; then
    cargo build --release --quiet
    mcpgen=$PWD/target/release/mcpgen
else
    mcpgen=$(realpath "$2")
fi
[[ -f $spec ]] || { echo "bench/crate_build.sh: $spec not found (tests/e2e/run.sh fetches GitHub's)" >&2; exit 1; }
name=$(basename "$spec" | sed 's/\.[^.]*$//')
out=$PWD/target/crate-build/$name/crate
rm -rf "$out"
mkdir -p "$out"
"$mcpgen" generate "$spec" --out "$out" 2>/dev/null
# Pinned dependencies, as the generated crates of this repository's tests build them.
cp Cargo.lock "$out/"
while IFS='=' read -r var value; do
    [[ -z $var || $var == \#* ]] || export "$var=$value"
done <tests/gen-crates.env
[[ -n ${RUSTC_WORKSPACE_WRAPPER:-} ]] || unset RUSTC_WORKSPACE_WRAPPER
export CARGO_TARGET_DIR=$PWD/target/crate-build/$name/target
cd "$out"
printf 'tools.rs %s bytes, types.rs %s bytes\n' "$(wc -c <src/tools.rs)" "$(wc -c <src/types.rs)"
for mode in check release; do
    flags=()
    [[ $mode == release ]] && flags=(--release)
    cmd=(cargo build --offline --quiet "${flags[@]}")
    [[ $mode == check ]] && cmd=(cargo check --offline --quiet)
    # Dependencies (and a first build of the crate itself), not timed.
    "${cmd[@]}"
    touch src/main.rs
    /usr/bin/time -f "%e %U %S %M" -o "$CARGO_TARGET_DIR/time-$mode" "${cmd[@]}"
    read -r wall user sys rss <"$CARGO_TARGET_DIR/time-$mode"
    printf '%-8s wall %7.1f s   CPU %7.1f s (user %.1f, sys %.1f)   peak RSS %d MiB   (load average %s)\n' \
        "$mode" "$wall" "$(awk "BEGIN{print $user + $sys}")" "$user" "$sys" "$((rss / 1024))" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
done
