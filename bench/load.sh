#!/usr/bin/env bash
# Load test of a generated MCP server (issue 3): the server in front of a fast upstream, and the
# same load sent straight to that upstream in the same run; the ratio is the server's overhead.
#
#   bench/load.sh            (about 4 minutes once built; a cold release build of the
#                             generated crate's dependencies takes about 10 minutes on 2 cores)
#
# Steps: build mcpgen (release); generate a crate from LOAD_SPEC and build it in release with
# CARGO_TARGET_DIR=target/gen-crates RUSTFLAGS="-D warnings"; build the load generator and the
# upstream (bench/loadgen, its own workspace, target in .cache/load-target); start the upstream
# (Rust/hyper, one thread, keep-alive, TCP_NODELAY, a 33-byte JSON answer) and the server, both
# pinned to core 0 with taskset, the load generator pinned to core 1; then, each as MCP
# `tools/call` POSTs to the server (stateless, JSON response, MCP-Protocol-Version 2025-06-18)
# and as the upstream request straight to the upstream:
#   - 32 concurrent clients for LOAD_SECS (20) s, sampling the server's RSS every second;
#   - 16 and 1 clients for LOAD_SHORT_SECS (10) s;
#   - 16 clients again in LOAD_ROUNDS (7) interleaved rounds of LOAD_ROUND_SECS (4) s each way:
#     the target is judged on the median ratio of these rounds, as the machine's speed drifts;
# every run after a 2 s warm-up that is not counted. Then the idle RSS (before and after the
# load) and the time from process start to the first `tools/list` answered (best/median/worst
# of 7 starts). A failed call is an I/O error, a timeout, an HTTP status other than 200, a
# JSON-RPC error or a tool result with isError. Everything runs on loopback, each run is bounded
# in time and every process started here is stopped on exit.
#
# Prints a markdown table and the targets of issue 3, each met or missed; exits 1 when any check
# is missed (failed calls, memory growing, a target). The machine should be otherwise idle: the
# CPU used by other processes is measured before the load and reported.
#
# Environment: LOAD_SPEC (fixtures/petstore/openapi.yaml), LOAD_TOOL (show_pet_by_id),
# LOAD_ARGS ({"petId":"1"}), LOAD_DIRECT_PATH (/pets/1, the upstream request the tool makes),
# LOAD_SECS (20), LOAD_SHORT_SECS (10), LOAD_PORT (18480; +1 upstream, +2 start-up test),
# LOAD_SERVER_ENV (extra VAR=value settings for the server, e.g. RUST_LOG=warn),
# LOAD_SERVER_BIN (measure this server binary instead of building one).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

spec=${LOAD_SPEC:-fixtures/petstore/openapi.yaml}
tool=${LOAD_TOOL:-show_pet_by_id}
args=${LOAD_ARGS:-'{"petId":"1"}'}
direct_path=${LOAD_DIRECT_PATH:-/pets/1}
secs=${LOAD_SECS:-20}
short=${LOAD_SHORT_SECS:-10}
rounds=${LOAD_ROUNDS:-7}
round_secs=${LOAD_ROUND_SECS:-4}
port=${LOAD_PORT:-18480}
up_port=$((port + 1))
first_port=$((port + 2))
warmup=2
server_core=0
gen_core=1

log() { printf '%s\n' "$*" >&2; }
die() { log "load.sh: $*"; exit 2; }

[ "$(nproc --all)" -ge 2 ] || die "needs 2 cores (server+upstream on one, load generator on the other)"
command -v taskset > /dev/null || die "taskset (util-linux) is missing: apt-get install util-linux"
command -v cargo > /dev/null || die "a Rust toolchain (cargo) is needed"

# --- build ------------------------------------------------------------------------------------
export CARGO_TERM_COLOR=never
mkdir -p .cache target/load
log "building the load generator and upstream (bench/loadgen) ..."
(cd bench/loadgen && CARGO_TARGET_DIR="$root/.cache/load-target" RUSTFLAGS="-D warnings" \
  cargo build --release --quiet --locked)
gen="$root/.cache/load-target/release/loadgen"
upstream_bin="$root/.cache/load-target/release/loadupstream"

if [ -n "${LOAD_SERVER_BIN:-}" ]; then
  server=$LOAD_SERVER_BIN
else
  log "building mcpgen (release) ..."
  cargo build --release --quiet
  crate="$root/target/load/crate"
  # A name of its own, so no other build into the shared target directory replaces the binary.
  name=load-test-mcp
  rm -rf "$crate" # a scratch crate: no user-owned file of an older mcpgen may stay
  ./target/release/mcpgen generate "$spec" --out "$crate" --name "$name" > /dev/null
  log "building the generated crate $name (release, -D warnings) ..."
  (cd "$crate" && CARGO_TARGET_DIR="$root/target/gen-crates" RUSTFLAGS="-D warnings" \
    cargo build --release --quiet)
  server="$root/target/gen-crates/release/$name"
