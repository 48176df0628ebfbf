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
// LIMITS (docs/concepts/testing.md). Work the run cannot see — real I/O in flight, System timers, threads started with
// flow suppressed, a callback registered with UnsafeRegister, work of the run's queued on a pool starved for longer than
// PoolWaitLimit, Corral's continuations registered on a pool thread (only this thread is a runner) while they run — can
// let time jump or a deadlock be reported while it is pending; AutojumpThreshold is for that. A foreign thread blocked
// inside the run's code keeps the run busy until the safety timeout. The run ends when its body ends: work the body left
// behind is not waited for (use a TaskGroup).
// ---------------------------------------------------------------------------------------------
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral.Testing.Core;

/// <summary>One run of <see cref="CorralTest"/>: the scheduler thread, its queue, the clock and the watcher.</summary>
[SuppressMessage("Design", "CA1001", Justification = "The watcher's timer is disposed when the run ends (End, Abandon); a run is not disposed by its users.")]
internal sealed class TestRun : ContinuationRunner
{
    /// <summary>How long a failing run may unwind (its root scope cancelled) before its task completes without it.</summary>
    internal static readonly TimeSpan UnwindGrace = TimeSpan.FromSeconds(1);

    /// <summary>How often the watcher looks at the run (safety timeout, blocked scheduler, unwinding).</summary>
    private static readonly TimeSpan s_watchInterval = TimeSpan.FromMilliseconds(25);

    /// <summary>The longest a quiet run waits for the thread pool's queue to move past its <see cref="PoolMarker"/>: work the
    /// run's code queued there (Task.Run, a ConfigureAwait(false) continuation) waits in that queue unseen.</summary>
    internal static readonly TimeSpan PoolWaitLimit = TimeSpan.FromSeconds(1);

    /// <summary>Runs a continuation of Corral's (see <see cref="OnCompleted"/>): the state is the run and the continuation.</summary>
    private static readonly Action<Task, object?> s_runCorralContinuation =
        static (_, state) => ((CorralContinuation)state!).Run();

    /// <summary>How long the loop waits after a work item for other threads running the run's code to finish.</summary>
    private static readonly TimeSpan s_settleLimit = TimeSpan.FromMilliseconds(20);

    /// <summary>The run whose code the current ExecutionContext belongs to; its handler counts other threads in a run.</summary>
    private static readonly AsyncLocal<TestRun?> s_current = new(OnCurrentChanged);

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

    /// <summary>Guards every field below it up to the scheduler-thread fields; the loop waits on it for activity.</summary>
    private readonly object _gate = new();

    /// <summary>Tasks ready to run, in the order they became ready.</summary>
    private readonly List<Task> _ready = new();

    /// <summary>The tasks of <see cref="WaitAllTasksBlockedAsync"/>, woken smallest cushion first.</summary>
    private readonly List<IdleWaiter> _waiters = new();

    /// <summary>Other threads running the run's code now. INVARIANT: never negative.</summary>
    private int _foreignThreads;

    /// <summary>Bumped by everything that may make the run busy again; the loop compares it across its idle checks.</summary>
    private long _activity;

    /// <summary>Stopwatch timestamp of the last activity: quiet time is measured from it.</summary>
    private long _lastActivityStamp;

    private RunState _state;

    /// <summary>The first failure, which the run's task completes with.</summary>
    private Exception? _failure;

    /// <summary>Stopwatch timestamp when the run started failing.</summary>
    private long _failingSince;

    /// <summary>Set when the watcher gave up on the scheduler thread: the loop leaves at its next turn.</summary>
    private volatile bool _abandoned;

    // --- Written by the scheduler thread, read by the watcher. ---

    /// <summary>Whether the scheduler thread is inside a work item or a timer callback (user code).</summary>
    private volatile bool _executing;

    /// <summary>Counts work items, so the watcher can tell one long item from many short ones.</summary>
    private long _workItem;

    /// <summary>The marker queued for the current quiet moment, if the pool had a backlog then. Scheduler thread only.</summary>
    private PoolMarker? _marker;

    private CancelScope? _root;
    private Task? _bodyTask;
    private int _jumps;

    // --- The watcher's own. ---

    private Timer? _watch;
    private long _blockedWorkItem = -1;
    private long _blockedSince;

    private TestRun(Func<VirtualClock, CancellationToken, Task> body, CorralTestOptions options)
    {
        _body = body;
        _threshold = options.AutojumpThreshold;
        _timeout = options.Timeout;
        _blockedTimeout = options.BlockedSchedulerTimeout;
        _seed = options.Seed;
        _random = options.Seed is { } seed ? new Random(seed) : null;
        Id = Interlocked.Increment(ref s_lastId);
        RootName = $"{options.Name ?? "CorralTest"} #{Id}";
        Clock = new VirtualClock(options.StartTime, OnTimersChanged);
        Scheduler = new RunTaskScheduler(this);
        Context = new RunSynchronizationContext(this);
        _thread = new Thread(ThreadMain) { IsBackground = true, Name = $"Corral.Testing scheduler ({RootName})" };
        _threadId = _thread.ManagedThreadId;
        _startStamp = Stopwatch.GetTimestamp();
        _lastActivityStamp = _startStamp;
    }

