// ---------------------------------------------------------------------------------------------
// TaskGroup: trio's nursery for .NET.
//
// THE PROMISE. The group never completes while one of its tasks runs; the first failure cancels the
// rest; every failure is reported once, in the order it happened, in one TaskGroupException.
//
// THE DESIGN (docs/adr/0002).
//   * `_pending` counts the body (1) plus every child that has not finished. It only reaches 0 once:
//     the body has ended and no child is left. 0 means closed; Start after that throws.
//     Children may start children while the group waits for them, as in trio.
//   * Children share the group's scope: no scope, token source or timer per child.
//   * A task's OperationCanceledException is not a failure while the group's scope is cancelled (by
//     the group, a failure, or an ancestor). One while nothing cancelled the group is a failure: it is
//     someone else's timeout, and swallowing it would lose it.
//   * The first failure cancels the group's scope with a reason naming the task and its exception.
//
// THE RACES, CASE BY CASE.
//   1. Start racing the close: both go through `_pending` by CompareExchange. Either Start increments
//      first (the group then waits for the new child), or the count hit 0 first (Start throws).
//   2. The last child finishing as the body ends: the body publishes `_allDone` before it releases its
//      count (a full fence), so whoever takes the count to 0 finds the completion source to signal.
//   3. A failure racing a cancellation: a task's exception is classified when it is caught; an
//      OperationCanceledException seen while the scope is cancelled is dropped, anything else is kept.
//   4. Cancel from many threads: forwarded to the scope, where the first reason wins.
//   5. A child finishing (it counts, then marks itself, without the lock) racing a sweep in Track (under the lock): the
//      sweep unlinks only marked records, so a running task is never dropped; one counted but not yet marked is swept by
//      a later sweep, so the counter may run above the truth, never below it (Coyote: RaceTests.Track_Sweep...).
// ---------------------------------------------------------------------------------------------
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;
using Corral.Diagnostics;

namespace Corral;

/// <summary>
/// A set of concurrent tasks that all end before the group does: trio's nursery for .NET.
/// </summary>
/// <remarks>
/// <para>Open one with <see cref="RunAsync(Func{TaskGroup, Task}, TaskGroupOptions?, string?, int)"/>; start children from the body (or from
/// any child) with <see cref="Start(Func{CancellationToken, Task}, string?, string?, string?, int)"/>.</para>
/// <list type="bullet">
/// <item>The group's body and children run in the group's <see cref="Scope"/>; cancelling it cancels them all.</item>
/// <item>The group never completes while a child runs, whatever the body did.</item>
/// <item>The first failure (a child's or the body's) cancels the group, with a reason naming it.</item>
/// <item>If anything failed, the group throws one <see cref="TaskGroupException"/> with every failure in the order it happened.</item>
/// <item>If the group was cancelled from outside and nothing failed, the cancellation propagates to the enclosing scope.</item>
/// <item><see cref="Start(Func{CancellationToken, Task}, string?, string?, string?, int)"/>, <see cref="Start{T}"/>, <see cref="StartAsync{T}"/> and
/// <see cref="Cancel"/> are safe to call from any thread. Corral locks the group object itself; do not <c>lock</c> on a group
/// in your own code.</item>
/// </list>
/// <para>Lifecycle:</para>
/// <code>
///   state     | Start        | how it is left
///   ----------+--------------+-------------------------------------------------------------
///   open      | runs a child | body ended and no child left -> closed
///   closed    | throws       | (final: RunAsync then returns or throws)
/// </code>
/// </remarks>
[DebuggerDisplay("TaskGroup '{Name ?? \"(unnamed)\",nq}' pending={_pending}")]
public sealed class TaskGroup
{
    /// <summary>The group's scope: the body and every child run in it.</summary>
    private readonly CancelScope _scope;

    /// <summary>Where children run first.</summary>
    private readonly ChildStartMode _startMode;

    /// <summary>The body (1) plus unfinished children. INVARIANT: once 0, it stays 0 (the group is closed).</summary>
    private int _pending = 1;

    /// <summary>Number of children started so far; names unnamed ones.</summary>
    private int _started;

    /// <summary>Completed when <see cref="_pending"/> reaches 0, if the body had to wait. Published before the body's release.</summary>
    private TaskCompletionSource? _allDone;

    /// <summary>Failures in the order they were caught. Guarded by the group's lock (the group object itself).</summary>
    private List<TaskFailure>? _failures;

