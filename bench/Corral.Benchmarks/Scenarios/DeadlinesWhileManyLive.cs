using System;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>
/// Arm and disarm one more deadline while 100,000 others are live: 100,000 scopes with deadlines (spread over 10 to 30
/// minutes, so the measured one lands mid-queue) sit on a gate; the benchmark enters and exits one more, due in 20 minutes.
/// </summary>
/// <remarks>Goal: at most 0.5x the raw time, at most 100 B.</remarks>
public class DeadlinesWhileManyLive
{
    public const int Live = 100_000;

    private static readonly TimeSpan s_measured = TimeSpan.FromMinutes(20);

    private TaskCompletionSource? _gate;
    private Task[]? _liveScopes;
    private CancellationTokenSource[]? _liveSources;

    [GlobalSetup(Target = nameof(Raw))]
    public void SetupRaw()
    {
        var random = new Random(42);
        _liveSources = new CancellationTokenSource[Live];
        for (var i = 0; i < Live; i++)
        {
            _liveSources[i] = new CancellationTokenSource();
            _liveSources[i].CancelAfter(SpreadTimeout(random));
        }
    }

    [GlobalCleanup(Target = nameof(Raw))]
    public void CleanupRaw()
    {
        foreach (var cts in _liveSources!)
        {
            cts.Dispose();
        }
    }

    [GlobalSetup(Target = nameof(Corral))]
    public void SetupCorral()
    {
        var random = new Random(42);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _gate = gate;
        _liveScopes = new Task[Live];
        for (var i = 0; i < Live; i++)
        {
            _liveScopes[i] = CancelScope.MoveOnAfterAsync(SpreadTimeout(random), _ => gate.Task);
        }
    }

    [GlobalCleanup(Target = nameof(Corral))]
    public void CleanupCorral()
    {
        _gate!.SetResult();
        Task.WaitAll(_liveScopes!);
    }

    [Benchmark(Baseline = true, Description = "new CTS + CancelAfter + Dispose, 100,000 CTSs live")]
    public void Raw()
    {
        using var cts = new CancellationTokenSource();
        cts.CancelAfter(s_measured);
    }

    [Benchmark(Description = "MoveOnAfterAsync enter/exit, 100,000 deadline scopes live")]
    public Task<bool> Corral() => CancelScope.MoveOnAfterAsync(s_measured, static _ => Task.CompletedTask);

    private static TimeSpan SpreadTimeout(Random random) => TimeSpan.FromMinutes(10 + (20 * random.NextDouble()));
}
