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
        int reportNumber)
    {
        Kind = kind;
        TaskId = taskId;
        TaskName = taskName;
        SpawnSite = spawnSite;
        GroupName = groupName;
        Reason = reason;
        SinceCancelled = sinceCancelled;
        ReportNumber = reportNumber;
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

    /// <inheritdoc/>
    public override string ToString()
    {
        var where = SpawnSite is null ? string.Empty : $" (started at {SpawnSite})";
        var group = GroupName is null ? string.Empty : $" in group '{GroupName}'";
        return Kind == WatchdogReportKind.FinishedLate
            ? string.Create(CultureInfo.InvariantCulture, $"task '{TaskName}'{group}{where} finished {SinceCancelled.TotalSeconds:0.0}s after it was cancelled ({Reason})")
            : string.Create(CultureInfo.InvariantCulture, $"task '{TaskName}'{group}{where} still running {SinceCancelled.TotalSeconds:0.0}s after it was cancelled ({Reason}); report #{ReportNumber}");
    }
}
