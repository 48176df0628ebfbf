// Lifecycle: where the core reports the lives of scopes, groups and tasks (design principle 10; docs/adr/0018).
//
// THE PROBLEM. The task tree, the watchdog, the metrics and the EventSource all need to hear when a scope is cancelled, a
// task starts or finishes, a group closes. Called by name from the core's hot paths, they make the core depend on every
// diagnostic, and every new diagnostic an edit of the core.
//
// THE SOLUTION. One observer. The core calls Lifecycle.Observer and names nobody; Diagnostics/ subscribes when the Corral
// assembly loads (a module initializer) and fans out to whatever listens. Observer is a static readonly field of a
// nested holder class, initialised on first use after the subscription, so at tier 1 the JIT knows the exact (sealed)
// type behind it: the calls are devirtualized and the empty ones vanish. A process without a subscriber (nothing in
// Corral today) gets a silent observer that tracks nothing.
//
// LIMITS. Subscribing after the first read of Observer is a bug and throws: the holder has already been initialised.
using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Corral.Core;

/// <summary>The core's one channel for lifecycle events; see <see cref="LifecycleObserver"/>.</summary>
internal static class Lifecycle
{
    /// <summary>The subscriber, set once before the first read of <see cref="Observer"/>.</summary>
    private static LifecycleObserver? s_subscriber;

    /// <summary>Whether <see cref="Observer"/> has been read (its holder initialised).</summary>
    private static volatile bool s_read;

    /// <summary>Gets the observer every lifecycle event goes to.</summary>
    internal static LifecycleObserver Observer
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Holder.Instance;
    }

    /// <summary>Subscribes the one observer. Called once, when the assembly loads, before any scope exists.</summary>
    /// <exception cref="InvalidOperationException">An observer was already subscribed, or events were already reported.</exception>
    internal static void Subscribe(LifecycleObserver observer)
    {
        if (s_read || Interlocked.CompareExchange(ref s_subscriber, observer, null) is not null)
        {
            throw new InvalidOperationException("Corral's lifecycle observer is subscribed once, before the first scope opens.");
        }
    }

    /// <summary>Holds the observer in a static readonly field of its own, initialised on the first read.</summary>
    private static class Holder
    {
        internal static readonly LifecycleObserver Instance = Take();

        private static LifecycleObserver Take()
        {
            s_read = true;
            return Volatile.Read(ref s_subscriber) ?? new SilentObserver();
        }
    }

    /// <summary>The observer of a process where nothing subscribed: tracks nothing, reports nothing.</summary>
    private sealed class SilentObserver : LifecycleObserver
    {
        internal override bool TracksTasks => false;

        internal override void ScopeOpened(CancelScope scope)
        {
        }

        internal override void ScopeCancelled(CancelScope scope, CancelReasonKind kind)
        {
        }

        internal override void CancellationReached(int byAncestor, List<TaskGroup>? groups)
        {
        }

        internal override void ScopeExited(CancelScope scope)
        {
        }

        internal override void CallbackErrorsUnclaimed(IEnumerable<Exception> errors)
        {
        }

        internal override void TaskStarted(TaskRecord task)
        {
        }

        internal override void TaskFinished(TaskRecord task)
        {
        }

        internal override void GroupExited(TaskGroup group)
        {
        }
    }
}
