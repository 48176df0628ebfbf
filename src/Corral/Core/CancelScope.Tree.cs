// ---------------------------------------------------------------------------------------------
// The cancel tree: each CancelScope is one node of it; this file holds the links (docs/adr/0003).
//
// THE PROBLEM. A CancellationToken is a one-shot signal owned by whoever holds the source; nothing
// ties it to the code that runs under it. Corral ties cancellation to *blocks of code*: a scope is
// cancelled, and so is every scope nested inside it (unless shielded), for as long as the block runs
// (level-triggered, like trio). For that, each scope must know the scopes nested in it while they run.
//
// THE DESIGN. Each scope knows its parent and keeps an intrusive list of its live child scopes, newest first. Root
// scopes (opened outside any scope) are listed under s_roots, so snapshots can find them. Tasks of a group do not get
// scopes of their own: they share the group's scope. A scope enters the tree once (Open, before its block runs) and
// leaves it once (Unlink, when its block has ended: every block exit starts there); a StartAsync child's scope moves
// once, from the caller's scope to the group's (Reparent). What a scope's place in the tree means for its
// cancellation — the cached verdict and its refresh — is in CancelScope.Verdict.cs.
//
// THE RACES, CASE BY CASE (cases 1-4 are the verdict's, in CancelScope.Verdict.cs).
//   5. The block ending (Unlink) racing a reparenting (a StartAsync child signalling from another thread as it ends):
//      the scope is marked exited under its tree parent's lock and its own, and Reparent links it under the new parent
//      only if, under that parent's lock, it is not exited. Unlink retries when the parent changed before it locked it.
//      So an exited scope is never linked anywhere (Coyote: CoreBugTests.StartAsync_StartedAsTheChildEnds…).
//
// LOCKING. Every node's lock is the scope object itself (`lock (this)`): a plain scope is one object, not two
// (docs/adr/0011). Locks are taken parent before child (Unlink holds both), never child before parent, and never held
// while user code (token callbacks) runs. A scope's lock is taken before the DeadlineQueue's, never after. Code outside
// Corral must not lock a CancelScope; the class documents that.
// ---------------------------------------------------------------------------------------------
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using Corral.Core;

namespace Corral;

public sealed partial class CancelScope
{
    /// <summary>The tree parent of every root scope (scopes opened outside any scope), so snapshots can find them. Never opened.</summary>
    private static readonly CancelScope s_roots = new(null, "(roots)", TimeProvider.System, shield: false, ScopeKind.Scope);

    /// <summary>The clock for this scope's deadline; inherited from the parent unless the options set one.</summary>
    private readonly TimeProvider _timeProvider;

    /// <summary>
    /// The enclosing scope when this one opened, or null at the root. Changes only when a
    /// <see cref="TaskGroup.StartAsync{T}"/> child is handed over to its group (see <see cref="Reparent"/>).
    /// </summary>
    private volatile CancelScope? _parent;

    /// <summary>Newest live child scope: the head of an intrusive list, newest first (guarded by this scope's lock).</summary>
    private CancelScope? _newestChild;

    /// <summary>Previous (newer) sibling in the tree parent's child list (guarded by the tree parent's lock).</summary>
    private CancelScope? _newerSibling;

    /// <summary>Next (older) sibling in the tree parent's child list (guarded by the tree parent's lock).</summary>
    private CancelScope? _olderSibling;

    /// <summary>Where the scope is in its life; moves forward only. Written under the scope's lock.</summary>
    private volatile ScopeState _state;

    /// <summary>When the block began: a <see cref="DiagnosticClock"/> stamp on <see cref="_timeProvider"/>.</summary>
    private long _openedTimestamp;

    /// <summary>A process-wide identifier for snapshots, assigned on first use (in the side object: most scopes are never
    /// in a snapshot).</summary>
    internal long Id => Ids.GetOrAssign(ref Rare().Id);

    /// <summary>Whether this scope's identifier is <paramref name="id"/>, without assigning one: a scope that has none yet was
    /// never in a snapshot, so no caller can be looking for it.</summary>
    internal bool HasId(long id) => _rare is { } rare && Volatile.Read(ref rare.Id) == id;

    /// <summary>Where the scope is in its life.</summary>
    internal ScopeState State => _state;

    /// <summary>When the block began: a <see cref="DiagnosticClock"/> stamp on <see cref="TimeProvider"/> (read it with <see cref="DiagnosticClock.Since"/>).</summary>
    internal long OpenedTimestamp => _openedTimestamp;

    /// <summary>The scope whose child list holds this one: its parent, or <see cref="s_roots"/> for a root scope.</summary>
    private CancelScope TreeParent => _parent ?? s_roots;

    /// <summary>The live child scopes, oldest first (for snapshots).</summary>
    internal CancelScope[] LiveChildren()
    {
        lock (this)
        {
            AssertInvariants();
            var list = new List<CancelScope>();
            for (var c = _newestChild; c is not null; c = c._olderSibling)
            {
                list.Add(c);
            }

            list.Reverse(); // oldest first
            return list.ToArray();
        }
    }

