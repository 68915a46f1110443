#!/usr/bin/env bash
# Profiles a generated server under load: the server and bench/loadgen's upstream pinned to core
# 0, the load generator to core 1 (as bench/load.sh), `perf record -g` of the server for the run.
#
#   bench/perf-server.sh SERVER_BIN OUT.data [SECS (6)] [CLIENTS (16)]
#
# Prints the load generator's RESULT line (calls, calls/s, p50, p99 in ms, failures) and its
# CPU line (µs of CPU per call of the server and the upstream). Two profiles compare per call
# with bench/perf-diff.py. Needs bench/load.sh to have built the load generator once
# (.cache/load-target), `perf` and `taskset`. Frame-pointer stacks need the server built with
# RUSTFLAGS="-C force-frame-pointers=yes" (a target directory of its own: every dependency is
# built again).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$1 out=$2 secs=${3:-6} clients=${4:-16}
gen=.cache/load-target/release/loadgen
up=.cache/load-target/release/loadupstream
[ -x "$gen" ] || { echo "bench/perf-server.sh: run bench/load.sh once first (it builds $gen)" >&2; exit 2; }
port=18590
pids=()
trap 'kill "${pids[@]}" 2> /dev/null || true; wait 2> /dev/null || true' EXIT
taskset -c 0 "$up" "127.0.0.1:$((port + 1))" 900 2> /dev/null &
pids+=($!)
sleep 0.3
taskset -c 0 "$bin" --bind "127.0.0.1:$port" --upstream-url "http://127.0.0.1:$((port + 1))" 2> /dev/null &
server=$!
pids+=("$server")
sleep 1
perf record -F 2000 -g -p "$server" -o "$out" -- sleep $((secs + 1)) 2> /dev/null &
record=$!
taskset -c 1 "$gen" run --addr "127.0.0.1:$port" --target mcp --path /mcp --tool show_pet_by_id \
  --arguments '{"petId":"1"}' --concurrency "$clients" --secs "$secs" --warmup 1 --label perf \
  --cpu-pids "$server,${pids[0]}"
wait "$record" || true
