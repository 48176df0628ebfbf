// The dashboard's source for `corral web PID`: the same page as MapCorralDashboard, fed from another process.
//
// Each capture is one `corral tree` request over EventPipe (CorralClient.GetSnapshotJsonAsync): a session opened,
// the snapshot read, the session stopped. So nothing runs in the target while no page is open, and with pages open the
// target pays one snapshot per update, as it would for `corral tree --watch`.
//
// What differs from the in-app dashboard, and why:
// * Highlighted tasks are derived from the tree: a task still running `grace` after its cancellation reached it, the
//   watchdog's own test (its default grace period is 5 s; the target may use another). The watchdog's reports are
//   EventSource events written when they happen; catching them would need an EventPipe session held open all the time,
//   and TraceEvent hands a live session's newest events over only when a later one arrives (see CorralClient).
// * The chart counts the live tasks of each snapshot: the `Corral` meter of another process is not read.
// * The cancel action does not exist: `corral web` is read-only.
using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Corral.Dashboard;
using Corral.Diagnostics;

namespace Corral.Tool;

/// <summary>Reads another process's tree for the dashboard, one EventPipe request per update.</summary>
internal sealed class RemoteDashboardSource : DashboardSource
{
    private readonly int _processId;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _grace;
    private readonly string _title;

    /// <summary>Initializes the source.</summary>
    /// <param name="processId">The target process.</param>
    /// <param name="timeout">How long one capture may take.</param>
    /// <param name="grace">How long a task may run on after its cancellation before it is highlighted.</param>
    public RemoteDashboardSource(int processId, TimeSpan timeout, TimeSpan grace)
    {
        _processId = processId;
        _timeout = timeout;
        _grace = grace;
        _title = $"process {processId} ({CorralClient.DescribeProcess(processId)})";
    }

    /// <inheritdoc/>
    public override string Title => _title;

    /// <inheritdoc/>
    public override string ChartLabel => "live tasks (from each snapshot)";

    /// <inheritdoc/>
    public override async Task<DashboardCapture> CaptureAsync(CancellationToken cancellationToken)
    {
        string json;
        TaskTreeSnapshot snapshot;
        try
        {
            json = await CorralClient.GetSnapshotJsonAsync(_processId, _timeout, cancellationToken).ConfigureAwait(false);
            snapshot = TaskTreeSnapshot.FromJson(json);
        }
        catch (CorralToolException e)
        {
            throw new DashboardSourceException(e.Message, e);
        }
        catch (FormatException e)
        {
            throw new DashboardSourceException($"Process {_processId} sent a task tree this version of corral cannot read: {e.Message}", e);
        }

        var reports = new List<DashboardReport>();
        var tasks = 0L;
        var pending = new Stack<(TaskTreeNode Node, TaskTreeNode? Parent)>();
        foreach (var root in snapshot.Roots)
        {
            pending.Push((root, null));
        }

        while (pending.TryPop(out var item))
        {
            var (node, parent) = item;
            if (node.Kind == TaskTreeNodeKind.Task && node.State != TaskTreeNodeState.Finished)
            {
                tasks++;
                if (node.State == TaskTreeNodeState.Cancelling && node.CancelledFor is { } since && since >= _grace)
                {
                    reports.Add(new DashboardReport(node.Id, node.Name ?? "(unnamed)", node.Site, parent?.Name, node.CancelReason, since, 0, snapshot.TakenAt, "grace"));
                }
            }

            foreach (var child in node.Children)
            {
                pending.Push((child, node));
            }
        }

        reports.Sort((a, b) => b.SinceCancelled.CompareTo(a.SinceCancelled));
        return new DashboardCapture(snapshot, json, reports, tasks);
    }
}
