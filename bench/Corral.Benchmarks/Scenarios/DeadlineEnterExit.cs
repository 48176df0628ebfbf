using System;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>Enter and exit a scope with a five-minute deadline that never fires.</summary>
/// <remarks>
/// Goal (issue 18): at most 1.5x the time and 1.0x the bytes of a token source with <c>CancelAfter</c>. The same with the
/// ambient value set and restored (the hand-written equivalent of an ambient deadline scope) is beside it for reference.
/// </remarks>
public class DeadlineEnterExit
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(5);
    private static readonly AsyncLocal<object?> s_ambient = new();
    private static readonly object s_marker = new();

    [Benchmark(Baseline = true, Description = "new CTS + CancelAfter(5 min) + Dispose")]
    public void Raw()
    {
        using var cts = new CancellationTokenSource();
        cts.CancelAfter(s_timeout);
    }

    [Benchmark(Description = "hand-written: new CTS + CancelAfter(5 min) + AsyncLocal set and restore + Dispose")]
    public void RawAmbient()
    {
        using var cts = new CancellationTokenSource();
        cts.CancelAfter(s_timeout);
        var previous = s_ambient.Value;
        s_ambient.Value = s_marker;
        s_ambient.Value = previous;
    }

    [Benchmark(Description = "CancelScope.MoveOnAfterAsync(5 min, _ => Task.CompletedTask)")]
    public Task<bool> Corral() => CancelScope.MoveOnAfterAsync(s_timeout, static _ => Task.CompletedTask);
}
