// The watcher (TestRun.cs, point 4): a real timer on the thread pool that keeps a run from hanging.
//
// INVARIANTS.
//   * The watcher never runs user code and never carries the caller's or the run's ExecutionContext (Start creates its
//     timer with flow suppressed); it reads the run under _gate and calls Fail, which never blocks.
//   * Nothing is enforced while a debugger is attached (a breakpoint is not a hang), nor after the run ended.
//   * A blocked scheduler thread is reported only after an uninterrupted run of samples, all blocked, all inside the same
//     work item, lasting BlockedSchedulerTimeout: many short waits in many items are not one long wait.
//   * _blockedWorkItem and _blockedSince are the watcher's own. Its callbacks may overlap (taking the task tree can outlast
//     the 25 ms period): every outcome goes through Fail, where the first failure wins, and Complete, where the first
//     outcome wins; a second interrupt can only land in a run that is already failing.
//
// THE RACES, CASE BY CASE.
//   1. The thread leaves its wait between the watcher's sample and the interrupt: the interrupt lands in the next wait of
//      the scheduler thread; WaitLocked swallows it, and the run is failing anyway.
//   2. The scheduler thread never comes back from a failure (blocked for good): after twice UnwindGrace the watcher
//      abandons it (Abandon): the loop leaves at its next turn if it ever gets one, and the run's task completes now.
//   3. Abandon racing the thread's own End (it came back just then): both end the clock and complete the run's task;
//      the first completion stands, and both carry the same recorded failure.
using System;
using System.Diagnostics;
using System.Threading;

namespace Corral.Testing.Core;

internal sealed partial class TestRun
{
    /// <summary>How often the watcher looks at the run (safety timeout, blocked scheduler, unwinding).</summary>
    private static readonly TimeSpan s_watchInterval = TimeSpan.FromMilliseconds(25);

    /// <summary>Set when the watcher gave up on the scheduler thread: the loop leaves at its next turn.</summary>
    private volatile bool _abandoned;

    // --- The watcher's own. ---

    private Timer? _watch;
    private long _blockedWorkItem = -1;
    private long _blockedSince;

    private void OnWatch()
    {
        RunState state;
        long failingSince;
        lock (_gate)
        {
            state = _state;
            failingSince = _failingSince;
        }

        if (state == RunState.Ended || Debugger.IsAttached)
        {
            _blockedWorkItem = -1;
            return;
        }

        if (state == RunState.Failing)
        {
            if (Stopwatch.GetElapsedTime(failingSince) >= UnwindGrace + UnwindGrace)
            {
                Abandon();
            }

            return;
        }

        if (_timeout != Timeout.InfiniteTimeSpan && Stopwatch.GetElapsedTime(_startStamp) >= _timeout)
        {
            FailWithReport(CorralTestFailureKind.Timeout, static (run, tree) => RunReports.TimedOut(run, tree, run._timeout));
            return;
        }

        CheckBlocked();
    }

    /// <summary>Fails the run when the scheduler thread has sat in one synchronous wait for too long, and interrupts it.</summary>
    private void CheckBlocked()
    {
        if (_blockedTimeout == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        var item = Interlocked.Read(ref _workItem);
        var blocked = (item & 1) != 0 && (_thread.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0;
        if (!blocked)
        {
            _blockedWorkItem = -1;
            return;
        }

        if (_blockedWorkItem != item)
        {
            // INVARIANT: only an uninterrupted run of samples, all blocked, all in the same work item, counts.
            _blockedWorkItem = item;
            _blockedSince = Stopwatch.GetTimestamp();
            return;
        }

        if (Stopwatch.GetElapsedTime(_blockedSince) < _blockedTimeout)
        {
            return;
        }

        FailWithReport(
            CorralTestFailureKind.SchedulerBlocked, static (run, tree) => RunReports.SchedulerBlocked(run, tree, run._blockedTimeout));
        _thread.Interrupt();
    }

    /// <summary>Gives up on a scheduler thread that did not come back from a failure: the run's task completes anyway.</summary>
    private void Abandon()
    {
        _abandoned = true;
        Wake();

        if ((_thread.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0)
        {
            _thread.Interrupt();
        }

        Clock.End();
        _watch?.Dispose();
        Complete();
    }
}
