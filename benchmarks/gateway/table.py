#!/usr/bin/env python3
"""Turns run.sh's results.tsv into the Markdown table of docs/benchmarks.md.

Per scenario, concurrency and arm, the median over the rounds of: p50 and
p99 latency, and the same minus the direct arm's of the same round (the
added latency), requests per second, the gateway's CPU seconds per 1 000
requests, and the answers that were not 2xx. Peak RSS is per arm.
"""
import statistics
import sys
from collections import defaultdict

CLK_TCK = 100  # /proc/PID/stat ticks per second (getconf CLK_TCK)


def parse(path):
    rows, rss = [], {}
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] == "peak_rss_kb":
            rss[f[1]] = int(f[2])
            continue
        scenario, arm, c, rnd, stats, cpu = f
        r = dict(kv.split("=") for kv in stats.split() + [cpu])
        r.update(scenario=scenario, arm=arm, c=int(c), round=rnd)
        rows.append(r)
    return rows, rss


def ms(us):
    return f"{us / 1000:.3f}"


def main(path):
    rows, rss = parse(path)
    by = {(r["scenario"], r["c"], r["arm"], r["round"]): r for r in rows}
    cells = defaultdict(lambda: defaultdict(list))
    for (scenario, c, arm, rnd), r in by.items():
        base = by.get((scenario, c, "direct", rnd))
        cell = cells[(scenario, c, arm)]
        requests = int(r["requests"])
        seconds = int(r["duration_us"]) / 1e6
        cell["p50"].append(int(r["p50_us"]))
        cell["p99"].append(int(r["p99_us"]))
        cell["rps"].append(requests / seconds)
        cell["bad"].append(int(r["non2xx"]) + int(r["socket_errors"]))
        if base:
            cell["add50"].append(int(r["p50_us"]) - int(base["p50_us"]))
            cell["add99"].append(int(r["p99_us"]) - int(base["p99_us"]))
        if r["cpu_ticks"] != "-" and requests:
            cell["cpu"].append(int(r["cpu_ticks"]) / CLK_TCK / requests * 1000)
    med = statistics.median
    print("| scenario | concurrency | arm | p50 ms | p99 ms | added p50 ms | added p99 ms | req/s "
          "| CPU s / 1000 req | not 2xx |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    order = {"direct": 0, "keypool": 1, "portkey": 2}
    for (scenario, c, arm) in sorted(cells, key=lambda k: ({"pass": 0, "failover": 1}.get(k[0], 2), k[1], order.get(k[2], 9))):
        x = cells[(scenario, c, arm)]
        added50 = ms(med(x["add50"])) if arm != "direct" and x["add50"] else "–"
        added99 = ms(med(x["add99"])) if arm != "direct" and x["add99"] else "–"
        cpu = f"{med(x['cpu']):.3f}" if x["cpu"] else "–"
        print(f"| {scenario} | {c} | {arm} | {ms(med(x['p50']))} | {ms(med(x['p99']))} | {added50} | {added99} "
              f"| {med(x['rps']):.0f} | {cpu} | {sum(x['bad'])} |")
    if rss:
        print()
        print("| arm | peak RSS MB |")
        print("|---|---:|")
        for arm, kb in sorted(rss.items(), key=lambda a: order.get(a[0], 9)):
            print(f"| {arm} | {kb / 1024:.1f} |")


if __name__ == "__main__":
    main(sys.argv[1])
