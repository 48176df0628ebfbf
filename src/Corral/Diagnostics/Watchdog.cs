// The watchdog: names every task still running a grace period after its scope was cancelled.
//
// PERFORMANCE ASSUMPTION: cancellations are rare next to spawns, and most cancelled tasks end quickly. So the watchdog
// costs nothing until a group is cancelled: the refresh that cancels a group's scope hands the group over, and only
// then is a timer armed. Each check walks the live tasks of the watched groups only, and drops groups that closed;
// when none is left the timer is disarmed.
//
// REPORTS. A task is reported once its scope has been cancelled for the grace period, then again at growing intervals
// (each interval doubles: grace, 2×, 4× …, capped), and once more when it finally ends. A still-running report carries
// the task's async call stack, read when the report is made (the line that ignores the cancellation). Reports go to the metrics, the
// EventSource, the configured ILogger and the TaskReported event, in that order; a throwing handler does not stop them.
//
// TIMING (issue 16). The timer is one-shot, armed for the earliest instant a report falls due: a newly cancelled group
// brings it forward to one grace period from now, and each check re-arms it for the next due report. A check every half
// grace period (the first design) reported up to 1.5× the grace after the cancel, not at the documented 1×.
//
// RACES. A task can end while it is being reported: the report is then still delivered, and the "finished late" report
// may or may not follow. Both are best-effort diagnostics; nothing in Corral's semantics depends on them.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Corral.Core;
using Microsoft.Extensions.Logging;

namespace Corral.Diagnostics;

/// <summary>
/// Reports every task that keeps running after its scope was cancelled — the task that ignores cancellation.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>On by default with a 5-second grace period; configure or switch it off with <see cref="Configure"/>.</item>
/// <item>Watches group tasks (children and bodies) while <see cref="TaskTree.TrackingEnabled"/> is on.</item>
/// <item>Reports through <see cref="TaskReported"/>, the configured <see cref="ILogger"/>, the <c>Corral</c> EventSource and the
/// <c>corral.watchdog.reports</c> counter.</item>
/// <item>Costs nothing until a group is cancelled.</item>
/// </list>
/// </remarks>
public static partial class Watchdog
{
    /// <summary>Guards every field below and the watchdog's slot of task records (<see cref="TaskRecord.Reported"/>).</summary>
    private static readonly object s_gate = new();

    /// <summary>
    /// What the watchdog keeps per task it reported: how many times, and when (in ticks of being cancelled) the next report is
    /// due. Kept here, not in the record: most tasks are never reported. An entry leaves when its task finishes.
    /// </summary>
    /// <remarks>INVARIANT: a record is a key exactly when its <see cref="TaskRecord.Reported"/> is set and it has not
    /// finished (<see cref="OnTaskFinished"/> removes it).</remarks>
    private static readonly Dictionary<TaskRecord, (int Count, long NextTicks)> s_reported = new();

    /// <summary>Groups whose scope was cancelled and that may still have tasks.</summary>
    private static readonly HashSet<TaskGroup> s_watched = new();

    /// <summary>The settings in force.</summary>
    private static WatchdogOptions s_options = new();

    /// <summary>The check timer while groups are watched; null otherwise. One-shot: every check re-arms it.</summary>
    private static ITimer? s_timer;

    /// <summary>When <see cref="s_timer"/> fires next, a timestamp of the settings' clock; <see cref="long.MaxValue"/> when it
    /// is not armed (or has just fired).</summary>
    private static long s_nextCheck = long.MaxValue;

    /// <summary>Raised for every report. Handlers run on the watchdog's timer thread (or the caller of <see cref="CheckNow"/>).</summary>
    public static event EventHandler<WatchdogReport>? TaskReported;

    /// <summary>Gets the settings in force.</summary>
    public static WatchdogOptions Options
    {
        get
        {
            lock (s_gate)
            {
                AssertInvariants();
                return s_options;
            }
        }
    }

