using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>Enter and exit a cancel scope (and a shield) whose body completes at once.</summary>
/// <remarks>
/// Goal (issue 18): at most 1.5x the time and 1.0x the bytes of the hand-written equivalent. A scope is ambient, so the
/// honest baseline includes the <see cref="AsyncLocal{T}"/> set and restore that a bare token source does not do: a new
/// token source, the ambient value set and put back, and Dispose (the same work as <see cref="EmptyGroup"/>'s baseline).
/// The bare token source stays beside it for reference.
/// </remarks>
public class ScopeEnterExit
{
    private static readonly AsyncLocal<object?> s_ambient = new();
    private static readonly object s_marker = new();

    [Benchmark(Baseline = true, Description = "hand-written: new CTS + AsyncLocal set and restore + Dispose")]
    public void Raw()
    {
        using var cts = new CancellationTokenSource();
        var previous = s_ambient.Value;
        s_ambient.Value = s_marker;
        s_ambient.Value = previous;
    }

    [Benchmark(Description = "new CancellationTokenSource() + Dispose (no ambient value)")]
    public void RawTokenSource()
    {
        var cts = new CancellationTokenSource();
        cts.Dispose();
    }

    [Benchmark(Description = "CancelScope.RunAsync(_ => Task.CompletedTask)")]
    public Task Corral() => CancelScope.RunAsync(static _ => Task.CompletedTask);

    [Benchmark(Description = "CancelScope.ShieldAsync(_ => Task.CompletedTask)")]
    public Task CorralShield() => CancelScope.ShieldAsync(static _ => Task.CompletedTask);
}
