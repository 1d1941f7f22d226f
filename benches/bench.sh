#!/usr/bin/env bash
# nono benchmarks: start-up and run-time cost, side by side with the bare
# command and with other sandboxes, as ratios against a baseline measured in
# the same run. Usage: benches/bench.sh [--quick]
#
# Every timed row runs in interleaved rounds (benches/pairs.py): each
# command of a group once per round, in turn, so load from other jobs lands
# on every row of a round alike. The report quotes medians, and ratios as
# the median of the per-round ratios against the group's first row.
#
# Needs: gcc, git, python3 (installed from Debian's packages when missing
# and run as root); bwrap and firejail are compared when installable,
# valgrind gives instruction counts.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=200 SERIES_ROUNDS=100 LONG_ROUNDS=10 WARM=10
if [ "${1:-}" = "--quick" ]; then ROUNDS=30 SERIES_ROUNDS=20 LONG_ROUNDS=3 WARM=2; fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for t in gcc:gcc git:git bwrap:bubblewrap firejail:firejail /usr/bin/time:time valgrind:valgrind; do
    command -v "${t%%:*}" >/dev/null || missing+=("${t##*:}")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 ||
      echo "note: could not install ${missing[*]}; those comparisons are skipped"
  fi
fi

# One build for every row: release, with the test-only switch that forces
# the mount-namespace layer off (NONO_TEST_NO_MOUNT_NS=1) for the rows
# without it. The switch is one environment lookup.
cargo build --release --locked --quiet --features test-abi-cap --target-dir "$ROOT/target/bench-test-abi-cap"
NONO=$ROOT/target/bench-test-abi-cap/release/nono
W=$(mktemp -d /tmp/nono-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
RESULTS=$W/results
mkdir -p "$RESULTS"
cd "$W"

echo "machine: $(nproc) cores, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "nono:    $($NONO --version)"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

pairs() { # GROUP ROUNDS NAME CMD [NAME CMD ...]
  local group=$1 rounds=$2; shift 2
  python3 "$ROOT/benches/pairs.py" run "$RESULTS/$group.json" "$rounds" "$WARM" "$@"
  python3 "$ROOT/benches/pairs.py" show "$RESULTS/$group.json"
}

mkdir -p proj && cd proj
for i in $(seq 20); do echo "file $i" > "f$i.txt"; done
# The default blocklist lifted: --allow-command for every blocked name.
lift=$($NONO run --dry-run --json -- /bin/true |
  python3 -c 'import json,sys; print(" ".join("--allow-command "+n["name"] for n in json.load(sys.stdin)["blocklist"]["names"]))')
echo "rules with the blocklist: $($NONO run --dry-run --json --allow . -- /bin/true | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rules"]))')," \
  "lifted: $($NONO run --dry-run --json --allow . $lift -- /bin/true | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rules"]))')"
OFF="NONO_TEST_NO_MOUNT_NS=1"
others=()
if command -v bwrap >/dev/null && bwrap --ro-bind / / /bin/true 2>/dev/null; then
  others+=("bwrap (issue 17's line)" "bwrap --ro-bind / / --dev /dev --proc /proc --bind $PWD $PWD --unshare-all /bin/true"
    "bwrap (comparable policy)" "bwrap --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin --ro-bind /etc /etc --dev /dev --proc /proc --tmpfs /tmp --bind $PWD $PWD --unshare-all --die-with-parent /bin/true")
else
  echo "bwrap: not available (skipped)"
fi
if command -v firejail >/dev/null && firejail --quiet --noprofile /bin/true 2>/dev/null; then
  others+=("firejail (comparable policy)" "firejail --quiet --noprofile --whitelist=$PWD --private-tmp --net=none /bin/true")
else
  echo "firejail: not available (skipped)"
fi

echo "== start-up, layer by layer (baseline: bare /bin/true)"
# Each L row adds one layer to the row above it; L2 is the default run.
pairs startup "$ROUNDS" \
  "bare /bin/true" "/bin/true" \
  "nono --version" "$NONO --version" \
  "minimal (lifted, no namespaces)" "$OFF $NONO run --allow . $lift -- /bin/true" \
  "minimal + mount layer" "$NONO run --allow . $lift -- /bin/true" \
  "L1 Landlock+seccomp+blocklist" "$OFF $NONO run --allow . -- /bin/true" \
  "L2 + mount layer (default)" "$NONO run --allow . -- /bin/true" \
  "L2, scan cache off" "XDG_STATE_HOME=/dev/null $NONO run --allow . -- /bin/true" \
  "L3 + host allowlist" "$NONO run --allow . --allow-host example.com -- /bin/true" \
  "L4 + undo snapshot" "$NONO run --allow . --allow-host example.com --snapshot -- /bin/true" \
  "${others[@]}"

echo "== policy building alone (--dry-run; baseline: nono --version)"
pairs dryrun "$ROUNDS" \
  "nono --version" "$NONO --version" \
  "--dry-run --allow ." "$NONO run --dry-run --allow . -- /bin/true" \
  "--dry-run --allow . (lifted)" "$NONO run --dry-run --allow . $lift -- /bin/true"

