#!/usr/bin/env python3
"""Chart a Google Benchmark JSON file as a PNG.

One horizontal bar per benchmark and thread count (bars of the same benchmark
grouped), on a log x axis, for one counter (default items_per_second). With
repetitions the file's aggregate rows are used (--aggregate, default median)
and +-1 stddev whiskers are drawn when the stddev rows are there; without
aggregate rows the median of the iteration rows is taken.

    keypool_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \\
        --benchmark_out=pool_bench.json --benchmark_out_format=json
    python3 benchmarks/chart.py pool_bench.json docs/benchmarks-pool.png

Needs matplotlib (Debian: python3-matplotlib).
"""

import argparse
import json
import math
import os
import re
import statistics
import sys
from collections import OrderedDict

THREADS_RE = re.compile(r"/threads:(\d+)(?=/|$)")
TIME_RE = re.compile(r"/(real_time|process_time|manual_time)(?=/|$)")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Chart a Google Benchmark JSON file (--benchmark_out_format=json) "
        "as a PNG: one counter, bars grouped by thread count, log scale.")
    parser.add_argument("input", help="Google Benchmark JSON file")
    parser.add_argument("output", help="PNG file to write")
    parser.add_argument("--counter", default="items_per_second",
                        help="counter (JSON field) to chart (default: %(default)s)")
    parser.add_argument("--aggregate", default="median",
                        help="aggregate row to use when the file has repetitions "
                        "(default: %(default)s)")
    parser.add_argument("--title", help="main title (default: executable and counter); "
                        "the machine and date from the JSON context are always added")
    parser.add_argument("--filter", help="only benchmarks whose name matches this regex")
    parser.add_argument("--dpi", type=int, default=110, help="PNG resolution (default: %(default)s)")
    return parser.parse_args(argv)


def si(value):
    for factor, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {suffix}"
    return f"{value:.3g} "


def unit_of(counter, rows):
    if counter.endswith("_per_second"):
        return "/s"
    if counter in ("real_time", "cpu_time"):
        units = {r.get("time_unit") for r in rows if counter in r}
        return units.pop() if len(units) == 1 and None not in units else ""
    return ""


def base_name(row):
    """The benchmark's name without aggregate suffix and /threads:N."""
    name = row.get("run_name") or row["name"]
    return THREADS_RE.sub("", name)


def threads_of(row):
    if "threads" in row:
        return int(row["threads"])
    match = THREADS_RE.search(row.get("run_name") or row["name"])
    return int(match.group(1)) if match else 1


def collect(rows, counter, aggregate):
    """-> OrderedDict base name -> {threads: (value, stddev or None)}, description."""
    has_aggregates = any(r.get("run_type") == "aggregate" for r in rows)
    values = OrderedDict()   # name -> threads -> value(s)
    stddevs = {}
    for row in rows:
        if counter not in row:
            continue
        key = (base_name(row), threads_of(row))
        if has_aggregates:
            if row.get("run_type") != "aggregate":
                continue
            if row.get("aggregate_name") == aggregate:
                values.setdefault(key[0], {})[key[1]] = [float(row[counter])]
            elif row.get("aggregate_name") == "stddev":
                stddevs[key] = float(row[counter])
        elif row.get("error_occurred"):
            continue
        else:
            values.setdefault(key[0], {}).setdefault(key[1], []).append(float(row[counter]))

    reps = {int(r["repetitions"]) for r in rows if r.get("repetitions")}
    if has_aggregates:
        how = f"{aggregate} of {max(reps)} repetitions" if reps else aggregate
    else:
        counts = {len(v) for per in values.values() for v in per.values()}
        how = "one run" if counts == {1} else "median of the runs"
    result = OrderedDict()
    for name, per_threads in values.items():
        result[name] = {t: (statistics.median(v), stddevs.get((name, t)))
                        for t, v in per_threads.items()}
    return result, how


def labels_for(names):
    """Drop /real_time etc. from the labels unless that makes two of them equal.
    -> labels, the dropped suffixes (to name them once on the axis instead)."""
    short = [TIME_RE.sub("", n) for n in names]
    if len(set(short)) != len(short):
        return list(names), set()
    dropped = {m.group(1) for n in names for m in TIME_RE.finditer(n)}
    return short, dropped


