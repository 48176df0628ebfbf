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
//    run), so every such continuation that completes on the scheduler thread — inside Corral and inside libraries — is
//    queued to the thread pool. Three signals cover it: (a) a static AsyncLocal (s_current) marks every ExecutionContext
//    that descends from the run, and its change handler counts the other threads running the run's code (an async
//    method's continuation, a Task.Run worker); (b) ThreadPool.PendingWorkItemCount covers work queued and not started;
//    (c) the pool's busy-thread count above the lowest ever seen in the process covers bare delegates registered with
//    UnsafeOnCompleted, which carry no ExecutionContext (Corral's scopes and groups register theirs so). (b) and (c) are
//    process-wide: another test's work only delays the run; an excess that lasts 100 ms is taken for someone else's.
//    The loop avoids the hop where it can: timers fire and the root scope ends with no SynchronizationContext on the
//    thread, so their ConfigureAwait(false) continuations run inline, in order. It raises the pool's minimum threads so a
//    queued continuation is not starved by a test host's blocked threads.
// 3. When the run is quiet (nothing queued here, no timer due, no other thread in its code, no pool backlog) for
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
// flow suppressed, a callback registered with UnsafeRegister — can let time jump or a deadlock be reported while it is
// pending; AutojumpThreshold is for that. A foreign thread blocked inside the run's code keeps the run busy until the
// safety timeout. The run ends when its body ends: work the body left behind is not waited for (use a TaskGroup).
// ---------------------------------------------------------------------------------------------
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Testing.Core;

/// <summary>One run of <see cref="CorralTest"/>: the scheduler thread, its queue, the clock and the watcher.</summary>
[SuppressMessage("Design", "CA1001", Justification = "The watcher's timer is disposed when the run ends (End, Abandon); a run is not disposed by its users.")]
internal sealed class TestRun
{
    /// <summary>How long a failing run may unwind (its root scope cancelled) before its task completes without it.</summary>
    internal static readonly TimeSpan UnwindGrace = TimeSpan.FromSeconds(1);

    /// <summary>How often the watcher looks at the run (safety timeout, blocked scheduler, unwinding).</summary>
    private static readonly TimeSpan s_watchInterval = TimeSpan.FromMilliseconds(25);

    /// <summary>The fewest worker threads the pool keeps ready while runs go on.</summary>
    internal const int MinPoolThreads = 16;

    /// <summary>How long a thread-pool backlog or busy thread may delay a quiet run before it is taken for someone else's.</summary>
    private static readonly TimeSpan s_poolPatience = TimeSpan.FromMilliseconds(100);

    /// <summary>How long the loop waits after a work item for other threads running the run's code to finish.</summary>
    private static readonly TimeSpan s_settleLimit = TimeSpan.FromMilliseconds(20);

    /// <summary>The run whose code the current ExecutionContext belongs to; its handler counts other threads in a run.</summary>
    private static readonly AsyncLocal<TestRun?> s_current = new(OnCurrentChanged);

    /// <summary>The fewest busy pool threads seen in this process: threads the host keeps blocked, not any run's work.
    /// Process-wide, so a run that starts while work is in flight does not take that work for the floor.</summary>
    private static int s_poolFloor = int.MaxValue;

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

    /// <summary>Stopwatch timestamp since which the thread pool has had a backlog while the run was quiet, or 0.</summary>
    private long _backlogSince;

    /// <summary>Stopwatch timestamp since which more pool threads than <see cref="s_poolFloor"/> have been busy, or 0.</summary>
    private long _excessSince;

    private CancelScope? _root;

    /// <summary>The task of the root scope's block, completed by the loop once the body's task ended (see <see cref="EndRoot"/>).</summary>
    private readonly TaskCompletionSource _rootDone = new();
    private Task? _userTask;
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
        EnsurePoolThreads();
        ThreadPool.GetAvailableThreads(out var available, out _);
        ThreadPool.GetMaxThreads(out var max, out _);
        if (max - available < Volatile.Read(ref s_poolFloor))
        {
            Volatile.Write(ref s_poolFloor, max - available);
        }

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

