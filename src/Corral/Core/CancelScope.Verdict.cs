// ---------------------------------------------------------------------------------------------
// The cached verdict of each scope, its refresh, the scope's token, and Cancel's core (docs/adr/0001, 0006; principle 1).
//
// THE DESIGN.
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
// reparentings: the tree always settles on the verdicts its inputs imply (AssertSettled, in
// CancelScope.Invariants.cs, checks it once nothing is in flight; the Coyote suite calls it after every schedule).
//
// THE RACES, CASE BY CASE (case 5, the tree's, is in CancelScope.Tree.cs; 6-10, the stop's, in CancelScope.Stop.cs).
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
// KNOWN LIMITS. Tokens are not "un-cancelled" (case 3). A cancelled scope keeps its deadline field
// but leaves the deadline queue.
// ---------------------------------------------------------------------------------------------
using System;
using System.Collections.Generic;
using System.Threading;
using Corral.Core;

namespace Corral;

public sealed partial class CancelScope
{
    /// <summary>Why this scope's own cancel was called; null until then. Written once, by CompareExchange.</summary>
    private CancelReason? _ownReason;

    /// <summary>
    /// The cached verdict: the innermost scope on the unshielded path from here to the root whose own cancel was called.
    /// </summary>
    /// <remarks>INVARIANT (once refresh settles): <c>_cancelledBy == (_ownReason != null ? this : _shield ? null : _parent?._cancelledBy)</c>.
    /// INVARIANT (always): a non-null verdict names a scope whose own cancel was called.</remarks>
    private volatile CancelScope? _cancelledBy;

    /// <summary>Whether this scope ignores its ancestors' cancellation.</summary>
    private volatile bool _shield;

    /// <summary>The token source, created on the first read of <see cref="Token"/>; replaced only when a shield un-cancels the scope.</summary>
    private CancellationTokenSource? _cts;

    /// <summary>
    /// True once a refresh has decided to cancel the current <see cref="_cts"/> (the call itself happens outside the lock).
    /// </summary>
    /// <remarks>INVARIANT (under the lock): <c>_ctsCancelled == (_cts != null &amp;&amp; _cancelledBy != null)</c>: the decision
    /// agrees with the verdict. Later refreshes read it instead of <c>_cts.IsCancellationRequested</c>, which may lag the
    /// decision (race case 3).</remarks>
    private bool _ctsCancelled;

    /// <summary>When the verdict last became "cancelled", on the timestamp clock; 0 while not cancelled. Written under the scope's lock.</summary>
    /// <remarks>INVARIANT (under the lock): 0 exactly when <see cref="_cancelledBy"/> is null.</remarks>
    private long _cancelledTimestamp;

    /// <summary>When the cancellation reached this scope, on the timestamp clock; 0 when not cancelled.</summary>
    internal long CancelledTimestamp => Volatile.Read(ref _cancelledTimestamp);

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

        AssertInvariants(locked: false);
        Lifecycle.Observer.ScopeCancelled(this, reason.Kind);

        // The timer has nothing left to do for a cancelled scope (neither a deadline nor a stop's grace).
        Dequeue();

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
            AssertInvariants();
            return (_cts is not null && _cts.Token == token) || (_rare?.RetiredTokens?.Contains(token) ?? false);
        }
    }

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

    private CancellationToken MaterializeToken()
    {
        lock (this)
        {
            AssertInvariants();
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

            AssertInvariants();
            return _cts.Token;
        }
    }

    /// <summary>
    /// Recomputes the verdict of this scope and of every descendant, top-down, then cancels the token sources that must be
    /// cancelled, outside every lock.
    /// </summary>
    private void RefreshSubtree()
    {
        List<(CancelScope Scope, CancellationTokenSource Source)>? toCancel = null;
        List<TaskGroup>? newlyCancelledGroups = null;
        var cancelledByAncestor = 0;
        Stack<CancelScope>? toVisit = null;
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
                        cancelledByAncestor++;
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

                // The stop verdict refreshes with the cancel verdict (CancelScope.Stop.cs). A scope nobody asks to stop keeps
                // its side object as it was (usually null) here: no allocation.
                var stopVerdict = node.StopVerdict(parent);
                var stop = node._rare;
                if (stopVerdict is not null && stop is null)
                {
                    stop = node.Rare();
                }

                if (stop is not null)
                {
                    stop.StoppedBy = stopVerdict;
                    if (verdict is not null || stopVerdict is not null)
                    {
                        if (stop.Cts is not null && !stop.CtsCancelled)
                        {
                            stop.CtsCancelled = true;
                            (toCancel ??= new()).Add((node, stop.Cts));
                        }
                    }
                    else if (stop.CtsCancelled)
                    {
                        // Un-stopped by a shield or a reparenting: the next StoppingToken read creates a fresh source.
                        stop.Cts = null;
                        stop.CtsCancelled = false;
                    }
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
                    // stays this scope's, so a cancellation it caused is still recognised as this scope's (see IssuedCancelledToken).
                    (node.Rare().RetiredTokens ??= new()).Add(node._cts!.Token);
                    Volatile.Write(ref node._cts, null);
                    node._ctsCancelled = false;
                }

                node.AssertInvariants();
                for (var child = node._newestChild; child is not null; child = child._olderSibling)
                {
                    (toVisit ??= new()).Push(child);
                }
            }

            if (toVisit is null || !toVisit.TryPop(out node!))
            {
                break;
            }
        }

        if (cancelledByAncestor > 0 || newlyCancelledGroups is not null)
        {
            Lifecycle.Observer.CancellationReached(cancelledByAncestor, newlyCancelledGroups);
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
    /// finish meanwhile. <see cref="Unlink"/> sets the state under the same lock before the owner takes the errors, so an
    /// error either lands before the take or sees the exited state and moves up.
    /// </remarks>
    private void RecordCallbackErrors(IEnumerable<Exception> errors)
    {
        for (var scope = this; scope is not null; scope = scope._parent)
        {
            lock (scope)
            {
                scope.AssertInvariants();
                if (scope._state != ScopeState.Exited)
                {
                    (scope.Rare().CallbackErrors ??= new()).AddRange(errors);
                    return;
                }
            }
        }

        Lifecycle.Observer.CallbackErrorsUnclaimed(errors);
    }
}
