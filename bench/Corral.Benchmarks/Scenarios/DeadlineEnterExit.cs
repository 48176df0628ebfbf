using System;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>Enter and exit a scope with a five-minute deadline that never fires.</summary>
/// <remarks>Goal: at most 1.0x the raw time and bytes.</remarks>
public class DeadlineEnterExit
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(5);

    [Benchmark(Baseline = true, Description = "new CTS + CancelAfter(5 min) + Dispose")]
    public void Raw()
    {
        using var cts = new CancellationTokenSource();
        cts.CancelAfter(s_timeout);
    }

    [Benchmark(Description = "CancelScope.MoveOnAfterAsync(5 min, _ => Task.CompletedTask)")]
    public Task<bool> Corral() => CancelScope.MoveOnAfterAsync(s_timeout, static _ => Task.CompletedTask);
}
