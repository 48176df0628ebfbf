// ---------------------------------------------------------------------------------------------
// CancelScope: one node of the cancel tree.
//
// THE PROBLEM. A CancellationToken is a one-shot signal owned by whoever holds the source; nothing
// ties it to the code that runs under it. Corral ties cancellation to *blocks of code*: a scope is
// cancelled, and so is every scope nested inside it (unless shielded), for as long as the block runs
// (level-triggered, like trio). Every scope also hands out a real CancellationToken, so .NET APIs obey.
//
// THE DESIGN (docs/adr/0001, 0003).
//   * The tree. Each scope knows its parent and keeps an intrusive list of its live child scopes.
//     Tasks of a group do not get scopes of their own: they share the group's scope.
//   * The cached verdict. `_cancelledBy` is the innermost scope on the unshielded path to the root
//     whose own cancel was called (or null). Checkpoints read only this field: O(1), no allocation.
//   * Refresh. Whatever changes an input of the verdict (own cancel, shield, parent) writes the input
//     and then *refreshes* the subtree top-down: each node, under its own lock, recomputes its verdict
//     from its own inputs and its parent's verdict, and decides what its token source must become.
//   * Lazy tokens. `_cts` is created the first time `Token` is read. A scope nobody asks for a token
//     never allocates one; cancelling it is a field write.
//   * Token sources are cancelled (user callbacks run) only after every lock is released.
//
// WHY REFRESH CONVERGES. A node's verdict depends on its own inputs and its parent's verdict. Every
// writer of a node's verdict revisits all of that node's children *after* the write, and each visit
// reads the parent's verdict under the child's lock. So the last visit to any child happens after the
// last write to its parent, whatever the interleaving of concurrent cancels, shield toggles and
// reparentings: the tree always settles on the verdicts its inputs imply.
//
// THE RACES, CASE BY CASE.
//   1. Cancel racing the creation of a child: the child is linked, and reads its parent's verdict,
//      under the parent's lock; a refresh sets the parent's verdict and snapshots its children under
//      the same lock. Either the snapshot holds the child, or the child read the new verdict.
//   2. Cancel racing the first read of Token: the token source is created, and the verdict applied to
//      it, under the node's lock; a refresh decides under the same lock. Either way it gets cancelled.
//   3. Shield turned on while an ancestor's cancel is propagating: the refresh that ran first may
//      decide to cancel the source; `_ctsCancelled` records that decision under the lock, so the later
//      refresh sees it and swaps in a fresh source instead of missing a cancel still in flight.
//      Tokens handed out before the shield went up stay cancelled (a CancellationTokenSource cannot be
//      reset); new reads of Token and every checkpoint see the shield at once.
//   4. Cancel from many threads at once: `_ownReason` is set by one CompareExchange; the losers return.
//
// LOCKING. Every node's lock is the scope object itself (`lock (this)`): a plain scope is one object, not two
// (docs/adr/0011). Locks are taken parent before child, never child before parent, and never held while user code
// (token callbacks) runs. Code outside Corral must not lock a CancelScope; the class documents that.
//
// KNOWN LIMITS. Tokens are not "un-cancelled" (case 3). A cancelled scope keeps its deadline field
// but leaves the deadline queue.
// ---------------------------------------------------------------------------------------------
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using Corral.Core;
using Corral.Diagnostics;

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
///   state      | Token       | checkpoints | how it is left
///   -----------+-------------+-------------+------------------------------------------------
///   running    | live        | pass        | Cancel(), deadline, ancestor cancelled -> cancelled; block ends -> exited
///   cancelled  | cancelled   | throw       | block ends -> exited (absorbs its own cancellation)
///   exited     | as it was   | (not ambient any more)
/// </code>
/// </remarks>
[DebuggerDisplay("{DebuggerDisplay,nq}")]
public sealed partial class CancelScope
{
    /// <summary>Sentinel for "no deadline" in <see cref="_deadlineTicks"/>.</summary>
    internal const long NoDeadline = long.MaxValue;

    /// <summary>The clock for this scope's deadline; inherited from the parent unless the options set one.</summary>
    private readonly TimeProvider _timeProvider;