    /// <summary>Set when some task ended with the group's cancellation (used for <see cref="CancelScope.CancelledCaught"/>).</summary>
    private volatile bool _sawCancellation;

    /// <summary>
    /// Newest tracked task (body included) when task tracking is on: a singly linked list, newest first, guarded by the group's
    /// lock. It may still hold finished tasks; they are swept out lazily (see <see cref="Track"/>).
    /// </summary>
    private TaskRecord? _firstTask;

    /// <summary>Number of records in the <see cref="_firstTask"/> list, finished or not. Guarded by the group's lock.</summary>
    private int _trackedCount;

    /// <summary>
    /// How many records in the list have finished and wait for a sweep. Incremented without the lock (by the finishing task),
    /// decreased by the sweep under it; it may lag a finish by a moment, and is only a heuristic for when to sweep.
    /// </summary>
    private int _finishedInList;

    private TaskGroup(CancelScope scope, ChildStartMode startMode, string? sourceFile, int sourceLine)
    {
        _scope = scope;
        _startMode = startMode;
        SourceFile = sourceFile;
        SourceLine = sourceLine;
        scope.Group = this;
    }

    /// <summary>Where <c>RunAsync</c> was called, when the compiler told us.</summary>
    internal string? SourceFile { get; }

    /// <summary>Set (under the watchdog's lock) once the watchdog watches this group, so closing it tells the watchdog.</summary>
    internal bool IsWatched { get; set; }

    /// <summary>The line of <see cref="SourceFile"/>, or 0.</summary>
    internal int SourceLine { get; }

    /// <summary>Gets the group's scope: cancel it, give it a deadline or shield it like any scope.</summary>
    public CancelScope Scope => _scope;

    /// <summary>Gets the group's name, or <see langword="null"/>.</summary>
    public string? Name => _scope.Name;

    /// <summary>Gets a value indicating whether the group has closed: its body ended and every child finished.</summary>
    public bool IsClosed => Volatile.Read(ref _pending) == 0;

    /// <summary>
    /// Runs <paramref name="body"/> as the body of a new group nested in <see cref="CancelScope.Current"/>, and returns when the
    /// body and every child have finished.
    /// </summary>
    /// <param name="body">The body; it receives the group, to start children.</param>
    /// <param name="options">Name and start mode; optional.</param>
    /// <param name="callerFilePath">Supplied by the compiler: where the group was opened, for the task tree.</param>
    /// <param name="callerLineNumber">Supplied by the compiler.</param>
    /// <returns>A task that completes when the group has closed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="TaskGroupException">The body or a child failed (in the returned task).</exception>
    /// <exception cref="OperationCanceledException">An enclosing scope was cancelled and nothing failed (in the returned task).</exception>
    public static Task RunAsync(
        Func<TaskGroup, Task> body,
        TaskGroupOptions? options = null,
        [CallerFilePath] string? callerFilePath = null,
        [CallerLineNumber] int callerLineNumber = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        var group = Open(options, callerFilePath, callerLineNumber, out var bodyRecord);
        return group.RunBodyAsync<object?>(body, bodyRecord, returnsValue: false);
    }

    /// <summary>
    /// Runs <paramref name="body"/> as the body of a new group and returns its value once every child has finished.
    /// </summary>
    /// <typeparam name="T">The body's result type.</typeparam>
    /// <param name="body">The body; it receives the group.</param>
    /// <param name="options">Name and start mode; optional.</param>
    /// <param name="callerFilePath">Supplied by the compiler: where the group was opened, for the task tree.</param>
    /// <param name="callerLineNumber">Supplied by the compiler.</param>
    /// <returns>The body's value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="TaskGroupException">The body or a child failed.</exception>
    /// <exception cref="OperationCanceledException">An enclosing scope was cancelled and nothing failed; or the group's own
    /// <see cref="Cancel"/> cut the body off, so there is no value to return.</exception>
    public static Task<T> RunAsync<T>(
        Func<TaskGroup, Task<T>> body,
        TaskGroupOptions? options = null,
        [CallerFilePath] string? callerFilePath = null,
        [CallerLineNumber] int callerLineNumber = 0)
    {
        ArgumentNullException.ThrowIfNull(body);
        var group = Open(options, callerFilePath, callerLineNumber, out var bodyRecord);
        return group.RunBodyAsync<T>(body, bodyRecord, returnsValue: true);
    }

