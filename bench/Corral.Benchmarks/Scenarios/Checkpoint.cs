using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>A checkpoint that finds no cancellation, 1,000 per invocation (the scope around them is amortised).</summary>
/// <remarks>Goal: at most 5 ns and 0 B per checkpoint.</remarks>
public class Checkpoint
{
    public const int Checkpoints = 1_000;

    private static readonly CancellationTokenSource s_cts = new();

    [Benchmark(Baseline = true, OperationsPerInvoke = Checkpoints, Description = "token.IsCancellationRequested")]
    public bool Raw()
    {
        var token = s_cts.Token;
        for (var i = 0; i < Checkpoints; i++)
        {
            if (token.IsCancellationRequested)
            {
                return false;
            }
        }

        return true;
    }

    [Benchmark(OperationsPerInvoke = Checkpoints, Description = "await CancelScope.CheckpointAsync() in a scope")]
    public Task Corral() => CancelScope.RunAsync(static async _ =>
    {
        for (var i = 0; i < Checkpoints; i++)
        {
            await CancelScope.CheckpointAsync().ConfigureAwait(false);
        }
    });

    [Benchmark(OperationsPerInvoke = Checkpoints, Description = "CancelScope.ThrowIfCancelled() in a scope")]
    public Task CorralSync() => CancelScope.RunAsync(static _ =>
    {
        for (var i = 0; i < Checkpoints; i++)
        {
            CancelScope.ThrowIfCancelled();
        }

        return Task.CompletedTask;
    });

    [Benchmark(OperationsPerInvoke = Checkpoints, Description = "await CancelScope.CheckpointAsync() in a group child")]
    public Task CorralInChild() => TaskGroup.RunAsync(static group =>
    {
        group.Start(s_checkpoints);
        return Task.CompletedTask;
    });

    private static readonly System.Func<CancellationToken, Task> s_checkpoints = static async _ =>
    {
        for (var i = 0; i < Checkpoints; i++)
        {
            await CancelScope.CheckpointAsync().ConfigureAwait(false);
        }
    };
}
