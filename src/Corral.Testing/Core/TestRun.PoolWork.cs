// The run's work waiting in the thread pool's queue (TestRun.cs, point 2): a bounded guess, the only one left (ADR 0022).
//
// Work the run's code hands to the pool (Task.Run, a ConfigureAwait(false) continuation that completed on the scheduler
// thread) is counted once a pool thread runs it (TestRun.ForeignThreads.cs), not while it waits in the queue; nothing shows
// it there but ThreadPool.PendingWorkItemCount, which is process-wide. So a quiet run with a backlog in the pool queues a
// PoolMarker behind it and holds its clock until a pool thread has taken the marker: the global queue is first in, first
// out, so by then every item queued there before it was taken too.
//
// INVARIANTS.
//   * One marker per quiet moment: a marker answers for the activity count (epoch) it was queued at; any activity starts
//     a new moment, and the next hold queues a new marker.
//   * A marker's run is not activity (PoolMarker.Run calls Wake, not a bump): it ends a hold, it does not make the run
//     busy.
//   * A hold lasts at most PoolWaitLimit from the marker's queueing: a pool starved by someone else delays each jump by
//     that much, never for ever.
//   * _marker is touched by the scheduler thread only.
//
// THE CASES (PoolMayHoldRunWork) and the windows it leaves open are written by the method.
using System;
using System.Diagnostics;
using System.Threading;

namespace Corral.Testing.Core;

internal sealed partial class TestRun
{
    /// <summary>The longest a quiet run waits for the thread pool's queue to move past its <see cref="PoolMarker"/>: work the
    /// run's code queued there (Task.Run, a ConfigureAwait(false) continuation) waits in that queue unseen.</summary>
    internal static readonly TimeSpan PoolWaitLimit = TimeSpan.FromSeconds(1);

    /// <summary>The marker queued for the current quiet moment, if the pool had a backlog then. Scheduler thread only.</summary>
    private PoolMarker? _marker;

    /// <summary>
    /// Whether the thread pool's queue may still hold work the run's code queued before this quiet moment
    /// (<paramref name="epoch"/>): the queue is not empty, and the <see cref="PoolMarker"/> queued behind it when the moment
    /// began has not been taken yet, for at most <see cref="PoolWaitLimit"/>.
    /// </summary>
    /// <remarks>
    /// Corral's own continuations never go to the pool (<see cref="OnCompleted"/>); what does is work the run's code hands to
    /// it: a <c>Task.Run</c>, or a ConfigureAwait(false) continuation that completed on the scheduler thread (the runtime never
    /// inlines one on a thread with a SynchronizationContext) — user code's, or a library's, such as SemaphoreSlim's
    /// <c>WaitAsync</c> with a token. Such work is seen once a pool thread runs it (its ExecutionContext is the run's,
    /// <see cref="OnCurrentChanged"/>), not while it waits in the queue. The cases are:
    /// 1. the queue is empty: everything queued before was taken, and what runs is counted: not held;
    /// 2. a marker for this moment has run: everything queued to the global queue before it was taken: not held;
    /// 3. otherwise, queue the marker (once per moment) and hold, until it runs or <see cref="PoolWaitLimit"/> passes: a pool
    ///    starved by someone else (another test blocking its threads) delays each jump by that much, and work of the run's
    ///    still queued after it is missed (documented; raise <see cref="CorralTestOptions.AutojumpThreshold"/>).
    /// Work queued by a pool thread goes to that thread's own queue, which the marker does not order; the thread runs it next.
    /// The race left open: a pool thread that has taken the run's item before the marker but has not yet entered the run's
    /// context (preempted between the dequeue and the context switch) is counted by nobody while another thread runs the
    /// marker; the yield and second look in <see cref="OnIdle"/> narrow that window, they do not close it (nor the exit
    /// window at the other end of a Task.Run delegate, TestRun.ForeignThreads.cs). Hence "guess" in
    /// docs/concepts/testing.md: only Corral's own continuations (<see cref="OnCompleted"/>) are exact.
    /// </remarks>
    private bool PoolMayHoldRunWork(long epoch)
    {
        if (ThreadPool.PendingWorkItemCount == 0)
        {
            return false;
        }

        var marker = _marker;
        if (marker is null || marker.Epoch != epoch)
        {
            marker = _marker = new PoolMarker(this, epoch, Stopwatch.GetTimestamp());
            marker.Queue();
            return true;
        }

        var hold = !marker.HasRun && Stopwatch.GetElapsedTime(marker.QueuedAt) < PoolWaitLimit;
        return hold;
    }
}