fi
[ -x "$server" ] || die "no server binary at $server"

# --- processes --------------------------------------------------------------------------------
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2> /dev/null || true; done
}
trap cleanup EXIT

wait_port() { # port: wait up to 10 s for a listener
  for _ in $(seq 200); do
    if (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; then return 0; fi
    sleep 0.05
  done
  die "nothing listens on port $1"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# CPU used by other processes before we start anything (the machine should be idle).
cpu_busy() { # per-core busy % over 2 s
  local a b
  a=$(grep '^cpu[0-9]' /proc/stat)
  sleep 2
  b=$(grep '^cpu[0-9]' /proc/stat)
  paste <(echo "$a") <(echo "$b") | awk '{
    n = (NF) / 2; ta = 0; tb = 0
    for (i = 2; i <= 9; i++) { ta += $i; tb += $(i + n) }
    ia = $5 + $6; ib = $(5 + n) + $(6 + n)
    printf "%s%s %.0f%%", (NR > 1 ? ", " : ""), $1, 100 * ((tb - ib) - (ta - ia)) / (tb - ta) }'
}
background=$(cpu_busy)

taskset -c "$server_core" "$upstream_bin" "127.0.0.1:$up_port" 900 2> /dev/null &
up_pid=$!
pids+=("$up_pid")
wait_port "$up_port"
env ${LOAD_SERVER_ENV:-} taskset -c "$server_core" "$server" --bind "127.0.0.1:$port" \
  --upstream-url "http://127.0.0.1:$up_port" 2> "$root/target/load/server.log" &
server_pid=$!
pids+=("$server_pid")
wait_port "$port"
sleep 1
idle_rss=$(rss_kib "$server_pid")

# --- load -------------------------------------------------------------------------------------
results=$(mktemp)
run() { # label target concurrency secs [rss]
  local label=$1 target=$2 c=$3 s=$4 extra=()
  local addr="127.0.0.1:$port" path=/mcp cpu="$server_pid,$up_pid"
  if [ "$target" = direct ]; then addr="127.0.0.1:$up_port"; path=$direct_path; cpu=$up_pid; fi
  if [ "${5:-}" = rss ]; then extra=(--rss-pid "$server_pid"); fi
  log "  $label: $c clients, ${s} s ..."
  timeout $((s + warmup + 30)) taskset -c "$gen_core" "$gen" run --addr "$addr" --target "$target" \
    --path "$path" --tool "$tool" --arguments "$args" --concurrency "$c" --secs "$s" \
    --warmup "$warmup" --label "$label" --cpu-pids "$cpu" "${extra[@]}" >> "$results"
}
log "load (server and upstream on core $server_core, load generator on core $gen_core):"
run mcp-32 mcp 32 "$secs" rss
run direct-32 direct 32 "$secs"
run mcp-16 mcp 16 "$short"
run direct-16 direct 16 "$short"
run mcp-1 mcp 1 "$short"
run direct-1 direct 1 "$short"
# The 16-client ratio again, in short interleaved rounds: a drift in the machine's speed between
# two 10 s runs moves one ratio; the median of several side-by-side rounds is what is judged.
for round in $(seq "$rounds"); do
  run "round$round-mcp" mcp 16 "$round_secs"
  run "round$round-direct" direct 16 "$round_secs"
done
sleep 2
after_rss=$(rss_kib "$server_pid")
kill "$server_pid"
wait "$server_pid" 2> /dev/null || true

log "start-up: time to the first tools/list (7 starts) ..."
first=$(timeout 120 taskset -c "$gen_core" "$gen" firstlist --addr "127.0.0.1:$first_port" \
  --tries 7 -- env ${LOAD_SERVER_ENV:-} taskset -c "$server_core" "$server" \
  --bind "127.0.0.1:$first_port" --upstream-url "http://127.0.0.1:$up_port")

# --- report -----------------------------------------------------------------------------------
field() { awk -v l="$1" -v f="$2" '$1 == "RESULT" && $2 == l {print $f}' "$results"; }
cpu_of() { # label pid: CPU µs per call of that process ("-" when not measured)
  awk -v l="$1" -v p="$2" '$1 == "CPU" && $2 == l {
    for (i = 3; i <= NF; i++) { split($i, a, ":"); if (a[1] == p) { print a[2]; exit } } }' "$results" |
    grep . || echo -
}
echo
echo "Server: $(basename "$server") from $spec, tool \`$tool\` $args; upstream: bench/loadgen"
echo "loadupstream (GET $direct_path, 33-byte JSON). CPU busy before the test: $background."
echo
echo "| scenario | clients | calls/s | p50 (ms) | p99 (ms) | failures | ratio vs direct | server CPU/call | upstream CPU/call | generator CPU | core $server_core busy |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in 32 16 1; do
  for t in mcp direct; do
    l="$t-$c"
    rate=$(field "$l" 4)
    direct=$(field "direct-$c" 4)
    ratio=$(awk -v a="$rate" -v b="$direct" 'BEGIN { printf "%.2f×", (b > 0 ? a / b : 0) }')
    row="MCP tools/call via server"
    [ "$t" = direct ] && row="straight to upstream"
    srv_cpu="$(cpu_of "$l" "$server_pid") µs"
    [ "$t" = direct ] && srv_cpu=-
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s µs | %s%% | %s%% |\n' "$row" "$c" "$rate" \
      "$(field "$l" 5)" "$(field "$l" 6)" "$(field "$l" 7)" "$ratio" "$srv_cpu" \
      "$(cpu_of "$l" "$up_pid")" "$(field "$l" 8)" "$(field "$l" 9)"
  done
