#!/usr/bin/env bash
# Snapshot cost (nono run --snapshot, nono undo restore) against a plain
# copy (cp -a) and a metadata walk (find -printf) of the same tree, as
# ratios measured in the same run. Usage:
#   benches/undo.sh [FILES] [TOTAL_MB]      default 50000 files, 500 MB
# Needs hyperfine and python3. Heavy: it writes the tree, a copy and the
# snapshot store (about 3x TOTAL_MB) under a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FILES=${1:-50000}
TOTAL_MB=${2:-500}
command -v hyperfine >/dev/null || { echo "hyperfine is required"; exit 1; }

cargo build --release --locked --quiet
NONO=$ROOT/target/release/nono
W=$(mktemp -d "${BENCH_DIR:-/tmp}/nono-undo-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
R=$W/results
mkdir -p "$R"
cd "$W"
export XDG_STATE_HOME=$W/state
# Retention would garbage-collect every few runs; measured on its own below.
export NONO_UNDO_KEEP_RUNS=1000

echo "machine: $(nproc) cores, $(uname -r), $(findmnt -no FSTYPE -T "$W") filesystem under $W"
echo "tree:    $FILES files, about $TOTAL_MB MB"

python3 - "$FILES" "$TOTAL_MB" <<'PY'
import os, random, sys
files, total = int(sys.argv[1]), int(sys.argv[2]) << 20
random.seed(1)
per_dir = 100
avg = total // files
blob = os.urandom(4 * avg + 65536)
for i in range(files):
    d = f"tree/d{i // per_dir // 50}/e{i // per_dir}"
    if i % per_dir == 0:
        os.makedirs(d, exist_ok=True)
    n = random.randint(0, 2 * avg)
    off = random.randint(0, len(blob) - n - 1)
    with open(f"{d}/f{i}.txt", "wb") as f:
        f.write(blob[off:off + n] + str(i).encode())
PY
du -sh tree | sed 's/^/size:    /'
# Let the new files' times settle: entries changed within two seconds
# before a snapshot are read again by the next one (see SPEC.md).
sleep 3
sync

bench() {
  local name=$1; shift
  hyperfine -N --export-json "$R/$name.json" --style none "$@" >"$R/$name.log" 2>&1 ||
    { echo "  $name: FAILED ($(tail -3 "$R/$name.log"))"; }
}

# hyperfine -N runs --prepare without a shell too: sh -c where it needs one.
# change10: appends to 10 random files of the tree.
cat > change10.py <<'PY'
import os, random
files = []
for d, _, fs in os.walk("tree"):
    files += [os.path.join(d, f) for f in fs]
for f in random.sample(sorted(files), 10):
    with open(f, "ab") as fh:
        fh.write(b"changed\n")
PY
cat > delete10.py <<'PY'
import os
files = []
for d, _, fs in os.walk("tree"):
    files += [os.path.join(d, f) for f in fs]
for f in sorted(files)[::len(files) // 10][:10]:
    os.unlink(f)
PY

echo "== baselines"
bench walk --warmup 2 --runs 10 "find tree -printf '%p %s %T@ %C@ %i %m\n'" --output=null
bench cp --runs 2 --prepare 'rm -rf copy' 'cp -a tree copy'
bench cp_sync --runs 2 --prepare "sh -c 'rm -rf copy; sync'" "sh -c 'cp -a tree copy && sync'"
bench nono_plain --warmup 2 --runs 10 "$NONO run --allow tree -- /bin/true"

echo "== nono"
bench first --runs 2 --prepare "sh -c 'rm -rf $W/state; sync'" "$NONO run --snapshot --allow tree -- /bin/true"
bench first_sync --runs 2 --prepare "sh -c 'rm -rf $W/state; sync'" "env NONO_UNDO_SYNC=1 $NONO run --snapshot --allow tree -- /bin/true"
# The store now holds one snapshot of the tree; each second run sees 10
# files changed since the previous one.
$NONO run --snapshot --allow tree -- /bin/true 2>/dev/null
sleep 3
bench second --runs 10 --prepare "python3 change10.py" "$NONO run --snapshot --allow tree -- /bin/true"
bench second_unchanged --warmup 1 --runs 10 "$NONO run --snapshot --allow tree -- /bin/true"
bench restore10 --runs 5 --prepare "python3 delete10.py" "sh -c 'cd tree && $NONO undo restore >/dev/null'"
bench diff --runs 5 "sh -c 'cd tree && $NONO undo diff >/dev/null; true'"
bench prune --runs 3 "$NONO undo prune"
du -sh "$W/state" | sed 's/^/store:   /'

# The load of a shared machine drifts between hyperfine blocks: the
# second-run target is also measured interleaved, walk and snapshot one
# after the other, 10 times, as the median of the per-pair ratios.
python3 - "$NONO" <<'PY' | tee "$R/interleaved.txt"
import statistics, subprocess, sys, time
nono = sys.argv[1]
ratios, walks, snaps = [], [], []
for i in range(10):
    subprocess.run(["python3", "change10.py"], check=True)
    t = time.perf_counter()
    subprocess.run(["find", "tree", "-printf", "%p %s %T@ %C@ %i %m\n"], stdout=subprocess.DEVNULL, check=True)
    w = time.perf_counter() - t
    t = time.perf_counter()
    subprocess.run([nono, "run", "--snapshot", "--allow", "tree", "--", "/bin/true"], stderr=subprocess.DEVNULL, check=True)
    s = time.perf_counter() - t
    walks.append(w); snaps.append(s); ratios.append(s / w)
print(f"interleaved, 10 pairs: walk median {statistics.median(walks)*1000:.0f} ms, "
      f"second snapshot (10 changed) median {statistics.median(snaps)*1000:.0f} ms, "
      f"ratio median {statistics.median(ratios):.2f}x (min {min(ratios):.2f}x, max {max(ratios):.2f}x)")
PY

python3 - "$R" <<'PY'
import json, os, sys
r = sys.argv[1]
def m(n):
    p = os.path.join(r, n + ".json")
    if not os.path.exists(p):
        return None
    return json.load(open(p))["results"][0]["mean"]
walk, cp, cps = m("walk"), m("cp"), m("cp_sync")
rows = [
    ("metadata walk (find -printf)", "walk"),
    ("cp -a of the tree", "cp"),
    ("cp -a + sync", "cp_sync"),
    ("nono run, no snapshot", "nono_plain"),
    ("first snapshot (empty store)", "first"),
    ("first snapshot, NONO_UNDO_SYNC=1", "first_sync"),
    ("second snapshot, 10 files changed", "second"),
    ("second snapshot, nothing changed", "second_unchanged"),
    ("restore of 10 deleted files", "restore10"),
    ("undo diff (10 files changed)", "diff"),
    ("undo prune (nothing to remove)", "prune"),
]
print(f"  {'':<38} {'mean':>10} {'/ walk':>8} {'/ cp -a':>8}")
for label, n in rows:
    v = m(n)
    if v is None:
        print(f"  {label:<38} {'failed':>10}")
        continue
    print(f"  {label:<38} {v*1000:8.1f}ms {v/walk:7.2f}x {v/cp:7.2f}x")
PY
