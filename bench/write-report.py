#!/usr/bin/env python3
"""Writes docs/benchmarks.md from the results of bench/run.sh.

Reads BenchmarkDotNet.Artifacts/results/*-report-full.json (BenchmarkDotNet's full JSON export: every measurement of
every launch), AliveMemory.json (the 1,000,000-children memory mode), python-compare.json (trio and asyncio), and
sizes.txt (object sizes, --sizes mode); writes the goal table, the scaling tables and the comparison.

Times are per operation from the workload "Result" measurements (overhead already subtracted). Within a launch the figure
is the median of its iterations; with several launches (thread-pool scenarios), the median of the launches' figures.
The ratio is Corral's figure over its raw baseline's, from the same run.

    python3 bench/write-report.py [--artifacts BenchmarkDotNet.Artifacts] [--out docs/benchmarks.md] [--command "..."]
"""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ------------------------------------------------------------------------------------------- the goals (issue 5, then 18)
# Issue 18 (third pass) replaced issue 5's goals for the rows it names; the others keep issue 5's.
# time: ("ratio", x) = Corral/baseline at most x; ("ns", x) = Corral at most x ns per operation.
# bytes: ("per", x) = Corral at most x B per child; ("abs", x) = at most x B per operation; ("ratio", x) = Corral/baseline.
# base: the baseline's method in the same class (default "Raw", the class's [Benchmark(Baseline = true)]). The scope rows'
# Raw is the hand-written equivalent of an ambient scope (new CTS + AsyncLocal set and restore + Dispose, issue 18); the
# shield keeps issue 5's goal against a bare token source (RawTokenSource).
GOALS = [
    dict(cls="SpawnInline", corral="Corral", per=1_000,
         scenario="spawn 1,000 children in a group, each awaits `Task.Yield()`, join",
         time=("ratio", 1.2), time_text="≤ 1.2× in every run", bytes=("per", 160), bytes_text="≤ 160 B per child"),
    dict(cls="SpawnThreadPool", corral="Corral", per=1_000,
         scenario="spawn 1,000 children through the thread pool (child completes at once), join; median of 3 launches",
         time=("ratio", 1.2), time_text="≤ 1.2×", bytes=("per", 240), bytes_text="≤ 240 B per child"),
    dict(cls="ChildScopeCancel", corral="Corral", per=100,
         scenario="100 child scopes whose tokens are used (Register + `Task.Delay(∞, token)`), cancelled by their parent",
         time=("ratio", 0.8), time_text="≤ 0.8×", bytes=("ratio", 1.0), bytes_text="≤ 1.0× raw bytes"),
    dict(cls="Checkpoint", corral="Corral", base="AsyncLocalRead", per=1, amortised=True,
         scenario="checkpoint that finds no cancellation: `await CancelScope.CheckpointAsync()` in a scope",
         time=("ratio", 1.2), time_text="≤ 1.2× an AsyncLocal read, every run", bytes=("abs", 0), bytes_text="0 B"),
    dict(cls="Checkpoint", corral="CorralSync", base="AsyncLocalRead", per=1, extra=True, amortised=True,
         scenario="… the synchronous checkpoint `CancelScope.ThrowIfCancelled()`",
         time=("ratio", 1.2), time_text="≤ 1.2× an AsyncLocal read, every run", bytes=("abs", 0), bytes_text="0 B"),
    dict(cls="Checkpoint", corral="CorralInChild", base="AsyncLocalRead", per=1, extra=True, amortised=True,
         scenario="… `await CancelScope.CheckpointAsync()` in a group's child",
         time=("ratio", 1.2), time_text="≤ 1.2× an AsyncLocal read, every run", bytes=("abs", 0), bytes_text="0 B"),
    dict(cls="ScopeEnterExit", corral="Corral", per=1,
         scenario="cancel scope enter and exit: `CancelScope.RunAsync(_ => Task.CompletedTask)`",
         time=("ratio", 1.5), time_text="≤ 1.5×", bytes=("ratio", 1.0), bytes_text="≤ 1.0× raw bytes"),
    dict(cls="ScopeEnterExit", corral="CorralShield", base="RawTokenSource", per=1,
         scenario="shield enter and exit: `CancelScope.ShieldAsync(_ => Task.CompletedTask)` (issue 5's goal)",
         time=("ratio", 3.0), time_text="≤ 3×", bytes=("abs", 0), bytes_text="0 B"),
    dict(cls="DeadlineEnterExit", corral="Corral", per=1,
         scenario="deadline scope enter and exit: `MoveOnAfterAsync(5 min, _ => Task.CompletedTask)`",
         time=("ratio", 1.5), time_text="≤ 1.5×", bytes=("ratio", 1.0), bytes_text="≤ 1.0× raw bytes"),
    dict(cls="DeadlinesWhileManyLive", corral="Corral", per=1,
         scenario="arm and disarm a deadline (scope enter/exit) while 100,000 deadlines are live (issue 5's goal)",
         time=("ratio", 0.5), time_text="≤ 0.5×", bytes=("abs", 100), bytes_text="≤ 100 B"),
    dict(cls="CancelGroup", corral="Corral", per=100_000,
         scenario="cancel a group of 100,000 waiting children (`Task.Delay(∞, ct)`), until the group returns",
         time=("ratio", 1.0), time_text="≤ 1.0×", bytes=("ratio", 1.0), bytes_text="≤ 1.0× raw bytes"),
    dict(cls="CancelGroup", corral="CorralSleep", per=100_000, extra=True,
         scenario="… the same with children in `CancelScope.SleepAsync(∞)` (the Corral idiom)",
         time=("ratio", 1.0), time_text="≤ 1.0×", bytes=("ratio", 1.0), bytes_text="≤ 1.0× raw bytes"),
    dict(cls="EmptyGroup", corral="Corral", per=1,
         scenario="empty group open and close: `TaskGroup.RunAsync(_ => Task.CompletedTask)`",
         time=("ratio", 2.0), time_text="≤ 2×", bytes=("abs", 200), bytes_text="≤ 200 B"),
]

