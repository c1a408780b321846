#!/usr/bin/env bash
# The full-range loopback scan with the live view (in tmux, 160×48) vs headless, side by side in
# one run.
#
# Inside a private network namespace (`unshare -n`: nothing but this namespace's loopback is ever
# touched) it starts 50 listeners on 127.0.0.1, then alternates, ROUNDS times:
#   scanwatch scan -p- 127.0.0.1 --banner-wait 0 --quiet > /dev/null          (headless)
#   the same in a tmux pane, stdout the terminal (live view), stdin /dev/null so the view closes
#   by itself when the scan is done
# and prints the median wall time of each and their ratio.
# Target (issue "Live TUI"): live view <= 1.1 x headless wall time.
#
# Usage: benches/tui_vs_headless.sh [ROUNDS]     (root; needs tmux, python3, GNU time)
set -euo pipefail

ROUNDS=${1:-7}
here=$(cd "$(dirname "$0")/.." && pwd)

if [ "${SCANWATCH_BENCH_INSIDE:-}" != 1 ]; then
    for tool in tmux python3 /usr/bin/time unshare; do
        command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install tmux python3 time util-linux)" >&2; exit 2; }
    done
    [ "$(id -u)" = 0 ] || { echo "run as root: the benchmark needs its own network namespace (unshare -n)" >&2; exit 2; }
    (cd "$here" && cargo build --release --quiet)
    exec env SCANWATCH_BENCH_INSIDE=1 unshare -n "$0" "$ROUNDS"
fi

bin="$here/target/release/scanwatch"
work=$(mktemp -d)
socket="scanwatch-bench-$$"
trap 'tmux -L "$socket" kill-server 2>/dev/null || true; kill "${listener_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
ip link set lo up
# Session logs (written by default) go to the scratch directory, not the real home.
export XDG_STATE_HOME="$work/state"

# 50 listeners on 127.0.0.1 (see loopback_lab.sh).
source "$here/benches/loopback_lab.sh"
start_listeners "$work"

scan=("$bin" scan -p- 127.0.0.1 --banner-wait 0)

headless() {
    /usr/bin/time -f "%e" -o "$work/t" "${scan[@]}" --quiet > /dev/null 2>&1
    cat "$work/t" >> "$work/headless.times"
}

live() {
    rm -f "$work/t" "$work/done"
    tmux -L "$socket" -f /dev/null new-session -d -s live -x 160 -y 48 \
        "TERM=xterm-256color /usr/bin/time -f %e -o $work/t ${scan[*]} < /dev/null; touch $work/done; sleep 30"
    for _ in $(seq 600); do [ -e "$work/done" ] && break; sleep 0.05; done
    [ -e "$work/done" ] || { echo "the live view did not finish" >&2; tmux -L "$socket" capture-pane -p -t live >&2; exit 1; }
    if ! tmux -L "$socket" capture-pane -p -t live -S -100 | grep -q "Scan done\|Scan report for 127.0.0.1"; then
        echo "no summary after the live view:" >&2; tmux -L "$socket" capture-pane -p -t live -S -100 >&2; exit 1
    fi
    tmux -L "$socket" kill-server
    cat "$work/t" >> "$work/live.times"
}

for _ in $(seq "$ROUNDS"); do
    headless
    live
done

python3 - "$work" "$ROUNDS" <<'PY'
import statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
load = lambda name: [float(l) for l in open(f"{work}/{name}.times")]
h, l = load("headless"), load("live")
ratio = statistics.median(l) / statistics.median(h)
print(f"full-range loopback scan, 50 open ports, {rounds} rounds each, alternating")
print(f"  headless    wall median {statistics.median(h):.2f} s  (min {min(h):.2f}, max {max(h):.2f})")
print(f"  live view   wall median {statistics.median(l):.2f} s  (min {min(l):.2f}, max {max(l):.2f})  in tmux 160x48")
print(f"  ratio live/headless: {ratio:.2f}  (target <= 1.10: {'PASS' if ratio <= 1.1 else 'FAIL'})")
PY
