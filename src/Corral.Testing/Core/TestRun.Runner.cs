// The run as the ContinuationRunner of its scheduler thread: Corral's own continuations come back to the run (TestRun.cs,
// point 2; ADR 0022; Corral's Core/Continuations.cs).
//
// INVARIANTS.
//   * Only the scheduler thread has this run as its runner: ThreadMain sets it before the body starts and clears it
//     before End, so OnCompleted always runs on the scheduler thread.
//   * A continuation taken here runs exactly once: while the run lasts on the scheduler thread, after it on the thread
//     pool (RunTaskScheduler hands leftovers there).
//   * It runs as a pool thread would run it: no SynchronizationContext, the scheduler hidden, no ExecutionContext flowed.
//   * It never runs inside its own registration (the runner's contract, as the runtime's own await): CorralContinuation
//     queues it to the run when the race below would run it there.
//
// THE RACE, CASE BY CASE: the registration against the task's completion (written out by OnCompleted).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral.Testing.Core;

internal sealed partial class TestRun
{
    /// <summary>
    /// Corral's continuations registered on a task queued or running on another thread, until they reach the run
    /// (<see cref="HoldsTaskRunningElsewhereLocked"/>). Guarded by <see cref="_gate"/>.
    /// </summary>
    private readonly List<CorralContinuation> _runningElsewhere = new();

    /// <summary>Runs a continuation of Corral's (see <see cref="OnCompleted"/>): the state is the run and the continuation.</summary>
    private static readonly Action<Task, object?> s_runCorralContinuation =
        static (_, state) => ((CorralContinuation)state!).Run();

    /// <summary>
    /// Takes a continuation of Corral's registered on the scheduler thread (<see cref="Continuations"/>): it runs on this
    /// thread as a thread-pool thread would run it, inline when <paramref name="task"/> completes here, queued to the run
    /// (and so seen by it) when it completes on another thread or has already completed.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>A continuation task of <see cref="RunTaskScheduler"/>, which inlines only on the scheduler thread; with
    /// <see cref="TaskContinuationOptions.HideScheduler"/>, and <see cref="CorralContinuation.Run"/> takes the context off the
    /// thread, so the code it runs sees neither: the user's continuations it completes are posted back to the run, as when a
    /// pool thread completes them, and ConfigureAwait(false) ones run inline, here.</item>
    /// <item>No ExecutionContext flows into it (Corral registers these with UnsafeOnCompleted).</item>
    /// <item>After the run ended, RunTaskScheduler hands it to the thread pool: it still runs, once.</item>
    /// </list>
    /// The cases of the race between the registration and the task's completion:
    /// 1. completed before the look: registered without ExecuteSynchronously, so the runtime queues it to the run;
    /// 2. completes on another thread after the look, before ContinueWith: the runtime runs it inside ContinueWith, here;
    ///    <see cref="CorralContinuation.Run"/> sees it is not registered yet and queues it to the run (never inline in the
    ///    registration, as the runtime's own await);
    /// 3. completes on another thread after ContinueWith: RunTaskScheduler refuses to inline off the scheduler thread, so
    ///    it is queued to the run, which is busy from that moment (Enqueue bumps the activity);
    /// 4. completes on the scheduler thread later: it runs inline there, inside the work that completed the task, as on
    ///    the pool thread that would have completed it outside a run.
    /// </remarks>
    internal override void OnCompleted(Task task, Action continuation)
    {
        // INVARIANT: only the scheduler thread has this run as its runner (ThreadMain sets it, and clears it before End).
        Debug.Assert(IsSchedulerThread, "a run takes only the continuations registered on its own thread");
        var options = task.IsCompleted
            ? TaskContinuationOptions.HideScheduler
            : TaskContinuationOptions.HideScheduler | TaskContinuationOptions.ExecuteSynchronously;

        // A delegate task queued or running on another thread (Task.Run, StartNew): it is the run's work until its
        // continuation reaches the run, whether or not its thread carries the run's context (RunningElsewhere's cases).
        var runningElsewhere = task.Status is TaskStatus.WaitingToRun or TaskStatus.Running or TaskStatus.WaitingForChildrenToComplete;
        var corral = new CorralContinuation(this, continuation);
        var flow = ExecutionContext.IsFlowSuppressed() ? default(AsyncFlowControl?) : ExecutionContext.SuppressFlow();
        try
        {
            _ = task.ContinueWith(s_runCorralContinuation, corral, CancellationToken.None, options, Scheduler);
        }
        finally
        {
            flow?.Undo();
        }

        corral.Registered = true;
        if (runningElsewhere)
        {
            lock (_gate)
            {
                if (!corral.Settled)
                {
                    _runningElsewhere.Add(corral);
                }
            }
        }
    }

    /// <summary>
    /// Whether a task that Corral's code waits on still runs elsewhere, its continuation not yet in the run: the run is not
    /// quiet. Drops the entries whose continuation has reached the run. Under <see cref="_gate"/>, on the scheduler thread.
    /// </summary>
    /// <remarks>
    /// The cases, for a continuation registered on a delegate task that was queued or running at registration:
    /// 1. the task completes on another thread: the continuation is queued to the run (Enqueue), which marks it settled in
    ///    the same lock as it adds it to the ready queue, so OnIdle sees it held or ready, never neither;
    /// 2. the task completes on the scheduler thread (inlined by a synchronous wait there): the continuation runs inline,
    ///    and Run marks it settled, on the scheduler thread, before OnIdle can look again;
    /// 3. the task completes between the status read and the registration: the continuation is queued (case 1) before
    ///    the entry is added, and the entry is not added (it is settled);
    /// 4. the task never completes (a delegate blocked for ever, a scheduler that never runs it): the run is never quiet and
    ///    the safety timeout reports it, as for a thread blocked in the run's context.
    /// This closes the exit window of TestRun.ForeignThreads.cs for the tasks Corral itself waits on (a scope's or a child's
    /// body that returns the Task.Run task); a user's own await of Task.Run is registered through the run's
    /// SynchronizationContext, where the run cannot see the task, and keeps the window.
    /// </remarks>
    internal bool HoldsTaskRunningElsewhereLocked()
    {
        Debug.Assert(Monitor.IsEntered(_gate), "under the lock");
        _runningElsewhere.RemoveAll(static c => c.Settled);
        return _runningElsewhere.Count > 0;
    }

    /// <summary>
    /// Runs a continuation of Corral's as a thread-pool thread would: with no SynchronizationContext (the continuation task's
    /// <see cref="TaskContinuationOptions.HideScheduler"/> hides the scheduler), so a user's continuation it completes is
    /// posted back to the run and a ConfigureAwait(false) one runs inline, here. Corral's continuations do not throw; one
    /// that did fails the run, as it would crash a process from the thread pool.
    /// </summary>
    internal void RunCorralContinuation(Action continuation)
    {
        var context = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            continuation();
        }
        catch (Exception e)
        {
            Fail(e, cancelRoot: true);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(context);
        }
    }
}
