#!/usr/bin/env bash
# Full-range loopback scan, scanwatch vs nmap, side by side in one run.
#
# Inside a private network namespace (`unshare -n`, so nothing but this namespace's loopback is
# ever touched) it starts 50 listeners on 127.0.0.1, then alternates, ROUNDS times:
#   nmap -sT -Pn -n -T5 -p- 127.0.0.1
#   scanwatch scan -p- 127.0.0.1 --json --banner-wait 0   (nmap -sT does not read either)
# checks that both found exactly the same open ports, and prints the median wall time of each,
# their ratio, and peak RSS (from /usr/bin/time -v).
# Targets (issue "Scan engine, CLI and headless scan"): wall time <= 0.5 x nmap, peak RSS <= 30 MB.
#
# Usage: benches/loopback_vs_nmap.sh [ROUNDS]     (root; needs nmap, python3, GNU time)
set -euo pipefail

ROUNDS=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)

if [ "${SCANWATCH_BENCH_INSIDE:-}" != 1 ]; then
    for tool in nmap python3 /usr/bin/time unshare; do
        command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install nmap python3 time util-linux)" >&2; exit 2; }
    done
    [ "$(id -u)" = 0 ] || { echo "run as root: the benchmark needs its own network namespace (unshare -n)" >&2; exit 2; }
    (cd "$here" && cargo build --release --quiet)
    exec env SCANWATCH_BENCH_INSIDE=1 unshare -n "$0" "$ROUNDS"
fi

bin="$here/target/release/scanwatch"
work=$(mktemp -d)
trap 'kill "${listener_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
ip link set lo up
# Session logs (written by default, as a user's scan does) go to the scratch directory.
export XDG_STATE_HOME="$work/state"

# 50 listeners: a few well-known ports and 47 spread over the range (fixed seed: same every run).
# 50 listeners on 127.0.0.1 (see loopback_lab.sh).
source "$here/benches/loopback_lab.sh"
start_listeners "$work"
expected=$(cat "$work/ports")

measure() { # name, command...: appends "wall_s rss_kb" to $work/name.times
    local name=$1; shift
    /usr/bin/time -v -o "$work/time.txt" "$@" > "$work/$name.out" 2>/dev/null
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$work/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    echo "$wall $rss" >> "$work/$name.times"
}

open_nmap() { grep -o 'Ports: .*' "$work/nmap.out" | tr ',' '\n' | grep '/open/' | sed 's/.*\b\([0-9]\+\)\/open.*/\1/' | sort -n | paste -sd, -; }
open_scanwatch() {
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    o = json.loads(line)
    if o["type"] == "summary":
        ports = sorted(p["port"] for h in o["hosts"] for p in h["open"])
        print(",".join(map(str, ports)))' "$work/scanwatch.out"
}

for round in $(seq "$ROUNDS"); do
    measure nmap nmap -sT -Pn -n -T5 -p- 127.0.0.1 -oG -
    measure scanwatch "$bin" scan -p- 127.0.0.1 --json --quiet --banner-wait 0
    a=$(open_nmap); b=$(open_scanwatch)
    if [ "$a" != "$expected" ] || [ "$b" != "$expected" ]; then
        echo "round $round: open sets differ" >&2
        echo "  listeners: $expected" >&2; echo "  nmap:      $a" >&2; echo "  scanwatch: $b" >&2
        exit 1
    fi
done

python3 - "$work" "$ROUNDS" <<'PY'
import statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def load(name):
    rows = [tuple(map(float, l.split())) for l in open(f"{work}/{name}.times")]
    return [r[0] for r in rows], [r[1] / 1024 for r in rows]
nw, nr = load("nmap")
sw, sr = load("scanwatch")
ratio = statistics.median(sw) / statistics.median(nw)
print(f"full-range loopback scan, 50 open ports, {rounds} rounds each, open sets identical in every round")
print(f"  nmap -sT -Pn -n -T5 -p-   wall median {statistics.median(nw):.2f} s  (min {min(nw):.2f}, max {max(nw):.2f})  peak RSS {max(nr):.1f} MB")
print(f"  scanwatch scan -p-        wall median {statistics.median(sw):.2f} s  (min {min(sw):.2f}, max {max(sw):.2f})  peak RSS {max(sr):.1f} MB")
print(f"  wall-time ratio scanwatch/nmap: {ratio:.2f}  (target <= 0.50: {'PASS' if ratio <= 0.5 else 'FAIL'})")
print(f"  scanwatch peak RSS {max(sr):.1f} MB  (target <= 30 MB: {'PASS' if max(sr) <= 30 else 'FAIL'})")
PY
