// The invariants of the cancel tree, as debug-only assertions (the guide's rule: every locked and CAS region asserts its
// invariants). AssertInvariants runs at the start and end of every locked region of a scope, and its lock-free part after
// the CAS of Cancel; AssertSettled checks the ones that hold only once nothing is in flight, and the Coyote suite calls it
// at the end of every schedule it explores (a failed Debug.Assert fails that schedule, with its trace).
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using Corral.Core;

namespace Corral;

public sealed partial class CancelScope
{
    /// <summary>
    /// The invariants that hold at the start and end of every locked region of this scope (<paramref name="locked"/>), and
    /// the lock-free ones after its CAS (<see cref="CancelCore"/>).
    /// </summary>
    /// <param name="locked">Whether the caller holds this scope's lock: only then are the fields it guards checked.</param>
    [Conditional("DEBUG")]
    private void AssertInvariants(bool locked = true)
    {
        var verdict = _cancelledBy;
        Debug.Assert(verdict is null || verdict._ownReason is not null, "a verdict names a scope whose own cancel was called");
        Debug.Assert(_state is ScopeState.Created or ScopeState.Open or ScopeState.Exited, "a known state");
        var stop = _rare;
        Debug.Assert(stop?.StoppedBy is null || stop.StoppedBy._rare?.Own is not null, "a stop verdict names a scope with its own request");
        if (!locked)
        {
            return;
        }

        Debug.Assert(Monitor.IsEntered(this), "checked under the scope's lock");

        Debug.Assert(!_ctsCancelled || _cts is not null, "a cancel decision needs a source");
        Debug.Assert(_ctsCancelled == (_cts is not null && _cancelledBy is not null), "the token source's fate agrees with the verdict");
        Debug.Assert((_cancelledBy is null) == (_cancelledTimestamp == 0), "stamped exactly while cancelled");
        Debug.Assert(_newestChild is null || _newestChild._newerSibling is null, "the newest child has no newer sibling");
        if (stop is not null)
        {
            Debug.Assert(!stop.CtsCancelled || stop.Cts is not null, "a stopping-token decision needs a source");
            Debug.Assert(
                stop.CtsCancelled == (stop.Cts is not null && (_cancelledBy is not null || stop.StoppedBy is not null)),
                "the stopping token's fate agrees with the verdicts");
        }

        // The child list (guarded by this lock). Checked up to 64 children: debug builds run the stress tests too.
        var checkedChildren = 0;
        for (var child = _newestChild; child is not null && checkedChildren < 64; child = child._olderSibling, checkedChildren++)
        {
            Debug.Assert(child.TreeParent == this, $"child '{child.Name}' of '{Name}' names another parent");
            Debug.Assert(child._state == ScopeState.Open, $"child '{child.Name}' of '{Name}' is linked but {child._state}");
            Debug.Assert(child._olderSibling is null || child._olderSibling._newerSibling == child, "sibling links agree");
        }
    }

    /// <summary>
    /// Asserts the invariants of this subtree that hold once nothing is in flight (no cancel, shield change, deadline or
    /// reparenting racing): every verdict is what its inputs imply, every token source agrees with its verdict, every
    /// reason with the verdict, and no exited scope is linked. The Coyote suite calls it at the end of every schedule.
    /// </summary>
    [Conditional("DEBUG")]
    internal void AssertSettled()
    {
        var toVisit = new Stack<CancelScope>();
        toVisit.Push(this);
        while (toVisit.TryPop(out var node))
        {
            lock (node)
            {
                node.AssertInvariants();
                var expected = node._ownReason is not null ? node : node._shield ? null : node._parent?._cancelledBy;
                Debug.Assert(node._cancelledBy == expected, $"'{node.Name}': the verdict has not settled on what its inputs imply");
                Debug.Assert(node._cts is null || node._cts.IsCancellationRequested == (node._cancelledBy is not null), $"'{node.Name}': the token disagrees with the verdict");
                var expectedStop = node.StopVerdict(node._parent);
                Debug.Assert(node._rare?.StoppedBy == expectedStop, $"'{node.Name}': the stop verdict has not settled on what its inputs imply");
                Debug.Assert(
                    node._rare?.Cts is not { } stopping || stopping.IsCancellationRequested == (node._cancelledBy is not null || expectedStop is not null),
                    $"'{node.Name}': the stopping token disagrees with the verdicts");
                Debug.Assert((node.CancelReason is null) == (node._cancelledBy is null), $"'{node.Name}': the reason disagrees with the verdict");
                Debug.Assert(node._parent is null || node._shield || node._ownReason is not null || ReferenceEquals(node.CancelReason, node._parent.CancelReason), $"'{node.Name}': an unshielded child does not inherit its parent's reason");
                for (var child = node._newestChild; child is not null; child = child._olderSibling)
                {
                    Debug.Assert(child._state != ScopeState.Exited, $"'{child.Name}': an exited scope is still linked under '{node.Name}'");
                    toVisit.Push(child);
                }
            }
        }
    }
}