    /// <summary>
    /// The enclosing scope when this one opened, or null at the root. Changes only when a
    /// <see cref="TaskGroup.StartAsync{T}"/> child is handed over to its group (see <see cref="Reparent"/>).
    /// </summary>
    private volatile CancelScope? _parent;

    /// <summary>First live child scope (intrusive list, guarded by this scope's lock).</summary>
    private CancelScope? _firstChild;

    /// <summary>Previous sibling in the parent's child list (guarded by the parent's lock).</summary>
    private CancelScope? _prevSibling;

    /// <summary>Next sibling in the parent's child list (guarded by the parent's lock).</summary>
    private CancelScope? _nextSibling;

    /// <summary>Why this scope's own cancel was called; null until then. Written once, by CompareExchange.</summary>
    private CancelReason? _ownReason;

    /// <summary>
    /// The cached verdict: the innermost scope on the unshielded path from here to the root whose own cancel was called.
    /// </summary>
    /// <remarks>INVARIANT (after refresh settles): <c>_cancelledBy == (_ownReason != null ? this : _shield ? null : _parent?._cancelledBy)</c>.</remarks>
    private volatile CancelScope? _cancelledBy;

    /// <summary>Whether this scope ignores its ancestors' cancellation.</summary>
    private volatile bool _shield;

    /// <summary>The token source, created on the first read of <see cref="Token"/>; replaced only when a shield un-cancels the scope.</summary>
    private CancellationTokenSource? _cts;

    /// <summary>
    /// True once a refresh has decided to cancel the current <see cref="_cts"/> (the call itself happens outside the lock).
    /// </summary>
    /// <remarks>INVARIANT: <c>_ctsCancelled</c> implies <c>_cts != null</c>; it is what later refreshes read instead of
    /// <c>_cts.IsCancellationRequested</c>, which may lag the decision (race case 3).</remarks>
    private bool _ctsCancelled;

    /// <summary>This scope's own deadline in UTC ticks of <see cref="_timeProvider"/>, or <see cref="NoDeadline"/>.</summary>
    private long _deadlineTicks = NoDeadline;

    /// <summary>0 = created, 1 = running (linked into the tree), 2 = exited.</summary>
    private int _state;

    /// <summary>Set when this scope absorbed its own cancellation at the end of its block.</summary>
    private volatile bool _cancelledCaught;

    /// <summary>Tokens this scope handed out before a shield or reparenting un-cancelled it; guarded by the scope's lock.</summary>
    private List<CancellationToken>? _retiredTokens;

    /// <summary>Exceptions thrown by callbacks registered on <see cref="Token"/> while it was being cancelled; guarded by the scope's lock.</summary>
    private List<Exception>? _callbackErrors;

    /// <summary>Position in the <see cref="DeadlineQueue"/> heap, or -1 when not queued. Owned by the queue, under its lock.</summary>
    internal int HeapIndex = -1;

    /// <summary>Due time while queued, in UTC ticks. Owned by the queue, under its lock.</summary>
    internal long HeapDueTicks;

    /// <summary>
    /// Creates the Corral EventSource with the first scope, so a process that uses Corral answers the <c>corral</c> tool
    /// from then on (an EventSource that does not exist yet receives no commands).
    /// </summary>
    private static readonly CorralEventSource s_eventSource = CorralEventSource.Log;

    /// <summary>The parent of every root scope (scopes opened outside any scope), so snapshots can find them. Never opened.</summary>
    private static readonly CancelScope s_roots = new(null, "(roots)", TimeProvider.System, shield: false, ScopeKind.Scope);

    /// <summary>Backing field of <see cref="Id"/>; 0 until first read.</summary>
    private long _id;

    /// <summary>True while this scope is linked into <see cref="s_roots"/> (it has no parent).</summary>
    private bool _isRoot;

    /// <summary>When the block began: a <see cref="DiagnosticClock"/> stamp on <see cref="_timeProvider"/>.</summary>
    private long _openedTimestamp;

    /// <summary>When the verdict last became "cancelled", on the timestamp clock; 0 while not cancelled. Written under the scope's lock.</summary>
    private long _cancelledTimestamp;

