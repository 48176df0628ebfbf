using System;
using System.Globalization;

namespace Corral.Diagnostics;

/// <summary>A task the <see cref="Watchdog"/> caught running after its cancellation, or ending late. Immutable.</summary>
public sealed class WatchdogReport
{
    internal WatchdogReport(
        WatchdogReportKind kind,
        long taskId,
        string taskName,
        string? spawnSite,
        string? groupName,
        CancelReason? reason,
        TimeSpan sinceCancelled,
        int reportNumber,
        TaskTreeStackTrace? stack = null)
    {
        Kind = kind;
        TaskId = taskId;
        TaskName = taskName;
        SpawnSite = spawnSite;
        GroupName = groupName;
        Reason = reason;
        SinceCancelled = sinceCancelled;
        ReportNumber = reportNumber;
        Stack = stack;
    }

    /// <summary>Gets what the report is about.</summary>
    public WatchdogReportKind Kind { get; }

    /// <summary>Gets the task's id, as in <see cref="TaskTreeNode.Id"/>.</summary>
    public long TaskId { get; }

    /// <summary>Gets the task's name.</summary>
    public string TaskName { get; }

    /// <summary>Gets where the task was started (<c>file:line</c>), when known.</summary>
    public string? SpawnSite { get; }

    /// <summary>Gets the name of the task's group, or null.</summary>
    public string? GroupName { get; }

    /// <summary>Gets why the task's scope was cancelled.</summary>
    public CancelReason? Reason { get; }

    /// <summary>Gets how long the task has run since the cancellation reached it.</summary>
    public TimeSpan SinceCancelled { get; }

    /// <summary>Gets which report this is for the task: 1 for the first.</summary>
    public int ReportNumber { get; }

    /// <summary>
    /// Gets, for a task still running, where it was when reported: its async call stack and what it awaits (the line to fix).
    /// Null for a <see cref="WatchdogReportKind.FinishedLate"/> report, and when the stack could not be read.
    /// </summary>
    public TaskTreeStackTrace? Stack { get; }

    /// <inheritdoc/>
    /// <remarks>
    /// <c>task 'exporter' in group 'export' (started at Program.cs:12) still running 2.0s after it was cancelled (scope 'export':
    /// stop), at Exporter.cs:57 in Exporter.FlushAsync, awaiting Task.Delay (1.2s left, without a token); report #1</c>.
    /// </remarks>
    public override string ToString()
    {
        var where = SpawnSite is null ? string.Empty : $" (started at {SpawnSite})";
        var group = GroupName is null ? string.Empty : $" in group '{GroupName}'";
        return Kind == WatchdogReportKind.FinishedLate
            ? string.Create(CultureInfo.InvariantCulture, $"task '{TaskName}'{group}{where} finished {SinceCancelled.TotalSeconds:0.0}s after it was cancelled ({Reason})")
            : string.Create(CultureInfo.InvariantCulture, $"task '{TaskName}'{group}{where} still running {SinceCancelled.TotalSeconds:0.0}s after it was cancelled ({Reason}){Now}; report #{ReportNumber}");
    }

    /// <summary>Gets where the task is, from <see cref="Stack"/>: <c>Exporter.cs:57 in Exporter.FlushAsync, awaiting …</c>; null when not known.</summary>
    internal string? Where
    {
        get
        {
            if (Stack is not { } stack)
            {
                return null;
            }

            var frame = stack.InnermostKnownFrame;
            var at = frame is null ? null : $"{frame.Location ?? "line unknown"} in {frame.DisplayName}";
            var what = stack.Status == TaskTreeStackStatus.Running ? "running" : stack.Awaiting?.ToString();
            return at is null ? what : what is null ? at : $"{at}, {what}";
        }
    }

    /// <summary>Gets <c>, at File.cs:57 in Type.Method, awaiting …</c> for <see cref="ToString"/>, or nothing.</summary>
    private string Now => Where is not { } where ? string.Empty
        : Stack?.InnermostKnownFrame is null ? ", " + where
        : ", at " + where;
}
