using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;
using Corral.Diagnostics.Stacks;

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
/// <item>Each task's async call stack is read at capture time (nothing is recorded while tasks run): see
/// <see cref="TaskTreeNode.Stack"/> and <see cref="TaskTreeCaptureOptions"/>.</item>
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

    /// <summary>Takes a snapshot of every live scope, group and task in the process, with each task's async call stack.</summary>
    /// <param name="options">What to include; default: everything (stacks too).</param>
    /// <returns>The snapshot.</returns>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Safe from any thread at any time; each node is locked briefly, one at a time.</item>
    /// <item>Never throws for a stack it cannot read: that stack says "frames unavailable" and why.</item>
    /// </list>
    /// </remarks>
    public static TaskTreeSnapshot Capture(TaskTreeCaptureOptions? options = null)
    {
        var capture = new CaptureState(options?.IncludeStacks ?? true);
        if (capture.Awaits is { } awaits)
        {
            // Every scope's run and every Start<T> task first: a task may await a node met later in the walk of the tree.
            foreach (var scope in CancelScope.LiveRoots())
            {
                awaits.Register(scope);
            }
        }

        var roots = new List<TaskTreeNode>();
        foreach (var scope in CancelScope.LiveRoots())
        {
            if (scope.Kind != ScopeKind.StartingTask)
            {
                roots.Add(BuildScope(scope, 0, capture));
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
            if (scope.Kind != ScopeKind.StartingTask && scope.HasId(nodeId))
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

    /// <summary>Reads the async call stack of one task now (the watchdog's reports); null when the task has finished.</summary>
    internal static TaskTreeStackTrace? StackOf(TaskRecord task)
    {
        if (task.IsFinished)
        {
            return null;
        }

        // The task's own group (its Start<T> siblings it may await) and everything under it: its stack may run through any
        // scope the task opened, and stop at any node of the group.
        var awaits = new CorralAwaits(RuntimeShapes.Default);
        awaits.Register(task.Group.Scope);
        return new CaptureState(awaits).Stack(task);
    }

    private static TaskTreeNode BuildScope(CancelScope scope, int depth, CaptureState capture)
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
                children.Add(BuildTask(task, scopes, depth + 1, capture));
            }

            foreach (var child in scopes)
            {
                if (child.Kind != ScopeKind.StartingTask && (child.OwnerTask is null || !shown.Contains(child.OwnerTask)))
                {
                    children.Add(BuildScope(child, depth + 1, capture));
                }
            }
        }
        else
        {
            foreach (var child in scope.LiveChildren())
            {
                if (child.Kind != ScopeKind.StartingTask)
                {
                    children.Add(BuildScope(child, depth + 1, capture));
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

    private static TaskTreeNode BuildTask(TaskRecord task, CancelScope[] groupScopes, int depth, CaptureState capture)
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
                children.Add(BuildScope(child, depth + 1, capture));
            }
        }
        else
        {
            foreach (var child in groupScopes)
            {
                if (child.OwnerTask == task)
                {
                    children.Add(BuildScope(child, depth + 1, capture));
                }
            }
        }

        // After the children: the scopes the task opened are registered, so its stack can run through them.
        var finished = task.IsFinished;
        var stack = finished ? null : capture.Stack(task);
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
            children,
            stack);
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

    /// <summary>One capture's state: whether stacks are read, and the walker with Corral's resolver for them.</summary>
    private sealed class CaptureState
    {
        private readonly AsyncStackWalker? _walker;

        internal CaptureState(bool includeStacks)
            : this(includeStacks ? new CorralAwaits(RuntimeShapes.Default) : null)
        {
        }

        internal CaptureState(CorralAwaits? awaits)
        {
            Awaits = awaits;
            _walker = awaits is null ? null : new AsyncStackWalker(RuntimeShapes.Default, awaits);
        }

        /// <summary>Gets the resolver (null when stacks are left out): every scope met is registered with it.</summary>
        internal CorralAwaits? Awaits { get; }

        /// <summary>The stack of <paramref name="task"/>, or null when stacks are left out.</summary>
        internal TaskTreeStackTrace? Stack(TaskRecord task)
        {
            if (_walker is null)
            {
                return null;
            }

            // INVARIANT (TaskRecord.Work): a plain child's delegate while it waits for the thread pool, its task while it runs;
            // a ChildWork holding the task of a Start<T> or StartAsync child; the body's task for a group's body.
            Awaits!.Self = task;
            return Volatile.Read(ref task.Work) switch
            {
                Task root => _walker.Walk(root),
                ChildWork { Task: { } root } => _walker.Walk(root),
                Delegate => new TaskTreeStackTrace(TaskTreeStackStatus.Running, [], null, "queued on the thread pool: not started yet"),
                _ => new TaskTreeStackTrace(TaskTreeStackStatus.Running, [], null, null), // running its first synchronous part
            };
        }
    }
}