    /// <summary>
    /// Starts <paramref name="work"/> as a child of the group: trio's <c>start_soon</c>.
    /// </summary>
    /// <param name="work">The child; it receives the group's token.</param>
    /// <param name="name">A name for diagnostics and failures; default: the text of <paramref name="work"/>, or <c>task #N</c>.</param>
    /// <param name="workExpression">Supplied by the compiler: the text of <paramref name="work"/>, the name of an unnamed task.</param>
    /// <param name="callerFilePath">Supplied by the compiler: where the task was started, for the task tree.</param>
    /// <param name="callerLineNumber">Supplied by the compiler.</param>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The group has closed.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Returns nothing on purpose: the child belongs to the group, which awaits it and reports its failure.</item>
    /// <item>Under <see cref="ChildStartMode.Inline"/> (the default) the child runs on this thread until its first incomplete await;
    /// an exception it throws before then is a failure of the group, not of this call.</item>
    /// <item>A child started in a cancelled group still runs, with a cancelled token: its first checkpoint throws.</item>
    /// </list>
    /// </remarks>
    public void Start(
        Func<CancellationToken, Task> work,
        string? name = null,
        [CallerArgumentExpression(nameof(work))] string? workExpression = null,
        [CallerFilePath] string? callerFilePath = null,
        [CallerLineNumber] int callerLineNumber = 0)
    {
        ArgumentNullException.ThrowIfNull(work);
        var record = Admit(name, workExpression, callerFilePath, callerLineNumber, _scope);
        if (_startMode == ChildStartMode.ThreadPool)
        {
            StartOnThreadPool(work, record);
        }
        else
        {
            StartInline(work, record);
        }
    }

    /// <summary>Starts <paramref name="work"/> as a child of the group and returns a task for its value.</summary>
    /// <typeparam name="T">The child's result type.</typeparam>
    /// <param name="work">The child; it receives the group's token.</param>
    /// <param name="name">A name for diagnostics and failures; default: the text of <paramref name="work"/>, or <c>task #N</c>.</param>
    /// <param name="workExpression">Supplied by the compiler: the text of <paramref name="work"/>, the name of an unnamed task.</param>
    /// <param name="callerFilePath">Supplied by the compiler: where the task was started, for the task tree.</param>
    /// <param name="callerLineNumber">Supplied by the compiler.</param>
    /// <returns>A task that completes with the child's value, or its exception or cancellation.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The group has closed.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>A failure of the child is a failure of the group, reported once: awaiting the returned task in the body rethrows the
    /// same exception, and the group does not count it twice.</item>
    /// <item>The returned task completes before the group closes. Not awaiting it loses nothing: the group reports the failure.</item>
    /// </list>
    /// </remarks>
    public Task<T> Start<T>(
        Func<CancellationToken, Task<T>> work,
        string? name = null,
        [CallerArgumentExpression(nameof(work))] string? workExpression = null,
        [CallerFilePath] string? callerFilePath = null,
        [CallerLineNumber] int callerLineNumber = 0)
    {
        ArgumentNullException.ThrowIfNull(work);
        var record = Admit(name, workExpression, callerFilePath, callerLineNumber, _scope);
        if (_startMode == ChildStartMode.ThreadPool)
        {
            var tcs = new TaskCompletionSource<Task<T>>(TaskCreationOptions.RunContinuationsAsynchronously);
            ThreadPool.QueueUserWorkItem(
                static s =>
                {
                    var inner = s.Group.InvokeValueAsync(s.Work, s.Record);
                    s.Tcs.SetResult(inner);
                    _ = s.Group.RunChildAsync(static (ct, t) => t, inner, s.Record);
                },
                (Group: this, Work: work, Record: record, Tcs: tcs),
                preferLocal: false);
            return tcs.Task.Unwrap();
        }

        var task = InvokeValueAsync(work, record);
        _ = RunChildAsync(static (ct, t) => t, task, record);
        return task;
    }

