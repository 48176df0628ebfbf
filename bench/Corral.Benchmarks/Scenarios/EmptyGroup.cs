using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>Open and close a group with no children.</summary>
/// <remarks>Goal: at most 2x the raw time, at most 128 B.</remarks>
public class EmptyGroup
{
    private static readonly AsyncLocal<object?> s_ambient = new();
    private static readonly object s_marker = new();

    [Benchmark(Baseline = true, Description = "new CTS + AsyncLocal set and restore + Dispose")]
    public void Raw()
    {
        using var cts = new CancellationTokenSource();
        var previous = s_ambient.Value;
        s_ambient.Value = s_marker;
        s_ambient.Value = previous;
    }

    [Benchmark(Description = "TaskGroup.RunAsync(_ => Task.CompletedTask)")]
    public Task Corral() => TaskGroup.RunAsync(static _ => Task.CompletedTask);
}