# The 1,000,000-children live-memory goal (issue 18): at most this many live bytes per child, and this ratio to raw tasks.
ALIVE_BYTES_PER_CHILD = 170
ALIVE_RATIO = 1.5

# ------------------------------------------------------------------------------------------------- the goals of issue 7
# Same shape as GOALS; unit = what "per" counts (items here). per_item_time = show raw and Corral per item, not per operation.
# Issue 7 sets time goals only: the bytes are reported, not judged (bytes=None).
GOALS_7 = [
    dict(cls="SafeProducerStream", corral="Corral", per=1_000_000, unit="item", per_item_time=True,
         scenario="consume 1,000,000 ints with `await foreach` from `SafeProducer.ProduceAsync<int>` (writer loop, "
                  "`Capacity = 64`); time per item; median of 3 launches",
         time=("ratio", 1.5), time_text="≤ 1.5× per item", bytes=None, bytes_text="(not set)"),
    dict(cls="SafeProducerStream", corral="CorralChunks", per=1_000_000, unit="item", per_item_time=True, extra=True,
         scenario="… the same items written in chunks of 256 (`ProduceAsync<int[]>`, `Capacity = 1` chunk): the way to "
                  "hand over small items",
         time=("ratio", 1.5), time_text="≤ 1.5× per item", bytes=None, bytes_text="(not set)"),
    dict(cls="SafeProducerStream", corral="BclBounded", per=1_000_000, unit="item", per_item_time=True, reference=True,
         scenario="… for reference, the BCL alone: a bounded channel (capacity 64), a writer task, `ReadAllAsync`",
         time=None, time_text="—", bytes=None, bytes_text="—"),
    dict(cls="SafeProducerStream", corral="BclUnbounded", per=1_000_000, unit="item", per_item_time=True, reference=True,
         scenario="… for reference, the BCL alone: an unbounded channel (no bound at all), a writer task, `ReadAllAsync`",
         time=None, time_text="—", bytes=None, bytes_text="—"),
    dict(cls="StructuredForEach", corral="Corral", per=10_000, unit="item",
         scenario="`StructuredParallel.ForEachAsync` over 10,000 items, `MaxDegreeOfParallelism = 4`, each awaits "
                  "`Task.Yield()`; median of 3 launches",
         time=("ratio", 1.2), time_text="≤ 1.2×", bytes=None, bytes_text="(not set)"),
]


