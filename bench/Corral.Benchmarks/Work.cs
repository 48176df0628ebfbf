using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Benchmarks;

/// <summary>The children every scenario runs, written once so a baseline and its Corral twin do exactly the same work.</summary>
internal static class Work
{
    /// <summary>A child that yields once: the unit of "spawn and join". Held in a field so no scenario allocates a delegate per child.</summary>
    public static readonly Func<CancellationToken, Task> YieldChild = YieldAsync;

    /// <summary>A child that completes at once: isolates the cost of getting a child onto the thread pool.</summary>
    public static readonly Func<CancellationToken, Task> CompletedChild = static _ => Task.CompletedTask;

    /// <summary><see cref="CompletedChild"/> in the shape <see cref="Task.Run(Func{Task})"/> takes.</summary>
    public static readonly Func<Task> CompletedRaw = static () => Task.CompletedTask;

    /// <summary>A child that waits on its token until cancelled, and lets the cancellation out (the group absorbs it).</summary>
    public static readonly Func<CancellationToken, Task> DelayForever = static ct => Task.Delay(Timeout.Infinite, ct);

    /// <summary>A child that sleeps on the ambient scope, the Corral idiom (a checkpoint).</summary>
    public static readonly Func<CancellationToken, Task> SleepForever = static _ => CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);

    /// <summary>A callback that does nothing: what "registering on a token" costs, without the work a real callback would do.</summary>
    public static readonly Action<object?> NoOpCallback = static _ => { };

    /// <summary>The raw child: awaits <see cref="Task.Yield"/> once.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static async Task YieldAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
    }

    /// <summary>The raw waiting child: waits until cancelled and catches the cancellation, as raw code must.</summary>
    public static async Task DelayCatchAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Yields only when the stack runs low, so nesting 10,000 deep does not overflow (the same in raw and Corral).</summary>
    public static ValueTask YieldIfStackLowAsync() =>
        RuntimeHelpers.TryEnsureSufficientExecutionStack() ? default : YieldNowAsync();

    private static async ValueTask YieldNowAsync() => await Task.Yield();
}
