// ---------------------------------------------------------------------------------------------
// DeadlineQueue: every live deadline on one TimeProvider, behind one timer.
//
// PERFORMANCE ASSUMPTIONS (as TimerQueue states its own): deadlines are armed and disarmed far more
// often than they fire — most scopes finish before their deadline. So arming and disarming must be
// cheap and must not create a timer each; firing may cost more.
//
// THE DESIGN. An indexed binary min-heap of scopes keyed by due time (each slot holds the scope and its due time; each
// scope stores only its own heap index, so removal is O(log n) with no search and no allocation, and a scope that never
// arms a deadline pays 4 bytes for the queue, not 12), and a single ITimer armed for the
// earliest due time. When the timer fires, every scope whose due time has passed *by the provider's
// clock* is popped under the lock, the timer is re-armed for the next one, and the scopes are told
// outside the lock (cancelling runs user callbacks). A scope re-checks the clock itself and re-queues
// if the timer fired early or its deadline moved: deadlines never fire early.
//
// THE TIMER IS NEVER DISARMED, only moved earlier. Removing a scope (it exited before its deadline, the common case) leaves
// the timer as it is, and arming a deadline later than the time the timer is set for leaves it as well; when the timer
// fires it pops what is due (perhaps nothing) and re-arms for the earliest left. So a stream of scopes with the same
// timeout updates the timer about once per timeout period, not twice per scope (docs/adr/0011).
//
// WHY NOT CancellationTokenSource.CancelAfter: a timer per scope, and a token source per scope even
// when nobody reads the token; and it reads the system clock, not the scope's TimeProvider.
//
// LIMITS. The timer is armed with the remaining time as a TimeSpan; the System provider caps one
// wait at about 49 days, after which the queue simply re-arms. Fake providers get exact ticks.
// ---------------------------------------------------------------------------------------------
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Corral.Core;

/// <summary>All armed deadlines of one <see cref="TimeProvider"/>, coalesced behind one timer.</summary>
internal sealed class DeadlineQueue
{
    /// <summary>The queue of <see cref="TimeProvider.System"/>, kept apart so the common case skips the table lookup.</summary>
    private static readonly DeadlineQueue s_system = new(TimeProvider.System);

    /// <summary>Queues of other providers (fake clocks in tests); collected with their provider.</summary>
    private static readonly ConditionalWeakTable<TimeProvider, DeadlineQueue> s_queues = new();

    /// <summary>The clock whose deadlines this queue keeps.</summary>
    private readonly TimeProvider _timeProvider;

    /// <summary>Guards every field below and the heap index of every queued scope.</summary>
    private readonly object _gate = new();

    /// <summary>The heap, ordered by <see cref="Entry.DueTicks"/>; slots at and past <see cref="_count"/> are empty (default).</summary>
    private Entry[] _heap = new Entry[16];

    /// <summary>Number of queued scopes.</summary>
    private int _count;

    /// <summary>The one timer, created on first use.</summary>
    private ITimer? _timer;

    /// <summary>The due time the timer is armed for, or <see cref="CancelScope.NoDeadline"/> when disarmed.</summary>
    private long _armedTicks = CancelScope.NoDeadline;

    private DeadlineQueue(TimeProvider timeProvider) => _timeProvider = timeProvider;

    /// <summary>Number of armed deadlines (diagnostics and tests).</summary>
    internal int Count
    {
        get
        {
            lock (_gate)
            {
                AssertInvariants();
                return _count;
            }
        }
    }

    /// <summary>Gets the queue for a provider.</summary>
    internal static DeadlineQueue For(TimeProvider timeProvider) =>
        ReferenceEquals(timeProvider, TimeProvider.System)
            ? s_system
            : s_queues.GetValue(timeProvider, static p => new DeadlineQueue(p));

    /// <summary>Queues the scope for the given due time, or moves it there if already queued.</summary>
    internal void AddOrUpdate(CancelScope scope, long dueTicks)
    {
        lock (_gate)
        {
            AssertInvariants();
            Debug.Assert(scope.State == ScopeState.Open, "only an open scope arms a deadline (under its lock, which Unlink takes)");
            if (scope.HeapIndex < 0)
            {
                if (_count == _heap.Length)
                {
                    Array.Resize(ref _heap, _count * 2);
                }

                scope.HeapIndex = _count;
                _heap[_count++] = new Entry(dueTicks, scope);
                SiftUp(scope.HeapIndex);
            }
            else
            {
                var old = _heap[scope.HeapIndex].DueTicks;
                _heap[scope.HeapIndex] = new Entry(dueTicks, scope);
                if (dueTicks < old)
                {
                    SiftUp(scope.HeapIndex);
                }
                else
                {
                    SiftDown(scope.HeapIndex);
                }
            }

            RearmLocked();
            AssertInvariants();
        }
    }

    /// <summary>Takes the scope out of the queue if it is there.</summary>
    internal void Remove(CancelScope scope)
    {
        // Only the scope adds itself, under its own lock, and never after it closed; a -1 seen here is final for the caller.
        if (Volatile.Read(ref scope.HeapIndex) < 0)
        {
            return;
        }

        lock (_gate)
        {
            AssertInvariants();
            if (scope.HeapIndex < 0)
            {
                return;
            }

            RemoveAtLocked(scope.HeapIndex);
            AssertInvariants();

            // Leave the timer armed, even when the queue is now empty: a spurious wake-up costs one callback, while
            // disarming and re-arming would cost two timer updates per scope that enters and exits before its deadline
            // (the common case). See RearmLocked for why an early timer is harmless.
        }
    }

