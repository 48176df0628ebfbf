using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>Enter and exit a cancel scope (and a shield) whose body completes at once.</summary>
/// <remarks>Goal: at most 3x the raw time; at most 48 B for a scope, 0 B for a shield.</remarks>
public class ScopeEnterExit
{
    [Benchmark(Baseline = true, Description = "new CancellationTokenSource() + Dispose")]
    public void Raw()
    {
        var cts = new CancellationTokenSource();
        cts.Dispose();
    }

    [Benchmark(Description = "CancelScope.RunAsync(_ => Task.CompletedTask)")]
    public Task Corral() => CancelScope.RunAsync(static _ => Task.CompletedTask);

    [Benchmark(Description = "CancelScope.ShieldAsync(_ => Task.CompletedTask)")]
    public Task CorralShield() => CancelScope.ShieldAsync(static _ => Task.CompletedTask);
}