    /// <summary>
    /// Raises the thread pool's minimum worker threads to <see cref="MinPoolThreads"/>: a run waits for the continuations it
    /// sends to the pool (see <see cref="ThreadPoolBusy"/>), and in a test host whose pool threads are blocked by the test
    /// framework a queued item could otherwise wait hundreds of milliseconds for the pool to inject a thread.
    /// </summary>
    private static void EnsurePoolThreads()
    {
        ThreadPool.GetMinThreads(out var workers, out var io);
        if (workers < MinPoolThreads)
        {
            ThreadPool.SetMinThreads(MinPoolThreads, io);
        }
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
            End();
        }
    }

    private Task RunRootAsync() =>
        CancelScope.RunAsync(
            scope =>
            {
                _root = scope;
                _userTask = InvokeBody(scope.Token);
                return _rootDone.Task;
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

    /// <summary>
    /// Hands the body's outcome to the root scope from the loop, with no SynchronizationContext on the thread: the root
    /// scope's continuation is a bare ConfigureAwait(false) delegate, which the runtime would otherwise send to the thread
    /// pool, where the run could not see it.
    /// </summary>
    private void EndRoot(Task body)
    {
        SynchronizationContext.SetSynchronizationContext(null);
        try
        {
            if (body.IsCompletedSuccessfully)
            {
                _rootDone.TrySetResult();
                return;
            }

            try
            {
                body.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                // A faulted task holding the very exception the body ended with: Corral's scope treats it as it would the
                // body's own task (an OperationCanceledException is still a cancellation).
                _rootDone.TrySetException(e);
            }
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(Context);
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

            if (_userTask is { IsCompleted: true } body && !_rootDone.Task.IsCompleted)
            {
                EndRoot(body);
                continue;
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
    /// with ConfigureAwait(false) (Corral's sleeps, Task.Delay inside libraries) run inline here, on the scheduler thread,
    /// in order, instead of being sent to the thread pool; continuations that captured the run's context are posted to it.
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
    /// The cases are: 1. another thread runs the run's code, or the thread pool has a backlog: wait for it; 2. something
    /// changed during the checks (a post, a thread entering): look again; 3. quiet for less than the waiters' cushion or
    /// the threshold: wait the rest; 4. waiters: wake those with the smallest cushion; 5. a timer is armed: jump to it;
    /// 6. none of these: deadlock (or, while failing, the unwinding is stuck: end).
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

        if (ThreadPoolBusy())
        {
            // Perhaps a continuation of ours that no thread has taken yet.
            lock (_gate)
            {
                BumpLocked();
                WaitLocked(TimeSpan.FromMilliseconds(1));
            }

            return true;
        }

        // The instant between a pool thread taking an item and being counted is covered by a yield and a second look.
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

        if (ThreadPoolBusy())
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
    /// Whether the thread pool may be running or holding a continuation of the run's. A ConfigureAwait(false) continuation
    /// that completes on the scheduler thread is never inlined there (a thread with a SynchronizationContext is no place to
    /// inline, says the runtime) but queued to the pool, and a bare delegate registered with UnsafeOnCompleted (as Corral's
    /// scopes and groups register theirs) carries no ExecutionContext, so only the pool's own counts show it: work queued
    /// (<see cref="ThreadPool.PendingWorkItemCount"/>) and threads busy above the lowest count this run has seen (a test host
    /// keeps some pool threads blocked for good). Both are process-wide, so another test's work only delays the run. A
    /// backlog or an excess that lasts longer than <see cref="s_poolPatience"/> while the run is otherwise quiet is taken for
    /// someone else's (a continuation of the run's takes microseconds) and no longer waited for.
    /// </summary>
    private bool ThreadPoolBusy()
    {
        var now = Stopwatch.GetTimestamp();
        var busy = false;
        if (ThreadPool.PendingWorkItemCount == 0)
        {
            _backlogSince = 0;
        }
        else if (_backlogSince == 0)
        {
            _backlogSince = now;
            busy = true;
        }
        else
        {
            busy |= Stopwatch.GetElapsedTime(_backlogSince, now) < s_poolPatience;
        }

        ThreadPool.GetAvailableThreads(out var available, out _);
        ThreadPool.GetMaxThreads(out var max, out _);
        var working = max - available;
        var floor = Volatile.Read(ref s_poolFloor);
        if (working <= floor)
        {
            Interlocked.CompareExchange(ref s_poolFloor, working, floor);
            _excessSince = 0;
        }
        else if (_excessSince == 0)
        {
            _excessSince = now;
            busy = true;
        }
        else if (Stopwatch.GetElapsedTime(_excessSince, now) < s_poolPatience)
        {
            busy = true;
        }
        else
        {
            // Busier than the floor for a long while: a thread someone else blocked. Until the pool is seen lower again.
            Interlocked.CompareExchange(ref s_poolFloor, working, floor);
            _excessSince = 0;
        }

        return busy;
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