def load_bdn(artifacts):
    """{(class, method, params): {"ns": [per-launch medians], "bytes": B/op, "title": ...}} from every full JSON export."""
    results = {}
    host = None
    written = {}  # class -> when its results file was written: a filtered run keeps the other classes' earlier results
    for path in sorted(glob.glob(os.path.join(artifacts, "results", "*-report-full.json"))):
        written[os.path.basename(path).split("-report-full.json")[0].split(".")[-1]] = datetime.datetime.fromtimestamp(
            os.path.getmtime(path), datetime.timezone.utc)
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        host = host or data.get("HostEnvironmentInfo")
        for b in data["Benchmarks"]:
            by_launch = {}
            for m in b.get("Measurements", []):
                if m["IterationMode"] == "Workload" and m["IterationStage"] == "Result":
                    by_launch.setdefault(m["LaunchIndex"], []).append(m["Nanoseconds"] / m["Operations"])
            if not by_launch:
                continue
            memory = b.get("Memory") or {}
            results[(b["Type"], b["Method"], b.get("Parameters", ""))] = {
                "launches": [statistics.median(v) for _, v in sorted(by_launch.items())],
                "ns": statistics.median([statistics.median(v) for v in by_launch.values()]),
                "bytes": memory.get("BytesAllocatedPerOperation"),
                "title": b.get("MethodTitle", b["Method"]).strip("'"),
            }
    return results, host, written


def fmt_ns(ns):
    if ns is None:
        return "—"
    if ns >= 1e6:
        return f"{ns / 1e6:,.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:,.2f} µs"
    return f"{ns:,.2f} ns" if ns < 100 else f"{ns:,.0f} ns"


def fmt_bytes(b, per=1, unit="child"):
    if b is None:
        return "—"
    if per == 1:
        return f"{b:,} B"
    return f"{b / per:,.1f} B/{unit}"


def judge(goal, raw, corral):
    """Returns (time_ok, bytes_ok, ratio, notes) for one goal row."""
    ratio = corral["ns"] / raw["ns"] if raw["ns"] else None
    kind, limit = goal["time"]
    time_ok = (ratio <= limit) if kind == "ratio" else (corral["ns"] <= limit)
    bkind, blimit = goal["bytes"] or (None, None)
    cb, rb = corral["bytes"], raw["bytes"]
    if cb is None or bkind is None:
        bytes_ok = None
    elif bkind == "per":
        bytes_ok = cb / goal["per"] <= blimit
    elif bkind == "abs" and goal.get("amortised"):
        # 1,000 checkpoints per invocation inside one scope or group: the container's few hundred bytes, spread over them,
        # round to 0 or 1 B per checkpoint. A checkpoint that allocated would show at least its own object's size.
        bytes_ok = cb <= blimit + 1
    elif bkind == "abs":
        bytes_ok = cb <= blimit
    else:
        bytes_ok = cb <= blimit * rb if rb else cb == 0
    notes = []
    per = goal["per"]
    unit = f"per {goal.get('unit', 'child')}" if per > 1 else "per operation"
    if not time_ok:
        extra = (corral["ns"] - raw["ns"]) / per
        if kind == "ratio":
            notes.append(f"time {ratio:.2f}× against ≤ {limit}×: {fmt_ns(extra)} more {unit} than the baseline")
        else:
            notes.append(f"{fmt_ns(corral['ns'])} against ≤ {limit} ns")
    if bytes_ok is False:
        if bkind == "ratio":
            notes.append(f"bytes {cb / rb:.2f}× raw against ≤ {blimit}×: {(cb - rb) / per:,.0f} B more {unit}")
        elif bkind == "per":
            notes.append(f"{cb / per:,.0f} B per child against ≤ {blimit} B (raw: {rb / per:,.0f} B)")
        else:
            notes.append(f"{cb:,} B against ≤ {blimit} B (raw: {rb:,} B)")
    return time_ok, bytes_ok, ratio, notes


def linearity(step):
    """A tenfold step whose unit cost grows less than 2x, or no more than raw's own step (GC, cache) times 1.5, is linear."""
    ours, raws = step[2], step[3]
    if ours < 2:
        return "linear or better"
    if ours <= 1.5 * raws:
        return (f"the unit cost grows at this step, and raw's grows with it (×{raws:.2f}): the runtime at that size (GC "
                "promotion, deep stacks), within this machine's noise of raw's step; no quadratic step of Corral's own")
    return "worse than linear: look at this step"


