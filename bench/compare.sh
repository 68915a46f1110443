#!/usr/bin/env bash
# Generation against the peer: mcpgen (this tree's release build) and openapi-mcp-generator 4.0.1
# (npm, pinned in bench/peer/package.json, installed into .cache/npm-peer) on the same
# descriptions, alternating run by run (mcpgen, peer, mcpgen, peer, ...) so both see the same
# machine load: median wall time, median CPU time, peak RSS (max over runs) of each, and the
# ratio mcpgen / peer. Then `hyperfine` (apt install hyperfine) on GitHub's description as a
# second opinion, when it is installed. The load average is printed first: on a shared machine
# only the ratios of one run mean anything.
#
# Descriptions: GitHub's (npm @octokit/openapi 23.0.2, .cache/octokit-openapi-23.0.2, see
# bench/stripe-shape/run.sh for how to unpack it), and synthetic ones: bench/synth.py N
# (resource-shaped) and bench/synth_graph.py N (Microsoft Graph's shape: interconnected entities,
# allOf inheritance, shared parameters and responses). A run that fails or passes TIMEOUT seconds
# (default 60) is reported as such.
#
# Usage: bench/compare.sh [RUNS]    (RUNS per tool and description, default 5)
#   SYNTH="5000 10000"  GRAPH="1000"  TIMEOUT=60  override the synthetic sizes and the time limit.
#   BEFORE=path/to/older/mcpgen  also runs an older mcpgen build in the same alternation and
#   reports this tree's time and peak against it.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
synth=${SYNTH-"5000 10000"}
graph=${GRAPH-"500 1000"}
limit=${TIMEOUT:-60}
cargo build --release --quiet
mcpgen=$PWD/target/release/mcpgen
peer_dir=$PWD/.cache/npm-peer
peer=$peer_dir/node_modules/.bin/openapi-mcp-generator
if [ ! -x "$peer" ]; then
  mkdir -p "$peer_dir"
  cp bench/peer/package.json "$peer_dir/"
  (cd "$peer_dir" && npm install --no-audit --no-fund --silent)
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

specs=()
github=.cache/octokit-openapi-23.0.2/package/generated/api.github.com.json
if [ -f "$github" ]; then specs+=("github:$PWD/$github"); fi
for n in $synth; do
  python3 bench/synth.py "$n" > "$work/synth-$n.json"
  specs+=("synth-$n:$work/synth-$n.json")
done
for n in $graph; do
  python3 bench/synth_graph.py "$n" > "$work/graph-$n.json"
  specs+=("graph-$n:$work/graph-$n.json")
done

# One run: "wall cpu maxrss_kib" or "fail" / "timeout".
one() {
  local out=$1
  shift
  rm -rf "$out"
  if timeout "$limit" /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr"; then
    read -r e u s m < "$work/time"
    echo "$e $(awk "BEGIN{print $u + $s}") $m"
  elif [ $? -eq 124 ]; then
    echo timeout
  else
    echo fail
  fi
}

# Median wall, median CPU, max RSS (MiB) of lines "wall cpu kib"; or what went wrong.
summary() {
  python3 -c '
import statistics, sys
rows = [l.split() for l in sys.stdin if l.strip()]
bad = [r[0] for r in rows if len(r) == 1]
if bad:
    print(bad[0]); sys.exit()
w = statistics.median(float(r[0]) for r in rows)
c = statistics.median(float(r[1]) for r in rows)
m = max(int(r[2]) for r in rows) / 1024
print(f"{w:.2f} {c:.2f} {m:.0f}")'
}

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores); $runs runs each, alternating"
echo
before=${BEFORE:-}
if [ -n "$before" ]; then
  echo "| description | size | mcpgen wall | mcpgen CPU | mcpgen peak | peer wall | peer CPU | peer peak | wall ratio | CPU ratio | before wall | before CPU | before peak |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
else
  echo "| description | size | mcpgen wall | mcpgen CPU | mcpgen peak | peer wall | peer CPU | peer peak | wall ratio | CPU ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
fi
for entry in "${specs[@]}"; do
  name=${entry%%:*}
  spec=${entry#*:}
  : > "$work/ours"
  : > "$work/theirs"
  : > "$work/before"
  for ((i = 0; i < runs; i++)); do
    one "$work/out-ours" "$mcpgen" generate "$spec" --out "$work/out-ours" >> "$work/ours"
    one "$work/out-peer" "$peer" -i "$spec" -o "$work/out-peer" --force >> "$work/theirs"
    if [ -n "$before" ]; then
      one "$work/out-before" "$before" generate "$spec" --out "$work/out-before" >> "$work/before"
    fi
  done
  read -r ow oc om <<< "$(summary < "$work/ours")"
  read -r pw pc pm <<< "$(summary < "$work/theirs")"
  size=$(awk "BEGIN{printf \"%.1f MB\", $(stat -c %s "$spec") / 1e6}")
  ratio() { awk "BEGIN{ if ($2 + 0 > 0 && $1 + 0 > 0) printf \"%.2f\", $1 / $2; else print \"-\" }"; }
  fmt() { if [ -n "${2:-}" ]; then echo "$1 s"; else echo "$1"; fi; }
  row="| $name | $size | $(fmt "$ow" "$oc") | ${oc:+$oc s} | ${om:+$om MiB} | $(fmt "$pw" "$pc") | ${pc:+$pc s} | ${pm:+$pm MiB} | $(ratio "${ow}" "${pw}") | $(ratio "${oc:-0}" "${pc:-0}") |"
  if [ -n "$before" ]; then
    read -r bw bc bm <<< "$(summary < "$work/before")"
    row="$row $(fmt "$bw" "$bc") | ${bc:+$bc s} | ${bm:+$bm MiB} |"
  fi
  echo "$row"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

if command -v hyperfine >/dev/null && [ -f "$github" ]; then
  echo
  echo "hyperfine on GitHub's description:"
  hyperfine --style basic --runs "$runs" --warmup 1 \
    -n mcpgen "rm -rf $work/h1 && $mcpgen generate $PWD/$github --out $work/h1 2>/dev/null" \
    -n openapi-mcp-generator "rm -rf $work/h2 && $peer -i $PWD/$github -o $work/h2 --force >/dev/null 2>&1" 2>&1 |
    grep -E 'Time|±|faster|mcpgen|openapi-mcp-generator' || true
fi
