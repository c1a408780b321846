#!/usr/bin/env bash
# What the session log costs: the full-range loopback scan with and without it, in one run.
#
# Inside a private network namespace (`unshare -n`, so nothing but this namespace's loopback is
# ever touched) it starts 50 listeners on 127.0.0.1 (as benches/loopback_vs_nmap.sh does), then
# alternates, ROUNDS times:
#   scanwatch scan -p- 127.0.0.1 --banner-wait 0 --quiet --session FILE
#   scanwatch scan -p- 127.0.0.1 --banner-wait 0 --quiet --no-session
# checks that the log is complete (a header, 65,535 probe lines, an end line saying completed)
# and prints the median wall time (and CPU time) of each, their ratio, and the log's size.
# Targets (issue "Session logs, replay and reports"): logging costs <= 5 %, log <= 4 MB.
#
# Usage: benches/session_log.sh [ROUNDS]     (root; needs python3, unshare)
set -euo pipefail

ROUNDS=${1:-5}
here=$(cd "$(dirname "$0")/.." && pwd)

if [ "${SCANWATCH_BENCH_INSIDE:-}" != 1 ]; then
    for tool in python3 unshare; do
        command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install python3 util-linux)" >&2; exit 2; }
    done
    [ "$(id -u)" = 0 ] || { echo "run as root: the benchmark needs its own network namespace (unshare -n)" >&2; exit 2; }
    (cd "$here" && cargo build --release --quiet)
    exec env SCANWATCH_BENCH_INSIDE=1 unshare -n "$0" "$ROUNDS"
fi

bin="$here/target/release/scanwatch"
work=$(mktemp -d)
trap 'kill "${listener_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
ip link set lo up
# Nothing of this run goes to the real home (diagnostics included).
export XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config"
unset SCANWATCH_LOG

# 50 listeners: a few well-known ports and 47 spread over the range (fixed seed: same every run).
# 50 listeners on 127.0.0.1 (see loopback_lab.sh).
source "$here/benches/loopback_lab.sh"
start_listeners "$work"

measure() { # name, args...: appends "wall_s cpu_s" (user + system) to $work/name.times
    local name=$1; shift
    python3 - "$work/$name" "$bin" scan -p- 127.0.0.1 --banner-wait 0 --quiet "$@" <<'PY' >> "$work/$name.times"
import resource, subprocess, sys, time
out = sys.argv[1]
start = time.perf_counter()
with open(out + ".out", "wb") as o, open(out + ".err", "wb") as e:
    code = subprocess.call(sys.argv[2:], stdout=o, stderr=e)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
if code != 0:
    sys.exit(f"scanwatch exited {code}: " + open(out + ".err").read())
print(wall, usage.ru_utime + usage.ru_stime)
PY
}

check_log() { # the log of this round: complete, and the open ports the listeners hold
    python3 - "$work/session.jsonl" "$work/ports" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "the log ends with a newline"
header = json.loads(lines[0])
assert header["format"] == "scanwatch-session" and header["version"] == 1, header
probes = [json.loads(l) for l in lines if l.startswith('["p"')]
assert len(probes) == 65535, f"{len(probes)} probe lines"
opened = sorted(p[3] for p in probes if p[4] == "o")
expected = [int(p) for p in open(sys.argv[2]).read().split(",")]
assert opened == expected, (opened, expected)
end = json.loads(lines[-2])
assert end["type"] == "end" and end["reason"] == "completed" and end["probes"] == 65535, end
PY
}

for round in $(seq "$ROUNDS"); do
    measure logged --session "$work/session.jsonl"
    check_log || { echo "round $round: the session log is not complete" >&2; exit 1; }
    stat -c %s "$work/session.jsonl" >> "$work/size"
    measure unlogged --no-session
done

python3 - "$work" "$ROUNDS" <<'PY'
import statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def load(name):
    rows = [tuple(map(float, l.split())) for l in open(f"{work}/{name}.times")]
    return [r[0] for r in rows], [r[1] for r in rows]
(logged, logged_cpu), (unlogged, unlogged_cpu) = load("logged"), load("unlogged")
sizes = [int(l) for l in open(f"{work}/size")]
ratio = statistics.median(logged) / statistics.median(unlogged)
size_mb = max(sizes) / 1e6
print(f"full-range loopback scan (65,535 ports, 50 open), {rounds} rounds each, alternating; every log complete")
print(f"  --session FILE   wall median {statistics.median(logged):.3f} s  (min {min(logged):.3f}, max {max(logged):.3f})  CPU median {statistics.median(logged_cpu):.3f} s")
print(f"  --no-session     wall median {statistics.median(unlogged):.3f} s  (min {min(unlogged):.3f}, max {max(unlogged):.3f})  CPU median {statistics.median(unlogged_cpu):.3f} s")
print(f"  cost of the log: {100 * (ratio - 1):+.1f} %  (ratio {ratio:.3f}; target <= 5 %: {'PASS' if ratio <= 1.05 else 'FAIL'})")
print(f"  log size {max(sizes):,} bytes = {size_mb:.2f} MB, {max(sizes) / 65535:.1f} bytes per probe  (target <= 4 MB: {'PASS' if size_mb <= 4 else 'FAIL'})")
PY