    /// <summary>The live root scopes (for snapshots).</summary>
    internal static CancelScope[] LiveRoots() => s_roots.LiveChildren();

    /// <summary>Links the scope into the tree and arms its deadline. Called once, before the block runs.</summary>
    /// <param name="deadlineTicks">The deadline, or <see cref="NoDeadline"/>.</param>
    /// <param name="now">The clock reading the deadline was computed from, or <see cref="Timeouts.UnknownNow"/>.</param>
    internal void Open(long deadlineTicks, long now = Timeouts.UnknownNow)
    {
        Debug.Assert(_state == ScopeState.Created, "a scope opens once");
        _openedTimestamp = DiagnosticClock.Now(_timeProvider);
        var parent = TreeParent;
        lock (parent)
        {
            parent.AssertInvariants();
            if (parent != s_roots)
            {
                // Race case 1: read the parent's verdict under the parent's lock. Nobody else can reach this scope yet, so
                // its own lock is not needed for its own fields.
                _cancelledBy = _shield ? null : parent._cancelledBy;
                if (_cancelledBy is not null)
                {
                    _cancelledTimestamp = parent._cancelledTimestamp;
                }

                // Race case 6: a stop request reaching the parent reaches this scope too (level-triggered).
                if (!_shield && parent._rare?.StoppedBy is { } stoppedBy)
                {
                    Rare().StoppedBy = stoppedBy;
                }
            }

            _state = ScopeState.Open;
            parent.LinkChildLocked(this);
            parent.AssertInvariants();
        }

        Lifecycle.Observer.ScopeOpened(this);
        if (deadlineTicks != NoDeadline)
        {
            SetDeadline(deadlineTicks, now);
        }
    }

    /// <summary>
    /// Takes the scope out of the tree and its deadline out of the queue, and marks it exited. Called once, when the block
    /// has ended; every block exit starts here.
    /// </summary>
    /// <returns>Exceptions thrown by callbacks registered on <see cref="Token"/> while it was being cancelled, or null: taken
    /// under the same lock that marks the scope exited, so each is either returned here or handed to an enclosing scope by
    /// <see cref="RecordCallbackErrors"/>, never both and never neither.</returns>
    internal Exception[]? Unlink()
    {
        Exception[]? callbackErrors = null;
        while (true)
        {
            var parent = TreeParent;
            lock (parent)
            {
                parent.AssertInvariants();
                if (TreeParent != parent)
                {
                    continue; // reparented meanwhile (race case 5): retry with the new parent.
                }

                lock (this)
                {
                    AssertInvariants();

                    // Out of the queue before the state says exited, both under this lock (which every arming holds and
                    // checks the state under): a queued scope is never an exited one. Always, not only with a deadline: one
                    // armed by a SetDeadline racing a cancel and then cleared may still be queued although the field says
                    // none (found by the cancel storm). One read when nothing is queued.
                    Dequeue();
                    _state = ScopeState.Exited;
                    if (_rare is { CallbackErrors: { } errors } rare)
                    {
                        callbackErrors = errors.ToArray();
                        rare.CallbackErrors = null;
                    }
                }

                parent.UnlinkChildLocked(this);
                parent.AssertInvariants();
                break;
            }
        }

        Lifecycle.Observer.ScopeExited(this);
        return callbackErrors;
    }

    /// <summary>Moves this scope under a new parent (a StartAsync child handed over to its group) and refreshes it.</summary>
    internal void Reparent(CancelScope newParent)
    {
        var old = TreeParent;
        lock (old)
        {
            old.AssertInvariants();
            old.UnlinkChildLocked(this);
            old.AssertInvariants();
        }

        lock (newParent)
        {
            newParent.AssertInvariants();
            _parent = newParent;

            // Race case 5: the child may have ended (and exited this scope) while it signalled from another thread. An exited
            // scope must not be linked anywhere, or it would stay in the tree for the group's lifetime.
            if (_state == ScopeState.Exited)
            {
                return;
            }

            newParent.LinkChildLocked(this);
            newParent.AssertInvariants();
        }

        RefreshSubtree();
    }

    private void LinkChildLocked(CancelScope child)
    {
        Debug.Assert(Monitor.IsEntered(this), "caller holds the parent's lock");
        child._newerSibling = null;
        child._olderSibling = _newestChild;
        if (_newestChild is not null)
        {
            _newestChild._newerSibling = child;
        }

        _newestChild = child;
    }

    /// <summary>Takes <paramref name="child"/> out of this scope's child list; nothing happens when it is not in it.</summary>
    private void UnlinkChildLocked(CancelScope child)
    {
        Debug.Assert(Monitor.IsEntered(this), "caller holds the parent's lock");
        if (child._newerSibling is not null)
        {
            child._newerSibling._olderSibling = child._olderSibling;
        }
        else if (_newestChild == child)
        {
            _newestChild = child._olderSibling;
        }

        if (child._olderSibling is not null)
        {
            child._olderSibling._newerSibling = child._newerSibling;
        }

        child._newerSibling = null;
        child._olderSibling = null;
    }
}
