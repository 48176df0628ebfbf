using System.Collections.Generic;
using Corral.Diagnostics;

namespace Corral.Dashboard;

/// <summary>One capture: the tree, its JSON, the tasks the watchdog reported, and the chart's value at this moment.</summary>
/// <param name="Snapshot">The tree.</param>
/// <param name="SnapshotJson">The tree as JSON in the documented schema (<see cref="TaskTreeSnapshot.ToJson"/>), sent to
/// the page as it is, so fields the page does not know yet still reach it.</param>
/// <param name="Reports">The tasks reported as running on after their cancellation, still live, by task id.</param>
/// <param name="ChartValue">The running-tasks value for the chart.</param>
/// <param name="JsonIsOwn">True when this process wrote <paramref name="SnapshotJson"/> with <see cref="TaskTreeSnapshot.ToJson"/>
/// (compact, valid): it goes into the frame unchecked. JSON read from another process is checked and made compact.</param>
internal sealed record DashboardCapture(TaskTreeSnapshot Snapshot, string SnapshotJson, IReadOnlyList<DashboardReport> Reports, long ChartValue, bool JsonIsOwn);
