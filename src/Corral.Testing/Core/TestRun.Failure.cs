// Failing and ending (TestRun.cs, point 5), and what the reports read (RunReports).
//
// THE LIFECYCLE (_state, under _gate):
//
//     Running ──Fail──▶ Failing ──End──▶ Ended
//        └───────────────End────────────────▲
//
//   * Fail: the first failure wins (a deadlock, the safety timeout, a blocked scheduler thread, a posted callback or a
//     Corral continuation that threw, the loop itself failing); later ones are dropped. With cancelRoot the run's root
//     scope is cancelled on the scheduler thread, so the run's tasks unwind.
//   * End: the scheduler thread's last act (ThreadMain's finally): waiters are cancelled, the clock frozen, the watcher
//     stopped, the run's task completed. Work queued after it goes to the thread pool (TestRun.Scheduler.cs).
//   * Abandon (TestRun.Watcher.cs) completes the run's task of a Failing run whose thread never came back; the state
//     stays Failing until that thread, if it ever comes back, runs End.
//
// INVARIANTS.
//   * _failure is set once, with the move to Failing, and never changes; _failingSince is meaningful only while Failing.
//   * The run's task completes once (TrySet*): with the recorded failure, else the body's own outcome; a seeded run's
//     failure that is not the kit's own is wrapped so its message names the seed.
//   * A failing run unwinds for at most UnwindGrace before its loop leaves (Loop, UnwindingTooLong), and its task completes
//     within twice that whatever the thread does (the watcher abandons it).
//
// THE RACES, CASE BY CASE.
//   1. Two failures at once (the watcher's timeout and the loop's deadlock): the lock orders them; the second sees Failing
//      and returns.
//   2. Fail from another thread (the watcher): the root scope is cancelled by a callback posted to the run, so the scope
//      is only ever touched on the scheduler thread.
using System;
using System.Diagnostics;
using System.Threading;
using Corral.Diagnostics;

namespace Corral.Testing.Core;

internal sealed partial class TestRun
{
    /// <summary>How long a failing run may unwind (its root scope cancelled) before its task completes without it.</summary>
    internal static readonly TimeSpan UnwindGrace = TimeSpan.FromSeconds(1);

    /// <summary>Where the run is in its lifecycle. Guarded by <see cref="_gate"/>.</summary>
    private RunState _state;

    /// <summary>The first failure, which the run's task completes with. Guarded by <see cref="_gate"/>.</summary>
    private Exception? _failure;

    /// <summary>Stopwatch timestamp when the run started failing. Guarded by <see cref="_gate"/>.</summary>
    private long _failingSince;

    private enum RunState
    {
        Running,
        Failing,
        Ended,
    }

    /// <summary>Gets a value indicating whether the run has ended (work posted now goes to the thread pool).</summary>
    internal bool HasEnded
    {
        get
        {
            lock (_gate)
            {
                return _state == RunState.Ended;
            }
        }
    }

    /// <summary>Gets the number of times the clock jumped (for reports).</summary>
    internal int Jumps => Volatile.Read(ref _jumps);

    /// <summary>Gets the run's seed, if any.</summary>
    internal int? Seed => _seed;

    /// <summary>Gets the real time since the run started.</summary>
    internal TimeSpan RealElapsed => Stopwatch.GetElapsedTime(_startStamp);

    /// <summary>Gets what the run is doing now, for reports: ready tasks, other threads in its code, waiters.</summary>
    internal (int Ready, int ForeignThreads, int Waiters) Activity()
    {
        lock (_gate)
        {
            return (_ready.Count, _foreignThreads, _waiters.Count);
        }
    }

    private bool IsFailing()
    {
        lock (_gate)
        {
            return _state == RunState.Failing;
        }
    }

    private bool UnwindingTooLong()
    {
        lock (_gate)
        {
            return _state == RunState.Failing && Stopwatch.GetElapsedTime(_failingSince) >= UnwindGrace;
        }
    }

    /// <summary>Records the first failure; cancels the root scope (on the scheduler thread) so the run's tasks unwind.</summary>
    private void Fail(Exception failure, bool cancelRoot)
    {
        lock (_gate)
        {
            if (_state != RunState.Running)
            {
                return;
            }

            _state = RunState.Failing;
            _failure = failure;
            _failingSince = Stopwatch.GetTimestamp();
            BumpLocked();
        }

        if (!cancelRoot)
        {
            return;
        }

        var reason = failure is CorralTestException { Kind: var kind } ? $"the test run failed: {RunReports.Describe(kind)}" : "the test run failed";
        if (IsSchedulerThread)
        {
            _root?.Cancel(reason);
        }
        else
        {
            Context.Post(static s => { var (run, why) = ((TestRun, string))s!; run._root?.Cancel(why); }, (this, reason));
        }
    }

    /// <summary>Ends the run: freezes the clock, stops the watcher, completes the run's task. Runs once, on the scheduler
    /// thread (or never, for an abandoned thread: then <see cref="Abandon"/> completes the task).</summary>
    private void End()
    {
        lock (_gate)
        {
            _state = RunState.Ended;
            foreach (var waiter in _waiters)
            {
                waiter.Completion.TrySetCanceled();
            }

            _waiters.Clear();
        }

        Clock.End();
        _watch?.Dispose();
        Complete();
    }

    private void Complete()
    {
        Exception? failure;
        lock (_gate)
        {
            failure = _failure;
        }

        if (failure is null && _bodyTask is { IsCompleted: true } body && !body.IsCompletedSuccessfully)
        {
            try
            {
                body.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                failure = e;
            }
        }

        if (failure is null)
        {
            _completion.TrySetResult();
            return;
        }

        if (_seed is { } seed && failure is not CorralTestException)
        {
            failure = new CorralTestException(
                CorralTestFailureKind.FailedWithSeed, RunReports.FailedWithSeed(seed, failure), null, Clock.GetUtcNow(), seed, failure);
        }

        _completion.TrySetException(failure);
    }

    /// <summary>
    /// Fails the run on its own account (a deadlock, the safety timeout, a blocked scheduler thread): takes the run's part of
    /// the task tree, writes the report from it, and cancels the root scope.
    /// </summary>
    private void FailWithReport(CorralTestFailureKind kind, Func<TestRun, TaskTreeSnapshot?, string> report)
    {
        var tree = CaptureTree();
        Fail(new CorralTestException(kind, report(this, tree), tree, Clock.GetUtcNow(), _seed), cancelRoot: true);
    }

    /// <summary>Takes the run's part of the task tree: its root scope and everything under it.</summary>
    private TaskTreeSnapshot? CaptureTree()
    {
        var all = TaskTree.Capture();
        var mine = all.FindAll(n => n.Kind == TaskTreeNodeKind.Scope && n.Name == RootName);
        return mine.Count == 0 ? null : new TaskTreeSnapshot(all.TakenAt, all.ProcessId, new[] { mine[0] });
    }
}