def verdict(time_ok, bytes_ok):
    missed = [name for name, ok in (("time", time_ok), ("bytes", bytes_ok)) if ok is False]
    return "**met**" if not missed else f"**not met** ({', '.join(missed)})"


def machine():
    model = cores = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "Model name":
                model = value.strip()
            elif key.strip() == "CPU(s)":
                cores = value.strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return model, cores


def git_commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


# ------------------------------------------------------------------------------------- issue 17: the dashboard
DASHBOARD_HEADING = "## The dashboard's cost per update (issue 17)"
DASHBOARD_ROWS = [
    ("Capture", "`TaskTree.Capture()`: walk the live tree into a snapshot"),
    ("CaptureAndJson", "`TaskTree.Capture().ToJson()`: the snapshot as the documented JSON string (public API; the "
                       "dashboard no longer goes through it)"),
    ("Frame", "one frame alone: a snapshot (taken once) written straight into the server-sent event's bytes, the same "
              "work as raw"),
    ("Update", "**one dashboard update**: capture, count the tasks, JSON, the server-sent event's bytes (done once per "
               "interval while any page is open, whatever their number; never while none is)"),
]


def dashboard_section(get, written, command):
    """The lines of the dashboard section: each part of an update beside System.Text.Json writing the same nodes."""
    lines = [DASHBOARD_HEADING, ""]
    raw = get("DashboardUpdate", "Raw")
    if raw is None:
        return lines + ["Not measured in this run (`bench/run.sh --filter '*DashboardUpdate*'`).", ""]
    when = written.get("DashboardUpdate")
    lines += [
        "A live tree of 10,100 nodes (99 groups of 100 parked tasks, each group in a task of one root group), measured by "
        "`DashboardUpdate` (`bench/Corral.Benchmarks/Scenarios/DashboardUpdate.cs`). The raw baseline is System.Text.Json "
        "(source-generated) writing the same nodes, fields and values, taken from a snapshot into plain records, to UTF-8: "
        "the floor for sending that much data, with no live tree to walk. The issue sets no goal: this is the figure.",
        "",
        f"- Command: `{command}`" + (f"; results written {when:%Y-%m-%d %H:%M} UTC" if when else ""),
        "",
        "| part of an update | time | ratio to raw | allocated |",
        "|---|---:|---:|---:|",
        f"| raw: {raw['title']} | {fmt_ns(raw['ns'])} | 1.00× | {fmt_bytes(raw['bytes'])} |",
    ]
    for method, text in DASHBOARD_ROWS:
        r = get("DashboardUpdate", method)
        if r is None:
            lines.append(f"| {text} | — | — | — |")
        else:
            lines.append(f"| {text} | {fmt_ns(r['ns'])} | {r['ns'] / raw['ns']:.2f}× | {fmt_bytes(r['bytes'])} |")
    lines.append("")
    return lines


