#!/usr/bin/env bash
# Start-up time and idle memory of a generated server (DESIGN §5: a Stripe-sized API must start in
# under 100 ms with an idle RSS under 30 MiB):
#
#   bench/startup.sh BINARY [RUNS] [-- SERVER FLAGS...]
#
# Starts BINARY RUNS times (default 20) on a free 127.0.0.1 port (upstream: a closed port; no
# request is made to it) and measures, per run, the time from exec to the first `200` of
# /healthz, then the resident set size (VmRSS) once it answers, and after one `tools/list`
# (the first page, protocol 2025-06-18). Prints the median and the worst of each. Standard
# library Python only. Example, the crate of GitHub's description in both tool modes:
#
#   bench/startup.sh target/gen-crates/release/mcpgen-e2e-github 20 -- --tool-mode discover
#   bench/startup.sh target/gen-crates/release/mcpgen-e2e-github 20 -- --tool-mode all
set -euo pipefail
binary=${1:?usage: bench/startup.sh BINARY [RUNS] [-- SERVER FLAGS...]}
shift
runs=20
if [[ $# -gt 0 && $1 != -- ]]; then
    runs=$1
    shift
fi
[[ ${1:-} == -- ]] && shift
exec python3 - "$binary" "$runs" "$@" <<'EOF'
import json, os, socket, statistics, subprocess, sys, time, urllib.request

binary, runs, flags = sys.argv[1], int(sys.argv[2]), sys.argv[3:]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def tools_list(port):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/mcp",
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                 "MCP-Protocol-Version": "2025-06-18"},
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        return len(r.read())


starts, idle, listed = [], [], []
size = 0
for _ in range(runs):
    port = free_port()
    upstream = f"http://127.0.0.1:{free_port()}/api"
    begin = time.perf_counter()
    process = subprocess.Popen([binary, "--bind", f"127.0.0.1:{port}", "--upstream-url", upstream, *flags],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if process.poll() is not None:
                sys.exit(f"{binary} exited with {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.001)
        starts.append((time.perf_counter() - begin) * 1000)
        idle.append(rss_kib(process.pid) / 1024)
        size = tools_list(port)
        listed.append(rss_kib(process.pid) / 1024)
    finally:
        process.terminate()
        process.wait()

print(f"{binary} {' '.join(flags)}: {runs} runs")
print(f"  start-up to /healthz: median {statistics.median(starts):.1f} ms, worst {max(starts):.1f} ms")
print(f"  idle RSS:             median {statistics.median(idle):.1f} MiB, worst {max(idle):.1f} MiB")
print(f"  RSS after tools/list: median {statistics.median(listed):.1f} MiB ({size} bytes, about {size // 4} tokens)")
EOF
