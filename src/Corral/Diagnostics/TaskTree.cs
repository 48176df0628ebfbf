using System;
using System.Collections.Generic;
using Corral.Core;

namespace Corral.Diagnostics;

/// <summary>
/// The live tree of scopes, groups and tasks in this process: take a <see cref="TaskTreeSnapshot"/> of it, or switch the
/// per-task bookkeeping off.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Scopes and groups are always in the tree; group tasks are in it while <see cref="TrackingEnabled"/> is on (the
/// default). Turning it off saves a lock and a list link per task; tasks started meanwhile stay invisible.</item>
/// <item>The same snapshot is served to other processes by the <c>Corral</c> EventSource (see the <c>corral</c> tool).</item>
/// <item>Snapshots stop at <see cref="MaxDepth"/> levels; deeper nodes are summarised by one node.</item>
/// </list>
/// </remarks>
public static class TaskTree
{
    /// <summary>How deep a snapshot goes before it summarises the rest.</summary>
    public const int MaxDepth = 256;

    /// <summary>Whether group tasks are linked into the tree; read on every Start.</summary>
    private static volatile bool s_trackingEnabled = !AppContext.TryGetSwitch("Corral.DisableTaskTracking", out var disabled) || !disabled;

    /// <summary>
    /// Gets or sets a value indicating whether group tasks are tracked for snapshots and the watchdog. Default: on, unless the
    /// <c>AppContext</c> switch <c>Corral.DisableTaskTracking</c> is set.
    /// </summary>
    public static bool TrackingEnabled
    {
        get => s_trackingEnabled;
        set => s_trackingEnabled = value;
    }

    /// <summary>Takes a snapshot of every live scope, group and task in the process.</summary>
    /// <returns>The snapshot.</returns>
    /// <remarks>Safe from any thread at any time; each node is locked briefly, one at a time.</remarks>
    public static TaskTreeSnapshot Capture()
    {
        var roots = new List<TaskTreeNode>();
        foreach (var scope in CancelScope.LiveRoots())
        {
            if (scope.Kind != ScopeKind.StartingTask)
            {
                roots.Add(BuildScope(scope, 0));
            }
        }

        return new TaskTreeSnapshot(TimeProvider.System.GetUtcNow(), Environment.ProcessId, roots);
    }

    /// <summary>
    /// Cancels the live scope, shield or task group whose snapshot node has the id <paramref name="nodeId"/>, as
    /// <see cref="CancelScope.Cancel"/> would; for tools that show the tree and let an operator act on it.
    /// </summary>
    /// <param name="nodeId">The <see cref="TaskTreeNode.Id"/> of a <see cref="TaskTreeNodeKind.Scope"/>,
    /// <see cref="TaskTreeNodeKind.Shield"/> or <see cref="TaskTreeNodeKind.TaskGroup"/> node.</param>
    /// <param name="reason">The cancel reason, as for <see cref="CancelScope.Cancel"/>; default <c>cancel requested</c>.</param>
    /// <returns>True when a live scope with that id was found and cancelled (or already was); false when none is live
    /// (it ended, the id is a task's, or no such id was ever given out).</returns>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Safe from any thread; walks the live scopes, locking each briefly, like <see cref="Capture"/>.</item>
    /// <item>Tasks are cancelled through their group: pass the group's id. A task's id never matches.</item>
    /// <item>Costs a walk of the live tree: meant for a person's click, not for a loop.</item>
    /// </list>
    /// </remarks>
    public static bool TryCancel(long nodeId, string? reason = null)
    {
        if (nodeId <= 0)
        {
            return false;
        }

        var toVisit = new Stack<CancelScope>(CancelScope.LiveRoots());
        while (toVisit.TryPop(out var scope))
        {
            if (scope.Kind != ScopeKind.StartingTask && scope.Id == nodeId)
            {
                scope.Cancel(reason);
                return true;
            }

            foreach (var child in scope.LiveChildren())
            {
                toVisit.Push(child);
            }
        }

        return false;
    }

