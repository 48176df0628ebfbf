using System;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>
/// How entering and leaving nested scopes grows with depth, 1 to 10,000: every level reads its token (so each level has a
/// live token source), the innermost awaits <see cref="Task.Yield"/> (so every level really suspends, as under real work,
/// whatever the depth), and the chain unwinds. It must stay linear.
/// </summary>
/// <remarks>Both sides yield only when the stack runs low (<see cref="Work.YieldIfStackLowAsync"/>), the same way.</remarks>
public class ScalingDepth
{
    /// <summary>Levels still to open in the current chain (invocations run one at a time).</summary>
    private static int s_remaining;

    private static readonly Func<CancelScope, Task> s_level = static async scope =>
    {
        _ = scope.Token;
        if (--s_remaining > 0)
        {
            await Work.YieldIfStackLowAsync().ConfigureAwait(false);
            await CancelScope.RunAsync(s_level!).ConfigureAwait(false);
        }
        else
        {
            await Task.Yield();
        }
    };

    private static readonly CancellationTokenSource s_root = new();

    [Params(1, 10, 100, 1_000, 10_000)]
    public int Depth { get; set; }

    [Benchmark(Baseline = true, Description = "nested linked CTS (CreateLinkedTokenSource per level)")]
    public Task Raw() => RawLevelAsync(Depth, s_root.Token);

    [Benchmark(Description = "nested CancelScope.RunAsync, .Token read per level")]
    public Task Corral()
    {
        s_remaining = Depth;
        return CancelScope.RunAsync(s_level);
    }

    private static async Task RawLevelAsync(int remaining, CancellationToken parent)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(parent);
        _ = cts.Token;
        if (remaining > 1)
        {
            await Work.YieldIfStackLowAsync().ConfigureAwait(false);
            await RawLevelAsync(remaining - 1, cts.Token).ConfigureAwait(false);
        }
        else
        {
            await Task.Yield();
        }
    }
}
