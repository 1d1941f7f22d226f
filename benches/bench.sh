#!/usr/bin/env bash
# nono benchmarks: start-up and run-time cost, side by side with the bare
# command and with other sandboxes, as ratios against a baseline measured in
# the same run. Usage: benches/bench.sh [--quick]
#
# Needs: hyperfine, gcc, git, python3 (installed from Debian's packages when
# missing and run as root); bwrap and firejail are compared when installable.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=${1:-}
RUNS=(--warmup 20 --min-runs 200)
LONG_RUNS=(--warmup 2 --min-runs 10)
if [ "$QUICK" = "--quick" ]; then RUNS=(--warmup 5 --min-runs 30); LONG_RUNS=(--warmup 1 --min-runs 3); fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for t in hyperfine:hyperfine gcc:gcc git:git bwrap:bubblewrap firejail:firejail /usr/bin/time:time valgrind:valgrind; do
    command -v "${t%%:*}" >/dev/null || missing+=("${t##*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 ||
      echo "note: could not install ${missing[*]}; those comparisons are skipped"
  fi
fi
command -v hyperfine >/dev/null || { echo "hyperfine is required"; exit 1; }

cargo build --release --locked --quiet
NONO=$ROOT/target/release/nono
W=$(mktemp -d /tmp/nono-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
RESULTS=$W/results
mkdir -p "$RESULTS"
cd "$W"

echo "machine: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "nono:    $($NONO --version)"

# hyperfine NAME CMD... : one hyperfine run; the report uses the median.
bench() {
  local name=$1; shift
  hyperfine -N "${RUNS[@]}" --export-json "$RESULTS/$name.json" --style none "$@" >"$RESULTS/$name.log" 2>&1 ||
    { echo "  $name: FAILED (command: $(echo "$*" | cut -c1-200); log: $(tail -3 "$RESULTS/$name.log"))"; return 0; }
}
bench_long() {
  local name=$1; shift
  hyperfine -N "${LONG_RUNS[@]}" --export-json "$RESULTS/$name.json" --style none "$@" >"$RESULTS/$name.log" 2>&1 ||
    { echo "  $name: FAILED (command: $(echo "$*" | cut -c1-200); log: $(tail -3 "$RESULTS/$name.log"))"; return 0; }
}

echo "== start-up"
mkdir -p proj && cd proj
bench true-bare /bin/true
bench nono-version "$NONO --version"
bench nono-minimal "$NONO run -- /bin/true"
bench nono-allow-cwd "$NONO run --allow . -- /bin/true"
# The default blocklist against the same policy with every blocked name
# lifted (no per-file execute rules at all).
lift=$($NONO run --dry-run --json -- /bin/true |
  python3 -c 'import json,sys; print(" ".join("--allow-command "+n["name"] for n in json.load(sys.stdin)["blocklist"]["names"]))')
echo "  rules with the blocklist: $($NONO run --dry-run --json --allow . -- /bin/true | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rules"]))')," \
  "lifted: $($NONO run --dry-run --json --allow . $lift -- /bin/true | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rules"]))')"
# The minimal policy: blocklist lifted, no namespace layer.
bench nono-blocklist-lifted "$NONO run --allow . $lift -- /bin/true"
# Policy building alone (nothing applied, nothing run): the default policy
# and the minimal one, each to be read against `nono --version`.
bench nono-dry-run "$NONO run --dry-run --allow . -- /bin/true"
bench nono-dry-run-lifted "$NONO run --dry-run --allow . $lift -- /bin/true"