    /// <summary>
    /// Starts <paramref name="work"/> and waits until it signals that it has started, then returns the value it signalled:
    /// trio's <c>nursery.start</c>.
    /// </summary>
    /// <typeparam name="T">The type of the value the child signals (an address, a port, a handle).</typeparam>
    /// <param name="work">The child; it receives the signal to call and a token.</param>
    /// <param name="name">A name for diagnostics and failures; default: the text of <paramref name="work"/>, or <c>task #N</c>.</param>
    /// <param name="workExpression">Supplied by the compiler: the text of <paramref name="work"/>, the name of an unnamed task.</param>
    /// <param name="callerFilePath">Supplied by the compiler: where the task was started, for the task tree.</param>
    /// <param name="callerLineNumber">Supplied by the compiler.</param>
    /// <returns>A task that completes with the value passed to <see cref="StartSignal{T}.Started(T)"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The group has closed (thrown here); or the child returned without signalling
    /// (in the returned task).</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Until it signals, the child runs under the caller's scope: the caller's cancellation reaches it, and an exception it
    /// throws goes to the caller (in the returned task), not to the group.</item>
    /// <item>Once it signals, it runs under the group's scope, and its failures are the group's.</item>
    /// <item>The group does not close while the child is starting.</item>
    /// </list>
    /// </remarks>
    public Task<T> StartAsync<T>(
        Func<StartSignal<T>, CancellationToken, Task> work,
        string? name = null,
        [CallerArgumentExpression(nameof(work))] string? workExpression = null,
        [CallerFilePath] string? callerFilePath = null,
        [CallerLineNumber] int callerLineNumber = 0)
    {
        ArgumentNullException.ThrowIfNull(work);
        var number = AdmitCount(name ?? workExpression);
        var taskName = TaskRecord.ChooseName(name, workExpression, number);
        var childScope = new CancelScope(Ambient.Scope, taskName, _scope.TimeProvider, shield: false, ScopeKind.StartingTask);
        childScope.Open(CancelScope.NoDeadline);
        var record = Track(new TaskRecord(this, childScope, taskName, null, number, callerFilePath, callerLineNumber));
        var signal = new StartSignal<T>(this, childScope, taskName);
        _ = RunStartingChildAsync(work, signal, record);
        return signal.Task;
    }

    /// <summary>
    /// Starts <paramref name="work"/> and waits until it signals that it has started: trio's <c>nursery.start</c> without a value.
    /// </summary>
    /// <param name="work">The child; it receives the signal to call and a token.</param>
    /// <param name="name">A name for diagnostics and failures; default: the text of <paramref name="work"/>, or <c>task #N</c>.</param>
    /// <param name="workExpression">Supplied by the compiler: the text of <paramref name="work"/>, the name of an unnamed task.</param>
    /// <param name="callerFilePath">Supplied by the compiler: where the task was started, for the task tree.</param>
    /// <param name="callerLineNumber">Supplied by the compiler.</param>
    /// <returns>A task that completes when the child calls <see cref="StartSignal.Started()"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="work"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The group has closed; or the child returned without signalling.</exception>
    /// <remarks>As <see cref="StartAsync{T}"/>.</remarks>
    public Task StartAsync(
        Func<StartSignal, CancellationToken, Task> work,
        string? name = null,
        [CallerArgumentExpression(nameof(work))] string? workExpression = null,
        [CallerFilePath] string? callerFilePath = null,
        [CallerLineNumber] int callerLineNumber = 0)
    {
        ArgumentNullException.ThrowIfNull(work);
        return StartAsync<bool>((signal, ct) => work(new StartSignal(signal), ct), name, workExpression, callerFilePath, callerLineNumber);
    }

    /// <summary>Cancels the group's scope: the body and every child. Same as <c>Scope.Cancel(reason)</c>.</summary>
    /// <param name="reason">Text for the reason; default <c>"cancel requested"</c>.</param>
    /// <remarks>When nothing failed, the group then ends normally: it absorbs its own cancellation.</remarks>
    public void Cancel(string? reason = null) => _scope.Cancel(reason);

    /// <inheritdoc/>
    public override string ToString() => $"TaskGroup '{Name ?? "(unnamed)"}'";

    // ----------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------

    private static TaskGroup Open(TaskGroupOptions? options, string? callerFilePath, int callerLineNumber, out TaskRecord bodyRecord)
    {
        var scope = new CancelScope(Ambient.Scope, options?.Name, options?.TimeProvider, shield: false, ScopeKind.TaskGroup);
        var group = new TaskGroup(scope, options?.StartMode ?? ChildStartMode.Inline, callerFilePath, callerLineNumber);

        // The body's record is linked before the scope opens: until then nothing can reach the group (snapshots and the
        // watchdog find it through the scope tree), so Track's lock is uncontended; Open's lock on the parent publishes it.
        bodyRecord = group.Track(new TaskRecord(group, scope, "body", null, 0, callerFilePath, callerLineNumber));
        scope.Open(CancelScope.NoDeadline);
        return group;
    }