done
grep '^FAIL' "$results" | sed 's/^/first failure: /' || true
echo
echo "CPU/call: user+system CPU time of the process per successful call (less sensitive to other"
echo "load on the machine than calls/s). Generator CPU near 100% means the rate is the generator's."

ratios=$(for round in $(seq "$rounds"); do
  awk -v a="$(field "round$round-mcp" 4)" -v b="$(field "round$round-direct" 4)" \
    'BEGIN { printf "%.3f\n", (b > 0 ? a / b : 0) }'
done)
r16=$(echo "$ratios" | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
echo
echo "16 clients in $rounds interleaved rounds ($round_secs s via the server, then $round_secs s straight"
echo "to the upstream, each after a ${warmup} s warm-up): ratios in order $(echo $ratios | sed 's/ /, /g');"
echo "median ${r16}×."

rss=$(awk '$1 == "RSS" {$1 = ""; print; exit}' "$results")
calls32=$(field mcp-32 3)
rss_stats() { # field: summary | growth
  echo "$rss" | awk -v w="$warmup" -v calls="$calls32" -v what="$1" '{
    base = $(w + 1); min = base; max = base
    for (i = w + 1; i <= NF; i++) { if ($i < min) min = $i; if ($i > max) max = $i }
    if (what == "growth") { print max - base; exit }
    printf "%d samples (1/s from the start of the warm-up): first %.1f MiB, after warm-up %.1f MiB, min %.1f, max %.1f, last %.1f MiB; growth after warm-up %d KiB (%.3f KiB per 1000 calls)\n", NF, $1 / 1024, base / 1024, min / 1024, max / 1024, $NF / 1024, max - base, (max - base) * 1000 / (calls > 0 ? calls : 1) }'
}
rss_summary=$(rss_stats summary)
rss_growth=$(rss_stats growth)
echo
echo "Server RSS under 32 clients: $rss_summary."
echo "Series (KiB): $rss"
printf 'Idle RSS: %.1f MiB after start-up (1 s), %.1f MiB idle after the load.\n' \
  "$(awk -v k="$idle_rss" 'BEGIN{print k/1024}')" "$(awk -v k="$after_rss" 'BEGIN{print k/1024}')"
read -r _ fmin fmed fmax <<< "$first"
echo "Process start to first tools/list answered: best $fmin ms, median $fmed ms, worst $fmax ms (7 starts)."

# --- verdicts ---------------------------------------------------------------------------------
missed=0
verdict() { # ok description
  if [ "$1" = 1 ]; then echo "- met: $2"; else echo "- MISSED: $2"; missed=1; fi
}
echo
echo "Targets (issue 3):"
fails=$(awk '$1 == "RESULT" && $2 ~ /^mcp/ {s += $7} END {print s + 0}' "$results")
verdict "$([ "$fails" = 0 ] && echo 1)" "zero failed MCP calls ($fails)"
verdict "$([ "$rss_growth" -le 1024 ] && echo 1)" "memory flat under load: growth after warm-up ${rss_growth} KiB (≤ 1024 KiB)"
verdict "$(awk -v r="$r16" 'BEGIN { print (r >= 0.2) }')" \
  "16 clients: ${r16}× the direct rate, median of $rounds interleaved rounds (≥ 0.2×)"
added=$(awk -v a="$(field mcp-1 5)" -v b="$(field direct-1 5)" 'BEGIN { printf "%.3f", a - b }')
verdict "$(awk -v d="$added" 'BEGIN { print (d <= 0.3) }')" "1 client: ${added} ms added to the p50 (≤ 0.3 ms)"
verdict "$(awk -v k="$idle_rss" 'BEGIN { print (k <= 10240) }')" \
  "idle RSS $(awk -v k="$idle_rss" 'BEGIN{printf "%.1f", k/1024}') MiB (≤ 10 MiB)"
verdict "$(awk -v t="$fmed" 'BEGIN { print (t <= 30) }')" "first tools/list ${fmed} ms after process start, median (≤ 30 ms)"
rm -f "$results"
exit "$missed"
