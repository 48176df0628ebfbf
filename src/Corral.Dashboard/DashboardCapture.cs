using System.Collections.Generic;
using Corral.Diagnostics;

namespace Corral.Dashboard;

/// <summary>One capture: the tree, its JSON, the tasks the watchdog reported, and the chart's value at this moment.</summary>
/// <param name="Snapshot">The tree.</param>
/// <param name="SnapshotJson">The tree as another process sent it (JSON in the documented schema), passed to the page as it
/// is (checked and made compact), so fields this version does not know yet still reach it; null for this process's own
/// tree, which the frame writes from <paramref name="Snapshot"/> itself.</param>
/// <param name="Reports">The tasks reported as running on after their cancellation, still live, by task id.</param>
/// <param name="ChartValue">The running-tasks value for the chart.</param>
internal sealed record DashboardCapture(TaskTreeSnapshot Snapshot, string? SnapshotJson, IReadOnlyList<DashboardReport> Reports, long ChartValue);
