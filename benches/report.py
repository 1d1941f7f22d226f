"""The summary of a benches/bench.sh run: what each layer adds, nono
against bubblewrap, the minimal policy against `nono --version`, and the
PATH-size slope. Every figure compares rows of one interleaved group (see
benches/pairs.py): medians of the per-round differences and ratios."""
import json
import os
import statistics as st
import sys

results = sys.argv[1]


def group(name):
    p = os.path.join(results, name + ".json")
    return json.load(open(p))["results"] if os.path.exists(p) else None


def cmp(g, a, b, label):
    """A line for row a against row b of group g: added ms and ratio."""
    doc = group(g)
    if not doc or a not in doc or b not in doc:
        print(f"  {label:<52} skipped (a row is missing)")
        return
    wa, wb = doc[a]["wall"], doc[b]["wall"]
    added = st.median(x - y for x, y in zip(wa, wb))
    ratio = st.median(x / y for x, y in zip(wa, wb))
    print(f"  {label:<52} {added:+8.2f} ms   {ratio:6.2f}x")


print("summary (medians of per-round differences and ratios)")
print(" what each layer adds:")
cmp("startup", "nono --version", "bare /bin/true", "nono --version vs bare /bin/true")
cmp("startup", "minimal (lifted, no namespaces)", "nono --version", "minimal policy vs nono --version (target: 1.0 ms)")
cmp("startup", "L1 Landlock+seccomp+blocklist", "minimal (lifted, no namespaces)", "kernel blocklist (L1 vs minimal)")
cmp("startup", "minimal + mount layer", "minimal (lifted, no namespaces)", "mount layer alone (blocklist lifted; target: 1.5 ms)")
cmp("startup", "L2 + mount layer (default)", "L1 Landlock+seccomp+blocklist", "mount layer with the blocklist (L2 vs L1)")
cmp("startup", "L3 + host allowlist", "L2 + mount layer (default)", "host allowlist (L3 vs L2; target: 3 ms)")
cmp("startup", "L4 + undo snapshot", "L3 + host allowlist", "undo snapshot of a 20-file project (L4 vs L3)")
print(" against other sandboxes:")
cmp("startup", "L2 + mount layer (default)", "bwrap (issue 17's line)", "nono run --allow . (every default layer) vs bwrap")
cmp("startup", "L1 Landlock+seccomp+blocklist", "bwrap (issue 17's line)", "nono, mount layer off, vs bwrap")
cmp("startup", "L2 + mount layer (default)", "bwrap (comparable policy)", "nono run --allow . vs bwrap (comparable policy)")
cmp("startup", "firejail (comparable policy)", "L2 + mount layer (default)", "firejail vs nono run --allow .")
print(" policy building:")
cmp("dryrun", "--dry-run --allow .", "nono --version", "--dry-run (default policy) vs nono --version")
cmp("dryrun", "--dry-run --allow . (lifted)", "nono --version", "--dry-run (blocklist lifted) vs nono --version")
print(" PATH-size series (ms per 1,000 files, 0 -> 10,000; target: 0.2 ms):")
labels = {
    "on": "mount layer on, scan cache warm",
    "off": "mount layer off, scan cache warm",
    "cold": "mount layer on, scan cache off (first run)",
}
for mode, label in labels.items():
    doc = group(f"path-{mode}")
    if not doc:
        continue
    a, b = doc[f"10000 files, layer {mode}"]["wall"], doc[f"0 files, layer {mode}"]["wall"]
    slope = st.median(x - y for x, y in zip(a, b)) / 10
    print(f"  {label:<52} {slope:8.3f} ms per 1,000 files")
cmp("startup", "L2, scan cache off", "L2 + mount layer (default)", "default run, scan cache off vs warm")
