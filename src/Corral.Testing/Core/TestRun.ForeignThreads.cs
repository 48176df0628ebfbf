// The run's code on other threads (TestRun.cs, point 2): counted by its ExecutionContext.
//
// A static AsyncLocal (s_current) holds the run in every ExecutionContext that descends from the scheduler thread's: an
// async method's continuation on the pool, a Task.Run worker, a timer callback of the clock. Its change handler runs on
// every thread that switches into or out of such a context, and counts the threads other than the scheduler's.
//
// INVARIANTS.
//   * _foreignThreads is never negative: a thread leaves only a context it entered (the runtime notifies both).
//   * The scheduler thread is never counted: its context is the run's from ThreadMain on, and OnForeignThread skips it.
//   * Every entry and every exit bumps the activity under _gate, so the autojump decision's second look sees it.
//   * After each work item the loop waits, for at most s_settleLimit, until no other thread runs the run's code
//     (SettleForeignThreads): a run is single-threaded in effect, and a seed replays the same order.
//
// THE RACES, CASE BY CASE (what the count does not see).
//   1. Entry window: a pool thread has taken an item of the run's (Task.Run, a ConfigureAwait(false) continuation) and
//      has not entered the run's context yet. While the item is queued the marker covers it (TestRun.PoolWork.cs); between
//      the dequeue and the entry nobody counts it.
//   2. Exit window: for a delegate task (Task.Run, Task.Factory.StartNew on the default scheduler), the runtime leaves the
//      task's context when its delegate returns and only then completes the task (ExecutionContext.
//      RunFromThreadPoolDispatchLoop, then Task.Finish). Between the two the thread is counted by nobody, and what the
//      completion will queue to the run (Corral's continuation through the runner, a user's await posted to the run's
//      context) is not there yet.
//   Both windows are microseconds long unless the thread is preempted there (a loaded machine); the yield and second
//   look in OnIdle (TestRun.Autojump.cs) narrow them. The exit window is closed for a delegate task that Corral's own
//   code waits on (a scope's or a child's body that returns it): the run holds its clock until that task's continuation
//   reaches it (TestRun.Runner.cs, HoldsTaskRunningElsewhereLocked), which is what made
//   AutojumpTests.RunAsync_WorkerThreadRunsTheRunsCode_ClockHoldsStill fail now and then under load (a clean CI run,
//   2026-12-07: the clock at 1 ms). A user's own `await Task.Run(...)` keeps both windows.
//   3. A thread that enters and never leaves (blocked in a synchronous wait for the run): the run is never quiet; the
//      safety timeout reports it (TestRun.Watcher.cs), naming the count.
using System;
using System.Diagnostics;
using System.Threading;

namespace Corral.Testing.Core;

internal sealed partial class TestRun
{
    /// <summary>How long the loop waits after a work item for other threads running the run's code to finish.</summary>
    private static readonly TimeSpan s_settleLimit = TimeSpan.FromMilliseconds(20);

    /// <summary>The run whose code the current ExecutionContext belongs to; its handler counts other threads in a run.</summary>
    private static readonly AsyncLocal<TestRun?> s_current = new(OnCurrentChanged);

    /// <summary>Other threads running the run's code now. Guarded by <see cref="_gate"/>. INVARIANT: never negative.</summary>
    private int _foreignThreads;

    /// <summary>Gets the run whose code is running on this thread, or <see langword="null"/>.</summary>
    internal static TestRun? Current => s_current.Value;

    /// <summary>The handler of <see cref="s_current"/>: counts the threads other than the scheduler's that enter or leave a
    /// run's context.</summary>
    private static void OnCurrentChanged(AsyncLocalValueChangedArgs<TestRun?> args)
    {
        if (!args.ThreadContextChanged || ReferenceEquals(args.PreviousValue, args.CurrentValue))
        {
            // An explicit set: only the scheduler thread sets the value, when it starts.
            return;
        }

        args.PreviousValue?.OnForeignThread(-1);
        args.CurrentValue?.OnForeignThread(+1);
    }

    private void OnForeignThread(int delta)
    {
        if (Environment.CurrentManagedThreadId == _threadId)
        {
            return;
        }

        lock (_gate)
        {
            _foreignThreads += delta;
            Debug.Assert(_foreignThreads >= 0, "every thread leaves a context it entered");
            BumpLocked();
        }
    }

    /// <summary>
    /// Waits until no other thread runs the run's code: a work item may have sent a continuation to the thread pool (an
    /// async method's ConfigureAwait(false) continuation is queued there, in the run's context), and the next item must
    /// not race it. Keeps the run single-threaded in effect, so a seed replays the same order.
    /// </summary>
    /// <remarks>Bounded by <see cref="s_settleLimit"/>: a thread that runs longer is real concurrency the test chose (a
    /// Task.Run worker), which may itself wait for the next item.</remarks>
    private void SettleForeignThreads()
    {
        lock (_gate)
        {
            if (_foreignThreads == 0)
            {
                return;
            }

            var since = Stopwatch.GetTimestamp();
            while (_foreignThreads > 0 && !_abandoned && Stopwatch.GetElapsedTime(since) < s_settleLimit)
            {
                WaitLocked(s_settleLimit - Stopwatch.GetElapsedTime(since));
            }
        }
    }
}
