#!/usr/bin/env bash
# Long-run stability: `scanwatch demo --speed max --headless` over benches/long_run.toml, about
# an hour of simulated scan time (2,048 hosts x 1,000 ports at 1,000 probes/s, a quarter of the
# hosts silent), with its session log. The scanner's resident memory (VmRSS) is sampled every
# 20 ms of wall time against the scan time of the log's last line; the table gives it per
# simulated 5 minutes, then the growth over the second half of the scan. The plan brings hosts
# in a few hundred at a time over its first half, and each answering host keeps its results
# (about 2 KiB), so memory rises until every host is in, then stays flat.
#   bash benches/long_run.sh [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-1}
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
./target/release/scanwatch demo --scenario-file benches/long_run.toml --speed max --headless \
    --seed "$seed" --session "$dir/session.jsonl" >"$dir/summary.txt" 2>"$dir/stderr.txt" &
pid=$!
python3 - "$pid" "$dir/session.jsonl" <<'PY'
import json, os, sys, time

pid, log = int(sys.argv[1]), sys.argv[2]

def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None

def scan_time_s():
    """Scan time of the last complete event line of the log, in seconds."""
    try:
        with open(log, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            lines = f.read().split(b"\n")[:-1]
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        try:
            v = json.loads(line)
        except ValueError:
            continue
        if isinstance(v, list) and len(v) > 1 and isinstance(v[1], int):
            return v[1] / 1e6
        if isinstance(v, dict) and "t_us" in v:
            return v["t_us"] / 1e6
    return None

samples = []
start = time.monotonic()
while True:
    try:
        rss = rss_kib()
    except (FileNotFoundError, ProcessLookupError):
        break
    if rss is None:
        break
    t = scan_time_s()
    if t is not None:
        samples.append((t, rss))
    time.sleep(0.02)
wall = time.monotonic() - start
if not samples:
    sys.exit("no samples: the demo ended before its log had a line")
end = samples[-1][0]
print(f"scan time {end / 60:.1f} min in {wall:.1f} s of wall time, {len(samples)} samples")
print(f"{'scan time':>10} {'RSS MiB':>8}")
step = 300
for minute_mark in range(step, int(end) + step, step):
    window = [r for t, r in samples if minute_mark - step <= t < minute_mark]
    if window:
        print(f"{minute_mark // 60:>7} min {max(window) / 1024:>8.1f}")
half = end / 2
mid = [r for t, r in samples if half - 60 <= t < half + 60]
late = [r for t, r in samples if t >= half]
if mid and late:
    base, peak = max(mid), max(late)
    print(f"second half: RSS {base / 1024:.1f} MiB at minute {half / 60:.0f}, "
          f"peak {peak / 1024:.1f} MiB after it ({100 * (peak - base) / base:+.1f}%)")
PY
wait "$pid"
tail -1 "$dir/session.jsonl" | cut -c1-200
echo "session log: $(stat -c %s "$dir/session.jsonl") bytes"
