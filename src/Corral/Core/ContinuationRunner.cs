using System;
using System.Threading.Tasks;

namespace Corral.Core;

/// <summary>
/// Runs Corral's own continuations registered on one thread (see <see cref="Continuations"/>): Corral.Testing's run, which
/// must see every continuation of its code to know when every task waits.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A runner runs each continuation once, on its thread, as a thread-pool thread would run a ConfigureAwait(false)
/// continuation: no SynchronizationContext, no TaskScheduler, no ExecutionContext of its own.</item>
/// <item>It never runs one inside <see cref="OnCompleted"/> itself when the task has already completed (as the runtime
/// never does): it queues it.</item>
/// </list>
/// </remarks>
internal abstract class ContinuationRunner
{
    /// <summary>Registers <paramref name="continuation"/> to run on this runner's thread once <paramref name="task"/> completes.</summary>
    internal abstract void OnCompleted(Task task, Action continuation);

    /// <summary>Returns a task with <paramref name="task"/>'s outcome (the same exceptions, the same cancellation) that
    /// completes on this runner's thread; <paramref name="task"/> itself when it is null or has completed.</summary>
    internal Task Observe(Task task)
    {
        if (task is null || task.IsCompleted)
        {
            return task!;
        }

        // Unwrap completes its proxy from the inner task without rethrowing anything: the outcome is copied, not re-raised.
        var outer = new TaskCompletionSource<Task>();
        OnCompleted(task, () => outer.SetResult(task));
        return outer.Task.Unwrap();
    }

    /// <inheritdoc cref="Observe(Task)"/>
    internal Task<T> Observe<T>(Task<T> task)
    {
        if (task is null || task.IsCompleted)
        {
            return task!;
        }

        var outer = new TaskCompletionSource<Task<T>>();
        OnCompleted(task, () => outer.SetResult(task));
        return outer.Task.Unwrap();
    }
}