    private static TaskTreeNode BuildScope(CancelScope scope, int depth)
    {
        var children = new List<TaskTreeNode>();
        if (depth >= MaxDepth)
        {
            children.Add(Omitted(scope));
        }
        else if (scope.Group is { } group)
        {
            var scopes = scope.LiveChildren();
            var tasks = group.LiveTasks();
            var shown = new HashSet<TaskRecord>(tasks);
            foreach (var task in tasks)
            {
                children.Add(BuildTask(task, scopes, depth + 1));
            }

            foreach (var child in scopes)
            {
                if (child.Kind != ScopeKind.StartingTask && (child.OwnerTask is null || !shown.Contains(child.OwnerTask)))
                {
                    children.Add(BuildScope(child, depth + 1));
                }
            }
        }
        else
        {
            foreach (var child in scope.LiveChildren())
            {
                if (child.Kind != ScopeKind.StartingTask)
                {
                    children.Add(BuildScope(child, depth + 1));
                }
            }
        }

        var provider = scope.TimeProvider;
        var cancelledAt = scope.CancelledTimestamp;
        return new TaskTreeNode(
            scope.Id,
            scope.Group is not null ? TaskTreeNodeKind.TaskGroup : scope.Kind == ScopeKind.Shield ? TaskTreeNodeKind.Shield : TaskTreeNodeKind.Scope,
            scope.Name,
            scope.Group is { } g ? TaskRecord.FormatSite(g.SourceFile, g.SourceLine) : null,
            scope.IsExited ? TaskTreeNodeState.Finished : scope.IsCancellationRequested ? TaskTreeNodeState.Cancelling : TaskTreeNodeState.Running,
            DiagnosticClock.Since(provider, scope.OpenedTimestamp),
            scope.Deadline,
            scope.Shield,
            scope.CancelCalled,
            scope.CancelReason?.ToString(),
            cancelledAt != 0 ? provider.GetElapsedTime(cancelledAt) : null,
            children);
    }

    private static TaskTreeNode BuildTask(TaskRecord task, CancelScope[] groupScopes, int depth)
    {
        var children = new List<TaskTreeNode>();
        if (depth >= MaxDepth)
        {
            children.Add(Omitted(task.Scope));
        }
        else if (task.Scope.Kind == ScopeKind.StartingTask)
        {
            foreach (var child in task.Scope.LiveChildren())
            {
                children.Add(BuildScope(child, depth + 1));
            }
        }
        else
        {
            foreach (var child in groupScopes)
            {
                if (child.OwnerTask == task)
                {
                    children.Add(BuildScope(child, depth + 1));
                }
            }
        }

        var scope = task.Scope;
        var provider = scope.TimeProvider;
        var cancelledAt = scope.CancelledTimestamp;
        return new TaskTreeNode(
            task.Id,
            TaskTreeNodeKind.Task,
            task.Name,
            task.Site,
            task.IsFinished ? TaskTreeNodeState.Finished : scope.IsCancellationRequested ? TaskTreeNodeState.Cancelling : TaskTreeNodeState.Running,
            DiagnosticClock.Since(provider, task.StartedTimestamp),
            deadline: null,
            shield: false,
            cancelCalled: false,
            scope.CancelReason?.ToString(),
            cancelledAt != 0 ? provider.GetElapsedTime(cancelledAt) : null,
            children);
    }

    private static TaskTreeNode Omitted(CancelScope scope) => new(
        0,
        TaskTreeNodeKind.Scope,
        $"(deeper than {MaxDepth} levels: omitted)",
        null,
        scope.IsCancellationRequested ? TaskTreeNodeState.Cancelling : TaskTreeNodeState.Running,
        TimeSpan.Zero,
        null,
        false,
        false,
        null,
        null,
        []);
}