def context_line(context):
    parts = []
    if context.get("host_name"):
        parts.append(f"host {context['host_name']}")
    if context.get("num_cpus"):
        cpu = f"{context['num_cpus']} CPUs"
        if context.get("mhz_per_cpu"):
            cpu += f" @ {context['mhz_per_cpu']} MHz"
        parts.append(cpu)
    if context.get("date"):
        parts.append(str(context["date"]).replace("T", " "))
    if context.get("load_avg"):
        parts.append("load avg " + " / ".join(f"{x:.2f}" for x in context["load_avg"]))
    return ", ".join(parts)


def main(argv):
    args = parse_args(argv)
    with open(args.input, encoding="utf-8") as f:
        data = json.load(f)
    rows = data.get("benchmarks", [])
    if args.filter:
        pattern = re.compile(args.filter)
        rows = [r for r in rows if pattern.search(r.get("run_name") or r["name"])]
    series, how = collect(rows, args.counter, args.aggregate)
    if not series:
        sys.exit(f"chart.py: no benchmark in {args.input} has the counter "
                 f"'{args.counter}' (aggregate '{args.aggregate}')")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(series)
    labels, dropped = labels_for(names)
    threads = sorted({t for per in series.values() for t in per})
    unit = unit_of(args.counter, rows)

    bar_h = 0.8 / len(threads)
    fig_h = 1.6 + 0.28 * len(names) * max(len(threads), 1.5)
    fig, ax = plt.subplots(figsize=(10, fig_h))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    all_values = []
    for i, t in enumerate(threads):
        ys, xs, errs = [], [], []
        for row, name in enumerate(names):
            if t not in series[name]:
                continue
            value, stddev = series[name][t]
            if value <= 0:
                continue
            ys.append(row - 0.4 + bar_h * (i + 0.5))
            xs.append(value)
            errs.append(min(stddev, value * 0.999) if stddev else 0.0)
        all_values += xs + [x + e for x, e in zip(xs, errs)]
        label = f"{t} thread" + ("" if t == 1 else "s")
        ax.barh(ys, xs, height=bar_h * 0.92, color=colors[i % len(colors)], label=label,
                xerr=errs if any(errs) else None,
                error_kw={"elinewidth": 0.8, "capsize": 2, "ecolor": "0.25"})
        for y, x, err in zip(ys, xs, errs):
            ax.text((x + err) * 1.06, y, f"{si(x)}{unit}", va="center", fontsize=7.5)

    ax.set_xscale("log")
    lo, hi = min(all_values), max(all_values)
    # A decade of room left of the smallest bar, for the value labels right.
    ax.set_xlim(10 ** (math.floor(math.log10(lo)) - 1), hi * 4)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(labels, fontsize=8.5)
    ax.set_ylim(len(names) - 0.5, -0.5)   # first benchmark at the top
    ax.grid(axis="x", which="major", linestyle=":", linewidth=0.7)
    ax.set_axisbelow(True)
    has_err = any(s for per in series.values() for _, s in per.values())
    timing = f", {'/'.join(sorted(dropped))} runs" if dropped else ""
    better = "; higher is better" if args.counter.endswith("_per_second") else ""
    xlabel = f"{args.counter} ({how}{timing}, log scale{better})"
    if has_err:
        xlabel += ", whiskers ±1 stddev"
    ax.set_xlabel(xlabel, fontsize=9)
    ax.legend(loc="upper right", fontsize=8.5)

    executable = os.path.basename(data.get("context", {}).get("executable", "")) or "benchmark"
    title = args.title or f"{executable}: {args.counter}"
    subtitle = context_line(data.get("context", {}))
    ax.set_title(title + (f"\n{subtitle}" if subtitle else ""), fontsize=10.5)
    fig.tight_layout()
    fig.savefig(args.output, dpi=args.dpi)
    print(f"chart.py: wrote {args.output} ({len(names)} benchmarks, threads {threads})")


if __name__ == "__main__":
    main(sys.argv[1:])
