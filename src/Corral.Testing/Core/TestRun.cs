// ---------------------------------------------------------------------------------------------
// TestRun: one CorralTest.RunAsync — a single-threaded scheduler, a virtual clock that jumps when every task waits,
// and a report instead of a hang.
//
// THE PROBLEM. Corral's own suite tests timeouts on FakeTimeProvider by hand: start the work, wait on a gate until it is
// parked, Advance, assert. The gates are there because the test cannot know when the other tasks have reached their
// waits. trio (MockClock with autojump_threshold=0, wait_all_tasks_blocked) and kotlinx-coroutines-test (runTest) know,
// because they own the loop that runs every task: when it finds nothing to run, every task is blocked, and time may
// jump to the next timer.
//
// APPROACHES THAT FAIL.
// - A fake clock alone, advanced "when things look quiet": nothing in .NET says when the tasks of a test are quiet.
// - A real-time threshold alone (jump after N ms of no scheduled work): work the test handed to the thread pool
//   (Task.Run, a ConfigureAwait(false) continuation inside a library, SemaphoreSlim.WaitAsync) is invisible, so time
//   jumps while it runs — trio #456's worker-thread problem — and a threshold large enough to hide that makes every jump
//   slow and is still wrong on a loaded machine.
// - Intercepting waits through SynchronizationContext.Wait: the runtime only calls it on Windows, for COM.
//
// THE SOLUTION.
// 1. One dedicated thread runs every continuation of the run: the body starts as a task on RunTaskScheduler, and
//    RunSynchronizationContext turns every Post into a task on that scheduler, so `await` comes back to the thread and
//    TaskScheduler.Current is the run's everywhere in it. The ready queue runs in batches (trio's): what becomes ready
//    while a batch runs waits for the next batch, and with a seed each batch is shuffled, so a seed fixes the order.
// 2. What runs elsewhere must be seen. The runtime never inlines a ConfigureAwait(false) continuation on a thread that
//    has a SynchronizationContext or a non-default TaskScheduler (the very things that make `await` come back to the
//    run): it queues it to the thread pool.
//    - Corral's own continuations (a child's finish, a scope's exit, a sleep, a group's wait for its body) are handed to
//      the run instead: the run is the ContinuationRunner of its thread (OnCompleted; Corral's Core/Continuations.cs,
//      ADR 0022), so they run here, as a pool thread would run them, inline or queued, and are seen from the moment they
//      can run. No guess is needed for them, and the pool's size is left alone.
//    - Work the run's own code hands to the pool (Task.Run, a ConfigureAwait(false) continuation of user code or of a
//      library, SemaphoreSlim.WaitAsync's with a token) is seen by its ExecutionContext: a static AsyncLocal (s_current)
//      marks every context that descends from the run, and its change handler counts the other threads running the run's
//      code. While such work waits in the pool's queue nothing shows it but the queue's length, process-wide; so when the
//      run goes quiet with a backlog there, it queues a PoolMarker behind it and holds the clock until a pool thread takes
//      the marker (the global queue is first in, first out), for at most PoolWaitLimit.
//    Timers fire with no SynchronizationContext on the thread, so the ConfigureAwait(false) continuations they release
//    (Task.Delay on the clock inside a library) run inline here, in order, instead of going to the pool.
// 3. When the run is quiet (nothing queued here, no timer due, no other thread in its code, the pool past its marker) for
//    AutojumpThreshold of real time: wake the WaitAllTasksBlockedAsync waiters with the smallest cushion if there are
//    any (they take priority, as in trio); else jump the clock to its earliest timer (VirtualClock fires it at its exact
//    instant, on this thread); else nothing can ever wake the run: report a deadlock with the task tree.
// 4. A watcher on a real timer enforces the safety timeout and spots the scheduler thread blocked in a synchronous wait
//    (Thread.ThreadState has WaitSleepJoin for BlockedSchedulerTimeout within one work item); it fails the run and
//    interrupts the thread (Thread.Interrupt), so `.Result` inside a run is an exception, not a hang.
// 5. Failing: the first failure wins; the run's root scope is cancelled (on the scheduler thread) so the tasks unwind,
//    for at most UnwindGrace of real time, and the run's task completes with the failure even if the thread never comes
//    back (it is a background thread and is abandoned).
//
// WHERE EACH PART LIVES (one concern per file; each states the invariants and races it owns):
//   TestRun.cs                 construction, the lock, the activity count every other part bumps (this file)
//   TestRun.Scheduler.cs       point 1: the scheduler thread, its ready queue and batches, timers fired on it
//   TestRun.Runner.cs          point 2, Corral's continuations: the run as its thread's ContinuationRunner
//   TestRun.ForeignThreads.cs  point 2, the run's code on other threads: the AsyncLocal count and the settling after an item
//   TestRun.PoolWork.cs        point 2, the run's work waiting in the pool's queue: the marker guess
//   TestRun.Autojump.cs        point 3: what a quiet run does — wake waiters, jump the clock, or call a deadlock
//   TestRun.Watcher.cs         point 4: the safety timeout, the blocked scheduler thread, giving up on the thread
//   TestRun.Failure.cs         point 5: the first failure, the end of the run, its task's outcome, what reports read
//
// LIMITS (docs/concepts/testing.md). Work the run cannot see — real I/O in flight, System timers, threads started with
// flow suppressed, a callback registered with UnsafeRegister, work of the run's queued on a pool starved for longer than
// PoolWaitLimit, Corral's continuations registered on a pool thread (only this thread is a runner) while they run — can
// let time jump or a deadlock be reported while it is pending; AutojumpThreshold is for that. A foreign thread blocked
// inside the run's code keeps the run busy until the safety timeout. The run ends when its body ends: work the body left
// behind is not waited for (use a TaskGroup).
// ---------------------------------------------------------------------------------------------
using System;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral.Testing.Core;

