#!/usr/bin/env bash
# Build time of a generated crate, dependencies already built: generates the crate for a
# description (default: GitHub's, as tests/e2e/run.sh fetches it into .cache/), builds its
# dependencies once in a target directory of its own (target/crate-build/<name>, the
# environment of tests/gen-crates.env; about 10 minutes on 2 cores the first time, and each
# mode compiles an empty crate over them first), then times
# `cargo check` and `cargo build --release` of the crate alone (its `src/main.rs` touched, so
# only it rebuilds), with wall and CPU time from /usr/bin/time: on a shared machine the CPU
# time is the number to compare.
# Usage: bench/crate_build.sh [SPEC] [MCPGEN]
#   SPEC    the description (default: GitHub's, .cache/octokit-openapi-23.0.2/...)
#   MCPGEN  the generator binary (default: this tree's release build, built here); give an
#           older build to measure its crate in the same run and conditions.
# Environment:
#   CRATE_BUILD_TARGET   the target directory (default target/crate-build/<name>/target);
#                        target/gen-crates has the dependencies already built.
#   CRATE_BUILD_COMPARE  `cgu1`: after the release build as generated, the same build with the
#                        profile before issue 17 (the crate's own code in one codegen unit,
#                        `--config profile.release.package.<crate>.codegen-units=1`), timed the
#                        same way; the dependencies are the same, so nothing else rebuilds.
#   CRATE_BUILD_BIN      a directory to copy each release binary into (<name>-<mode>), e.g. for
#                        bench/load.sh's LOAD_SERVER_BIN.
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
export CARGO_TARGET_DIR=${CRATE_BUILD_TARGET:-$PWD/target/crate-build/$name/target}
mkdir -p "$CARGO_TARGET_DIR"
CARGO_TARGET_DIR=$(realpath "$CARGO_TARGET_DIR")
bin_dir=${CRATE_BUILD_BIN:+$(realpath -m "$CRATE_BUILD_BIN")}
crate=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$out/Cargo.toml" | head -1)
modes=(check release)
case ${CRATE_BUILD_COMPARE:-} in
'') ;;
cgu1) modes+=(release-cgu1) ;;
*) echo "bench/crate_build.sh: CRATE_BUILD_COMPARE is cgu1 or empty" >&2; exit 1 ;;
esac
cd "$out"
printf 'tools.rs %s bytes, types.rs %s bytes\n' "$(wc -c <src/tools.rs)" "$(wc -c <src/types.rs)"
for mode in "${modes[@]}"; do
    case $mode in
    check) cmd=(cargo check --offline --quiet) ;;
    release) cmd=(cargo build --offline --quiet --release) ;;
    release-cgu1) cmd=(cargo build --offline --quiet --release
        --config "profile.release.package.$crate.codegen-units=1") ;;
    esac
    # The dependencies, not timed: built with an empty `main` in place of the crate's, so that
    # the crate itself is compiled once, timed.
    mv src/main.rs src/main.rs.bench
    echo 'fn main() {}' >src/main.rs
    "${cmd[@]}"
    mv src/main.rs.bench src/main.rs
    touch src/main.rs
    /usr/bin/time -f "%e %U %S %M" -o "$CARGO_TARGET_DIR/time-$mode" "${cmd[@]}"
    read -r wall user sys rss <"$CARGO_TARGET_DIR/time-$mode"
    printf '%-12s wall %7.1f s   CPU %7.1f s (user %.1f, sys %.1f)   peak RSS %d MiB   (load average %s)\n' \
        "$mode" "$wall" "$(awk "BEGIN{print $user + $sys}")" "$user" "$sys" "$((rss / 1024))" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
    if [[ -n $bin_dir && $mode == release* ]]; then
        mkdir -p "$bin_dir"
        cp "$CARGO_TARGET_DIR/release/$crate" "$bin_dir/$crate-$mode"
    fi
done
