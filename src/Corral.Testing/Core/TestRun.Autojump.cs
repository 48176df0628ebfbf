// What a quiet run does (TestRun.cs, point 3): wake the WaitAllTasksBlockedAsync waiters, jump the clock, or call a
// deadlock.
//
// INVARIANTS.
//   * Time never moves, and no waiter is woken, unless every look of one quiet moment agreed: nothing ready, no due timer,
//     no other thread in the run's code, no task Corral waits on running
//     elsewhere (TestRun.Runner.cs), the pool past the run's marker (TestRun.PoolWork.cs), and the activity count
//     unchanged since the moment began (epoch). Anything that bumps the activity between the looks starts over.
//   * Quiet time is real time since the last activity (_lastActivityStamp); nothing happens before AutojumpThreshold, or
//     the smallest waiter's cushion when there are waiters, has passed.
//   * Waiters take priority over the clock (trio's): while one waits the clock does not jump; the waiters with the
//     smallest cushion are woken together, in the order they began to wait.
//   * A deadlock is reported only with no waiter and no armed timer; while the run is already failing, a quiet run with
//     nothing to jump to ends the loop instead (its unwinding is stuck).
//   * _waiters is guarded by _gate; _jumps is written by the scheduler thread only and read by reports.
//
// THE RACES, CASE BY CASE: written by OnIdle (the order of its looks) and by WaitAllTasksBlockedAsync (a waiter's
// cancellation against its wake-up: whichever completes the waiter's task first wins; the other is a no-op).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Testing.Core;

internal sealed partial class TestRun
{
    /// <summary>The tasks of <see cref="WaitAllTasksBlockedAsync"/>, woken smallest cushion first. Guarded by <see cref="_gate"/>.</summary>
    private readonly List<IdleWaiter> _waiters = new();

    /// <summary>How many times the clock jumped. Written by the scheduler thread only.</summary>
    private int _jumps;

    /// <summary>Registers a waiter of <see cref="CorralTest.WaitAllTasksBlockedAsync(TimeSpan)"/>.</summary>
    internal Task WaitAllTasksBlockedAsync(TimeSpan cushion, CancellationToken cancellationToken)
    {
        var waiter = new IdleWaiter(cushion);
        lock (_gate)
        {
            if (_state == RunState.Ended)
            {
                throw new InvalidOperationException(
                    "CorralTest.WaitAllTasksBlockedAsync was called after its run ended; call it from inside the run's body.");
            }

            _waiters.Add(waiter);
            BumpLocked();
        }

        if (cancellationToken.CanBeCanceled)
        {
            waiter.Registration = cancellationToken.UnsafeRegister(
                static (s, token) =>
                {
                    var (run, w) = ((TestRun, IdleWaiter))s!;
                    lock (run._gate)
                    {
                        run._waiters.Remove(w);
                        run.BumpLocked();
                    }

                    w.Completion.TrySetCanceled(token);
                },
                (this, waiter));
        }

        return waiter.Completion.Task;
    }

    /// <summary>
    /// Nothing was ready to run. Decides what quiet means now: wait for other threads, wake waiters, jump the clock, or
    /// report a deadlock. Returns false when the loop must end.
    /// </summary>
    /// <remarks>
    /// The cases are: 1. another thread runs the run's code: wait for it; 2. the thread pool's queue may still hold work the
    /// run queued (<see cref="PoolMayHoldRunWork"/>): wait for it to move on; 3. something changed during
    /// the checks (a post, a thread entering): look again; 4. quiet for less than the waiters' cushion or the threshold:
    /// wait the rest; 5. waiters: wake those with the smallest cushion; 6. a timer is armed: jump to it; 7. none of these:
    /// deadlock (or, while failing, the unwinding is stuck: end).
    /// </remarks>
    private bool OnIdle()
    {
        long epoch;
        lock (_gate)
        {
            if (_ready.Count > 0)
            {
                return true;
            }

            if (_foreignThreads > 0 || HoldsTaskRunningElsewhereLocked())
            {
                // Their leaving bumps the activity and pulses; so does the continuation of a task that ran elsewhere, queued.
                WaitLocked(TimeSpan.FromMilliseconds(100));
                return true;
            }

            epoch = _activity;
        }

        if (Clock.HasDueTimer)
        {
            return true;
        }

        if (PoolMayHoldRunWork(epoch))
        {
            // Perhaps work of the run's that no pool thread has taken yet. Not activity: the quiet moment goes on.
            lock (_gate)
            {
                if (_activity == epoch)
                {
                    WaitLocked(TimeSpan.FromMilliseconds(1));
                }
            }

            return true;
        }

        // The instants when no count shows a pool thread that holds work of the run's (it has taken an item and not yet
        // entered the run's context; it has left the context of a Task.Run delegate and not yet completed its task:
        // TestRun.ForeignThreads.cs) are narrowed by a yield and a second look, not closed; the second is closed for the
        // delegate tasks Corral's own code waits on (HoldsTaskRunningElsewhereLocked).
        Thread.Yield();
        TimeSpan? cushion = null;
        lock (_gate)
        {
            if (_activity != epoch || _ready.Count > 0 || _foreignThreads > 0 || HoldsTaskRunningElsewhereLocked())
            {
                return true;
            }

            foreach (var waiter in _waiters)
            {
                if (cushion is null || waiter.Cushion < cushion)
                {
                    cushion = waiter.Cushion;
                }
            }
        }

        if (PoolMayHoldRunWork(epoch))
        {
            return true;
        }

        var quiet = Stopwatch.GetElapsedTime(_lastActivityStamp);
        var needed = cushion ?? _threshold;
        if (quiet < needed)
        {
            lock (_gate)
            {
                if (_activity == epoch)
                {
                    WaitLocked(needed - quiet);
                }
            }

            return true;
        }

        if (cushion is { } smallest)
        {
            WakeWaiters(smallest);
            return true;
        }

        if (Clock.TryGetNextDue(out _))
        {
            RunTimers(static r => r.Clock.JumpToNextTimer());
            _jumps++;
            return true;
        }

        if (IsFailing())
        {
            // The unwinding of a failed run is itself stuck: nothing more will happen.
            return false;
        }

        FailWithReport(CorralTestFailureKind.Deadlock, static (run, tree) => RunReports.Deadlock(run, tree));
        return true;
    }

    private void WakeWaiters(TimeSpan cushion)
    {
        var woken = new List<IdleWaiter>();
        lock (_gate)
        {
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Cushion == cushion)
                {
                    woken.Add(_waiters[i]);
                    _waiters.RemoveAt(i);
                }
            }

            BumpLocked();
        }

        for (var i = woken.Count - 1; i >= 0; i--)
        {
            woken[i].Registration.Dispose();
            woken[i].Completion.TrySetResult();
        }
    }
}
