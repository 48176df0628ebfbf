// CancelScope: the public face of one node of the cancel tree. This file holds what a user reads and calls on a scope;
// the static methods that open scopes are in CancelScope.Static.cs, and the machinery behind both is in Core/:
//   Core/CancelScope.Tree.cs      the tree, the cached verdict and its refresh, tokens, Cancel's core, the invariants
//   Core/CancelScope.Deadline.cs  the scope's own deadline and the DeadlineQueue's calls into it
//   Core/CancelScope.Run.cs       the one run every static method ends in, and how it shapes the Decider's verdict
//   Core/CancelScope.Sleep.cs     SleepAsync's wait
//   Core/CancelScope.Stop.cs      stop requests: ask first, cancel when the grace runs out
// Core/README.md walks the path of a failing child through all of them.
using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using Corral.Core;

namespace Corral;

/// <summary>
/// A block of code that can be cancelled as a unit, with an optional deadline: Corral's cancel scope.
/// </summary>
/// <remarks>
/// <para>Open one with the static methods (<see cref="RunAsync(Func{CancelScope, System.Threading.Tasks.Task}, CancelScopeOptions?)"/>,
/// <see cref="MoveOnAfterAsync(TimeSpan, Func{CancellationToken, System.Threading.Tasks.Task}, string?)"/>, <see cref="FailAfterAsync(TimeSpan, Func{CancellationToken, System.Threading.Tasks.Task}, string?)"/>,
/// <see cref="ShieldAsync(Func{CancellationToken, System.Threading.Tasks.Task}, TimeSpan?, string?)"/>); the body runs with the scope as
/// <see cref="Current"/>.</para>
/// <list type="bullet">
/// <item><b>Level-triggered.</b> Once cancelled (itself or through an unshielded ancestor), the scope stays cancelled until its
/// block exits: every checkpoint inside throws <see cref="ScopeCancelledException"/>, every time, and <see cref="Token"/>
/// stays cancelled.</item>
/// <item><b>Absorption.</b> When the block of a scope whose own cancel was called ends with an
/// <see cref="OperationCanceledException"/>, the scope absorbs it and sets <see cref="CancelledCaught"/>. Anything else
/// passes through unchanged.</item>
/// <item><b>Thread safety.</b> Every member is safe to call from any thread, during and after the block. Corral locks the
/// scope object itself; do not <c>lock</c> on a scope in your own code.</item>
/// <item><b>Cost.</b> No <see cref="CancellationTokenSource"/> exists until <see cref="Token"/> is read; deadlines share one timer
/// per <see cref="TimeProvider"/>.</item>
/// </list>
/// <para>Lifecycle:</para>
/// <code>
///   state      | Token       | StoppingToken | checkpoints | how it is left
///   -----------+-------------+---------------+-------------+------------------------------------------------
///   running    | live        | live          | pass        | RequestStop -> stopping; Cancel(), deadline, ancestor cancelled -> cancelled; block ends -> exited
///   stopping   | live        | cancelled     | pass        | grace runs out, Cancel(), deadline -> cancelled; block ends -> exited (normally)
///   cancelled  | cancelled   | cancelled     | throw       | block ends -> exited (absorbs its own cancellation)
///   exited     | as it was   | as it was     | (not ambient any more)
/// </code>
/// </remarks>
[DebuggerDisplay("{DebuggerDisplay,nq}")]
public sealed partial class CancelScope
{
    /// <summary>Set when this scope absorbed its own cancellation at the end of its block.</summary>
    private volatile bool _cancelledCaught;

    internal CancelScope(CancelScope? parent, string? name, TimeProvider? timeProvider, bool shield, ScopeKind kind)
    {
        _parent = parent;
        Name = name;
        Kind = kind;
        _shield = shield;
        _timeProvider = timeProvider ?? parent?._timeProvider ?? TimeProvider.System;
        OwnerTask = parent is null ? null : Ambient.Task;
    }

    /// <summary>Gets the scope's name (from the options or the <c>name</c> argument of a timeout or shield method, the group, or
    /// the task), or <see langword="null"/>.</summary>
    public string? Name { get; }

    /// <summary>Gets the clock this scope's deadline is measured on.</summary>
    public TimeProvider TimeProvider => _timeProvider;

    /// <summary>Gets the enclosing scope, or <see langword="null"/> for a root scope.</summary>
    public CancelScope? Parent => _parent;

    /// <summary>
    /// Gets a token that is cancelled when this scope is cancelled, itself or through an unshielded ancestor.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>The first read creates the scope's <see cref="CancellationTokenSource"/>; later reads return the same token.</item>
    /// <item>The token stays valid after the block exits and is never disposed by Corral.</item>
    /// <item>If <see cref="Shield"/> is turned on after an ancestor's cancellation reached this scope, tokens read before stay
    /// cancelled and later reads return a fresh, uncancelled token.</item>
    /// </list>
    /// </remarks>
    public CancellationToken Token
    {
        get
        {
            var cts = Volatile.Read(ref _cts);
            return cts is not null ? cts.Token : MaterializeToken();
        }
    }

    /// <summary>Gets a value indicating whether <see cref="Cancel(string?)"/> was called on this scope or its own deadline passed.</summary>
    public bool CancelCalled => Volatile.Read(ref _ownReason) is not null;