    internal CancelScope(CancelScope? parent, string? name, TimeProvider? timeProvider, bool shield, ScopeKind kind)
    {
        _parent = parent;
        Name = name;
        Kind = kind;
        _shield = shield;
        _timeProvider = timeProvider ?? parent?._timeProvider ?? TimeProvider.System;
        OwnerTask = parent is null ? null : Ambient.Task;
    }

    /// <summary>A process-wide identifier for snapshots, assigned on first use.</summary>
    internal long Id => Ids.GetOrAssign(ref _id);

    /// <summary>The group child that opened this scope directly, if any (for the task tree).</summary>
    internal TaskRecord? OwnerTask { get; }

    /// <summary>The group whose scope this is, if any.</summary>
    internal TaskGroup? Group { get; set; }

    /// <summary>When the block began: a <see cref="DiagnosticClock"/> stamp on <see cref="TimeProvider"/> (read it with <see cref="DiagnosticClock.Since"/>).</summary>
    internal long OpenedTimestamp => _openedTimestamp;

    /// <summary>When the cancellation reached this scope, on the timestamp clock; 0 when not cancelled.</summary>
    internal long CancelledTimestamp => Volatile.Read(ref _cancelledTimestamp);

    /// <summary>The live child scopes (for snapshots).</summary>
    internal CancelScope[] LiveChildren()
    {
        lock (this)
        {
            var list = new List<CancelScope>();
            for (var c = _firstChild; c is not null; c = c._nextSibling)
            {
                list.Add(c);
            }

            list.Reverse(); // oldest first
            return list.ToArray();
        }
    }

    /// <summary>The live root scopes (for snapshots).</summary>
    internal static CancelScope[] LiveRoots() => s_roots.LiveChildren();

    /// <summary>Gets the scope's name (from the options or the <c>name</c> argument of a timeout or shield method, the group, or
    /// the task), or <see langword="null"/>.</summary>
    public string? Name { get; }

    /// <summary>Gets the clock this scope's deadline is measured on.</summary>
    public TimeProvider TimeProvider => _timeProvider;

    /// <summary>Gets the enclosing scope, or <see langword="null"/> for a root scope.</summary>
    public CancelScope? Parent => _parent;

    /// <summary>What kind of block this scope belongs to (for diagnostics).</summary>
    internal ScopeKind Kind { get; }

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
    public bool IsExited => Volatile.Read(ref _state) == 2;

    private string DebuggerDisplay =>
        $"{Kind} '{Name ?? "(unnamed)"}' {(IsExited ? "exited" : IsCancellationRequested ? "cancelled" : "running")}" +
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

    // ----------------------------------------------------------------------------------------------
    // Internal machinery
    // ----------------------------------------------------------------------------------------------

    /// <summary>The own reason, if this scope's own cancel was called.</summary>
    internal CancelReason? OwnReason => Volatile.Read(ref _ownReason);

    /// <summary>The scope whose cancellation reaches this one, or null.</summary>
    internal CancelScope? CancelledBy => _cancelledBy;

    /// <summary>Cancels with the given reason; returns false when the scope was already cancelled by its own cancel.</summary>
    internal bool CancelCore(CancelReason reason)
    {
        if (Interlocked.CompareExchange(ref _ownReason, reason, null) is not null)
        {
            return false;
        }

        CorralMetrics.ScopeCancelled(reason.Kind);

        // The timer has nothing left to do for a cancelled scope.
        if (Volatile.Read(ref _deadlineTicks) != NoDeadline)
        {
            DeadlineQueue.For(_timeProvider).Remove(this);
        }

        RefreshSubtree();
        return true;
    }

    /// <summary>
    /// Whether <paramref name="token"/> is a cancelled token this scope handed out: its current one, or one retired when a
    /// shield un-cancelled the scope. A cancellation raised through such a token belongs to this scope even if the scope is
    /// no longer cancelled when the exception is classified.
    /// </summary>
    internal bool IssuedCancelledToken(CancellationToken token)
    {
        if (!token.IsCancellationRequested)
        {
            return false;
        }

        lock (this)
        {
            return (_cts is not null && _cts.Token == token) || (_retiredTokens?.Contains(token) ?? false);
        }
    }

