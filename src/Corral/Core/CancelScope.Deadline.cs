// A scope's own deadline (design principles 4 and 8; docs/adr/0005, 0011), and the grace of its own stop request, which
// shares the scope's one place in the DeadlineQueue (CancelScope.Stop.cs): the queue holds the earlier of the two.
//
// A deadline is an instant in UTC ticks of the scope's TimeProvider. While the scope is open and not cancelled, an armed
// deadline sits in the DeadlineQueue of that clock (one timer per clock, behind an indexed heap; the scope keeps its
// slot's index, HeapIndex, and the slot its due time). When the queue's timer fires it pops every due scope and calls OnDeadlineReached
// outside its lock; the scope re-reads its clock and cancels itself with the reason "deadline exceeded" only when the
// deadline has really passed, so a deadline never fires early.
//
// THE RACES, CASE BY CASE.
//   1. The deadline firing as the block exits: OnDeadlineReached decides under the lock that Unlink takes to end the
//      block, so it either cancels the running scope or finds it exited, never changes a scope after its block ended
//      (found by Coyote: CoreBugTests.Deadline_FiringAsTheScopeExits_ExitedScopeUnchanged).
//   2. The deadline moved later after the queue popped it (or the timer fired early): OnDeadlineReached finds the clock
//      before the deadline and queues the scope again.
//   3. The deadline set while a Cancel races it, then cleared: the arming checks the state and the own reason under the
//      scope's lock; Unlink always removes the scope from the queue, so an exited scope is never left queued.
// Lock order: the scope's lock, then the queue's; the queue never calls into a scope under its own lock.
using System;
using System.Threading;
using Corral.Core;

namespace Corral;

public sealed partial class CancelScope
{
    /// <summary>Sentinel for "no deadline" in <see cref="_deadlineTicks"/>.</summary>
    internal const long NoDeadline = long.MaxValue;

    /// <summary>This scope's own deadline in UTC ticks of <see cref="_timeProvider"/>, or <see cref="NoDeadline"/>.</summary>
    private long _deadlineTicks = NoDeadline;

    /// <summary>Position in the <see cref="DeadlineQueue"/> heap, or -1 when not queued. Owned by the queue, under its lock
    /// (the slot holds the due time).</summary>
    internal int HeapIndex = -1;

    /// <summary>
    /// Takes this scope out of its clock's <see cref="DeadlineQueue"/> if it is queued (a deadline or a stop's grace). A scope
    /// that is not queued (most scopes) pays one read: the queue is not even looked up, which for a clock other than
    /// <see cref="TimeProvider.System"/> is a table lookup.
    /// </summary>
    /// <remarks>The read is the one <see cref="DeadlineQueue.Remove"/> starts with, so the outcome is the same as calling it.</remarks>
    private void Dequeue()
    {
        if (Volatile.Read(ref HeapIndex) >= 0)
        {
            DeadlineQueue.For(_timeProvider).Remove(this);
        }
    }

    /// <summary>Called by the <see cref="DeadlineQueue"/> when this scope's due time came; never cancels early.</summary>
    internal void OnDeadlineReached()
    {
        CancelReason reason;
        lock (this)
        {
            AssertInvariants();
            var stopRequest = _rare?.Own;
            var stopAt = stopRequest?.CancelAtTicks ?? NoDeadline;
            var due = Math.Min(_deadlineTicks, stopAt);
            if (_state != ScopeState.Open || _ownReason is not null || due == NoDeadline)
            {
                return;
            }

            if (_timeProvider.GetUtcNow().UtcTicks < due)
            {
                // Race case 2: wait again.
                DeadlineQueue.For(_timeProvider).AddOrUpdate(this, due);
                return;
            }

            // Race case 1: decided under the lock Unlink takes to end the block. Whichever instant came first names the
            // cancellation: the deadline, or the grace of a stop request (CancelScope.Stop.cs).
            reason = _deadlineTicks <= stopAt
                ? new CancelReason(CancelReasonKind.DeadlineExceeded, "deadline exceeded", this)
                : new CancelReason(CancelReasonKind.StopRequested, stopRequest!.GraceRanOutMessage(), this);
            if (Interlocked.CompareExchange(ref _ownReason, reason, null) is not null)
            {
                return;
            }

            AssertInvariants();
        }

        Lifecycle.Observer.ScopeCancelled(this, reason.Kind);
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
            AssertInvariants();
            Volatile.Write(ref _deadlineTicks, ticks);
            if (_state != ScopeState.Open || _ownReason is not null)
            {
                return; // not running, or already cancelled: nothing to arm. (Open arms it later.)
            }

            var queue = DeadlineQueue.For(_timeProvider);
            var stopAt = _rare?.Own?.CancelAtTicks ?? NoDeadline;
            if (ticks == NoDeadline)
            {
                if (stopAt == NoDeadline)
                {
                    queue.Remove(this);
                }
                else
                {
                    queue.AddOrUpdate(this, stopAt); // the stop's grace stays armed
                }
            }
            else if (ticks <= (now != Timeouts.UnknownNow ? now : _timeProvider.GetUtcNow().UtcTicks))
            {
                queue.Remove(this);
                cancelNow = true;
            }
            else
            {
                queue.AddOrUpdate(this, Math.Min(ticks, stopAt));
            }
        }

        if (cancelNow)
        {
            CancelCore(new CancelReason(CancelReasonKind.DeadlineExceeded, "deadline exceeded", this));
        }
    }
}
