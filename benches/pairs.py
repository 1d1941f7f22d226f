"""Interleaved timings: every command of a group runs once per round, in
turn, for many rounds, so that a machine whose speed drifts (other jobs,
frequency changes) slows every command of a round alike. The report quotes
medians, and each ratio as the median of the per-round ratios against the
group's baseline (its first command), which is what stays put on a loaded
machine.

Usage:
  pairs.py run OUT.json ROUNDS WARMUP NAME CMD [NAME CMD ...]
  pairs.py show OUT.json [BASELINE]

CMD is split like a shell splits words (no shell runs it); leading
NAME=VALUE words set environment variables for that command alone. The
command's output goes to /dev/null; its wall time is measured from spawn to
exit (posix_spawn, wait4), and its CPU time (user + system, its own and its
waited-for children's) from wait4.
"""
import json
import os
import shlex
import statistics
import sys
import time


def parse(cmd):
    words = shlex.split(cmd)
    env = dict(os.environ)
    while words and "=" in words[0] and not words[0].startswith("/"):
        k, v = words.pop(0).split("=", 1)
        env[k] = v
    return words, env


def once(argv, env, devnull):
    t0 = time.perf_counter_ns()
    pid = os.posix_spawnp(
        argv[0],
        argv,
        env,
        file_actions=[
            (os.POSIX_SPAWN_DUP2, devnull, 0),
            (os.POSIX_SPAWN_DUP2, devnull, 1),
            (os.POSIX_SPAWN_DUP2, devnull, 2),
        ],
    )
    _, status, ru = os.wait4(pid, 0)
    wall = (time.perf_counter_ns() - t0) / 1e6
    code = os.waitstatus_to_exitcode(status)
    return wall, (ru.ru_utime + ru.ru_stime) * 1e3, code


def run(out, rounds, warmup, pairs):
    names = pairs[0::2]
    cmds = [parse(c) for c in pairs[1::2]]
    devnull = os.open(os.devnull, os.O_RDWR)
    res = {n: {"cmd": c, "wall": [], "cpu": [], "codes": set()} for n, c in zip(names, pairs[1::2])}
    for r in range(warmup + rounds):
        for n, (argv, env) in zip(names, cmds):
            wall, cpu, code = once(argv, env, devnull)
            if r >= warmup:
                res[n]["wall"].append(wall)
                res[n]["cpu"].append(cpu)
                res[n]["codes"].add(code)
    for v in res.values():
        v["codes"] = sorted(v["codes"])
    doc = {"names": names, "rounds": rounds, "results": res, "load": os.getloadavg()}
    with open(out, "w") as f:
        json.dump(doc, f)


def stats(doc, name, base):
    r = doc["results"][name]
    med = statistics.median(r["wall"])
    q = statistics.quantiles(r["wall"], n=4)
    out = {"median": med, "q1": q[0], "q3": q[2], "cpu": statistics.median(r["cpu"]), "codes": r["codes"]}
    if base and base != name:
        b = doc["results"][base]
        ratios = [a / c for a, c in zip(r["wall"], b["wall"])]
        out["ratio"] = statistics.median(ratios)
        out["added"] = statistics.median([a - c for a, c in zip(r["wall"], b["wall"])])
    return out


def show(path, base=None):
    doc = json.load(open(path))
    base = base or doc["names"][0]
    print(f"  ({doc['rounds']} interleaved rounds, load average at the end {doc['load'][0]:.1f}; "
          f"ratio and added time: medians of the per-round values against {base})")
    for n in doc["names"]:
        s = stats(doc, n, base)
        bad = "" if s["codes"] == [0] else f"   exit codes {s['codes']}"
        tail = ""
        if "ratio" in s:
            tail = f"   {s['ratio']:6.2f}x   {s['added']:+8.2f} ms"
        print(f"  {n:<34} {s['median']:8.2f} ms (IQR {s['q1']:.2f}-{s['q3']:.2f})  cpu {s['cpu']:6.2f} ms{tail}{bad}")


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
    elif sys.argv[1] == "show":
        show(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    else:
        sys.exit(__doc__)
