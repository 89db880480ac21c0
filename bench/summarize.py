#!/usr/bin/env python3
"""Turns bench/run's results.csv into the Markdown tables of BENCHMARKS.md (medians)."""
import csv
import statistics
import sys
from collections import defaultdict

rows = list(csv.reader(open(sys.argv[1])))
machine = open(sys.argv[2]).read().strip() if len(sys.argv) > 2 else ""
med = statistics.median


def groups(scen):
    g = defaultdict(list)
    for r in rows:
        if r[0] == scen:
            g[r[1]].append(r)
    return g


def rate(r):
    cpu = float(r[4])
    return int(r[3]) / cpu if cpu > 0 else 0.0


print("```")
print(machine)
print("```")
print()
a, peers = groups("a"), groups("peer")
per_cpu = {}
if a or peers:
    print("| job | records | runs | records/CPU-s | CPU-s per M records | of which sys | wall records/s | peak RSS MB | state MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, g in [("o365fwd ", a), ("", peers)]:
        for name, rs in g.items():
            n = int(rs[0][3])
            per_cpu[label + name] = med(rate(r) for r in rs)
            cpu = med(float(r[4]) for r in rs)
            sys_ = med(float(r[5]) for r in rs)
            wall = med(float(r[6]) for r in rs)
            rss = med(int(r[7]) for r in rs) / 1024
            st = med(int(r[8]) for r in rs) / 1e6
            print(f"| {label}{name} | {n} | {len(rs)} | {per_cpu[label + name]:,.0f} | "
                  f"{cpu / n * 1e6:.2f} | {sys_ / n * 1e6:.2f} | {n / wall if wall else 0:,.0f} | "
                  f"{rss:.1f} | {st:.1f} |")
    print()
    lim = per_cpu.get("json_limit")
    best = max((per_cpu[p] for p in ("rsyslog", "syslog-ng") if p in per_cpu), default=None)
    best_name = max((p for p in ("rsyslog", "syslog-ng") if p in per_cpu), key=lambda p: per_cpu[p], default=None)
    print("| ratio (records per CPU-second) | value |")
    print("|---|---:|")
    for fmt in ("raw", "ecs", "cef"):
        ours = per_cpu.get("o365fwd " + fmt)
        if ours is None:
            continue
        if lim:
            print(f"| o365fwd {fmt} / serde_json limit | {ours / lim:.2f} |")
        for p in ("rsyslog", "syslog-ng"):
            if p in per_cpu:
                print(f"| o365fwd {fmt} / {p} (CEF) | {ours / per_cpu[p]:.2f} |")
    print()
    print("| target | measured | met |")
    print("|---|---|---|")
    ecs = per_cpu.get("o365fwd ecs")
    cef = per_cpu.get("o365fwd cef")
    if ecs is not None:
        print(f"| ≥ 200,000 records/CPU-s end to end, ECS | {ecs:,.0f} | {'yes' if ecs >= 200000 else 'no'} |")
    if cef is not None and best:
        print(f"| ≥ 3× the best peer on CEF ({best_name}) | {cef / best:.2f}× | {'yes' if cef >= 3 * best else 'no'} |")
    if lim:
        worst = min(v for k, v in per_cpu.items() if k.startswith("o365fwd "))
        print(f"| within 2× of the serde_json limit (slowest format) | limit/ours = {lim / worst:.2f} | {'yes' if lim / worst <= 2 else 'no'} |")
    if a:
        peak = max(med(int(r[7]) for r in rs) for rs in a.values()) / 1024
        print(f"| (a) peak RSS < 150 MB | {peak:.1f} MB | {'yes' if peak < 150 else 'no'} |")
    print()

b = groups("b").get("ecs")
if b:
    rss = med(int(r[7]) for r in b) / 1024
    now = med(int(r[9]) for r in b if len(r) > 9) / 1024
    cpu = med(float(r[4]) for r in b)
    st = med(int(r[8]) for r in b) / 1e6
    print(f"(b) 250 feeds idle, {b[0][6]} s of 1-second polls, {len(b)} runs: peak RSS {rss:.1f} MB, "
          f"RSS at the end {now:.1f} MB, CPU {cpu:.2f} s, state {st:.1f} MB. "
          f"Target < 30 MB: {'met' if rss < 30 else 'NOT met'}.")
    print()

c = [r for r in rows if r[0] == "c"]
if c:
    print("(c) state size on disk at the end of each simulated day:")
    print()
    print("| day | records so far | state MB |")
    print("|---:|---:|---:|")
    for r in c:
        print(f"| {r[2]} | {r[3]} | {int(r[8]) / 1e6:.1f} |")
    sizes = [int(r[8]) for r in c]
    if len(sizes) >= 14:
        wk2 = max(sizes[7:14])
        last = max(sizes[-7:])
        flat = last <= 1.25 * wk2
        print()
        print(f"Flat after the first week (max of the last 7 days ≤ 1.25 × max of days 8–14): "
              f"{'yes' if flat else 'NO'} ({last / 1e6:.1f} MB vs {wk2 / 1e6:.1f} MB).")
