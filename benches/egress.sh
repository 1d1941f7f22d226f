#!/usr/bin/env bash
# Host-allowlist mode (--allow-host): what the network namespace and the
# egress proxy cost. Usage: benches/egress.sh [--quick]
#
# 1. start-up: `nono run --allow . -- /bin/true` against the same with
#    `--allow-host example.com`, in interleaved rounds (benches/pairs.py)
# 2. 1,000 small HTTP requests from one curl (URL globbing, a new
#    connection each), to a loopback server: without nono, through an
#    exposed port (localhost:PORT entry), and forced through the proxy;
#    whole runs, interleaved
# 3. one 100 MB download from the same server: bare curl, the same curl
#    inside nono without a host list (--net-allow: the sandbox without the
#    proxy), through the proxy (plain HTTP), through a CONNECT tunnel and
#    through an exposed port; then the same at 100 MB/s. Each transfer is
#    timed by curl itself (time_total), so nono's start-up is not in it;
#    the variants run in turn, round after round, and the report gives
#    medians and the median of the per-round ratios.
#
# Needs curl and python3. The server runs on the host's loopback and is the
# same for every variant, so the ratios show what nono adds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
START_ROUNDS=200 SMALL_ROUNDS=8 BIG_ROUNDS=25
if [ "${1:-}" = "--quick" ]; then START_ROUNDS=40 SMALL_ROUNDS=2 BIG_ROUNDS=6; fi
for t in curl python3; do command -v $t >/dev/null || { echo "$t is required"; exit 1; }; done

# The same build as benches/bench.sh.
cargo build --release --locked --quiet --features test-abi-cap --target-dir "$ROOT/target/bench-test-abi-cap"
NONO=$ROOT/target/bench-test-abi-cap/release/nono
CURL=$(command -v curl)
W=$(mktemp -d /tmp/nono-egress-bench.XXXXXX)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
head -c 100000000 /dev/zero > big
echo -n hello > small
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 - "$PORT" <<'PY' >/dev/null 2>&1 &
import http.server, sys, os
class H(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def log_message(self, *a): pass
    def copyfile(self, src, dst):
        # sendfile: the server's own cost stays small next to the proxy's
        os.sendfile(dst.fileno(), src.fileno(), 0, os.fstat(src.fileno()).st_size)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
SERVER_PID=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$PORT/small" && break; sleep 0.1; done

echo "machine: $(nproc) cores, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); nono: $($NONO --version)"
PROXY=http://127.0.0.1:41080
mkdir -p proj && cd proj

echo "== start-up"
python3 "$ROOT/benches/pairs.py" run "$W/start.json" "$START_ROUNDS" 10 \
  "nono run --allow ." "$NONO run -q --allow . -- /bin/true" \
  "  + --allow-host example.com" "$NONO run -q --allow . --allow-host example.com -- /bin/true" \
  "  + --net-block" "$NONO run -q --allow . --net-block -- /bin/true"
python3 "$ROOT/benches/pairs.py" show "$W/start.json"

echo "== 1,000 small requests (whole runs, nono's start-up included)"
SMALL="http://127.0.0.1:$PORT/small?[1-1000]"
python3 "$ROOT/benches/pairs.py" run "$W/small.json" "$SMALL_ROUNDS" 1 \
  "direct" "$CURL -s -o /dev/null --noproxy * $SMALL" \
  "exposed port" "$NONO run -q --allow-host localhost:$PORT -- $CURL -s -o /dev/null $SMALL" \
  "proxy" "$NONO run -q --allow-host 127.0.0.1:$PORT -- $CURL -s -o /dev/null -x $PROXY --noproxy '' $SMALL"
python3 "$ROOT/benches/pairs.py" show "$W/small.json"

# One 100 MB transfer per variant and round, timed by curl (seconds).
BIG="http://127.0.0.1:$PORT/big"
big_round() { # extra curl options (e.g. --limit-rate)
  local o="-s -o /dev/null -w %{time_total} $*"
  printf '%s %s %s %s %s\n' \
    "$($CURL $o --noproxy '*' "$BIG")" \
    "$($NONO run -q --net-allow -- "$CURL" $o --noproxy '*' "$BIG" 2>/dev/null)" \
    "$($NONO run -q --allow-host 127.0.0.1:$PORT -- "$CURL" $o -x $PROXY --noproxy '' "$BIG" 2>/dev/null)" \
    "$($NONO run -q --allow-host 127.0.0.1:$PORT -- "$CURL" $o -p -x $PROXY --noproxy '' "$BIG" 2>/dev/null)" \
    "$($NONO run -q --allow-host localhost:$PORT -- "$CURL" $o "$BIG" 2>/dev/null)"
}
big_report() {
  python3 - "$1" <<'PY'
import statistics as st, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
names = ["bare curl", "curl inside nono, no host list", "proxy (plain HTTP)", "CONNECT tunnel", "exposed port"]
print(f"  ({len(rows)} interleaved rounds; ratios: medians of per-round ratios)")
for i, n in enumerate(names):
    col = [r[i] for r in rows]
    vs_bare = st.median(r[i] / r[0] for r in rows)
    vs_inside = st.median(r[i] / r[1] for r in rows)
    print(f"  {n:<32} {st.median(col) * 1e3:8.1f} ms   {vs_bare:5.2f}x bare   {vs_inside:5.2f}x inside")
PY
}
echo "== 100 MB, unthrottled (curl's own time)"
big_round >/dev/null
for _ in $(seq "$BIG_ROUNDS"); do big_round; done > "$W/big.txt"
big_report "$W/big.txt"
# The same download at a network's speed (100 MB/s, 800 Mbit/s): loopback
# above is CPU-bound, and the proxy's second loopback connection doubles
# the kernel's TCP work.
echo "== 100 MB at 100 MB/s (--limit-rate 100M)"
for _ in $(seq $(( (BIG_ROUNDS + 2) / 3 ))); do big_round --limit-rate 100M; done > "$W/lim.txt"
big_report "$W/lim.txt"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
