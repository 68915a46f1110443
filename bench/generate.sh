#!/usr/bin/env bash
# Generation benchmark: time and peak memory of `mcpgen generate` on synthetic specs of
# 10, 100, 1,000 and 5,000 operations (bench/synth.py), best of 3 runs each, release build.
# Usage: bench/generate.sh            (prints a markdown table)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '| operations | spec size | time (best of 3) | peak RSS | time per operation |\n|---:|---:|---:|---:|---:|\n'
for n in 10 100 1000 5000; do
  python3 bench/synth.py "$n" > "$work/spec-$n.json"
  best_t=""; best_m=""
  for run in 1 2 3; do
    rm -rf "$work/out-$n"
    /usr/bin/time -f '%e %M' -o "$work/time" \
      ./target/release/mcpgen generate "$work/spec-$n.json" --out "$work/out-$n" 2>/dev/null
    read -r t m < "$work/time"
    if [ -z "$best_t" ] || awk "BEGIN{exit !($t < $best_t)}"; then best_t=$t; fi
    if [ -z "$best_m" ] || [ "$m" -lt "$best_m" ]; then best_m=$m; fi
  done
  size=$(du -k "$work/spec-$n.json" | cut -f1)
  per=$(awk "BEGIN{printf \"%.2f\", $best_t * 1000 / $n}")
  printf '| %d | %d KiB | %.2f s | %.1f MiB | %s ms |\n' "$n" "$size" "$best_t" "$(awk "BEGIN{print $best_m/1024}")" "$per"
done
