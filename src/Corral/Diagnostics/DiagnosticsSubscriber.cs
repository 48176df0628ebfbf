// The diagnostics' one subscription to the core's lifecycle events (Core/Lifecycle.cs): the core names no diagnostic;
// this class names them all, and fans each event out to those that want it.
//
//   event                   | metrics (corral meter)               | watchdog                      | EventSource
//   ------------------------+--------------------------------------+-------------------------------+--------------------
//   scope cancelled         | corral.scopes.cancelled (its source) |                               |
//   cancellation reached    | corral.scopes.cancelled (parent)     | watches the cancelled groups  |
//   callback errors lost    |                                      |                               | HandlerFailed
//   task started / finished | corral.tasks.started / .running      | reports a late finish         |
//   group exited            |                                      | forgets the group             |
// The task tree reads the core's own lists when it takes a snapshot; what it asks of the core on the hot path is
// TracksTasks (TaskTree.TrackingEnabled).
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Corral.Core;

namespace Corral.Diagnostics;

/// <summary>Subscribes the diagnostics to the core's lifecycle events and fans them out.</summary>
internal sealed class DiagnosticsSubscriber : LifecycleObserver
{
    /// <summary>
    /// Subscribes when the Corral assembly loads, before any scope exists, and creates the Corral EventSource then, so a
    /// process that uses Corral answers the <c>corral</c> tool from then on (an EventSource that does not exist yet receives
    /// no commands).
    /// </summary>
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries", Justification = "The one place the diagnostics subscribe to the core (docs/adr/0018): it must happen before the first scope opens, and nothing else in the library runs that early.")]
    internal static void Subscribe()
    {
        _ = CorralEventSource.Log;
        Lifecycle.Subscribe(new DiagnosticsSubscriber());
    }

    /// <inheritdoc/>
    internal override bool TracksTasks => TaskTree.TrackingEnabled;

    /// <inheritdoc/>
    internal override void ScopeOpened(CancelScope scope)
    {
    }

    /// <inheritdoc/>
    internal override void ScopeCancelled(CancelScope scope, CancelReasonKind kind) => CorralMetrics.ScopeCancelled(kind);

    /// <inheritdoc/>
    internal override void CancellationReached(int byAncestor, List<TaskGroup>? groups)
    {
        if (byAncestor > 0)
        {
            CorralMetrics.ScopesCancelledByParent(byAncestor);
        }

        if (groups is not null)
        {
            Watchdog.OnGroupsCancelled(groups);
        }
    }

    /// <inheritdoc/>
    internal override void ScopeExited(CancelScope scope)
    {
    }

    /// <inheritdoc/>
    internal override void CallbackErrorsUnclaimed(IEnumerable<Exception> errors)
    {
        foreach (var error in errors)
        {
            CorralEventSource.Log.HandlerFailed(error.ToString());
        }
    }

    /// <inheritdoc/>
    internal override void TaskStarted(TaskRecord task) => CorralMetrics.TaskStarted();

    /// <inheritdoc/>
    internal override void TaskFinished(TaskRecord task)
    {
        CorralMetrics.TaskFinished();
        Watchdog.OnTaskFinished(task);
    }

    /// <inheritdoc/>
    internal override void GroupExited(TaskGroup group)
    {
        if (group.IsWatched)
        {
            Watchdog.OnGroupClosed(group);
        }
    }
}
