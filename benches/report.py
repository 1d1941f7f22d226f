"""Print benchmark results as a table with ratios against the baselines
measured in the same run."""
import json
import os
import sys

results = sys.argv[1]


def mean(name):
    """The median and standard deviation (medians resist the outliers of
    a loaded machine better than means)."""
    p = os.path.join(results, name + ".json")
    if not os.path.exists(p):
        return None
    r = json.load(open(p))["results"][0]
    return r["median"], r["stddev"]


def diff(a, b, label):
    """A row for the difference of two medians."""
    ma, mb = mean(a), mean(b)
    if ma and mb:
        print(f"  {label:<44} {(ma[0] - mb[0]) * 1000:+9.3f} ms   {ma[0] / mb[0]:6.2f}x")


def row(name, base, label):
    m = mean(name)
    b = mean(base)
    if m is None:
        print(f"  {label:<44} skipped")
        return
    ms, sd = m[0] * 1000, (m[1] or 0) * 1000
    if b is None or name == base:
        print(f"  {label:<44} {ms:9.3f} ms ± {sd:6.3f}")
        return
    bms = b[0] * 1000
    print(f"  {label:<44} {ms:9.3f} ms ± {sd:6.3f}   {ms / bms:6.2f}x   +{ms - bms:8.3f} ms vs {base}")


print("start-up (baseline: bare /bin/true)")
row("true-bare", "true-bare", "bare /bin/true")
row("nono-version", "true-bare", "nono --version")
row("nono-minimal", "true-bare", "nono run (default policy)")
row("nono-allow-cwd", "true-bare", "nono run --allow .")
row("nono-blocklist-lifted", "true-bare", "nono run --allow . (blocklist lifted)")
if mean("nono-blocklist-lifted") and mean("nono-allow-cwd"):
    r = mean("nono-allow-cwd")[0] / mean("nono-blocklist-lifted")[0]
    print(f"  {'blocklist enforced / lifted':<44} {r:9.3f}x")
row("nono-layer-off", "true-bare", "nono run --allow . (mount layer forced off)")
row("nono-layer-on", "true-bare", "nono run --allow . (mount layer on)")
if mean("nono-layer-on") and mean("nono-layer-off"):
    on, off = mean("nono-layer-on")[0], mean("nono-layer-off")[0]
    print(f"  {'mount layer on / off':<44} {on / off:9.3f}x   +{(on - off) * 1000:8.3f} ms")
diff("nono-blocklist-lifted", "nono-version", "minimal policy - nono --version")
row("nono-dry-run", "true-bare", "nono run --dry-run --allow .")
diff("nono-dry-run", "nono-version", "dry-run (default) - nono --version")
row("nono-dry-run-lifted", "true-bare", "nono run --dry-run (blocklist lifted)")
diff("nono-dry-run-lifted", "nono-version", "dry-run (lifted) - nono --version")
for layer in ("net-block", "allow-host", "snapshot"):
    if mean(f"layer-{layer}"):
        row(f"layer-{layer}", "nono-allow-cwd", f"--allow . with {layer}")
print()
print("PATH-size scaling (a granted PATH directory, one blocked program)")
for n in (0, 1000, 4000, 10000):
    row(f"path-{n}", "path-0", f"{n} executables")
p0, p10 = mean("path-0"), mean("path-10000")
if p0 and p10:
    print(f"  {'ms per 1,000 files (0 -> 10,000)':<44} {(p10[0] - p0[0]) * 1000 / 10:9.3f} ms")
print("PATH-size scaling, Landlock-only fallback (one rule per file)")
for n in (0, 1000, 4000, 10000):
    row(f"path-fallback-{n}", "path-fallback-0", f"{n} executables")
p0, p10 = mean("path-fallback-0"), mean("path-fallback-10000")
if p0 and p10:
    print(f"  {'ms per 1,000 files (0 -> 10,000)':<44} {(p10[0] - p0[0]) * 1000 / 10:9.3f} ms")
print()
for n in (100, 1000, 10000):
    row(f"nono-grants-{n}", "true-bare", f"nono run with {n} grants")
row("bwrap", "true-bare", "bwrap (comparable policy)")
row("firejail", "true-bare", "firejail (comparable policy)")
if mean("bwrap") and mean("nono-allow-cwd"):
    r = mean("nono-allow-cwd")[0] / mean("bwrap")[0]
    print(f"  {'nono --allow . / bwrap':<44} {r:9.3f}x")
print()
print("run time (baseline: the same command without nono)")
row("open-bare", "open-bare", "200,000 open/read/close, bare")
row("open-nono", "open-bare", "200,000 open/read/close, nono")
row("git-status-bare", "git-status-bare", "git status, 50,000 files, bare")
row("git-status-nono", "git-status-bare", "git status, 50,000 files, nono")
row("find-bare", "find-bare", "find, 50,000 files, bare")
row("find-nono", "find-bare", "find, 50,000 files, nono")
row("cargo-build-bare", "cargo-build-bare", "cargo build (new crate), bare")
row("cargo-build-nono", "cargo-build-bare", "cargo build (new crate), nono")
