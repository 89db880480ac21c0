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
    by_day = defaultdict(list)
    for r in c:
        by_day[int(r[2])].append(r)
    runs = len({r[6] for r in c})
    print(f"(c) at the end of each simulated day (medians of {runs} runs; RSS of the whole process):")
    print()
    print("| day | records so far | state MB | RSS MB | peak RSS MB | ids in memory | disk lookups so far | repeats dropped so far |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    sizes, peaks = [], []
    for day in sorted(by_day):
        rs = by_day[day]
        size = med(int(r[8]) for r in rs)
        sizes.append(size)
        old = len(rs[0]) <= 9
        rss = 0 if old else med(int(r[7]) for r in rs) / 1024
        hwm = 0 if old else med(int(r[9]) for r in rs) / 1024
        peaks.append(hwm)
        extra = "| | | | |" if old else (f"| {rss:.1f} | {hwm:.1f} | {med(int(r[10]) for r in rs):,.0f} | "
                                       f"{med(int(r[11]) for r in rs):,.0f} | {med(int(r[12]) for r in rs):,.0f} |")
        print(f"| {day} | {int(rs[0][3]):,} | {size / 1e6:.1f} {extra}")
    cpu = med(float(r[4]) for r in c)
    print()
    if len(sizes) >= 3:
        day2 = sizes[1]
        later = max(sizes[1:])
        print(f"State from day 2 on: {day2 / 1e6:.1f} MB on day 2, at most {later / 1e6:.1f} MB after "
              f"({later / day2:.2f}×): {'flat' if later <= 1.25 * day2 else 'NOT flat'} (≤ 1.25×). "
              f"Peak RSS {max(peaks):.1f} MB. CPU {cpu:.0f} s per run.")
    print()

d = groups("d").get("ecs")
if d:
    f = lambda i: med(float(r[i]) for r in d)
    print(f"(d) 1,000 tenants × 5 content types (5,000 feeds), default 60 s polls, {len(d)} runs (medians): "
          f"all first deliveries after {f(6):.1f} s; idle CPU {f(10):.2f} % of one core; "
          f"RSS idle {f(9) / 1024:.1f} MB, peak {f(7) / 1024:.1f} MB; /metrics {f(11) * 1000:.0f} ms median, "
          f"{f(12) * 1000:.0f} ms at worst ({f(18):.0f} series); state {f(8) / 1e6:.1f} MB; the simulator saw "
          f"{f(13):.0f} requests ({f(14):.0f} for tokens), {f(15):.0f} throttled, {f(16):.0f} in the busiest second, "
          f"{f(17):.0f} from one tenant in its busiest minute.")
    print()
    print("| target | measured (median) | met |")
    print("|---|---|---|")
    print(f"| idle RSS ≤ 100 MB | {f(9) / 1024:.1f} MB (peak {f(7) / 1024:.1f}) | {'yes' if f(9) / 1024 <= 100 else 'no'} |")
    print(f"| idle CPU ≤ 2 % of one core | {f(10):.2f} % | {'yes' if f(10) <= 2 else 'no'} |")
    print(f"| no start-up burst of 5,000 requests | busiest second {f(16):.0f} requests | {'yes' if f(16) < 1000 else 'no'} |")
    print(f"| each tenant ≤ 2,000 requests a minute | busiest tenant minute {f(17):.0f}, {f(15):.0f} throttled | {'yes' if f(17) <= 2000 and f(15) == 0 else 'no'} |")
    print(f"| /metrics within 100 ms | {max(float(r[12]) for r in d) * 1000:.0f} ms at worst | {'yes' if max(float(r[12]) for r in d) <= 0.1 else 'no'} |")
    print()

for r in rows:
    if r[0] == "s":
        print(f"(s) live, 20 M records a day, {r[6]} s end to end: {int(r[3]):,} records ({int(r[9]):,} distinct ids), "
              f"CPU {float(r[4]):.0f} s, peak RSS {int(r[7]) / 1024:.1f} MB, state at the end {int(r[8]) / 1e6:.1f} MB.")
        print()

k = [r for r in rows if r[0] == "k"]
if k:
    print("(k) kill -9 halfway through the catch-up, then restart:")
    print()
    print("| run | served | lines when killed | lines at the end | distinct ids | exactly once |")
    print("|---:|---:|---:|---:|---:|---|")
    for r in k:
        print(f"| {r[2]} | {int(r[3]):,} | {int(r[9]):,} | {int(r[10]):,} | {int(r[11]):,} | {r[12]} |")
    print()
