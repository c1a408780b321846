#!/usr/bin/env bash
# Makes the README's screenshots from the real binary: `scanwatch demo` in tmux at 160×48, the
# screen captured with its colours (`capture-pane -e`) and drawn to PNG by ansi2png.py.
# The demo's network is simulated: nothing real is probed.
#
# Usage: bash screenshots/make.sh
# Needs: tmux, python3 with Pillow (`pip install pillow` or Debian's python3-pil), and
# fonts-dejavu-core.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --quiet
bin=target/release/scanwatch
socket="scanwatch-shots-$$"
# The demos' session logs go to a scratch directory, not the real home.
state=$(mktemp -d)
trap 'tmux -L "$socket" kill-server 2>/dev/null || true; rm -rf "$state"' EXIT

# shoot NAME SCENARIO SPEED SECONDS [KEYS...]: run the demo, wait, send keys, capture.
shoot() {
    local name=$1 scenario=$2 speed=$3 seconds=$4
    shift 4
    tmux -L "$socket" -f /dev/null new-session -d -s shot -x 160 -y 48 \
        "TERM=xterm-256color XDG_STATE_HOME=$state $bin demo --scenario $scenario --seed 1 --speed $speed; sleep 60"
    sleep "$seconds"
    for key in "$@"; do
        tmux -L "$socket" send-keys -t shot "$key"
        sleep 0.3
    done
    sleep 0.5
    tmux -L "$socket" capture-pane -e -p -t shot > "screenshots/$name.ansi"
    tmux -L "$socket" kill-server
    python3 screenshots/ansi2png.py "screenshots/$name.ansi" "screenshots/$name.png" --cols 160 --rows 48
    rm "screenshots/$name.ansi"
    echo "screenshots/$name.png"
}

# A healthy network, a few simulated seconds in.
shoot healthy healthy 4 1.5
# The IPS has banned the scanner: SHUN on 127.0.3.10, its later probes suspect.
shoot shun shun 4 4.5
# Tarpit hosts answer on every port: DECEPTION, and the ports pane of the first one.
shoot deception tarpit 4 1.5