def splice(path, heading, lines):
    """Replaces the section that starts with heading in an existing report (or adds it before "## Every measurement")."""
    with open(path, encoding="utf-8") as f:
        text = f.read().split("\n")
    if heading in text:
        start = text.index(heading)
        end = next((i for i in range(start + 1, len(text)) if text[i].startswith("## ")), len(text))
    else:
        start = end = next((i for i, line in enumerate(text) if line == "## Every measurement"), len(text))
    text[start:end] = lines
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(text))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--artifacts", default=os.path.join(ROOT, "BenchmarkDotNet.Artifacts"))
    parser.add_argument("--out", default=os.path.join(ROOT, "docs", "benchmarks.md"))
    parser.add_argument("--command", default="bench/run.sh")
    parser.add_argument("--commit", help="the commit the results are of, when the report is regenerated later (default: HEAD)")
    parser.add_argument("--splice-dashboard", action="store_true",
                        help="only rewrite the dashboard section of the existing report (a --filter '*DashboardUpdate*' run)")
    args = parser.parse_args()

    bdn, host, written = load_bdn(args.artifacts)
    results_dir = os.path.join(args.artifacts, "results")

    def get(cls, method, params=""):
        return bdn.get((cls, method, params))

    if args.splice_dashboard:
        splice(args.out, DASHBOARD_HEADING, dashboard_section(get, written, args.command))
        print(f"rewrote the dashboard section of {args.out}")
        return

    out = []
    w = out.append
    w("# Corral benchmarks")
    w("")
    w("Every Corral scenario of issue 5, and the safe-producer and parallel-loop scenarios of issue 7, beside the raw .NET way of doing the same work, measured in the same run with "
      "BenchmarkDotNet and `[MemoryDiagnoser]` (`bench/Corral.Benchmarks`, one class per scenario, the raw way as "
      "`[Benchmark(Baseline = true)]`). **Ratios are the figures**: absolute times on this shared 2-core machine vary "
      "two- to three-fold from run to run (other builds run beside it), ratios much less.")
    w("")
    w("*Generated by `bench/write-report.py`; do not edit by hand.*")
    w("")
    model, cores = machine()
    w("## How these numbers were made")
    w("")
    w(f"- Command (from the repository root): `{args.command}`")
    w(f"- Commit measured: `{args.commit or git_commit()}`, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    if written:
        w("- When each class's results were written (a `--filter` run refreshes only its classes and keeps the others' "
          "earlier results, which may come from an earlier commit): "
          + ", ".join(f"`{cls}` {when:%Y-%m-%d %H:%M}" for cls, when in sorted(written.items())) + " UTC")
    w(f"- Machine: {model} (`lscpu`), {cores} CPUs; {platform.system()} {platform.release()}")
    if host:
        w(f"- .NET: {host.get('RuntimeVersion')} (SDK {host.get('DotNetCliVersion')}), BenchmarkDotNet {host.get('BenchmarkDotNetVersion')}, "
          f"{host.get('PhysicalCoreCount')} physical / {host.get('LogicalCoreCount')} logical cores")
    w("- Job: `--short` = 1 launch (3 for thread-pool scenarios), 3 warm-up and 7 measured iterations of 250 ms. "
      "Time = median per operation (median of launches where there are several); bytes = BenchmarkDotNet's allocated "
      "bytes per operation (all threads). \"Per child\" divides by the number of children in the operation.")
    w("")

    # ------------------------------------------------------------------------------------------------- the goal table
    w("## The goals")
    w("")
    w("| scenario | raw baseline | raw | Corral | ratio | goal | bytes raw → Corral | bytes goal | verdict |")
    w("|---|---|---:|---:|---:|---|---|---|---|")
    misses = []
    for goal in GOALS:
        raw, corral = get(goal["cls"], goal.get("base", "Raw")), get(goal["cls"], goal["corral"])
        if raw is None or corral is None:
            w(f"| {goal['scenario']} | — | — | — | — | {goal['time_text']} | — | {goal['bytes_text']} | **not measured** |")
            misses.append((goal, ["no result in this run"]))
            continue
        time_ok, bytes_ok, ratio, notes = judge(goal, raw, corral)
        per = goal["per"]
        bytes_text = f"{fmt_bytes(raw['bytes'], per)} → {fmt_bytes(corral['bytes'], per)}"
        w(f"| {goal['scenario']} | {raw['title']} | {fmt_ns(raw['ns'])} | {fmt_ns(corral['ns'])} | {ratio:.2f}× | "
          f"{goal['time_text']} | {bytes_text} | {goal['bytes_text']} | {verdict(time_ok, bytes_ok)} |")
        if notes:
            misses.append((goal, notes))

    alive_path = os.path.join(results_dir, "AliveMemory.json")
    alive = None
    if os.path.exists(alive_path):
        with open(alive_path, encoding="utf-8") as f:
            alive = json.load(f)
        n = alive["children"]
        raw_live, corral_live = alive["raw"]["liveBytes"], alive["corral"]["liveBytes"]
        ratio = corral_live / raw_live
        ok = ratio <= ALIVE_RATIO and corral_live / n <= ALIVE_BYTES_PER_CHILD
        w(f"| {n:,} children alive at once (parked on one `TaskCompletionSource`), live heap | {n:,} raw tasks + `Task.WhenAll` | "
          f"{raw_live / n:,.0f} B/child | {corral_live / n:,.0f} B/child | {ratio:.2f}× | ≤ {ALIVE_RATIO}× memory | "
          f"(live bytes) | ≤ {ALIVE_BYTES_PER_CHILD} B per child | {'**met**' if ok else '**not met** (memory)'} |")
        if not ok:
            misses.append((dict(scenario=f"{n:,} children alive at once"),
                           [f"{corral_live / n:,.0f} live B per child against ≤ {ALIVE_BYTES_PER_CHILD} B (raw {raw_live / n:,.0f} B): {(corral_live - raw_live) / n:,.0f} B more per child than raw"]))
    else:
        w(f"| 1,000,000 children alive at once | the same number of raw tasks | — | — | — | ≤ {ALIVE_RATIO}× memory | | ≤ {ALIVE_BYTES_PER_CHILD} B per child | **not measured** |")
    w("| **Issue 7: safe producers and structured parallel loops** | | | | | | | | |")
    for goal in GOALS_7:
        raw, corral = get(goal["cls"], "Raw"), get(goal["cls"], goal["corral"])
        if raw is None or corral is None:
            w(f"| {goal['scenario']} | — | — | — | — | {goal['time_text']} | — | {goal['bytes_text']} | **not measured** |")
            misses.append((goal, ["no result in this run"]))
            continue
        if goal.get("reference"):
            # Not Corral: the platform's own way, measured in the same run to show what a hand-over costs by itself.
            time_ok, bytes_ok, ratio, notes = None, None, corral["ns"] / raw["ns"], []
        else:
            time_ok, bytes_ok, ratio, notes = judge(goal, raw, corral)
        per, unit = goal["per"], goal["unit"]
        if goal.get("per_item_time"):
            raw_t, cor_t = f"{fmt_ns(raw['ns'] / per)}/{unit}", f"{fmt_ns(corral['ns'] / per)}/{unit}"
        else:
            raw_t, cor_t = fmt_ns(raw["ns"]), fmt_ns(corral["ns"])
        bytes_text = f"{fmt_bytes(raw['bytes'], per, unit)} → {fmt_bytes(corral['bytes'], per, unit)}"
        w(f"| {goal['scenario']} | {raw['title']} | {raw_t} | {cor_t} | {ratio:.2f}× | "
          f"{goal['time_text']} | {bytes_text} | {goal['bytes_text']} | "
          f"{'reference (not Corral)' if goal.get('reference') else verdict(time_ok, bytes_ok)} |")
        if notes:
            misses.append((goal, notes))
    w("")
    w("The issue-7 rows (`SafeProducerStream`, `StructuredForEach`) set goals on time only; their bytes are shown, not judged. "
      "Rows marked *reference* are not Corral: the BCL's own producer/consumer, measured in the same run for scale.")
    w("")
    w("Rows starting with … are further Corral forms of the scenario above them, judged against the same goal. The checkpoint "
      "rows run 1,000 checkpoints inside one scope or group per invocation: a byte there is the container spread over them, "
      "not the checkpoint.")
    w("")
    same = [(label, get(cls, "Raw", params), get(cls, method, params)) for label, cls, method, params in (
        ("SpawnInline", "SpawnInline", "Corral", ""), ("TaskTracking (tracking on)", "TaskTracking", "CorralTracked", ""),
        ("ScalingChildren, N = 1,000", "ScalingChildren", "Corral", "Children=1000"))]
    same = [(label, c["ns"] / r["ns"]) for label, r, c in same if r and c]
    if len(same) > 1:
        w("How noisy is a ratio? The same spawn-and-join of 1,000 children is measured in three classes of this run: "
          + ", ".join(f"{label} {ratio:.2f}×" for label, ratio in same)
          + ". Read ratios with that spread in mind.")
        w("")

    if misses:
        w("### Why the misses miss")
        w("")
        for goal, notes in misses:
            w(f"- **{goal['scenario']}**: " + "; ".join(notes) + ".")
        w("")

    readings = os.path.join(ROOT, "bench", "readings.md")
    if os.path.exists(readings):
        with open(readings, encoding="utf-8") as f:
            w(f.read().strip())
        w("")

    # Hand-written results of bench/compare.sh (two commits back to back), kept across regenerations.
    back_to_back = os.path.join(ROOT, "bench", "back-to-back.md")
    if os.path.exists(back_to_back):
        with open(back_to_back, encoding="utf-8") as f:
            w(f.read().strip())
        w("")

    # --------------------------------------------------------------------------------------------- the 1M memory row
    if alive:
        n = alive["children"]
        w(f"## {n:,} children alive at once")
        w("")
        w("Measured apart from BenchmarkDotNet (`dotnet run -c Release --project bench/Corral.Benchmarks -- --memory`): each "
          "variant in a fresh process, three rounds, median. Live = `GC.GetTotalMemory(true)` after the spawn minus before; "
          "allocated = `GC.GetTotalAllocatedBytes(true)` over the spawn.")
        w("")
        w("| variant | live B per child | allocated B per child | spawn (ms) | release + join (ms) | live vs raw |")
        w("|---|---:|---:|---:|---:|---:|")
        for variant, label in (("raw", "raw async methods + `Task.WhenAll`"), ("corral", "TaskGroup, task tracking on (default)"),
                               ("corral-untracked", "TaskGroup, `TaskTree.TrackingEnabled = false`")):
            if variant in alive:
                v = alive[variant]
                w(f"| {label} | {v['liveBytes'] / n:,.1f} | {v['allocatedBytes'] / n:,.1f} | {v['spawnMs']:,.0f} | {v['joinMs']:,.0f} | "
                  f"{v['liveBytes'] / alive['raw']['liveBytes']:.2f}× |")
        w("")

    # ------------------------------------------------------------------------------------------------- task tracking
    w("## Task tracking on and off (issue 3)")
    w("")
    w("Spawn-and-join of 1,000 yielding children with the live task tree's per-task bookkeeping on (the default) and off.")
    w("")
    w("| variant | time | ratio to raw | B per child |")
    w("|---|---:|---:|---:|")
    raw = get("TaskTracking", "Raw")
    for method, label in (("Raw", "raw async methods + `Task.WhenAll`"), ("CorralTracked", "TaskGroup, tracking on"),
                          ("CorralUntracked", "TaskGroup, tracking off")):
        r = get("TaskTracking", method)
        if r and raw:
            w(f"| {label} | {fmt_ns(r['ns'])} | {r['ns'] / raw['ns']:.2f}× | {r['bytes'] / 1000:,.1f} |")
    on, off = get("TaskTracking", "CorralTracked"), get("TaskTracking", "CorralUntracked")
    if on and off:
        w("")
        w(f"Tracking costs {(on['ns'] - off['ns']) / 1000:,.1f} ns and {(on['bytes'] - off['bytes']) / 1000:,.1f} B per child "
          f"({on['ns'] / off['ns']:.2f}× the untracked time).")
    w("")

    # ------------------------------------------------------------------------------------------------------ scaling
    w("## Scaling")
    w("")
    w("Growth must be linear or better: the per-child (per-level) cost must not climb with size.")
    w("")
    w("### With the number of children (spawn N yielding children, join)")
    w("")
    w("| children | raw | Corral | ratio | raw per child | Corral per child | Corral B per child |")
    w("|---:|---:|---:|---:|---:|---:|---:|")
    prev = None
    growth = []
    for n in (10, 100, 1_000, 10_000, 100_000, 1_000_000):
        raw, cor = get("ScalingChildren", "Raw", f"Children={n}"), get("ScalingChildren", "Corral", f"Children={n}")
        if raw and cor:
            w(f"| {n:,} | {fmt_ns(raw['ns'])} | {fmt_ns(cor['ns'])} | {cor['ns'] / raw['ns']:.2f}× | {fmt_ns(raw['ns'] / n)} | "
              f"{fmt_ns(cor['ns'] / n)} | {cor['bytes'] / n:,.1f} |")
            if prev:
                growth.append((prev[0], n, (cor['ns'] / n) / (prev[1] / prev[0]), (raw['ns'] / n) / (prev[2] / prev[0])))
            prev = (n, cor['ns'], raw['ns'])
    if growth:
        worst = max(growth, key=lambda g: g[2])
        w("")
        w(f"Worst step in Corral's per-child cost: ×{worst[2]:.2f} from {worst[0]:,} to {worst[1]:,} children, where raw's "
          f"per-child cost moved ×{worst[3]:.2f}: {linearity(worst)}.")
    w("")
    w("### With nesting depth (D nested scopes, each reading its token)")
    w("")
    w("| depth | raw (linked CTS per level) | Corral | ratio | raw per level | Corral per level | Corral B per level |")
    w("|---:|---:|---:|---:|---:|---:|---:|")
    prev = None
    growth = []
    for d in (1, 10, 100, 1_000, 10_000):
        raw, cor = get("ScalingDepth", "Raw", f"Depth={d}"), get("ScalingDepth", "Corral", f"Depth={d}")
        if raw and cor:
            w(f"| {d:,} | {fmt_ns(raw['ns'])} | {fmt_ns(cor['ns'])} | {cor['ns'] / raw['ns']:.2f}× | {fmt_ns(raw['ns'] / d)} | "
              f"{fmt_ns(cor['ns'] / d)} | {cor['bytes'] / d:,.1f} |")
            if prev:
                growth.append((prev[0], d, (cor['ns'] / d) / (prev[1] / prev[0]), (raw['ns'] / d) / (prev[2] / prev[0])))
            prev = (d, cor['ns'], raw['ns'])
    if growth:
        worst = max(growth, key=lambda g: g[2])
        w("")
        w(f"Worst step in Corral's per-level cost: ×{worst[2]:.2f} from depth {worst[0]:,} to {worst[1]:,}, where raw's "
          f"per-level cost moved ×{worst[3]:.2f}: {linearity(worst)}.")
    w("")

    # ------------------------------------------------------------------------------------------------------- python
    py_path = os.path.join(results_dir, "python-compare.json")
    if os.path.exists(py_path):
        with open(py_path, encoding="utf-8") as f:
            py = json.load(f)
        n = py["n"]
        w("## For perspective: trio and asyncio")
        w("")
        w(f"`bench/python/compare.py`, run with Debian's `{py['executable']}` (Python {py['python']}, Debian's `python3-trio` "
          f"{py['trio']}); median of {py['repeats']} runs, `time.perf_counter`. The same work at N = {n:,}: spawn N "
          "children that yield once and join them (`trio.sleep(0)` / `asyncio.sleep(0)` against `Task.Yield()`); and "
          "cancel N parked children until the group returns (starting them is not timed, on either side).")
        w("")
        spawn = get("ScalingChildren", "Corral", f"Children={n}")
        spawn_raw = get("ScalingChildren", "Raw", f"Children={n}")
        cancel = get("CancelGroup", "Corral") if n == 100_000 else None
        cancel_raw = get("CancelGroup", "Raw") if n == 100_000 else None
        w("| work | Corral | raw .NET | trio | asyncio | trio / Corral | asyncio / Corral |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        for label, cor, rawr, tkey, akey in (
                (f"spawn and join {n:,}", spawn, spawn_raw, "trio_spawn_join", "asyncio_spawn_join"),
                (f"cancel {n:,} waiting", cancel, cancel_raw, "trio_cancel", "asyncio_cancel")):
            t, a = py[tkey]["median_s"] * 1e9, py[akey]["median_s"] * 1e9
            if cor:
                w(f"| {label} | {fmt_ns(cor['ns'])} | {fmt_ns(rawr['ns']) if rawr else '—'} | {fmt_ns(t)} | {fmt_ns(a)} | "
                  f"{t / cor['ns']:.1f}× | {a / cor['ns']:.1f}× |")
        w("")
        w("Python runs single-threaded on one core; .NET's pool uses both. The Python figures were taken right after the "
          "BenchmarkDotNet suite, in the same `bench/run.sh`.")
        w("")

    # -------------------------------------------------------------------------------------------------------- sizes
    sizes_path = os.path.join(results_dir, "sizes.txt")
    if os.path.exists(sizes_path):
        with open(sizes_path, encoding="utf-8") as f:
            sizes = f.read().strip()
        w("## What a child and a scope are made of")
        w("")
        w("Instance sizes measured in-process (`--sizes`: allocate 10,000 uninitialised instances of each type, divide the "
          "allocated bytes); these are the objects the allocation figures above add up from.")
        w("")
        w(sizes)
        w("")

    for line in dashboard_section(get, written, args.command):
        w(line)

    # ------------------------------------------------------------------------------------------------- all results
    w("## Every measurement")
    w("")
    w("| class | method | params | time | launches | allocated |")
    w("|---|---|---|---:|---|---:|")
    for (cls, method, params), r in sorted(bdn.items()):
        launches = ", ".join(fmt_ns(x) for x in r["launches"]) if len(r["launches"]) > 1 else ""
        w(f"| {cls} | {method} | {params} | {fmt_ns(r['ns'])} | {launches} | {fmt_bytes(r['bytes'])} |")
    w("")

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
