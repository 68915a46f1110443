#!/usr/bin/env python3
"""Compares two profiles of bench/perf-server.sh per call, symbol by symbol.

    bench/perf-diff.py BEFORE.data CALLS_BEFORE AFTER.data CALLS_AFTER [N (35)]

CALLS_*: the calls of each run (the second field of its RESULT line). Prints the samples per
1,000 calls of each profile, then the N symbols whose samples per 1,000 calls changed most
(change, before, after, symbol). The crate's own name is replaced by CRATE so that two builds
of different names compare."""

import collections
import re
import subprocess
import sys


def load(path: str) -> tuple[collections.Counter, int]:
    out = subprocess.run(
        ["perf", "report", "-i", path, "--no-children", "--sort", "symbol", "--stdio", "-g", "none", "-n"],
        capture_output=True, text=True, check=True,
    ).stdout
    counts: collections.Counter = collections.Counter()
    total = 0
    for line in out.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(\d+)\s+\[(.)\]\s+(.*?)\s+-\s+-\s*$", line)
        if m:
            n = int(m.group(2))
            counts[re.sub(r"load_\w+_mcp", "CRATE", m.group(4))[:100]] += n
            total += n
    return counts, total


def main() -> None:
    before, calls_before, after, calls_after = sys.argv[1], float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    top = int(sys.argv[5]) if len(sys.argv) > 5 else 35
    a, total_a = load(before)
    b, total_b = load(after)
    print(f"samples per 1,000 calls: before {total_a / calls_before * 1000:.2f}, after {total_b / calls_after * 1000:.2f}")
    change = {k: (b[k] / calls_after - a[k] / calls_before) * 1000 for k in set(a) | set(b)}
    for name, delta in sorted(change.items(), key=lambda kv: -abs(kv[1]))[:top]:
        print(f"{delta:+8.2f} {a[name] / calls_before * 1000:7.2f} {b[name] / calls_after * 1000:7.2f}  {name}")


if __name__ == "__main__":
    main()
