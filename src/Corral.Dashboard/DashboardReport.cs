using System;

namespace Corral.Dashboard;

/// <summary>A task to highlight: the watchdog reported it (in the process), or it has run on past the grace period since its
/// cancellation (read from outside).</summary>
/// <param name="TaskId">The task's node id.</param>
/// <param name="TaskName">Its name.</param>
/// <param name="Site">Where it was started, or null.</param>
/// <param name="GroupName">Its group's name, or null.</param>
/// <param name="Reason">Why it was cancelled, or null.</param>
/// <param name="SinceCancelled">How long it had run since its cancellation when last reported.</param>
/// <param name="ReportNumber">Which report this is (1 for the first); 0 when derived from the tree.</param>
/// <param name="ReportedAt">When it was last reported, on the real clock.</param>
/// <param name="Source"><c>watchdog</c> (a <see cref="Diagnostics.WatchdogReport"/>) or <c>grace</c> (derived from the tree).</param>
internal sealed record DashboardReport(
    long TaskId,
    string TaskName,
    string? Site,
    string? GroupName,
    string? Reason,
    TimeSpan SinceCancelled,
    int ReportNumber,
    DateTimeOffset ReportedAt,
    string Source);
