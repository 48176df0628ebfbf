// TaskGroup: the public face of trio's nursery for .NET. This file holds what a user calls on a group; the machinery is
// in Core/:
//   Core/TaskGroup.Children.cs  how a child is started, run and finished: every child ends through FinishChild
//   Core/TaskGroup.Join.cs      the count of unfinished tasks, the body, the join and the group's exit (the Decider's verdict)
//   Core/TaskGroup.Tasks.cs     the list of tasks the task tree and the watchdog read
// Core/README.md walks the path of a failing child through all of them.
using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

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
[DebuggerDisplay("TaskGroup '{Name ?? \"(unnamed)\",nq}' unfinished={_unfinished}")]
public sealed partial class TaskGroup
{
    /// <summary>The group's scope: the body and every child run in it.</summary>
    private readonly CancelScope _scope;

    /// <summary>Where children run first.</summary>
    private readonly ChildStartMode _startMode;

    /// <summary>Called the moment a task fails (<see cref="TaskGroupOptions.OnTaskFailed"/>), or null.</summary>
    private readonly Action<TaskFailure>? _onTaskFailed;

    /// <summary>The body's record: it keeps the group's spawn site too (the group has no copy of its own).</summary>
    private readonly TaskRecord _body;

    private TaskGroup(CancelScope scope, ChildStartMode startMode, TaskRecord body, Action<TaskFailure>? onTaskFailed = null)
    {
        _scope = scope;
        _startMode = startMode;
        _onTaskFailed = onTaskFailed;
        _body = body;
        scope.Group = this;
    }

    /// <summary>Where <c>RunAsync</c> was called, when the compiler told us.</summary>
    internal string? SourceFile => _body.SourceFile;

    /// <summary>A slot the watchdog owns (written under its lock): set while it watches this group. The core never reads it.</summary>
    internal bool IsWatched { get; set; }

    /// <summary>The line of <see cref="SourceFile"/>, or 0.</summary>
    internal int SourceLine => _body.SourceLine;

    /// <summary>Gets the group's scope: cancel it, give it a deadline or shield it like any scope.</summary>
    public CancelScope Scope => _scope;

    /// <summary>Gets the group's name, or <see langword="null"/>.</summary>
    public string? Name => _scope.Name;

    /// <summary>Gets a value indicating whether the group has closed: its body ended and every child finished.</summary>
    public bool IsClosed => Volatile.Read(ref _unfinished) == Closed;

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
        var record = Admit(name, workExpression, callerFilePath, callerLineNumber);
        Launch(work, record);
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
        var record = Admit(name, workExpression, callerFilePath, callerLineNumber);
        var child = new ValueChild<T>(work);
        record.Work = child;
        Launch(child, record);
        return child.Result;
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
        var record = Track(new StartingTaskRecord(this, childScope, taskName, number, callerFilePath, callerLineNumber));
        var signal = new StartSignal<T>(this, childScope, taskName);
        var child = new StartingChild<T>(work, signal, childScope, taskName);
        record.Work = child;

        // Always inline, whatever the start mode: the child runs under the caller's scope until it signals.
        LaunchInline(child, record);
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

    /// <summary>
    /// Asks the group to stop: the body and every child see <see cref="CancelScope.IsStopRequested"/> and
    /// <see cref="CancelScope.StoppingToken"/> at once, and the group is cancelled if it has not closed when
    /// <paramref name="gracePeriod"/> has passed. Same as <c>Scope.RequestStop(gracePeriod, reason)</c>.
    /// </summary>
    /// <param name="gracePeriod">How long the group may take to finish; <see cref="TimeSpan.Zero"/> cancels at once,
    /// <see cref="Timeout.InfiniteTimeSpan"/> never cancels.</param>
    /// <param name="reason">Why; default none.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gracePeriod"/> is negative (other than infinite) or
    /// <see cref="TimeSpan.MaxValue"/>.</exception>
    /// <remarks>A group that closes within the grace ends normally; when the grace runs out, it absorbs its own cancellation as
    /// it does for <see cref="Cancel"/>. See <see cref="CancelScope.RequestStop(TimeSpan, string?)"/>.</remarks>
    public void RequestStop(TimeSpan gracePeriod, string? reason = null) => _scope.RequestStop(gracePeriod, reason);

    /// <inheritdoc/>
    public override string ToString() => $"TaskGroup '{Name ?? "(unnamed)"}'";
}
