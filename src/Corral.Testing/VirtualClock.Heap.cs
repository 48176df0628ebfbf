// The armed timers of a VirtualClock (VirtualClock.cs): an indexed binary min-heap on (due time, arming sequence), so the
// earliest timer is at the top in O(1) and a timer is changed or disposed in O(log n) through the slot it knows.
//
// INVARIANTS (checked by AssertInvariants under _gate, Debug builds).
//   * Every method here runs under _gate; slots at and past _count are null.
//   * Each armed timer's HeapIndex is its slot; a timer not in the heap has HeapIndex -1.
//   * No timer fires before its parent: (DueTicks, Sequence) never decreases from a parent to a child, so timers due at
//     one instant fire in the order they were armed.
//
// WHY NOT ANOTHER HEAP. PriorityQueue cannot remove an element by handle on net8.0 (a target of this package), and
// Corral's DeadlineQueue, the other indexed heap in the repository, keys scopes by due time alone and keeps each due time
// in its slot for the core's hot path; the two share the idea, not a type.
using System;
using System.Diagnostics;
using System.Threading;
using Corral.Testing.Core;

namespace Corral.Testing;

public sealed partial class VirtualClock
{
    /// <summary>The armed timers, a min-heap on (due, sequence); slots at and past <see cref="_count"/> are null.</summary>
    private VirtualTimer?[] _heap = new VirtualTimer?[16];

    /// <summary>Number of armed timers.</summary>
    private int _count;

    private void InsertLocked(VirtualTimer timer)
    {
        if (_count == _heap.Length)
        {
            Array.Resize(ref _heap, _count * 2);
        }

        timer.HeapIndex = _count;
        _heap[_count++] = timer;
        SiftUp(timer.HeapIndex);
    }

    private void RemoveAtLocked(int index)
    {
        var removed = _heap[index]!;
        var last = --_count;
        if (index != last)
        {
            var moved = _heap[last]!;
            _heap[index] = moved;
            moved.HeapIndex = index;
            _heap[last] = null;
            SiftDown(index);
            SiftUp(moved.HeapIndex);
        }
        else
        {
            _heap[last] = null;
        }

        removed.HeapIndex = -1;
    }

    private void SiftUp(int index)
    {
        var item = _heap[index]!;
        while (index > 0)
        {
            var parentIndex = (index - 1) >> 1;
            var parent = _heap[parentIndex]!;
            if (!item.FiresBefore(parent))
            {
                break;
            }

            _heap[index] = parent;
            parent.HeapIndex = index;
            index = parentIndex;
        }

        _heap[index] = item;
        item.HeapIndex = index;
    }

    private void SiftDown(int index)
    {
        var item = _heap[index]!;
        while (true)
        {
            var child = (index << 1) + 1;
            if (child >= _count)
            {
                break;
            }

            if (child + 1 < _count && _heap[child + 1]!.FiresBefore(_heap[child]!))
            {
                child++;
            }

            if (!_heap[child]!.FiresBefore(item))
            {
                break;
            }

            _heap[index] = _heap[child];
            _heap[index]!.HeapIndex = index;
            index = child;
        }

        _heap[index] = item;
        item.HeapIndex = index;
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(Monitor.IsEntered(_gate), "under the lock");
        for (var i = 0; i < _count && _count <= 64; i++)
        {
            Debug.Assert(_heap[i]!.HeapIndex == i, "each timer knows its slot");
            Debug.Assert(i == 0 || !_heap[i]!.FiresBefore(_heap[(i - 1) >> 1]!), "heap order");
        }
    }
}