    private enum RunState
    {
        Running,
        Failing,
        Ended,
    }

    /// <summary>Gets the run whose code is running on this thread, or <see langword="null"/>.</summary>
    internal static TestRun? Current => s_current.Value;

    /// <summary>Gets the run's number.</summary>
    internal int Id { get; }

    /// <summary>Gets the name of the run's root scope.</summary>
    internal string RootName { get; }

    internal VirtualClock Clock { get; }

    internal RunTaskScheduler Scheduler { get; }

    internal RunSynchronizationContext Context { get; }

    /// <summary>Gets a value indicating whether the caller runs on the scheduler thread.</summary>
    internal bool IsSchedulerThread => Environment.CurrentManagedThreadId == _threadId;

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

    /// <summary>Queues a task to run on the scheduler thread (from any thread).</summary>
    internal void Enqueue(Task task)
    {
        lock (_gate)
        {
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

    private void OnTimersChanged()
    {
        lock (_gate)
        {
            BumpLocked();
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

    // ------------------------------------------------------------------------------------------------
    // The scheduler thread
    // ------------------------------------------------------------------------------------------------

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
            _executing = true;
            try
            {
                Scheduler.Execute(task);
            }
            finally
            {
                _executing = false;
            }

            SettleForeignThreads();
            if (task.AsyncState is PostedCallback && task.Exception is { } error)
            {
                // A callback posted to the context threw (an async void method, say): nobody else will ever see it.
                Fail(error.InnerExceptions.Count == 1 ? error.InnerExceptions[0] : error, cancelRoot: true);
            }
        }

        Touch();
        return true;
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

    /// <summary>Runs user code outside a work item (timer callbacks), marked as such for the watcher.</summary>
    private void RunUserCode(Action<TestRun> action)
    {
        Interlocked.Increment(ref _workItem);
        _executing = true;
        try
        {
            action(this);
        }
        finally
        {
            _executing = false;
        }

        SettleForeignThreads();
        Touch();
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

    /// <summary>The loop's own activity: running work makes the run busy.</summary>
    private void Touch()
    {
        lock (_gate)
        {
            _activity++;
            _lastActivityStamp = Stopwatch.GetTimestamp();
        }
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

            if (_foreignThreads > 0)
            {
                // Their leaving bumps the activity and pulses.
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

        // The instant between a pool thread taking an item of the run's and entering its context is covered by a yield and
        // a second look.
        Thread.Yield();
        TimeSpan? cushion = null;
        lock (_gate)
        {
            if (_activity != epoch || _ready.Count > 0 || _foreignThreads > 0)
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

        var tree = CaptureTree();
        Fail(
            new CorralTestException(
                CorralTestFailureKind.Deadlock, RunReports.Deadlock(this, tree), tree, Clock.GetUtcNow(), _seed),
            cancelRoot: true);
        return true;
    }

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
    /// marker; the yield and second look in <see cref="OnIdle"/> narrow that window, they do not close it. Hence "guess" in
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

    /// <summary>Wakes the loop without counting as activity (a <see cref="PoolMarker"/> ran).</summary>
    internal void Wake()
    {
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }
    }

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

    // ------------------------------------------------------------------------------------------------
    // The watcher (a real timer on the thread pool)
    // ------------------------------------------------------------------------------------------------

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
            var tree = CaptureTree();
            Fail(
                new CorralTestException(
                    CorralTestFailureKind.Timeout, RunReports.TimedOut(this, tree, _timeout), tree, Clock.GetUtcNow(), _seed),
                cancelRoot: true);
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
        var blocked = _executing && (_thread.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0;
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

        var tree = CaptureTree();
        Fail(
            new CorralTestException(
                CorralTestFailureKind.SchedulerBlocked,
                RunReports.SchedulerBlocked(this, tree, _blockedTimeout),
                tree,
                Clock.GetUtcNow(),
                _seed),
            cancelRoot: true);
        _thread.Interrupt();
    }

    /// <summary>Gives up on a scheduler thread that did not come back from a failure: the run's task completes anyway.</summary>
    private void Abandon()
    {
        _abandoned = true;
        lock (_gate)
        {
            Monitor.PulseAll(_gate);
        }

        if ((_thread.ThreadState & System.Threading.ThreadState.WaitSleepJoin) != 0)
        {
            _thread.Interrupt();
        }

        Clock.End();
        _watch?.Dispose();
        Complete();
    }

    // ------------------------------------------------------------------------------------------------
    // Reports
    // ------------------------------------------------------------------------------------------------

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

    /// <summary>Takes the run's part of the task tree: its root scope and everything under it.</summary>
    private Diagnostics.TaskTreeSnapshot? CaptureTree()
    {
        var all = Diagnostics.TaskTree.Capture();
        var mine = all.FindAll(n => n.Kind == Diagnostics.TaskTreeNodeKind.Scope && n.Name == RootName);
        return mine.Count == 0 ? null : new Diagnostics.TaskTreeSnapshot(all.TakenAt, all.ProcessId, new[] { mine[0] });
    }
}