    /// <summary>Counts a new child in (race case 1) and creates its record.</summary>
    private TaskRecord Admit(string? name, string? expression, string? sourceFile, int sourceLine, CancelScope scope)
    {
        var number = AdmitCount(name ?? expression);
        return Track(new TaskRecord(this, scope, name, expression, number, sourceFile, sourceLine));
    }

    /// <summary>Counts a new child in (race case 1); returns its number.</summary>
    /// <exception cref="InvalidOperationException">The group has closed.</exception>
    private int AdmitCount(string? nameForMessage = null)
    {
        var pending = Volatile.Read(ref _pending);
        while (true)
        {
            if (pending == 0)
            {
                throw new InvalidOperationException(
                    $"Cannot start '{nameForMessage ?? "a task"}': task group '{Name ?? "(unnamed)"}' has closed (its body ended and all its tasks finished). " +
                    "Start children from the group's body or from one of its running tasks.");
            }

            var seen = Interlocked.CompareExchange(ref _pending, pending + 1, pending);
            if (seen == pending)
            {
                break;
            }

            pending = seen;
        }

        return Interlocked.Increment(ref _started);
    }

    /// <summary>Links a record into the live list when task tracking is on.</summary>
    /// <remarks>
    /// Finishing does not unlink (<see cref="Untrack"/> takes no lock): the task that spawns and the tasks that finish would
    /// otherwise contend for the group's lock on every child, which on a busy group cost more than the rest of Start. Instead
    /// each Track sweeps the finished records out once they are more than half the list plus 16. With L live tasks the list
    /// then holds at most 2L + 34 records, plus any task caught between counting and marking itself (see <see cref="Untrack"/>),
    /// and sweeping costs O(1) amortised per child.
    /// </remarks>
    private TaskRecord Track(TaskRecord record)
    {
        if (TaskTree.TrackingEnabled)
        {
            lock (this)
            {
                if (Volatile.Read(ref _finishedInList) > (_trackedCount >> 1) + 16)
                {
                    SweepFinishedLocked();
                }

                record.Next = _firstTask;
                record.Tracked = true;
                _firstTask = record;
                _trackedCount++;
            }
        }

        CorralMetrics.TaskStarted();
        return record;
    }

    /// <summary>Unlinks every finished record. Under the group's lock.</summary>
    private void SweepFinishedLocked()
    {
        Debug.Assert(Monitor.IsEntered(this), "under the group's lock");
        var removed = 0;
        TaskRecord? previous = null;
        for (var t = _firstTask; t is not null;)
        {
            var next = t.Next;
            if (Volatile.Read(ref t.Finished) != 0)
            {
                if (previous is null)
                {
                    _firstTask = next;
                }
                else
                {
                    previous.Next = next;
                }

                t.Next = null;
                removed++;
            }
            else
            {
                previous = t;
            }

            t = next;
        }

        _trackedCount -= removed;

        // Race: a task that has counted itself but not yet set Finished is not swept now; it is swept (and subtracted) by a
        // later sweep. So the counter may run a moment above the truth (a sweep comes a little early), never below it.
        Interlocked.Add(ref _finishedInList, -removed);
    }

    /// <summary>Marks a task finished (a later Track sweeps it out of the list); tells the watchdog if it had reported the task.</summary>
    private void Untrack(TaskRecord record)
    {
        if (record.Tracked)
        {
            // Only records in the list count (tracking may have been switched on or off since this one started).
            // Counted *before* marked (found by Coyote): once a record shows as finished, its count is in, so the counter
            // never runs below the truth and the list bound holds whenever no task is between these two lines.
            Interlocked.Increment(ref _finishedInList);
        }

        Volatile.Write(ref record.Finished, 1);

        CorralMetrics.TaskFinished();
        Watchdog.OnTaskFinished(record);
    }

    /// <summary>Number of records in the task list, finished or not (tests check the sweep keeps it bounded).</summary>
    internal int TrackedRecordCount
    {
        get
        {
            lock (this)
            {
                return _trackedCount;
            }
        }
    }

