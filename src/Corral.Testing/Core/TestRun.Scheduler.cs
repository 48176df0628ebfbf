// The scheduler thread and its ready queue (TestRun.cs, point 1).
//
// INVARIANTS.
//   * While the run lasts, every task of RunTaskScheduler runs on the scheduler thread: the loop runs the queued ones
//     (RunBatch), and the scheduler inlines only there (RunTaskScheduler.TryExecuteTaskInline).
//   * Batches: RunBatch takes the whole ready queue at once; what becomes ready while a batch runs waits for the next
//     batch. With a seed the batch is shuffled with the run's own generator, so the same seed and the same batches give
//     the same order.
//   * Every work item and every timer callback runs between two increments of _workItem, odd inside (the watcher reads it,
//     TestRun.Watcher.cs), is followed by SettleForeignThreads (TestRun.ForeignThreads.cs) and counts as activity (Bump).
//   * The loop's order each turn: leave (abandoned, the body's task ended, unwinding too long), due timers, a batch,
//     else the idle decision (TestRun.Autojump.cs). A due timer always runs before the next batch.
//
// THE RACE, CASE BY CASE: Enqueue (any thread) against End (the scheduler thread), both under _gate:
//   1. Enqueue first: the task joins _ready; the loop runs it, unless the run ends first (the body's task ended): then it
//      never runs on this thread. Work left behind by the body is not waited for (documented).
//   2. End first: the state is Ended, so Enqueue hands the task to the thread pool: it still runs, once, off the thread.
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral.Testing.Core;

internal sealed partial class TestRun
{
    /// <summary>Tasks ready to run, in the order they became ready. Guarded by <see cref="_gate"/>.</summary>
    private readonly List<Task> _ready = new();

    /// <summary>
    /// Incremented as the scheduler thread enters a work item or a timer callback (user code) and again as it leaves: odd
    /// while it is inside one, and a different value for each, so the watcher tells one long item from many short ones with
    /// one read. Written by the scheduler thread only.
    /// </summary>
    private long _workItem;

    // --- The scheduler thread's own. ---

    private CancelScope? _root;
    private Task? _bodyTask;

    /// <summary>Queues a task to run on the scheduler thread (from any thread).</summary>
    internal void Enqueue(Task task)
    {
        lock (_gate)
        {
            if (task.AsyncState is CorralContinuation corral)
            {
                // In the ready queue from now on, in the same lock: OnIdle never sees it neither held nor ready.
                corral.Settled = true;
            }

            if (_state != RunState.Ended)
            {
                _ready.Add(task);
                BumpLocked();
                return;
            }
        }

        // The run is over: nothing will ever turn its loop again. Run leftovers on the thread pool rather than lose them.
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Scheduler.Execute(s.Task), (Scheduler, Task: task), preferLocal: false);
    }

    private void ThreadMain()
    {
        SynchronizationContext.SetSynchronizationContext(Context);
        s_current.Value = this;
        Clock.DefaultContext = ExecutionContext.Capture();

        // Corral's own continuations registered on this thread come back to the run (OnCompleted), never to the pool.
        Continuations.SetRunner(this);
        try
        {
            _bodyTask = Task.Factory.StartNew(
                RunRootAsync, CancellationToken.None, TaskCreationOptions.DenyChildAttach, Scheduler).Unwrap();
            Loop();
        }
        catch (Exception e)
        {
            // The loop itself failed (a timer callback threw, or an interrupt meant for a blocked wait landed here).
            Fail(e, cancelRoot: false);
        }
        finally
        {
            Continuations.SetRunner(null);
            End();
        }
    }

    private Task RunRootAsync() =>
        CancelScope.RunAsync(
            scope =>
            {
                _root = scope;
                return InvokeBody(scope.Token);
            },
            new CancelScopeOptions { TimeProvider = Clock, Name = RootName });

    private Task InvokeBody(CancellationToken cancellationToken)
    {
        try
        {
            return _body(Clock, cancellationToken)
                ?? Task.FromException(new InvalidOperationException("The test body returned null instead of a Task."));
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    private void Loop()
    {
        while (true)
        {
            if (_abandoned || _bodyTask!.IsCompleted || UnwindingTooLong())
            {
                return;
            }

            if (Clock.HasDueTimer)
            {
                RunTimers(static r => r.Clock.FireDueTimers());
                continue;
            }

            if (RunBatch())
            {
                continue;
            }

            if (!OnIdle())
            {
                return;
            }
        }
    }

    /// <summary>Runs every task that was ready when the batch began; returns false when there was none.</summary>
    private bool RunBatch()
    {
        List<Task> batch;
        lock (_gate)
        {
            if (_ready.Count == 0)
            {
                return false;
            }

            batch = new List<Task>(_ready);
            _ready.Clear();
        }

        if (_random is { } random)
        {
            // Fisher–Yates with the seeded generator: the same seed and the same batches give the same order.
            for (var i = batch.Count - 1; i > 0; i--)
            {
                var j = random.Next(i + 1);
                (batch[i], batch[j]) = (batch[j], batch[i]);
            }
        }

        foreach (var task in batch)
        {
            if (_abandoned)
            {
                return true;
            }

            Interlocked.Increment(ref _workItem);
            try
            {
                Scheduler.Execute(task);
            }
            finally
            {
                Interlocked.Increment(ref _workItem);
            }

            SettleForeignThreads();
            if (task.AsyncState is PostedCallback && task.Exception is { } error)
            {
                // A callback posted to the context threw (an async void method, say): nobody else will ever see it.
                Fail(error.InnerExceptions.Count == 1 ? error.InnerExceptions[0] : error, cancelRoot: true);
            }
        }

        Bump();
        return true;
    }

    /// <summary>Runs user code outside a work item (timer callbacks), marked as such for the watcher.</summary>
    private void RunUserCode(Action<TestRun> action)
    {
        Interlocked.Increment(ref _workItem);
        try
        {
            action(this);
        }
        finally
        {
            Interlocked.Increment(ref _workItem);
        }

        SettleForeignThreads();
        Bump();
    }

    /// <summary>
    /// Fires timers with no SynchronizationContext on the thread, so the continuations they release that were registered
    /// with ConfigureAwait(false) (Task.Delay on the clock inside a library) run inline here, on the scheduler thread, in
    /// order, instead of being sent to the thread pool; continuations that captured the run's context are posted to it.
    /// </summary>
    private void RunTimers(Action<TestRun> fire)
    {
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            RunUserCode(fire);
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(Context);
        }
    }
}
