using System.Threading;

namespace Corral.Testing.Core;

/// <summary>
/// A work item a quiet run queues to the thread pool's global queue, behind whatever waits there: the global queue is
/// first in, first out, so once a pool thread has taken the marker it has taken every item queued there before it — among
/// them any work the run's code queued (<see cref="TestRun"/>, <c>PoolMayHoldRunWork</c>).
/// </summary>
internal sealed class PoolMarker
{
    private readonly TestRun _run;
    private volatile bool _hasRun;

    internal PoolMarker(TestRun run, long epoch, long queuedAt)
    {
        _run = run;
        Epoch = epoch;
        QueuedAt = queuedAt;
    }

    /// <summary>Gets the run's activity count when the marker was queued: a marker answers for that quiet moment only.</summary>
    internal long Epoch { get; }

    /// <summary>Gets the Stopwatch timestamp when the marker was queued.</summary>
    internal long QueuedAt { get; }

    /// <summary>Gets a value indicating whether a pool thread has taken the marker.</summary>
    internal bool HasRun => _hasRun;

    /// <summary>Queues the marker (without the caller's ExecutionContext: it is no work of the run's).</summary>
    internal void Queue() => ThreadPool.UnsafeQueueUserWorkItem(static m => m.Run(), this, preferLocal: false);

    private void Run()
    {
        _hasRun = true;
        _run.Wake();
    }
}