    /// <summary>Marks the scope absorbed.</summary>
    internal void MarkCancelledCaught() => _cancelledCaught = true;

    /// <summary>Creates the exception a checkpoint throws for this (cancelled) scope.</summary>
    internal ScopeCancelledException CreateCancelledException()
    {
        var by = _cancelledBy ?? this;
        var reason = by._ownReason ?? new CancelReason(CancelReasonKind.Requested, "cancel requested", by);
        return new ScopeCancelledException(reason, Token);
    }

    /// <summary>
    /// Returns the cancellation as a <see cref="ScopeCancelledException"/> carrying this scope's reason: unchanged if it already is
    /// one, otherwise wrapping it (a .NET API's own <see cref="OperationCanceledException"/> knows no reason).
    /// </summary>
    internal OperationCanceledException WithReason(OperationCanceledException cancellation) =>
        cancellation is ScopeCancelledException || _cancelledBy?._ownReason is not { } reason
            ? cancellation
            : new ScopeCancelledException(reason, cancellation, Token);

    /// <summary>Links the scope into the tree and arms its deadline. Called once, before the block runs.</summary>
    /// <param name="deadlineTicks">The deadline, or <see cref="NoDeadline"/>.</param>
    /// <param name="now">The clock reading the deadline was computed from, or <see cref="Timeouts.UnknownNow"/>.</param>
    internal void Open(long deadlineTicks, long now = Timeouts.UnknownNow)
    {
        Debug.Assert(_state == 0, "a scope opens once");
        _openedTimestamp = DiagnosticClock.Now(_timeProvider);
        var parent = _parent;
        if (parent is not null)
        {
            lock (parent)
            {
                parent.LinkChildLocked(this);

                // Race case 1: read the parent's verdict under the parent's lock.
                _cancelledBy = _shield ? null : parent._cancelledBy;
                if (_cancelledBy is not null)
                {
                    _cancelledTimestamp = parent._cancelledTimestamp;
                }
            }
        }
        else
        {
            lock (s_roots)
            {
                s_roots.LinkChildLocked(this);
                _isRoot = true;
            }
        }

        Volatile.Write(ref _state, 1);
        if (deadlineTicks != NoDeadline)
        {
            SetDeadline(deadlineTicks, now);
        }
    }

    /// <summary>
    /// Unlinks the scope from the tree and takes its deadline out of the queue. Called once, when the block has ended.
    /// </summary>
    /// <returns>Exceptions thrown by callbacks registered on <see cref="Token"/> while it was being cancelled, or null: taken
    /// under the same lock that marks the scope exited, so each is either returned here or handed to an enclosing scope by
    /// <see cref="RecordCallbackErrors"/>, never both and never neither.</returns>
    internal Exception[]? Close()
    {
        Exception[]? callbackErrors = null;
        lock (this)
        {
            _state = 2;
            if (_callbackErrors is { } errors)
            {
                callbackErrors = errors.ToArray();
                _callbackErrors = null;
            }
        }

        // Always: a deadline armed by a SetDeadline racing a cancel and then cleared may still be queued although the field
        // says "none" (found by the cancel storm). Remove's fast path is one read when nothing is queued.
        DeadlineQueue.For(_timeProvider).Remove(this);

        while (_parent is { } parent)
        {
            lock (parent)
            {
                if (_parent != parent)
                {
                    continue; // reparented meanwhile: retry with the new parent.
                }

                parent.UnlinkChildLocked(this);
                break;
            }
        }

        UnlinkFromRoots();
        return callbackErrors;
    }

    private void UnlinkFromRoots()
    {
        if (Volatile.Read(ref _isRoot))
        {
            lock (s_roots)
            {
                if (_isRoot)
                {
                    s_roots.UnlinkChildLocked(this);
                    _isRoot = false;
                }
            }
        }
    }