/// <summary>One run of <see cref="CorralTest"/>: the scheduler thread, its queue, the clock and the watcher.</summary>
/// <remarks>
/// INVARIANTS owned here:
/// <list type="bullet">
/// <item><see cref="_gate"/> guards the run's shared state (the ready queue, the waiters, the count of foreign threads, the
/// state of the run, the activity count); it is never held while user code runs, and only the scheduler thread waits on
/// it (<see cref="WaitLocked"/>): every <see cref="Monitor.PulseAll"/> is for that one thread.</item>
/// <item>Everything that may make a quiet run busy again (a task queued, a timer armed or changed, a thread entering or
/// leaving the run's code, a waiter added or removed, a failure) bumps <see cref="_activity"/> under the lock
/// (<see cref="BumpLocked"/>): the autojump decision (TestRun.Autojump.cs) compares it across its checks, so a change
/// between two looks is never missed.</item>
/// </list>
/// </remarks>
[SuppressMessage("Design", "CA1001", Justification = "The watcher's timer is disposed when the run ends (End, Abandon); a run is not disposed by its users.")]
internal sealed partial class TestRun : ContinuationRunner
{
    /// <summary>Numbers runs for their root scope's name.</summary>
    private static int s_lastId;

    private readonly Func<VirtualClock, CancellationToken, Task> _body;
    private readonly TimeSpan _threshold;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _blockedTimeout;
    private readonly int? _seed;
    private readonly Random? _random;
    private readonly Thread _thread;
    private readonly int _threadId;
    private readonly long _startStamp;

    /// <summary>Completes when the run ends; what <see cref="CorralTest.RunAsync(Func{VirtualClock, CancellationToken, Task}, CorralTestOptions?)"/> returns.</summary>
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Guards the run's shared state (each field guarded by it says so); the loop waits on it for activity.</summary>
    private readonly object _gate = new();

    /// <summary>Bumped by everything that may make the run busy again; the loop compares it across its idle checks. Guarded
    /// by <see cref="_gate"/>. INVARIANT: never decreases.</summary>
    private long _activity;

    /// <summary>Stopwatch timestamp of the last activity: quiet time is measured from it. Written under <see cref="_gate"/>;
    /// OnIdle reads it without the lock once every look of a quiet moment agreed.</summary>
    private long _lastActivityStamp;

    private TestRun(Func<VirtualClock, CancellationToken, Task> body, CorralTestOptions options)
    {
        _body = body;
        _threshold = options.AutojumpThreshold;
        _timeout = options.Timeout;
        _blockedTimeout = options.BlockedSchedulerTimeout;
        _seed = options.Seed;
        _random = options.Seed is { } seed ? new Random(seed) : null;
        RootName = $"{options.Name ?? "CorralTest"} #{Interlocked.Increment(ref s_lastId)}";
        Clock = new VirtualClock(options.StartTime, Bump);
        Scheduler = new RunTaskScheduler(this);
        Context = new RunSynchronizationContext(this);
        _thread = new Thread(ThreadMain) { IsBackground = true, Name = $"Corral.Testing scheduler ({RootName})" };
        _threadId = _thread.ManagedThreadId;
        _startStamp = Stopwatch.GetTimestamp();
        _lastActivityStamp = _startStamp;
    }

    /// <summary>Gets the name of the run's root scope: the options' name and the run's number in the process.</summary>
    internal string RootName { get; }

    internal VirtualClock Clock { get; }

    internal RunTaskScheduler Scheduler { get; }

    internal RunSynchronizationContext Context { get; }

    /// <summary>Gets a value indicating whether the caller runs on the scheduler thread.</summary>
    internal bool IsSchedulerThread => Environment.CurrentManagedThreadId == _threadId;

    /// <summary>Starts a run on its own thread.</summary>
    /// <returns>A task that completes when the run ends, with the body's outcome or the run's failure.</returns>
    internal static Task Start(Func<VirtualClock, CancellationToken, Task> body, CorralTestOptions options)
    {
        var run = new TestRun(body, options);

        // Neither the watcher's timer nor anything it calls may carry the caller's context (or, later, the run's).
        using (ExecutionContext.SuppressFlow())
        {
            run._watch = new Timer(static s => ((TestRun)s!).OnWatch(), run, s_watchInterval, s_watchInterval);
        }

        // The scheduler thread inherits the caller's ExecutionContext (culture, AsyncLocals), as Task.Run would.
        run._thread.Start();
        return run._completion.Task;
    }

    /// <summary>Wakes the loop without counting as activity (a <see cref="PoolMarker"/> ran, the watcher gave up on the thread).</summary>
    internal void Wake()
    {
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Records activity and wakes the loop if it waits. Under <see cref="_gate"/>.</summary>
    private void BumpLocked()
    {
        Debug.Assert(Monitor.IsEntered(_gate), "under the lock");
        _activity++;
        _lastActivityStamp = Stopwatch.GetTimestamp();
        Monitor.PulseAll(_gate);
    }

    /// <summary>Records activity from outside the lock: the clock's timers changed, or the loop ran work.</summary>
    private void Bump()
    {
        lock (_gate)
        {
            BumpLocked();
        }
    }

    /// <summary>The scheduler thread waits on <see cref="_gate"/> for activity, for at most <paramref name="timeout"/>.</summary>
    private void WaitLocked(TimeSpan timeout)
    {
        try
        {
            Monitor.Wait(_gate, timeout);
        }
        catch (ThreadInterruptedException)
        {
            // Meant for a blocked wait of user code that had just ended: the run is failing anyway.
        }
    }
}
