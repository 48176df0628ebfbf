using System;
using System.Diagnostics;
using System.Threading;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>
/// What the core's fast paths are built from, on this machine: the clock reads, an uncontended lock and an AsyncLocal read.
/// ADR 0011 and Core/DiagnosticClock.cs quote these rows (why diagnostic stamps use the millisecond tick, what a lock costs
/// against a token source). No goal: a calibration, with the precise clock read as the baseline.
/// </summary>
public class PrimitiveCosts
{
    private static readonly AsyncLocal<object?> s_local = new() { Value = new object() };
    private readonly object _gate = new();

    [Benchmark(Baseline = true, Description = "Stopwatch.GetTimestamp()")]
    public long PreciseTimestamp() => Stopwatch.GetTimestamp();

    [Benchmark(Description = "Environment.TickCount64 (DiagnosticClock on the system clock)")]
    public long TickCount() => Environment.TickCount64;

    [Benchmark(Description = "TimeProvider.System.GetUtcNow() (a deadline's clock read)")]
    public long UtcNow() => TimeProvider.System.GetUtcNow().UtcTicks;

    [Benchmark(Description = "uncontended lock enter and exit")]
    public int Lock()
    {
        lock (_gate)
        {
            return 1;
        }
    }

    [Benchmark(Description = "AsyncLocal read (the ambient scope)")]
    public object? AsyncLocalRead() => s_local.Value;
}