    /// <summary>Replaces the watchdog's settings.</summary>
    /// <param name="options">The new settings.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> or its <see cref="WatchdogOptions.TimeProvider"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The grace period is not positive, or the maximum interval is shorter than it.</exception>
    public static void Configure(WatchdogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.TimeProvider, nameof(options) + "." + nameof(options.TimeProvider));
        if (options.GracePeriod <= TimeSpan.Zero || options.GracePeriod == Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.GracePeriod, "The grace period must be positive; set Enabled = false to switch the watchdog off.");
        }

        if (options.MaxReportInterval < options.GracePeriod)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxReportInterval, "MaxReportInterval must be at least the grace period.");
        }

        lock (s_gate)
        {
            AssertInvariants();
            s_options = options;
            s_timer?.Dispose();
            s_timer = null;
            s_nextCheck = long.MaxValue;
            if (!options.Enabled)
            {
                s_watched.Clear();
            }
            else if (s_watched.Count > 0)
            {
                ArmLocked(TimeSpan.Zero); // check soon: that check arms the timer for the next due report
            }

            AssertInvariants();
        }
    }

    /// <summary>Checks the watched tasks now, delivers the reports that are due, and returns them.</summary>
    /// <returns>The reports delivered by this check, in tree order.</returns>
    public static IReadOnlyList<WatchdogReport> CheckNow() => Check(timerFired: false);

    /// <summary>Checks the watched tasks, delivers the reports that are due, and arms the timer for the next one.</summary>
    /// <param name="timerFired">Whether the check timer called: it is then no longer armed.</param>
    private static IReadOnlyList<WatchdogReport> Check(bool timerFired)
    {
        var due = new List<(TaskRecord Task, TaskGroup Group, CancelScope Scope, TimeSpan Since, int Count)>();
        var nextDue = TimeSpan.MaxValue;
        TaskGroup[] groups;
        WatchdogOptions options;
        lock (s_gate)
        {
            AssertInvariants();
            if (timerFired)
            {
                s_nextCheck = long.MaxValue; // a group cancelled from now on arms it afresh
            }

            options = s_options;
            groups = new TaskGroup[s_watched.Count];
            s_watched.CopyTo(groups);
        }

        foreach (var group in groups)
        {
            if (group.IsClosed)
            {
                lock (s_gate)
                {
                    AssertInvariants();
                    ForgetLocked(group);
                }

                continue;
            }

            foreach (var task in group.LiveTasks())
            {
                var scope = task.Scope;
                var cancelledAt = scope.CancelledTimestamp;
                if (cancelledAt == 0 || task.IsFinished)
                {
                    continue;
                }

                var since = scope.TimeProvider.GetElapsedTime(cancelledAt);
                lock (s_gate)
                {
                    AssertInvariants();
                    var reported = s_reported.TryGetValue(task, out var state);
                    var threshold = reported ? state.NextTicks : options.GracePeriod.Ticks;
                    if (!reported && task.Reported)
                    {
                        continue; // reported before and finished meanwhile (its entry is gone)
                    }

                    if (since.Ticks < threshold)
                    {
                        nextDue = Min(nextDue, TimeSpan.FromTicks(threshold - since.Ticks));
                        continue;
                    }

                    var count = state.Count + 1;
                    var nextTicks = threshold + Math.Min(threshold, options.MaxReportInterval.Ticks);
                    nextDue = Min(nextDue, TimeSpan.FromTicks(nextTicks - since.Ticks));
                    if (!task.IsFinished)
                    {
                        // Race: a task that finishes after this check has its end reported (OnTaskFinished takes this lock).
                        s_reported[task] = (count, nextTicks);
                        Volatile.Write(ref task.Reported, true);
                    }

                    due.Add((task, group, scope, since, count));
                }
            }
        }

        lock (s_gate)
        {
            AssertInvariants();
            DisarmIfIdleLocked();
            if (s_watched.Count > 0 && ReferenceEquals(options, s_options))
            {
                // The next due report; with none found (tasks finishing as their group closes), look again a grace from now.
                ArmLocked(nextDue == TimeSpan.MaxValue ? options.GracePeriod : nextDue);
            }

            AssertInvariants();
        }

        // Where each task is now (the line that ignores the cancellation), read outside the lock: a stack is walked, never recorded.
        var reports = new List<WatchdogReport>(due.Count);
        foreach (var (task, group, scope, since, count) in due)
        {
            reports.Add(new WatchdogReport(
                WatchdogReportKind.StillRunning, task.Id, task.Name, task.Site, group.Name, scope.CancelReason, since, count, TaskTree.StackOf(task)));
        }

        foreach (var report in reports)
        {
            Deliver(report, options);
        }

        return reports;
    }

    /// <summary>Called by the cancel tree when the scopes of these groups were cancelled.</summary>
    internal static void OnGroupsCancelled(List<TaskGroup> groups)
    {
        if (!TaskTree.TrackingEnabled)
        {
            return;
        }

        lock (s_gate)
        {
            AssertInvariants();
            if (!s_options.Enabled)
            {
                return;
            }

            foreach (var group in groups)
            {
                s_watched.Add(group);
                group.IsWatched = true;
            }

            // Their tasks fall due one grace period from now (they were stamped cancelled just before this call).
            ArmLocked(s_options.GracePeriod);

            AssertInvariants();
        }
    }

    /// <summary>
    /// Called when a group the watchdog watches has closed: forget it now rather than at the next check, so a process
    /// that cancels many groups does not keep them (and their tasks' records) alive for half a grace period.
    /// </summary>
    internal static void OnGroupClosed(TaskGroup group)
    {
        lock (s_gate)
        {
            AssertInvariants();
            ForgetLocked(group);
            DisarmIfIdleLocked();
            AssertInvariants();
        }
    }

    /// <summary>
    /// Stops watching a group that closed, and drops what it kept for the group's tasks. Every task of a closed group has
    /// finished, and <see cref="OnTaskFinished"/> removed the entry of each reported one, except for a task that finished
    /// while it was being reported (it read <see cref="TaskRecord.Reported"/> before the check set it): its entry goes here.
    /// </summary>
    private static void ForgetLocked(TaskGroup group)
    {
        s_watched.Remove(group);
        if (s_reported.Count == 0)
        {
            return;
        }

        List<TaskRecord>? gone = null;
        foreach (var task in s_reported.Keys)
        {
            if (task.Group == group)
            {
                (gone ??= new()).Add(task);
            }
        }

        foreach (var task in gone ?? [])
        {
            s_reported.Remove(task);
        }
    }

    /// <summary>The names of the tasks the watchdog keeps per-task state for now: reported and not finished (tests).</summary>
    internal static List<string> ReportedTaskNames()
    {
        lock (s_gate)
        {
            AssertInvariants();
            return s_reported.Keys.Select(t => t.Name).ToList();
        }
    }

    /// <summary>Whether the watchdog watches <paramref name="group"/> now (tests).</summary>
    internal static bool IsWatching(TaskGroup group)
    {
        lock (s_gate)
        {
            AssertInvariants();
            return s_watched.Contains(group);
        }
    }

    /// <summary>Called for every task that ends; reports the end of a task reported before.</summary>
    internal static void OnTaskFinished(TaskRecord task)
    {
        if (!Volatile.Read(ref task.Reported))
        {
            return;
        }

        WatchdogOptions options;
        int count;
        lock (s_gate)
        {
            AssertInvariants();
            options = s_options;
            count = s_reported.Remove(task, out var state) ? state.Count : 1;
        }

        var scope = task.Scope;
        var cancelledAt = scope.CancelledTimestamp;
        var since = cancelledAt == 0 ? TimeSpan.Zero : scope.TimeProvider.GetElapsedTime(cancelledAt);
        Deliver(
            new WatchdogReport(WatchdogReportKind.FinishedLate, task.Id, task.Name, task.Site, task.Group.Name, scope.CancelReason, since, count),
            options);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>The invariants that hold at the start and end of every region under the watchdog's lock.</summary>
    [Conditional("DEBUG")]
    private static void AssertInvariants()
    {
        Debug.Assert(Monitor.IsEntered(s_gate), "under the watchdog's lock");
        Debug.Assert(s_options is not null, "settings are always in force");
        Debug.Assert(s_options.Enabled || (s_watched.Count == 0 && s_timer is null), "a disabled watchdog watches nothing and arms nothing");
        Debug.Assert(!s_options.Enabled || s_watched.Count == 0 || s_timer is not null, "a watched group always has a check coming");
        Debug.Assert(s_timer is not null || s_nextCheck == long.MaxValue, "no check is due without a timer");
        var checkedGroups = 0;
        foreach (var group in s_watched)
        {
            Debug.Assert(group.IsWatched, "a watched group knows it is watched");
            if (++checkedGroups == 64)
            {
                break;
            }
        }

        var checkedTasks = 0;
        foreach (var task in s_reported.Keys)
        {
            Debug.Assert(task.Reported, "a task the watchdog keeps state for knows it was reported");
            if (++checkedTasks == 64)
            {
                break;
            }
        }
    }
}
