using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>A checkpoint that finds no cancellation, 1,000 per invocation (the scope around them is amortised).</summary>
/// <remarks>
/// Goal (issue 18): at most 1.2x an <see cref="AsyncLocal{T}"/> read measured in the same run (<see cref="AsyncLocalRead"/>:
/// the floor of an ambient scope, whose every checkpoint must find the scope it runs in), and 0 B.
/// </remarks>
public class Checkpoint
{
    public const int Checkpoints = 1_000;

    private static readonly CancellationTokenSource s_cts = new();
    private static readonly AsyncLocal<object?> s_local = new();
    private static readonly object s_marker = new();

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

    [Benchmark(OperationsPerInvoke = Checkpoints, Description = "AsyncLocal read, one value set (the floor of an ambient checkpoint)")]
    public Task AsyncLocalRead() => ReadLocalAsync();

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

    /// <summary>The same loop as <see cref="Corral"/>'s with an AsyncLocal read for the checkpoint, in an async method whose
    /// context holds one value (as a scope's does).</summary>
    private static async Task ReadLocalAsync()
    {
        s_local.Value = s_marker;
        for (var i = 0; i < Checkpoints; i++)
        {
            if (s_local.Value is null)
            {
                return;
            }
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    private static readonly System.Func<CancellationToken, Task> s_checkpoints = static async _ =>
    {
        for (var i = 0; i < Checkpoints; i++)
        {
            await CancelScope.CheckpointAsync().ConfigureAwait(false);
        }
    };
}
