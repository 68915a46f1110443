#!/usr/bin/env bash
# Instructions per tool call of a generated server, counted by valgrind's callgrind: steady on a
# shared machine where bench/load.sh's CPU times drift (both cores busy with other work), so two
# builds of a server (e.g. two release profiles) compare per call to a fraction of a percent.
#
#   bench/callgrind-call.sh SERVER_BIN [SECS (6)] [CLIENTS (4)]
#
# The server runs under callgrind (about 20 times slower) in front of bench/loadgen's upstream
# (pinned to core 0 with it); the load generator (core 1) sends `tools/call` for a warm-up of 2 s,
# callgrind's counters are zeroed, then it sends for SECS and the counters are dumped. Prints
# `SERVER_BIN calls N instructions-per-call X` (every thread of the server, user space).
# LOAD_TOOL, LOAD_ARGS as bench/load.sh (petstore's show_pet_by_id by default). Needs
# bench/load.sh to have built the load generator once (.cache/load-target), valgrind, taskset.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "$1") secs=${2:-6} clients=${3:-4}
tool=${LOAD_TOOL:-show_pet_by_id}
args=${LOAD_ARGS:-'{"petId":"1"}'}
gen=.cache/load-target/release/loadgen
up=.cache/load-target/release/loadupstream
die() { echo "bench/callgrind-call.sh: $1" >&2; exit "${2:-2}"; }
[ -x "$gen" ] || die "run bench/load.sh once first (it builds $gen)"
command -v callgrind_control > /dev/null || die "valgrind is missing"
port=${LOAD_PORT:-18595}
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2> /dev/null || true; wait 2> /dev/null || true; rm -rf "$dir"' EXIT
taskset -c 0 "$up" "127.0.0.1:$((port + 1))" 900 2> /dev/null &
pids+=($!)
taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" --dump-instr=no \
  "$bin" --bind "127.0.0.1:$port" --upstream-url "http://127.0.0.1:$((port + 1))" \
  2> "$dir/valgrind.log" &
server=$!
pids+=("$server")
for _ in $(seq 600); do
  (exec 3<> "/dev/tcp/127.0.0.1/$port") 2> /dev/null && break
  sleep 0.1
done
load() { # secs
  taskset -c 1 "$gen" run --addr "127.0.0.1:$port" --target mcp --path /mcp --tool "$tool" \
    --arguments "$args" --concurrency "$clients" --secs "$1" --warmup 0 --label callgrind
}
load 2 > /dev/null
callgrind_control -z "$server" > /dev/null 2>&1
result=$(load "$secs")
callgrind_control -d "$server" > /dev/null 2>&1
calls=$(awk '$1 == "RESULT" { print $3 }' <<< "$result")
fails=$(awk '$1 == "RESULT" { print $7 }' <<< "$result")
[ "${fails:-1}" = 0 ] || die "failed calls: $result" 1
# The dump after the zeroing is part 1 (cg.PID.1, all threads together); its `totals:` line is
# the instructions counted since the zeroing.
total=$(awk '/^totals:/ { print $2; exit }' "$dir"/cg.*.1 2> /dev/null || true)
[ -n "$total" ] || die "no callgrind dump (see valgrind's log)" 1
per_call=$(awk -v t="$total" -v c="$calls" 'BEGIN { print t / c }')
printf '%s calls %d instructions-per-call %.0f\n' "$1" "$calls" "$per_call"