# PATH-size scaling: a granted program directory on PATH holding N
# executables and one blocked program (distinct files, so identity checks
# do not lump them together), with the mount layer and without it.
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
done
# The scan cache keeps a directory's listing only once it has been
# unchanged for 2 s: wait, so that the warm rows measure what every run
# after the first sees. The cold rows turn the cache off (its directory
# cannot be created under /dev/null): every run lists every directory.
sleep 3
for mode in on off cold; do
  prefix=""
  [ $mode = off ] && prefix=$OFF
  [ $mode = cold ] && prefix="XDG_STATE_HOME=/dev/null"
  series=()
  for n in 0 1000 4000 10000; do
    series+=("$n files, layer $mode" "PATH=$W/pathdir$n:/usr/bin:/bin $prefix $NONO run --allow . --read $W/pathdir$n -- /bin/true")
  done
  case $mode in
    on) echo "== PATH-size series, mount layer on, scan cache warm (baseline: 0 files)" ;;
    off) echo "== PATH-size series, mount layer off, scan cache warm (baseline: 0 files)" ;;
    cold) echo "== PATH-size series, mount layer on, scan cache off (baseline: 0 files)" ;;
  esac
  pairs "path-$mode" "$SERIES_ROUNDS" "${series[@]}"
done

# N grants, given in a profile (10,000 options would exceed one argument's
# size limit).
grants=("nono run --allow ." "$NONO run --allow . -- /bin/true")
for n in 100 1000 10000; do
  mkdir -p "$W/grants$n"
  {
    echo 'name = "grants'$n'"'
    echo '[filesystem]'
    echo 'read = ['
    for i in $(seq 1 $n); do mkdir -p "$W/grants$n/d$i"; echo "  \"$W/grants$n/d$i\","; done
    echo ']'
  } > "$W/grants$n.toml"
  grants+=("$n grants (profile)" "$NONO run --allow . -p $W/grants$n.toml -- /bin/true")
done
echo "== many grants (baseline: --allow . alone)"
pairs grants "$LONG_ROUNDS" "${grants[@]}"
cd "$W"

echo "== run time (baseline: the same command without nono)"
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
pairs open "$LONG_ROUNDS" \
  "200,000 open/read/close, bare" "./openbench list 100" \
  "  under nono (--read)" "$NONO run --read $W -- ./openbench list 100"

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
GITCFG=""
[ -f "$HOME/.gitconfig" ] && GITCFG="--read $HOME/.gitconfig"
pairs git "$LONG_ROUNDS" \
  "git status, 50,000 files, bare" "git status --porcelain" \
  "  under nono" "$NONO run --allow . --allow-delete . $GITCFG -- git status --porcelain"
pairs find "$LONG_ROUNDS" \
  "find, 50,000 files, bare" "find . -name f7.txt" \
  "  under nono (--read .)" "$NONO run --read . -- find . -name f7.txt"
cd "$W"

if command -v cargo >/dev/null; then
  cargo new -q --vcs none benchcrate && cd benchcrate
  CARGO_HOME_REAL=${CARGO_HOME:-$HOME/.cargo}
  RUSTUP_HOME_REAL=${RUSTUP_HOME:-$HOME/.rustup}
  CARGO=$(command -v cargo)
  # Both rows remove target/ first, inside the timed command.
  pairs cargo "$LONG_ROUNDS" \
    "cargo build (new crate), bare" "/bin/sh -c 'rm -rf target; exec $CARGO build -q --offline'" \
    "  under nono" "$NONO run --allow . --allow-delete . --read $CARGO_HOME_REAL --read $RUSTUP_HOME_REAL --allow-command rm -- /bin/sh -c 'rm -rf target; exec $CARGO build -q --offline'"
  cd "$W"
fi

echo "== peak memory (max RSS of the process, which spans nono and the exec'd /bin/true)"
if [ -x /usr/bin/time ]; then
  for c in "/bin/true" "$NONO run -- /bin/true" "$NONO run -p $W/grants10000.toml -- /bin/true"; do
    kb=$(/usr/bin/time -f %M $c 2>&1 >/dev/null | tail -1)
    echo "  $(echo "$c" | cut -c1-60 | sed "s|$NONO|nono|"): ${kb} KiB"
  done
fi

echo "== instruction counts (callgrind, user space; deterministic, unlike time)"
# NONO_BEFORE=/path/to/an/older/nono adds its counts for a before/after.
if command -v valgrind >/dev/null; then
  cd "$W/proj"
  for bin in "$NONO" ${NONO_BEFORE:+"$NONO_BEFORE"}; do
    for c in "--version" "run --dry-run -- /bin/true" "run --dry-run --allow . -- /bin/true" "run --dry-run --allow . $lift -- /bin/true"; do
      # nono's own count: the first process valgrind names (a probe child
      # forked by --dry-run reports too, its count including the parent's).
      ir=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null $bin $c 2>&1 >/dev/null |
        awk '/^==[0-9]+==/ && !pid { pid = $1 } $1 == pid && /refs:/ { gsub(",", "", $NF); print $NF }')
      label=$(echo "$c" | sed "s|$lift|(blocklist lifted)|")
      echo "  $([ "$bin" = "$NONO" ] && echo this || echo before): nono $label: ${ir:-?} instructions"
    done
  done
  cd "$W"
else
  echo "  skipped (valgrind is not installed)"
fi

echo
python3 "$ROOT/benches/report.py" "$RESULTS"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