# One row per optional layer, on top of `--allow .`. A layer this binary
# does not have is skipped with the reason: rows never stand in for a
# feature with a placeholder.
run_help=$($NONO run --help 2>&1 || true)
layer() {
  local name=$1 flag=$2; shift 2
  if grep -q -- "$flag" <<<"$run_help"; then
    bench "layer-$name" "$NONO run --allow . $* -- /bin/true"
  else
    echo "  layer $name: skipped ($flag is not an option of this nono)"
  fi
}
layer net-block --net-block --net-block
layer allow-host --allow-host --allow-host example.com
layer snapshot --snapshot --snapshot
# The mount-namespace layer has no option of its own; it shows in --dry-run.
if $NONO run --dry-run --allow . -- /bin/true 2>/dev/null | grep -qi "mount namespace"; then
  echo "  layer mount-namespace: part of every row above"
else
  echo "  layer mount-namespace: skipped (not in this nono's --dry-run)"
fi

# PATH-size scaling: a granted program directory on PATH holding N
# executables and one blocked program (distinct files, so identity checks
# do not lump them together). Reported as ms per 1,000 files. Under the
# mount layer (these rows) the blocked program is masked and the directory
# is one rule; the fallback series below splits it per file.
for n in 0 1000 4000 10000; do
  d=$W/pathdir$n
  mkdir -p "$d"
  python3 - "$d" "$n" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    p = os.path.join(d, f"tool{i}")
    with open(p, "w") as f:
        f.write(f"#!/bin/sh\n# {i}\n")
    os.chmod(p, 0o755)
with open(os.path.join(d, "rm"), "w") as f:
    f.write("#!/bin/sh\n# a blocked name\n")
os.chmod(os.path.join(d, "rm"), 0o755)
PY
  # `env` sets PATH for nono alone; every point of the series pays it.
  bench "path-$n" "env PATH=$d:/usr/bin:/bin $NONO run --allow . --read $d -- /bin/true"
done
# N grants, given in a profile (10,000 options would exceed one argument's
# size limit in hyperfine's command line).
for n in 100 1000 10000; do
  mkdir -p "$W/grants$n"
  {
    echo 'name = "grants'$n'"'
    echo '[filesystem]'
    echo 'read = ['
    for i in $(seq 1 $n); do mkdir -p "$W/grants$n/d$i"; echo "  \"$W/grants$n/d$i\","; done
    echo ']'
  } > "$W/grants$n.toml"
  bench "nono-grants-$n" "$NONO run -p $W/grants$n.toml -- /bin/true"
done
# The mount-namespace layer: the same policy with the layer forced off (a
# test-only switch, so in a second build with the test-abi-cap feature; both
# rows use that build and the same env prefix).
cargo build --release --locked --quiet --features test-abi-cap --target-dir "$ROOT/target/bench-test-abi-cap"
NONO_T=$ROOT/target/bench-test-abi-cap/release/nono
bench nono-layer-on "env NONO_TEST_NO_MOUNT_NS=0 $NONO_T run --allow . -- /bin/true"
bench nono-layer-off "env NONO_TEST_NO_MOUNT_NS=1 $NONO_T run --allow . -- /bin/true"
# The PATH-size series again in the Landlock-only fallback (one execute rule
# per file), against the mount layer's masks above.
for n in 0 1000 4000 10000; do
  d=$W/pathdir$n
  bench "path-fallback-$n" "env NONO_TEST_NO_MOUNT_NS=1 PATH=$d:/usr/bin:/bin $NONO_T run --allow . --read $d -- /bin/true"
done
if command -v bwrap >/dev/null && bwrap --ro-bind / / /bin/true 2>/dev/null; then
  # Comparable: system read-only, the project writable, fresh /dev and /proc,
  # no network, a private /tmp.
  bench bwrap "bwrap --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin --ro-bind /etc /etc --dev /dev --proc /proc --tmpfs /tmp --bind $PWD $PWD --unshare-all --die-with-parent /bin/true"
else
  echo "  bwrap: not available (skipped)"
fi
if command -v firejail >/dev/null && firejail --quiet --noprofile /bin/true 2>/dev/null; then
  bench firejail "firejail --quiet --noprofile --whitelist=$PWD --private-tmp --net=none /bin/true"
else
  echo "  firejail: not available (skipped)"
fi
cd "$W"