    /// <summary>Moves this scope under a new parent (a StartAsync child handed over to its group) and refreshes it.</summary>
    internal void Reparent(CancelScope newParent)
    {
        var old = _parent;
        if (old is not null)
        {
            lock (old)
            {
                old.UnlinkChildLocked(this);
            }
        }
        else
        {
            UnlinkFromRoots();
        }

        lock (newParent)
        {
            _parent = newParent;

            // The child may have ended (and closed this scope) while it signalled from another thread: a closed scope
            // must not be linked anywhere, or it would stay in the tree for the group's lifetime.
            if (Volatile.Read(ref _state) == 2)
            {
                return;
            }

            newParent.LinkChildLocked(this);
        }

        RefreshSubtree();
    }

    /// <summary>Called by the <see cref="DeadlineQueue"/> when this scope's due time came; never cancels early.</summary>
    internal void OnDeadlineReached()
    {
        lock (this)
        {
            if (_state != 1 || _ownReason is not null || _deadlineTicks == NoDeadline)
            {
                return;
            }

            if (_timeProvider.GetUtcNow().UtcTicks < _deadlineTicks)
            {
                // The deadline moved later after the queue popped it (or the timer fired early): wait again.
                DeadlineQueue.For(_timeProvider).AddOrUpdate(this, _deadlineTicks);
                return;
            }

            // Decide under the lock that Close takes to end the block: a deadline firing as the scope exits either cancels
            // the running scope or finds it exited, never changes a scope after its block ended (found by Coyote).
            if (Interlocked.CompareExchange(ref _ownReason, new CancelReason(CancelReasonKind.DeadlineExceeded, "deadline exceeded", this), null) is not null)
            {
                return;
            }
        }

        CorralMetrics.ScopeCancelled(CancelReasonKind.DeadlineExceeded);
        RefreshSubtree();
    }

    /// <summary>Sets the deadline; arms it, disarms it, or cancels at once if it has passed.</summary>
    /// <param name="ticks">The deadline, or <see cref="NoDeadline"/>.</param>
    /// <param name="now">A clock reading to judge "has passed" by (a timeout's own), or <see cref="Timeouts.UnknownNow"/> to read
    /// the clock. A reading slightly in the past only means a deadline that passed since is armed instead of cancelling
    /// here: the timer then fires at once, and never early.</param>
    private void SetDeadline(long ticks, long now = Timeouts.UnknownNow)
    {
        var cancelNow = false;
        lock (this)
        {
            Volatile.Write(ref _deadlineTicks, ticks);
            if (_state != 1 || _ownReason is not null)
            {
                return; // not running, or already cancelled: nothing to arm. (Open arms it later.)
            }

            var queue = DeadlineQueue.For(_timeProvider);
            if (ticks == NoDeadline)
            {
                queue.Remove(this);
            }
            else if (ticks <= (now != Timeouts.UnknownNow ? now : _timeProvider.GetUtcNow().UtcTicks))
            {
                queue.Remove(this);
                cancelNow = true;
            }
            else
            {
                queue.AddOrUpdate(this, ticks);
            }
        }

        if (cancelNow)
        {
            CancelCore(new CancelReason(CancelReasonKind.DeadlineExceeded, "deadline exceeded", this));
        }
    }

    private CancellationToken MaterializeToken()
    {
        lock (this)
        {
            if (_cts is null)
            {
                var cts = new CancellationTokenSource();
                if (_cancelledBy is not null)
                {
                    // Race case 2. Nobody has this token yet, so no callback can run under our lock.
                    cts.Cancel();
                    _ctsCancelled = true;
                }

                Volatile.Write(ref _cts, cts);
            }

            return _cts.Token;
        }
    }

    private void LinkChildLocked(CancelScope child)
    {
        Debug.Assert(Monitor.IsEntered(this), "caller holds the parent's lock");
        child._prevSibling = null;
        child._nextSibling = _firstChild;
        if (_firstChild is not null)
        {
            _firstChild._prevSibling = child;
        }

        _firstChild = child;
    }

    private void UnlinkChildLocked(CancelScope child)
    {
        Debug.Assert(Monitor.IsEntered(this), "caller holds the parent's lock");
        if (child._prevSibling is not null)
        {
            child._prevSibling._nextSibling = child._nextSibling;
        }
        else if (_firstChild == child)
        {
            _firstChild = child._nextSibling;
        }

        if (child._nextSibling is not null)
        {
            child._nextSibling._prevSibling = child._prevSibling;
        }

        child._prevSibling = null;
        child._nextSibling = null;
    }

