#!/usr/bin/env bash
# Host-allowlist mode (--allow-host): what the network namespace and the
# egress proxy cost. Usage: benches/egress.sh [--quick]
#
# 1. start-up: `nono run -- /bin/true` vs `nono run --allow-host ... -- /bin/true`
# 2. 1,000 small HTTP requests from one curl (URL globbing, a new
#    connection each), to a loopback server: without nono, through an
#    exposed port (localhost:PORT entry), and forced through the proxy
# 3. one 100 MB download from the same server, the same three ways
#
# Needs hyperfine, curl, python3. The server runs on the host's loopback
# and is the same for every variant, so the ratios show what nono adds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=(--warmup 20 --min-runs 200)
XFER=(--warmup 2 --min-runs 10)
if [ "${1:-}" = "--quick" ]; then RUNS=(--warmup 5 --min-runs 30); XFER=(--warmup 1 --min-runs 3); fi
for t in hyperfine curl python3; do command -v $t >/dev/null || { echo "$t is required"; exit 1; }; done

cargo build --release --locked --quiet
NONO=$ROOT/target/release/nono
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

echo "machine: $(nproc) cores, $(uname -r); nono: $($NONO --version)"
mean() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.4f %.4f" % (r["mean"], r["stddev"]))' "$1"; }
bench() { local name=$1 opts=$2; shift 2; hyperfine -N $opts --export-json "$W/$name.json" "$@" >/dev/null 2>&1; echo "$name $(mean "$W/$name.json")"; }
report() { # name baseline
  python3 - "$W/$1.json" "$W/$2.json" "$1" "$2" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["results"][0]; b = json.load(open(sys.argv[2]))["results"][0]
print("%-28s %9.2f ms ± %6.2f   ratio %.3f (%+.2f ms) vs %s" % (sys.argv[3], a["mean"]*1e3, a["stddev"]*1e3, a["mean"]/b["mean"], (a["mean"]-b["mean"])*1e3, sys.argv[4]))
PY
}

R=$(printf '%s' "${RUNS[*]}"); X=$(printf '%s' "${XFER[*]}")
bench start_plain "$R" "$NONO run -- /bin/true"
bench start_hosts "$R" "$NONO run --allow-host example.com -- /bin/true"
SMALL="http://127.0.0.1:$PORT/small?[1-1000]"
bench small_direct "$X" "curl -s -o /dev/null --noproxy * $SMALL"
bench small_exposed "$X" "$NONO run --allow-host localhost:$PORT -- /usr/bin/curl -s -o /dev/null $SMALL"
bench small_proxy "$X" "$NONO run --allow-host 127.0.0.1:$PORT -- /usr/bin/curl -s -o /dev/null -x http://127.0.0.1:41080 --noproxy '' $SMALL"
BIG="http://127.0.0.1:$PORT/big"
bench big_direct "$X" "curl -s -o /dev/null --noproxy * $BIG"
bench big_exposed "$X" "$NONO run --allow-host localhost:$PORT -- /usr/bin/curl -s -o /dev/null $BIG"
bench big_proxy "$X" "$NONO run --allow-host 127.0.0.1:$PORT -- /usr/bin/curl -s -o /dev/null -x http://127.0.0.1:41080 --noproxy '' $BIG"
bench big_connect "$X" "$NONO run --allow-host 127.0.0.1:$PORT -- /usr/bin/curl -s -o /dev/null -p -x http://127.0.0.1:41080 --noproxy '' $BIG"
# The same download at a network's speed (100 MB/s, 800 Mbit/s): loopback
# above is CPU-bound, and the proxy's second loopback hop doubles the TCP work.
LIM="--limit-rate 100M"
bench lim_direct "$X" "curl -s -o /dev/null $LIM --noproxy * $BIG"
bench lim_proxy "$X" "$NONO run --allow-host 127.0.0.1:$PORT -- /usr/bin/curl -s -o /dev/null $LIM -x http://127.0.0.1:41080 --noproxy '' $BIG"
bench lim_connect "$X" "$NONO run --allow-host 127.0.0.1:$PORT -- /usr/bin/curl -s -o /dev/null $LIM -p -x http://127.0.0.1:41080 --noproxy '' $BIG"
echo
report start_hosts start_plain
report small_exposed small_direct
report small_proxy small_direct
report big_exposed big_direct
report big_proxy big_direct
report big_connect big_direct
report lim_proxy lim_direct
report lim_connect lim_direct