    /// <summary>The live tasks (not finished), oldest first, for snapshots and the watchdog.</summary>
    internal TaskRecord[] LiveTasks()
    {
        lock (this)
        {
            var live = new List<TaskRecord>();
            for (var t = _firstTask; t is not null; t = t.Next)
            {
                if (Volatile.Read(ref t.Finished) == 0)
                {
                    live.Add(t);
                }
            }

            live.Reverse(); // oldest first
            return live.ToArray();
        }
    }

    /// <summary>Releases one count; the one that reaches 0 closes the group.</summary>
    private void Release()
    {
        if (Interlocked.Decrement(ref _pending) == 0)
        {
            // Race case 2: the body published _allDone before its own release, so it is visible here.
            Volatile.Read(ref _allDone)?.TrySetResult();
        }
    }

    private async Task<T> RunBodyAsync<T>(Delegate body, TaskRecord bodyRecord, bool returnsValue)
    {
        Ambient.Enter(bodyRecord);
        Exception? bodyError = null;
        T value = default!;
        try
        {
            if (returnsValue)
            {
                value = await ((Func<TaskGroup, Task<T>>)body)(this).ConfigureAwait(false);
            }
            else
            {
                await ((Func<TaskGroup, Task>)body)(this).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            bodyError = e;
            OnTaskException(e, "body");
        }

        Untrack(bodyRecord);

        // Wait for every child: never complete while one runs (race case 2).
        if (Volatile.Read(ref _pending) == 1 && Interlocked.CompareExchange(ref _pending, 0, 1) == 1)
        {
            // No child left: closed without allocating a completion source.
        }
        else
        {
            var allDone = new TaskCompletionSource();
            Volatile.Write(ref _allDone, allDone);
            if (Interlocked.Decrement(ref _pending) != 0)
            {
                await allDone.Task.ConfigureAwait(false);
            }
        }

        return Finish(bodyError, value, returnsValue);
    }

    private T Finish<T>(Exception? bodyError, T value, bool returnsValue)
    {
        var callbackErrors = _scope.Close();
        if (IsWatched)
        {
            Watchdog.OnGroupClosed(this);
        }

        // No lock: every failure was recorded before its task released its count, and the group closed after the last
        // release (an Interlocked operation on _pending), so the list is complete and visible here.
        var failures = _failures;

        if (callbackErrors is not null)
        {
            failures ??= new();
            foreach (var e in callbackErrors)
            {
                failures.Add(new TaskFailure("cancellation callback", e));
            }
        }

        if (failures is not null)
        {
            throw new TaskGroupException(Name, failures);
        }

        if (_scope.CancelCalled)
        {
            // The group's own cancellation (Cancel, or a deadline on its scope): absorbed.
            if (bodyError is not null || _sawCancellation)
            {
                _scope.MarkCancelledCaught();
            }

            if (bodyError is not null && returnsValue)
            {
                // RunAsync<T>: the body was cut off and there is no value to return.
                ExceptionDispatchInfo.Throw(bodyError);
            }

            return value;
        }

        if (_scope.IsCancellationRequested)
        {
            // Cancelled from outside: the exit is a checkpoint, so the enclosing cancelled scope can absorb.
            if (bodyError is OperationCanceledException cancellation)
            {
                var withReason = _scope.WithReason(cancellation);
                if (ReferenceEquals(withReason, cancellation))
                {
                    ExceptionDispatchInfo.Throw(cancellation);
                }

                throw withReason;
            }

            throw _scope.CreateCancelledException();
        }

        Debug.Assert(bodyError is null, "a body error with no cancellation was recorded as a failure");
        return value;
    }

    /// <summary>Classifies an exception a task ended with: a failure, or the group's cancellation (race case 3).</summary>
    private void OnTaskException(Exception exception, string taskName)
    {
        // Cancellation, not failure: the group's scope is cancelled, or the exception came through a cancelled token of the
        // group's scope (a shield raised above the group may have un-cancelled it since: race found by Coyote).
        if (exception is OperationCanceledException oce && (_scope.IsCancellationRequested || _scope.IssuedCancelledToken(oce.CancellationToken)))
        {
            _sawCancellation = true;
            return;
        }

        bool first;
        lock (this)
        {
            _failures ??= new();
            foreach (var existing in _failures)
            {
                if (ReferenceEquals(existing.Exception, exception))
                {
                    return; // already reported, e.g. a Start<T> child's exception rethrown by the body that awaited it.
                }
            }

            _failures.Add(new TaskFailure(taskName, exception));
            first = _failures.Count == 1;
        }

        if (first)
        {
            _scope.CancelCore(new CancelReason(
                CancelReasonKind.TaskFailed,
                $"task '{taskName}' failed: {TaskGroupException.Describe(exception)}",
                _scope,
                exception));
        }
    }

    /// <summary>
    /// The hot path of <see cref="Start(Func{CancellationToken, Task}, string?, string?, string?, int)"/>: runs the child on this
    /// thread until its first incomplete await, with no async wrapper of our own.
    /// </summary>
    /// <remarks>
    /// The child's ambient value is set around the synchronous call and the caller's ExecutionContext put back with
    /// <see cref="ExecutionContext.Restore"/> (no allocation, unlike setting the value back). The child's own async method
    /// captured the context with its ambient value at its first await, so its continuations run in it. Completion is then
    /// observed with one continuation on the child's task (none if it completed synchronously). When the flow of the
    /// context is suppressed there is nothing to restore, and the async wrapper does the work instead.
    /// </remarks>
    private void StartInline(Func<CancellationToken, Task> work, TaskRecord record)
    {
        var saved = ExecutionContext.Capture();
        if (saved is null)
        {
            _ = RunChildAsync(static (ct, w) => w(ct), work, record);
            return;
        }

        Ambient.Enter(record);
        InvokeChild(work, record, saved);
    }

    /// <summary>
    /// The thread-pool path of <see cref="Start(Func{CancellationToken, Task}, string?, string?, string?, int)"/>: the record itself
    /// is the work item's state, so no async wrapper runs per child.
    /// </summary>
    /// <remarks>
    /// The ambient value is set around the queueing and the caller's context put back, as in <see cref="StartInline"/>:
    /// <see cref="ThreadPool.QueueUserWorkItem{TState}(Action{TState}, TState, bool)"/> captures the context at that moment (the
    /// caller's, with the child as its ambient value) and runs the child in it. With the flow of the context suppressed
    /// there is nothing to capture, and the async wrapper sets the ambient value on the pool thread instead.
    /// </remarks>
    private void StartOnThreadPool(Func<CancellationToken, Task> work, TaskRecord record)
    {
        var saved = ExecutionContext.Capture();
        if (saved is null)
        {
            ThreadPool.QueueUserWorkItem(static s => _ = s.Group.RunChildAsync(static (ct, w) => w(ct), s.Work, s.Record), (Group: this, Work: work, Record: record), preferLocal: false);
            return;
        }

        record.Pending = work;
        Ambient.Enter(record);
        ThreadPool.QueueUserWorkItem(static r => r.Group.RunQueuedChild(r), record, preferLocal: false);
        ExecutionContext.Restore(saved);
    }

    /// <summary>Runs a child queued by <see cref="StartOnThreadPool"/>, on a pool thread, in the context captured when it was queued.</summary>
    private void RunQueuedChild(TaskRecord record)
    {
        var work = (Func<CancellationToken, Task>)record.Pending!;
        record.Pending = null;
        InvokeChild(work, record, restore: null);
    }

    /// <summary>
    /// Calls a child's delegate in the current context (the child's ambient value is already set) and observes what it
    /// returned or threw. With <paramref name="restore"/> (the inline start), the caller's context is put back right after
    /// the synchronous call, before the group looks at the outcome, so that whatever finishing the child triggers (a
    /// failure cancelling the group) runs in the caller's context, not the child's. A pool thread's context needs no
    /// restoring: the pool resets it after the work item.
    /// </summary>
    private void InvokeChild(Func<CancellationToken, Task> work, TaskRecord record, ExecutionContext? restore)
    {
        Task? task;
        try
        {
            task = work(_scope.Token);
        }
        catch (Exception e)
        {
            if (restore is not null)
            {
                ExecutionContext.Restore(restore);
            }

            FinishChild(record, e);
            return;
        }

        if (restore is not null)
        {
            ExecutionContext.Restore(restore);
        }

        ObserveChild(record, task);
    }

    /// <summary>
    /// Observes a started child's task: completes the child at once if the task has ended, else registers one continuation.
    /// </summary>
    private void ObserveChild(TaskRecord record, Task? task)
    {
        if (task is null)
        {
            FinishChild(record, new InvalidOperationException($"The delegate of task '{record.Name}' returned null instead of a Task."));
        }
        else if (task.IsCompleted)
        {
            CompleteChild(record, task);
        }
        else
        {
            // INVARIANT: Pending holds the task before the continuation can run (it reads it), and is cleared by CompleteChild.
            record.Pending = task;
            task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(record.OnTaskCompleted);
        }
    }

    /// <summary>Ends a child: classifies its exception if any, unlinks its record, releases its count.</summary>
    private void FinishChild(TaskRecord record, Exception? error)
    {
        if (error is not null)
        {
            OnTaskException(error, record.Name);
        }

        Untrack(record);
        Release();
    }

    /// <summary>Classifies how a child's task ended (without rethrowing it when it can), then releases its count.</summary>
    internal void CompleteChild(TaskRecord record, Task task)
    {
        record.Pending = null;
        Exception? error = null;
        if (task.IsFaulted)
        {
            var errors = task.Exception!.InnerExceptions;
            error = errors.Count == 1 ? errors[0] : task.Exception;
        }
        else if (task.IsCanceled && _scope.IsCancellationRequested)
        {
            // Cancelled while the group is: the usual end of a cancelled child, classified without an exception.
            _sawCancellation = true;
        }
        else if (task.IsCanceled)
        {
            // Cancelled while the group is not (someone else's token, or a retired one of ours): fetch the exception to
            // classify and report it. Rare, so the throw is acceptable here.
            try
            {
                task.GetAwaiter().GetResult();
            }
            catch (Exception e)
            {
                error = e;
            }
        }

        FinishChild(record, error);
    }

    /// <summary>Runs a child to its end; never faults (its exception is classified), and always releases its count.</summary>
    private async Task RunChildAsync<TState>(Func<CancellationToken, TState, Task> work, TState state, TaskRecord record)
    {
        Ambient.Enter(record);
        try
        {
            await work(_scope.Token, state).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            OnTaskException(e, record.Name);
        }
        finally
        {
            Untrack(record);
            Release();
        }
    }

    /// <summary>
    /// Runs a value-returning child as an ordinary async method, so its task carries the value, fault or cancellation.
    /// </summary>
    /// <remarks>
    /// The failure is recorded here, before the task completes: whoever awaits the task (the body, say) and rethrows runs
    /// after, and finds it already recorded under the child's name. Recording it in the wrapper instead would race with them.
    /// </remarks>
    private async Task<T> InvokeValueAsync<T>(Func<CancellationToken, Task<T>> work, TaskRecord record)
    {
        Ambient.Enter(record);
        try
        {
            return await work(_scope.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            OnTaskException(e, record.Name);
            throw;
        }
    }

    private async Task RunStartingChildAsync<T>(Func<StartSignal<T>, CancellationToken, Task> work, StartSignal<T> signal, TaskRecord record)
    {
        var childScope = record.Scope;
        Ambient.Enter(record);
        Exception? error = null;
        try
        {
            await work(signal, childScope.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            error = e;
        }

        var callbackErrors = childScope.Close();
        if (error is OperationCanceledException && childScope.CancelCalled)
        {
            // The child cancelled its own scope (CancelScope.Current.Cancel()): that scope absorbs it, as any scope would.
            childScope.MarkCancelledCaught();
            error = null;
        }

        // Callbacks on the child's own token that threw while it was cancelled are part of its outcome, never dropped.
        var forCaller = callbackErrors is null
            ? error
            : error is null && callbackErrors.Length == 1
                ? callbackErrors[0]
                : new AggregateException($"Callbacks registered on the token of task '{record.Name}' threw while it was cancelled.", error is null ? callbackErrors : [error, .. callbackErrors]);
        if (!signal.TryFinishBeforeStarted(forCaller))
        {
            // Started: the child is the group's, and so are its failures. (Not started: the outcome went to the caller.)
            if (error is not null)
            {
                OnTaskException(error, record.Name);
            }

            foreach (var callbackError in callbackErrors ?? [])
            {
                OnTaskException(callbackError, record.Name);
            }
        }

        Untrack(record);
        Release();
    }

    /// <summary>Hands a started child over to the group (called by <see cref="StartSignal{T}"/>).</summary>
    internal void AdoptStartedChild(CancelScope childScope) => childScope.Reparent(_scope);
}
