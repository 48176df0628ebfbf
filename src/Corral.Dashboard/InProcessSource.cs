using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;

namespace Corral.Dashboard;

/// <summary>The dashboard's source in the app itself: <see cref="TaskTree.Capture"/>, the <see cref="Watchdog"/>'s reports,
/// and the <c>Corral</c> meter.</summary>
/// <remarks>
/// <list type="bullet">
/// <item>Listens to <see cref="Watchdog.TaskReported"/> from creation to <see cref="Dispose"/>, so a task reported before any
/// page opened is still highlighted; a report costs one dictionary write. At most <see cref="MaxReports"/> are kept; a
/// task's entry goes when it finishes late or leaves the tree.</item>
/// <item>Everything else happens only while a page is open.</item>
/// </list>
/// </remarks>
internal sealed class InProcessSource : DashboardSource, IDisposable
{
    /// <summary>The most reported tasks remembered; more are dropped, oldest report first.</summary>
    internal const int MaxReports = 1000;

    /// <summary>Reported tasks still believed live, by task id.</summary>
    private readonly ConcurrentDictionary<long, DashboardReport> _reports = new();

    /// <summary>The meter listener, started with the first page.</summary>
    private readonly CorralMeterReader _meter = new();

    /// <summary>The title, computed once.</summary>
    private readonly string _title;

    /// <summary>The chart's anchor (see <see cref="CorralMeterReader"/>); null until the first capture after a start.</summary>
    private long? _anchor;

    /// <summary>Initializes the source and starts listening to the watchdog.</summary>
    public InProcessSource()
    {
        using var process = Process.GetCurrentProcess();
        _title = $"process {Environment.ProcessId} ({process.ProcessName})";
        Watchdog.TaskReported += OnTaskReported;
    }

    /// <inheritdoc/>
    public override string Title => _title;

    /// <inheritdoc/>
    public override bool CanCancel => true;

    /// <inheritdoc/>
    public override string ChartLabel => TaskTree.TrackingEnabled
        ? "running tasks (Corral meter)"
        : "running tasks since the page opened (Corral meter; task tracking is off)";

    /// <inheritdoc/>
    public override void StartWatching()
    {
        _anchor = null;
        _meter.Start();
    }

    /// <inheritdoc/>
    public override void StopWatching() => _meter.Dispose();

    /// <inheritdoc/>
    public override Task<DashboardCapture> CaptureAsync(CancellationToken cancellationToken)
    {
        var before = _meter.RunningDelta;
        var snapshot = TaskTree.Capture();
        var live = new HashSet<long>();
        var tasks = 0L;
        foreach (var node in snapshot.FindAll(n => n.Kind == TaskTreeNodeKind.Task))
        {
            live.Add(node.Id);
            if (node.State != TaskTreeNodeState.Finished)
            {
                tasks++;
            }
        }

        _anchor ??= tasks - before;
        foreach (var id in _reports.Keys)
        {
            if (!live.Contains(id))
            {
                _reports.TryRemove(id, out _);
            }
        }

        var reports = _reports.Values.OrderBy(r => r.ReportedAt).ToArray();
        var value = Math.Max(0, _anchor.Value + _meter.RunningDelta);
        return Task.FromResult(new DashboardCapture(snapshot, SnapshotJson: null, reports, value));
    }

    /// <inheritdoc/>
    public override bool TryCancel(long nodeId, string reason) => TaskTree.TryCancel(nodeId, reason);

    /// <summary>Stops listening to the watchdog and the meter.</summary>
    public void Dispose()
    {
        Watchdog.TaskReported -= OnTaskReported;
        _meter.Dispose();
    }

    private void OnTaskReported(object? sender, WatchdogReport report)
    {
        if (report.Kind == WatchdogReportKind.FinishedLate)
        {
            _reports.TryRemove(report.TaskId, out _);
            return;
        }

        _reports[report.TaskId] = new DashboardReport(
            report.TaskId,
            report.TaskName,
            report.SpawnSite,
            report.GroupName,
            report.Reason?.ToString(),
            report.SinceCancelled,
            report.ReportNumber,
            TimeProvider.System.GetUtcNow(),
            "watchdog");
        if (_reports.Count > MaxReports)
        {
            var oldest = _reports.Values.OrderBy(r => r.ReportedAt).First();
            _reports.TryRemove(oldest.TaskId, out _);
        }
    }
}
