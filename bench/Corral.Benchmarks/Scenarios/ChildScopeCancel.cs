using System;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;

namespace Corral.Benchmarks;

/// <summary>
/// 100 child scopes under one parent; each reads its token, registers a callback and waits on the token; the parent cancels
/// and every child observes it (one OperationCanceledException per child on both sides).
/// </summary>
/// <remarks>Goal: at most 0.6x the raw time and 0.75x the raw bytes.</remarks>
public class ChildScopeCancel
{
    public const int Children = 100;

    /// <summary>The Corral child: a nested scope whose token is used.</summary>
    private static readonly Func<CancelScope, Task> s_child = static async scope =>
    {
        var token = scope.Token;
        using var registration = token.Register(Work.NoOpCallback, null);
        await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
    };

    [Benchmark(Baseline = true, Description = "linked CTS + Register per child, parent Cancel")]
    public async Task Raw()
    {
        using var parent = new CancellationTokenSource();
        var tasks = new Task[Children];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = RawChildAsync(parent.Token);
        }

        parent.Cancel();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    [Benchmark(Description = "nested CancelScope.RunAsync, .Token + Register, parent Cancel")]
    public Task Corral() => CancelScope.RunAsync(static parent =>
    {
        var tasks = new Task[Children];
        for (var i = 0; i < tasks.Length; i++)
        {
            tasks[i] = CancelScope.RunAsync(s_child);
        }

        parent.Cancel();
        return Task.WhenAll(tasks); // the parent scope absorbs its own cancellation: no catch needed
    });

    private static async Task RawChildAsync(CancellationToken parentToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(parentToken);
        var token = linked.Token;
        using var registration = token.Register(Work.NoOpCallback, null);
        await Task.Delay(Timeout.Infinite, token).ConfigureAwait(false);
    }
}
