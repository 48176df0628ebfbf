// The list of a group's tasks (body included), for the task tree and the watchdog: the only part of a group they read.
//
// PERFORMANCE ASSUMPTION: tasks start and finish far more often than anyone reads the list. So a task is linked in under
// the group's lock when it starts (Track), but finishing takes no lock: the finishing task counts itself and marks its
// record (MarkFinished), and a later Track sweeps finished records out once they are more than half the list plus 16.
// The task that spawns and the tasks that finish would otherwise contend for the group's lock on every child, which on a
// busy group cost more than the rest of Start. With L live tasks the list then holds at most 2L + 34 records, plus any
// task caught between counting and marking itself, and sweeping costs O(1) amortised per child.
//
// THE RACE: a child finishing (it counts, then marks itself, without the lock) racing a sweep (under the lock). The sweep
// unlinks only marked records, so a running task is never dropped; one counted but not yet marked is swept by a later
// sweep, so the counter may run above the truth, never below it (Coyote: RaceTests.Track_Sweep…). Counted before marked
// (found by Coyote): once a record shows as finished its count is in, so the list bound holds whenever no task is between
// the two.
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using Corral.Core;

namespace Corral;

public sealed partial class TaskGroup
{
    /// <summary>
    /// Newest tracked task (body included) when task tracking is on: the head of a singly linked list, newest first, guarded by
    /// the group's lock. It may still hold finished tasks; they are swept out lazily.
    /// </summary>
    private TaskRecord? _newestTask;

    /// <summary>Number of records in the <see cref="_newestTask"/> list, finished or not. Guarded by the group's lock.</summary>
    private int _trackedCount;

    /// <summary>
    /// How many records in the list have finished and wait for a sweep. Incremented without the lock (by the finishing task),
    /// decreased by the sweep under it; it may lag a finish by a moment, and is only a heuristic for when to sweep.
    /// </summary>
    /// <remarks>INVARIANT (under the lock): marked records in the list &lt;= this &lt;= <see cref="_trackedCount"/>.</remarks>
    private int _finishedInList;

    /// <summary>Number of records in the task list, finished or not (tests check the sweep keeps it bounded).</summary>
    internal int TrackedRecordCount
    {
        get
        {
            lock (this)
            {
                AssertInvariants();
                return _trackedCount;
            }
        }
    }

    /// <summary>The live tasks (not finished), oldest first, for snapshots and the watchdog.</summary>
    internal TaskRecord[] LiveTasks()
    {
        lock (this)
        {
            AssertInvariants();
            var live = new List<TaskRecord>();
            for (var t = _newestTask; t is not null; t = t.Next)
            {
                if (!t.IsFinished)
                {
                    live.Add(t);
                }
            }

            live.Reverse(); // oldest first
            return live.ToArray();
        }
    }

    /// <summary>Links a record into the list when task tracking is on, and reports the task started.</summary>
    private TaskRecord Track(TaskRecord record)
    {
        var observer = Lifecycle.Observer;
        if (observer.TracksTasks)
        {
            lock (this)
            {
                AssertInvariants();
                if (Volatile.Read(ref _finishedInList) > (_trackedCount >> 1) + 16)
                {
                    SweepFinishedLocked();
                }

                record.Next = _newestTask;
                record.Tracked = true;
                _newestTask = record;
                _trackedCount++;
                AssertInvariants();
            }
        }

        observer.TaskStarted(record);
        return record;
    }

    /// <summary>Unlinks every finished record. Under the group's lock.</summary>
    private void SweepFinishedLocked()
    {
        Debug.Assert(Monitor.IsEntered(this), "under the group's lock");
        var removed = 0;
        TaskRecord? newer = null;
        for (var t = _newestTask; t is not null;)
        {
            var older = t.Next;
            if (t.IsFinished)
            {
                if (newer is null)
                {
                    _newestTask = older;
                }
                else
                {
                    newer.Next = older;
                }

                t.Next = null;
                removed++;
            }
            else
            {
                newer = t;
            }

            t = older;
        }

        _trackedCount -= removed;

        // The race (see the top of this file): a task counted but not yet marked is swept, and subtracted, by a later sweep.
        Interlocked.Add(ref _finishedInList, -removed);
        AssertListInvariants();
    }

    /// <summary>
    /// The invariants of the whole list, after a sweep (which walks it anyway): O(n), so not at every locked region. Every
    /// record belongs to this group; the count is the list's length; the finished counter never runs below the marked
    /// records (a record counts itself before it marks itself).
    /// </summary>
    [Conditional("DEBUG")]
    private void AssertListInvariants()
    {
        Debug.Assert(Monitor.IsEntered(this), "checked under the group's lock");
        var length = 0;
        var marked = 0;
        for (var t = _newestTask; t is not null; t = t.Next)
        {
            Debug.Assert(t.Tracked && t.Group == this, "every record in the list belongs to this group and knows it is tracked");
            length++;
            marked += t.IsFinished ? 1 : 0;
        }

        // Read after the walk: a record counts itself before it marks itself, so every mark seen is already counted.
        var counted = Volatile.Read(ref _finishedInList);
        Debug.Assert(length == _trackedCount, "the tracked count is the length of the list");
        Debug.Assert(marked <= counted, "the finished counter never runs below the marked records");
    }

    /// <summary>
    /// Marks a task finished and reports it; it stays in the list until a later <see cref="Track"/> sweeps it out. Takes no
    /// lock.
    /// </summary>
    private void MarkFinished(TaskRecord record)
    {
        if (record.Tracked)
        {
            // Only records in the list count (tracking may have been switched on or off since this one started). Counted
            // *before* marked: see the race at the top of this file.
            Interlocked.Increment(ref _finishedInList);
        }

        record.MarkFinished();
        Lifecycle.Observer.TaskFinished(record);
    }

    /// <summary>
    /// The invariants that hold at the start and end of every locked region of the group (<paramref name="locked"/>), and
    /// after each CAS on its count (the lock-free part: the count).
    /// </summary>
    /// <param name="locked">Whether the caller holds the group's lock: only then are the fields it guards checked.</param>
    [Conditional("DEBUG")]
    private void AssertInvariants(bool locked = true)
    {
        Debug.Assert(Volatile.Read(ref _unfinished) >= Closed, "the count of unfinished tasks never goes below closed");
        if (!locked)
        {
            return;
        }

        Debug.Assert(Monitor.IsEntered(this), "checked under the group's lock");

        var counted = Volatile.Read(ref _finishedInList);
        Debug.Assert(_trackedCount >= 0 && (_newestTask is null) == (_trackedCount == 0), "the tracked count says whether the list is empty");
        Debug.Assert(counted >= 0 && counted <= _trackedCount, "the finished counter counts only records in the list");

        if (_failures is { Count: <= 64 } failures)
        {
            for (var i = 0; i < failures.Count; i++)
            {
                for (var j = i + 1; j < failures.Count; j++)
                {
                    Debug.Assert(!ReferenceEquals(failures[i].Exception, failures[j].Exception), "every failure is recorded once");
                }
            }
        }
    }
}
