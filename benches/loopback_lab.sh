# Sourced by the loopback benchmarks (loopback_vs_nmap.sh, session_log.sh, tui_vs_headless.sh),
# inside the private network namespace each one makes for itself.
#
# start_listeners DIR: 50 listeners on 127.0.0.1, a few well-known ports and 47 spread over the
# range (fixed seed: the same every run); their ports, comma-separated, in DIR/ports once they
# all listen. Sets listener_pid (for the caller's trap to kill).
start_listeners() {
    local dir=$1
    python3 - "$dir/ports" <<'PY' &
import random, socket, sys, time
rng = random.Random(7)
ports = {22, 80, 443}
while len(ports) < 50:
    ports.add(rng.randrange(1, 65536))
socks = []
for p in sorted(ports):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p))
    s.listen(1024)
    socks.append(s)
with open(sys.argv[1], "w") as f:
    f.write(",".join(str(p) for p in sorted(ports)) + "\n")
time.sleep(3600)
PY
    listener_pid=$!
    for _ in $(seq 50); do [ -s "$dir/ports" ] && break; sleep 0.1; done
}