echo "== run time"
gcc -O2 -o openbench "$ROOT/benches/openbench.c"
# A tree of 2,000 small files, opened 100 times each: 200,000 opens.
python3 - <<'PY'
import os
for d in range(40):
    os.makedirs(f"tree/a{d}/b/c", exist_ok=True)
    for f in range(50):
        with open(f"tree/a{d}/b/c/f{f}.txt", "w") as fh:
            fh.write("x" * 100)
with open("list", "w") as fh:
    for d in range(40):
        for f in range(50):
            fh.write(f"{os.getcwd()}/tree/a{d}/b/c/f{f}.txt\n")
PY
bench_long open-bare "./openbench list 100"
bench_long open-nono "$NONO run --read $W -- ./openbench list 100"

# A 50,000-file git repository.
python3 - <<'PY'
import os
for d in range(500):
    os.makedirs(f"repo/d{d}", exist_ok=True)
    for f in range(100):
        with open(f"repo/d{d}/f{f}.txt", "w") as fh:
            fh.write(f"{d} {f}\n")
PY
(cd repo && git init -q && git add -A && git -c user.name=b -c user.email=b@b commit -qm init)
cd repo
bench_long git-status-bare "git status --porcelain"
GITCFG=""
[ -f "$HOME/.gitconfig" ] && GITCFG="--read $HOME/.gitconfig"
bench_long git-status-nono "$NONO run --allow . --allow-delete . $GITCFG -- git status --porcelain"
bench_long find-bare "find . -name f7.txt"
bench_long find-nono "$NONO run --read . -- find . -name f7.txt"
cd "$W"

if command -v cargo >/dev/null; then
  cargo new -q --vcs none benchcrate && cd benchcrate
  CARGO_HOME_REAL=${CARGO_HOME:-$HOME/.cargo}
  RUSTUP_HOME_REAL=${RUSTUP_HOME:-$HOME/.rustup}
  CARGO=$(command -v cargo)
  bench_long cargo-build-bare --prepare "rm -rf target" "$CARGO build -q --offline"
  bench_long cargo-build-nono --prepare "rm -rf target" "$NONO run --allow . --allow-delete . --read $CARGO_HOME_REAL --read $RUSTUP_HOME_REAL --allow-command rm -- $CARGO build -q --offline"
  cd "$W"
fi

echo "== peak memory (max RSS of the process, which spans nono and the exec'd /bin/true)"
if [ -x /usr/bin/time ]; then
  for c in "/bin/true" "$NONO run -- /bin/true" "$NONO run -p $W/grants10000.toml -- /bin/true"; do
    kb=$(/usr/bin/time -f %M $c 2>&1 >/dev/null | tail -1)
    echo "  $(echo "$c" | cut -c1-60 | sed "s|$NONO|nono|"): ${kb} KiB"
  done > "$RESULTS/memory.txt"
  cat "$RESULTS/memory.txt"
fi

echo "== instruction counts (callgrind; deterministic, unlike time)"
# NONO_BEFORE=/path/to/an/older/nono adds its counts for a before/after.
if command -v valgrind >/dev/null; then
  cd "$W/proj"
  for bin in "$NONO" ${NONO_BEFORE:+"$NONO_BEFORE"}; do
    for c in "--version" "run --dry-run -- /bin/true" "run --dry-run --allow . -- /bin/true" "run --dry-run --allow . $lift -- /bin/true"; do
      ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null $bin $c 2>&1 >/dev/null |
        sed -n 's/.*refs: *//p' | tr -d ,)
      label=$(echo "$c" | sed "s|$lift|(blocklist lifted)|")
      echo "  $([ "$bin" = "$NONO" ] && echo this || echo before): nono $label: ${ir:-?} instructions"
    done
  done | tee "$RESULTS/callgrind.txt"
  cd "$W"
else
  echo "  skipped (valgrind is not installed)"
fi

echo
python3 "$ROOT/benches/report.py" "$RESULTS"