    /// <summary>
    /// Gets a value indicating whether this scope absorbed its own cancellation: its block ended with an
    /// <see cref="OperationCanceledException"/> after its own cancel was called.
    /// </summary>
    public bool CancelledCaught => _cancelledCaught;

    /// <summary>
    /// Gets a value indicating whether code in this scope is cancelled now: its own cancel was called, or an ancestor's
    /// reached it through no shield.
    /// </summary>
    public bool IsCancellationRequested => _cancelledBy is not null;

    /// <summary>
    /// Gets why this scope is cancelled: its own reason, or the reason of the ancestor whose cancellation reached it;
    /// <see langword="null"/> while it is not cancelled.
    /// </summary>
    public CancelReason? CancelReason => _cancelledBy?._ownReason;

    /// <summary>
    /// Gets or sets a value indicating whether this scope ignores its ancestors' cancellation and deadlines.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>A shielded scope keeps its own deadline and can still be cancelled directly.</item>
    /// <item>Takes effect at once for checkpoints and for <see cref="Token"/> reads; see <see cref="Token"/> for tokens read before.</item>
    /// </list>
    /// </remarks>
    public bool Shield
    {
        get => _shield;
        set
        {
            if (_shield == value)
            {
                return;
            }

            _shield = value;
            RefreshSubtree();
        }
    }

    /// <summary>
    /// Gets or sets this scope's own deadline on its <see cref="TimeProvider"/>, or <see langword="null"/> for none.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Settable while the block runs; the change takes effect at once. A deadline already past cancels the scope
    /// immediately.</item>
    /// <item>The deadline never fires early: the scope is cancelled only once its clock reads at or after the deadline.</item>
    /// <item>Moving a deadline after it fired does not undo the cancellation.</item>
    /// </list>
    /// </remarks>
    public DateTimeOffset? Deadline
    {
        get
        {
            var ticks = Volatile.Read(ref _deadlineTicks);
            return ticks == NoDeadline ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
        set => SetDeadline(value is { } d ? d.UtcTicks : NoDeadline);
    }

    /// <summary>
    /// Gets the effective deadline: the earliest deadline among this scope and its ancestors up to and including the first
    /// shielded one; <see langword="null"/> when there is none.
    /// </summary>
    public DateTimeOffset? EffectiveDeadline
    {
        get
        {
            var min = NoDeadline;
            for (var s = this; s is not null; s = s._shield ? null : s._parent)
            {
                min = Math.Min(min, Volatile.Read(ref s._deadlineTicks));
            }

            return min == NoDeadline ? null : new DateTimeOffset(min, TimeSpan.Zero);
        }
    }

    /// <summary>Gets a value indicating whether the scope's block has ended.</summary>
    public bool IsExited => State == ScopeState.Exited;

    private string DebuggerDisplay =>
        $"{Kind} '{Name ?? "(unnamed)"}' {(IsExited ? "exited" : IsCancellationRequested ? "cancelled" : IsStopRequested ? "stopping" : "running")}" +
        (CancelReason is { } r ? $" ({r})" : string.Empty) +
        (Deadline is { } d ? $" deadline {d.ToString("O", CultureInfo.InvariantCulture)}" : string.Empty);

    /// <summary>
    /// Cancels this scope and every scope nested in it that is not shielded. Idempotent: the first reason wins.
    /// </summary>
    /// <param name="reason">Text for <see cref="CancelReason"/>; default <c>"cancel requested"</c>.</param>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Safe from any thread, before, during and after the block.</item>
    /// <item>Callbacks registered on the affected tokens run on the calling thread before this method returns, as with
    /// <see cref="CancellationTokenSource.Cancel()"/>. An exception from such a callback does not escape here: it is
    /// reported when the owning scope's block ends.</item>
    /// </list>
    /// </remarks>
    public void Cancel(string? reason = null)
    {
        if (Volatile.Read(ref _ownReason) is not null)
        {
            return;
        }

        CancelCore(new CancelReason(CancelReasonKind.Requested, reason ?? "cancel requested", this));
    }

    /// <inheritdoc/>
    public override string ToString() => DebuggerDisplay;

    /// <summary>Gets what kind of block this scope belongs to (for diagnostics).</summary>
    internal ScopeKind Kind { get; }

    /// <summary>Gets the group child that opened this scope directly, if any (for the task tree).</summary>
    internal TaskRecord? OwnerTask { get; }

    /// <summary>
    /// The block's run once its body suspended (set once, before the run's task is handed out; never cleared: the scope
    /// leaves the tree when it ends). Read only by snapshots, to walk from the run's task into the body (Diagnostics/Stacks).
    /// </summary>
    internal ISuspendedRun? SuspendedRun { get; set; }

    /// <summary>Gets or sets the group whose scope this is, if any.</summary>
    internal TaskGroup? Group { get; set; }

    /// <summary>Marks the scope absorbed.</summary>
    internal void MarkCancelledCaught() => _cancelledCaught = true;

    /// <summary>A short description for exception messages: <c>scope 'name'</c> or <c>the scope</c>.</summary>
    internal string DescribeForMessage() => Name is { } name ? $"scope '{name}'" : "the scope";
}
