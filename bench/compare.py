#!/usr/bin/env python3
"""The report half of bench/compare.sh: per row, A's and B's time in each alternating run, B/A per pair, the median, and the
noise of A's own runs.

    python3 bench/compare.py --a SHA --b SHA --pairs N --out DIR     (reads DIR/A-1 … DIR/B-N, writes DIR/compare.md)

Times are BenchmarkDotNet's per-operation "Result" measurements of the workload (overhead subtracted), the median of a
run's iterations.

Two figures per row. B/A compares the row's times run against run. On a shared machine the load drifts between runs, and
the Raw rows (which run no Corral code) show that drift. So the verdict is taken on the normalized figure where the class
has a raw baseline (the method named Raw): the row's time over Raw's time in the same run, B's over A's per pair. A row is
"slower" when the median of that figure exceeds 1 by more than the noise, max/min - 1 of A's own runs of the same figure;
"faster" when it falls below 1 by more; otherwise "same". Raw rows get B/A only: they measure the machine.

Bytes are BenchmarkDotNet's allocated bytes per operation, the median of each side's runs (exact: they do not move with
the load). With MEMORY=1 (DIR/*/AliveMemory.json), the live bytes per parked child of each variant, per run, and B/A.
"""
import argparse
import glob
import json
import os
import statistics


def load_run(folder):
    """{(class, method): (ns per op, allocated bytes per op)} for one BenchmarkDotNet run."""
    rows = {}
    for path in sorted(glob.glob(os.path.join(folder, "*-report-full.json"))):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for b in data["Benchmarks"]:
            values = [m["Nanoseconds"] / m["Operations"] for m in b.get("Measurements", [])
                      if m["IterationMode"] == "Workload" and m["IterationStage"] == "Result"]
            if values:
                memory = b.get("Memory") or {}
                rows[(b["Type"], b["Method"] + (f"({b['Parameters']})" if b.get("Parameters") else ""))] = (
                    statistics.median(values), memory.get("BytesAllocatedPerOperation"))
    return rows


def load_memory(folder):
    """{variant: live bytes per child} from one --memory run, or None."""
    path = os.path.join(folder, "AliveMemory.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return {v: data[v]["liveBytes"] / data["children"] for v in ("raw", "corral", "corral-untracked") if v in data}


def fmt_bytes(values):
    values = [v for v in values if v is not None]
    return f"{statistics.median(values):,.0f} B" if values else "—"


def fmt_ns(ns):
    return f"{ns / 1000:,.2f} µs" if ns >= 10_000 else f"{ns:,.2f} ns"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--pairs", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--bench", help="the commit whose bench/ both sides ran (BENCH=...)")
    parser.add_argument("--drop", default="", help="the scenario files both sides left out (DROP=...)")
    args = parser.parse_args()

    runs = {side: [load_run(os.path.join(args.out, f"{side}-{i}")) for i in range(1, args.pairs + 1)] for side in "AB"}
    keys = sorted(set().union(*[set(r) for r in runs["A"] + runs["B"]]))
    lines = [
        f"A = `{args.a[:10]}`, B = `{args.b[:10]}`; {args.pairs} alternating runs each (A B A B …), short job"
        + (f"; both sides ran the benchmarks of `{args.bench[:10]}`" if args.bench else "")
        + (f", without {', '.join(args.drop.split())}" if args.drop.strip() else "") + ".",
        "",
        "| row | A runs | B runs | B/A per pair (time) | corral/raw A runs | corral/raw B runs | B/A per pair (corral/raw) | median | noise (A spread) | verdict | bytes A → B |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for cls, method in keys:
        a_rows = [r.get((cls, method)) for r in runs["A"]]
        b_rows = [r.get((cls, method)) for r in runs["B"]]
        if None in a_rows or None in b_rows:
            lines.append(f"| {cls}.{method} | (missing in a run) | | | | | | | | | |")
            continue
        a, b = [x[0] for x in a_rows], [x[0] for x in b_rows]
        size = f"{fmt_bytes([x[1] for x in a_rows])} → {fmt_bytes([x[1] for x in b_rows])}"
        times = [y / x for x, y in zip(a, b)]
        has_raw = method != "Raw" and all((cls, "Raw") in r for r in runs["A"] + runs["B"])
        if has_raw:
            na = [r[(cls, method)][0] / r[(cls, "Raw")][0] for r in runs["A"]]
            nb = [r[(cls, method)][0] / r[(cls, "Raw")][0] for r in runs["B"]]
            ratios = [y / x for x, y in zip(na, nb)]
            noise = max(na) / min(na) - 1
            norm_cols = (" / ".join(f"{x:.2f}×" for x in na), " / ".join(f"{x:.2f}×" for x in nb), " / ".join(f"{r:.3f}" for r in ratios))
        else:
            ratios = times
            noise = max(a) / min(a) - 1
            norm_cols = ("", "", "(machine drift)" if method == "Raw" else "")
        median = statistics.median(ratios)
        verdict = "slower" if median - 1 > noise else "faster" if 1 - median > noise else "same"
        if method == "Raw":
            verdict = "(baseline)"
        lines.append(
            f"| {cls}.{method} | {' / '.join(fmt_ns(x) for x in a)} | {' / '.join(fmt_ns(x) for x in b)} | "
            f"{' / '.join(f'{r:.3f}' for r in times)} | {norm_cols[0]} | {norm_cols[1]} | {norm_cols[2]} | **{median:.3f}** | "
            f"±{noise * 100:.1f} % | {verdict} | {size} |")
    memory = {side: [load_memory(os.path.join(args.out, f"{side}-{i}")) for i in range(1, args.pairs + 1)] for side in "AB"}
    if all(m is not None for m in memory["A"] + memory["B"]):
        lines += ["", "Live bytes per parked child (1,000,000 children, `--memory`: each variant's median of three fresh processes):", "",
                  "| variant | A runs | B runs | median B/A | B / raw (B's runs) |", "| --- | --- | --- | --- | --- |"]
        for variant in ("raw", "corral", "corral-untracked"):
            a = [m[variant] for m in memory["A"] if variant in m]
            b = [m[variant] for m in memory["B"] if variant in m]
            if len(a) != args.pairs or len(b) != args.pairs:
                continue
            vs_raw = statistics.median([m[variant] / m["raw"] for m in memory["B"]])
            lines.append(f"| {variant} | {' / '.join(f'{x:,.1f}' for x in a)} | {' / '.join(f'{x:,.1f}' for x in b)} | "
                         f"**{statistics.median([y / x for x, y in zip(a, b)]):.3f}** | {vs_raw:.2f}× |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "compare.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