    private void OnTimer()
    {
        List<CancelScope>? due = null;
        lock (_gate)
        {
            AssertInvariants();
            _armedTicks = CancelScope.NoDeadline;
            var now = _timeProvider.GetUtcNow().UtcTicks;
            while (_count > 0 && _heap[0].DueTicks <= now)
            {
                (due ??= new()).Add(_heap[0].Scope!);
                RemoveAtLocked(0);
            }

            RearmLocked();
            AssertInvariants();
        }

        if (due is null)
        {
            return;
        }

        foreach (var scope in due)
        {
            scope.OnDeadlineReached();
        }
    }

    private void RearmLocked()
    {
        Debug.Assert(Monitor.IsEntered(_gate), "under the lock");
        if (_count == 0)
        {
            return;
        }

        var next = _heap[0].DueTicks;

        // INVARIANT: while the queue is not empty, the timer is armed for a time at or before the earliest due time, so no
        // deadline fires late. An earlier arming is kept: when it fires, OnTimer pops nothing that is not due and re-arms
        // for the earliest. So a scope that arms a deadline later than one armed before costs no timer update at all.
        if (_armedTicks <= next)
        {
            return;
        }

        // Never arm with zero: a fake clock may fire a zero-due timer synchronously, under our lock.
        var wait = TimeSpan.FromTicks(Math.Max(1, next - _timeProvider.GetUtcNow().UtcTicks));
        if (wait > Timeouts.MaxSingleWait)
        {
            wait = Timeouts.MaxSingleWait;
        }

        if (_timer is null)
        {
            // The timer must not capture the ambient ExecutionContext (and with it a CancelScope) of whoever armed it first.
            var restore = !ExecutionContext.IsFlowSuppressed();
            if (restore)
            {
                ExecutionContext.SuppressFlow();
            }

            try
            {
                _timer = _timeProvider.CreateTimer(static s => ((DeadlineQueue)s!).OnTimer(), this, wait, Timeout.InfiniteTimeSpan);
            }
            finally
            {
                if (restore)
                {
                    ExecutionContext.RestoreFlow();
                }
            }
        }
        else
        {
            _timer.Change(wait, Timeout.InfiniteTimeSpan);
        }

        _armedTicks = next;
    }

    private void RemoveAtLocked(int index)
    {
        var removed = _heap[index].Scope!;
        var last = --_count;
        if (index != last)
        {
            var moved = _heap[last];
            _heap[index] = moved;
            moved.Scope!.HeapIndex = index;
            _heap[last] = default;
            SiftDown(index);
            SiftUp(moved.Scope.HeapIndex);
        }
        else
        {
            _heap[last] = default;
        }

        Volatile.Write(ref removed.HeapIndex, -1);
    }

    private void SiftUp(int index)
    {
        var item = _heap[index];
        while (index > 0)
        {
            var parentIndex = (index - 1) >> 1;
            var parent = _heap[parentIndex];
            if (parent.DueTicks <= item.DueTicks)
            {
                break;
            }

            _heap[index] = parent;
            parent.Scope!.HeapIndex = index;
            index = parentIndex;
        }

        _heap[index] = item;
        item.Scope!.HeapIndex = index;
    }

    private void SiftDown(int index)
    {
        var item = _heap[index];
        while (true)
        {
            var child = (index << 1) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && _heap[child + 1].DueTicks < _heap[child].DueTicks)
            {
                child++;
            }

            if (_heap[child].DueTicks >= item.DueTicks)
            {
                break;
            }

            _heap[index] = _heap[child];
            _heap[index].Scope!.HeapIndex = index;
            index = child;
        }

        _heap[index] = item;
        item.Scope!.HeapIndex = index;
    }

    /// <summary>The invariants that hold at the start and end of every locked region of the queue.</summary>
    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(Monitor.IsEntered(_gate), "under the lock");
        Debug.Assert(_count >= 0 && _count <= _heap.Length, "the count fits the heap");

        // INVARIANT (no deadline fires late): while the queue is not empty, the timer is armed at or before the earliest due time.
        Debug.Assert(_count == 0 || _armedTicks <= _heap[0].DueTicks, "the timer is armed at or before the earliest deadline");

        // Full check only on small heaps: debug builds run the stress tests too, and must stay O(log n) per operation there.
        for (var i = 0; i < _count && _count <= 64; i++)
        {
            var scope = _heap[i].Scope!;
            Debug.Assert(scope is not null, "slots below the count hold a scope");
            Debug.Assert(scope.HeapIndex == i, "each scope knows its slot");
            Debug.Assert(i == 0 || _heap[(i - 1) >> 1].DueTicks <= _heap[i].DueTicks, "heap order");
            Debug.Assert(scope.State != ScopeState.Exited, "an exited scope is never queued (Unlink removes it before it marks the exit)");
        }

        for (var i = _count; i < _heap.Length && i < _count + 4; i++)
        {
            Debug.Assert(_heap[i].Scope is null, "slots past the count are empty");
        }
    }

    /// <summary>One slot of the heap: a queued scope and the due time it is queued for (the earlier of its deadline and its
    /// stop's grace), in UTC ticks.</summary>
    private readonly record struct Entry(long DueTicks, CancelScope? Scope);
}