    /// <summary>
    /// Recomputes the verdict of this scope and of every descendant, top-down, then cancels the token sources that must be
    /// cancelled, outside every lock.
    /// </summary>
    private void RefreshSubtree()
    {
        List<(CancelScope Scope, CancellationTokenSource Source)>? toCancel = null;
        List<TaskGroup>? newlyCancelledGroups = null;
        var cancelledByParent = 0;
        Stack<CancelScope>? pending = null;
        var node = this;
        while (true)
        {
            lock (node)
            {
                node.AssertInvariants();
                var parent = node._parent;
                var verdict = node._ownReason is not null ? node : node._shield ? null : parent?._cancelledBy;
                var wasCancelled = node._cancelledBy is not null;
                node._cancelledBy = verdict;
                if (verdict is not null && !wasCancelled)
                {
                    node._cancelledTimestamp = Math.Max(1, node._timeProvider.GetTimestamp());
                    if (verdict != node)
                    {
                        cancelledByParent++;
                    }

                    if (node.Group is { } group)
                    {
                        (newlyCancelledGroups ??= new()).Add(group);
                    }
                }
                else if (verdict is null)
                {
                    node._cancelledTimestamp = 0;
                }
                if (verdict is not null)
                {
                    if (node._cts is not null && !node._ctsCancelled)
                    {
                        node._ctsCancelled = true;
                        (toCancel ??= new()).Add((node, node._cts));
                    }
                }
                else if (node._ctsCancelled)
                {
                    // Un-cancelled by a shield or a reparenting: the next Token read creates a fresh source. The old token
                    // stays this scope's, so a cancellation it caused is still recognised as this scope's (see IssuedToken).
                    (node._retiredTokens ??= new()).Add(node._cts!.Token);
                    Volatile.Write(ref node._cts, null);
                    node._ctsCancelled = false;
                }

                for (var child = node._firstChild; child is not null; child = child._nextSibling)
                {
                    (pending ??= new()).Push(child);
                }
            }

            if (pending is null || !pending.TryPop(out node!))
            {
                break;
            }
        }

        if (cancelledByParent > 0)
        {
            CorralMetrics.ScopesCancelledByParent(cancelledByParent);
        }

        if (newlyCancelledGroups is not null)
        {
            Watchdog.OnGroupsCancelled(newlyCancelledGroups);
        }

        if (toCancel is not null)
        {
            foreach (var (scope, source) in toCancel)
            {
                try
                {
                    source.Cancel();
                }
                catch (AggregateException e)
                {
                    scope.RecordCallbackErrors(e.InnerExceptions);
                }
                catch (ObjectDisposedException)
                {
                    // Corral never disposes its sources; nothing to do if user code did.
                }
            }
        }
    }

    /// <summary>
    /// Keeps the errors for the end of this scope's block; once the block has ended (its errors already taken), hands them
    /// to the nearest enclosing scope still open, so they are never dropped.
    /// </summary>
    /// <remarks>
    /// The cases: callbacks run in the cancelling thread, after the token's other callbacks — which may have let the block
    /// finish meanwhile. <see cref="Close"/> sets the state under the same lock before the owner takes the errors, so an
    /// error either lands before the take or sees the closed state and moves up.
    /// </remarks>
    private void RecordCallbackErrors(IEnumerable<Exception> errors)
    {
        for (var scope = this; scope is not null; scope = scope._parent)
        {
            lock (scope)
            {
                if (scope._state != 2)
                {
                    (scope._callbackErrors ??= new()).AddRange(errors);
                    return;
                }
            }
        }

        foreach (var error in errors)
        {
            CorralEventSource.Log.HandlerFailed(error.ToString());
        }
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(Monitor.IsEntered(this), "invariants are checked under the lock");
        Debug.Assert(!_ctsCancelled || _cts is not null, "a cancel decision needs a source");
        Debug.Assert(_state is >= 0 and <= 2, "known state");
    }
}
