#!/usr/bin/env python3
"""The report half of bench/compare.sh: per row, A's and B's time in each alternating run, B/A per pair, the median, and the
noise of A's own runs.

    python3 bench/compare.py --a SHA --b SHA --pairs N --out DIR     (reads DIR/A-1 … DIR/B-N, writes DIR/compare.md)

Times are BenchmarkDotNet's per-operation "Result" measurements of the workload (overhead subtracted), the median of a
run's iterations. A row is "slower" when median(B/A) - 1 exceeds the noise, max(A)/min(A) - 1 over A's runs; "faster"
when 1 - median(B/A) exceeds it; otherwise "same". corral/raw is the row's time over the time of its class's raw
baseline (the method named Raw) in the same run: it cancels most of the drift of a shared machine.
"""
import argparse
import glob
import json
import os
import statistics


def load_run(folder):
    """{(class, method): ns per op} for one BenchmarkDotNet run."""
    rows = {}
    for path in sorted(glob.glob(os.path.join(folder, "*-report-full.json"))):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for b in data["Benchmarks"]:
            values = [m["Nanoseconds"] / m["Operations"] for m in b.get("Measurements", [])
                      if m["IterationMode"] == "Workload" and m["IterationStage"] == "Result"]
            if values:
                rows[(b["Type"], b["Method"] + (f"({b['Parameters']})" if b.get("Parameters") else ""))] = statistics.median(values)
    return rows


def fmt_ns(ns):
    return f"{ns / 1000:,.2f} µs" if ns >= 10_000 else f"{ns:,.2f} ns"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--pairs", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    runs = {side: [load_run(os.path.join(args.out, f"{side}-{i}")) for i in range(1, args.pairs + 1)] for side in "AB"}
    keys = sorted(set().union(*[set(r) for r in runs["A"] + runs["B"]]))
    lines = [
        f"A = `{args.a[:10]}`, B = `{args.b[:10]}`; {args.pairs} alternating runs each (A B A B …), short job.",
        "",
        "| row | A runs | B runs | B/A per pair | median B/A | noise (A spread) | verdict | corral/raw A → B |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for cls, method in keys:
        a = [r.get((cls, method)) for r in runs["A"]]
        b = [r.get((cls, method)) for r in runs["B"]]
        if None in a or None in b:
            lines.append(f"| {cls}.{method} | (missing in a run) | | | | | | |")
            continue
        ratios = [y / x for x, y in zip(a, b)]
        median = statistics.median(ratios)
        noise = max(a) / min(a) - 1
        verdict = "slower" if median - 1 > noise else "faster" if 1 - median > noise else "same"
        norm = ""
        if method != "Raw" and all((cls, "Raw") in r for r in runs["A"] + runs["B"]):
            na = statistics.median([r[(cls, method)] / r[(cls, "Raw")] for r in runs["A"]])
            nb = statistics.median([r[(cls, method)] / r[(cls, "Raw")] for r in runs["B"]])
            norm = f"{na:.2f}× → {nb:.2f}×"
        lines.append(
            f"| {cls}.{method} | {' / '.join(fmt_ns(x) for x in a)} | {' / '.join(fmt_ns(x) for x in b)} | "
            f"{' / '.join(f'{r:.3f}' for r in ratios)} | **{median:.3f}** | ±{noise * 100:.1f} % | {verdict} | {norm} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(args.out, "compare.md"), "w", encoding="utf-8") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
