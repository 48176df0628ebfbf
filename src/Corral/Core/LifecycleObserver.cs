using System;
using System.Collections.Generic;

namespace Corral.Core;

/// <summary>
/// What the core tells about the lives of scopes, groups and tasks: the one channel through which the diagnostics (the
/// task tree, the watchdog, the metrics, the EventSource) learn of them. The core names none of its subscribers.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Calls come from the hot paths (every scope's open and exit, every child's start and finish), on whatever thread
/// the event happens, never under a Corral lock, and must not throw or block.</item>
/// <item>There is one subscriber (<see cref="Lifecycle.Subscribe"/>); a subscriber that serves several listeners fans out
/// itself. Read through <see cref="Lifecycle.Observer"/>, a <c>static readonly</c> of a sealed type, so the JIT
/// devirtualizes the calls and inlines the empty ones.</item>
/// </list>
/// </remarks>
internal abstract class LifecycleObserver
{
    /// <summary>Gets a value indicating whether group tasks are linked into their group's task list (and made ambient as
    /// tasks rather than as their scope). Read on every start.</summary>
    internal abstract bool TracksTasks { get; }

    /// <summary>A scope was linked into the tree: its block starts.</summary>
    internal abstract void ScopeOpened(CancelScope scope);

    /// <summary>A scope's own cancel was called (explicitly, by its deadline, or by a failure in its group).</summary>
    internal abstract void ScopeCancelled(CancelScope scope, CancelReasonKind kind);

    /// <summary>A refresh of the tree made scopes cancelled: <paramref name="byAncestor"/> of them through an ancestor, and
    /// the scopes of <paramref name="groups"/> (if any) newly cancelled.</summary>
    internal abstract void CancellationReached(int byAncestor, List<TaskGroup>? groups);

    /// <summary>A scope left the tree: its block ended.</summary>
    internal abstract void ScopeExited(CancelScope scope);

    /// <summary>Callbacks registered on a token threw while it was cancelled after every enclosing scope had exited: there
    /// is nobody left to report them to.</summary>
    internal abstract void CallbackErrorsUnclaimed(IEnumerable<Exception> errors);

    /// <summary>A group task (a child or a body) started.</summary>
    internal abstract void TaskStarted(TaskRecord task);

    /// <summary>A group task finished (its record is marked finished).</summary>
    internal abstract void TaskFinished(TaskRecord task);

    /// <summary>A group exited: it closed (no task left) and its scope left the tree.</summary>
    internal abstract void GroupExited(TaskGroup group);
}
