// ---------------------------------------------------------------------------------------------
// Continuations: where Corral's own continuations run (docs/adr/0022).
//
// THE PROBLEM. Corral's continuations — a child's finish (TaskRecord.OnTaskCompleted), a scope's exit
// (ScopeRun.OnBodyCompleted), a sleep's next piece (Sleeper), the group body's wait for its body — are library code: they
// never need the caller's SynchronizationContext, so they are ConfigureAwait(false) continuations (the raw ones registered
// with UnsafeOnCompleted, without an ExecutionContext; outside a test run, a tracked child's finish flows the child's own
// context instead, to find its record there: TaskGroup.ObserveChild). The runtime runs such a continuation inline where the awaited task
// completes, except on a thread that has a SynchronizationContext or a non-default TaskScheduler: from there it sends it
// to the thread pool. A Corral.Testing run's thread is such a thread (its context is what brings `await` back to it), so
// inside a test run every one of Corral's continuations hopped to the pool, where the run could not see it: the run took
// a quiet moment for "every task waits" while a group's exit sat in the pool's queue, and jumped its clock early.
//
// APPROACHES THAT FAIL.
// - Capture the current context (plain `await`). Any context: a UI or ASP.NET-classic context would receive Corral's
//   internal work, and a caller blocking on a Corral task there (`.Result`) would deadlock on Corral's own exit. Only a
//   test run's context: the continuation then runs with the run's context current, inline where it completes, so the
//   user's continuations it completes run inline too (where TaskScheduler.Current reads Default and a ConfigureAwait(false)
//   continuation cannot inline), not posted back to the run as they were.
// - Flow the ExecutionContext into the raw continuations so the run counts the pool thread that runs one: the run sees it
//   once a pool thread has started it, not while it waits in the pool's queue, which on a loaded machine lasts hundreds of
//   milliseconds.
// - Let the test kit count Corral's continuations in flight through the lifecycle observer: two more events on every hot
//   path, and "registered" is not "runnable" (a child's continuation is registered for as long as the child waits).
//
// THE SOLUTION. A thread can have a ContinuationRunner (internal; Corral.Testing's run is the only one, set on its
// scheduler thread). Where a runner is set as Corral registers a continuation, the runner gets it and runs it on its own
// thread, as a pool thread would (no SynchronizationContext, no TaskScheduler): inline when the task completes there,
// queued to the run otherwise. An await of user code inside Corral's async methods goes through ThroughRunner, which
// hands it the same way. Everywhere else nothing changes, and whether any runner was ever set is one static bool: the
// production cost is one field read per continuation.
//
// RACES. 1. The bool goes from false to true once, written by SetRunner before it sets the calling thread's runner, and is
// read without a fence: a thread that has a runner wrote the bool itself, first, so it reads true; any other thread may
// read a stale false, and a thread without a runner takes the ConfigureAwait(false) path either way. 2. A runner cleared
// (SetRunner(null), when a run ends) while continuations it took still wait: they stay the runner's; it must run them
// anyway (Corral.Testing hands them to the thread pool once its run has ended). 3. The task completes while it is being
// registered: the runner's problem, as it is the runtime's; ContinuationRunner's contract says never inline then.
//
// LIMITS. A continuation registered on a thread without a runner (code of a test run moved to the thread pool by
// ConfigureAwait(false) or Task.Run) behaves as in production; docs/concepts/testing.md lists what a run sees then. The
// async frames used when the ExecutionContext's flow is suppressed (RunInAsyncFrame, RunChildInFrameAsync), and Corral's
// helpers outside the core (Streams/, Channels/, Limits/), await with ConfigureAwait(false) as before.
// ---------------------------------------------------------------------------------------------
using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Core;

/// <summary>Registers Corral's own continuations: as ConfigureAwait(false) continuations, or through the thread's
/// <see cref="ContinuationRunner"/>.</summary>
internal static class Continuations
{
    /// <summary>Set (once, false to true) before the first <see cref="ContinuationRunner"/> is set on a thread; false in
    /// every process that never has one.</summary>
    private static bool s_runnerEverSet;

    /// <summary>The runner of the current thread, or null. Read only when <see cref="s_runnerEverSet"/>.</summary>
    [ThreadStatic]
    private static ContinuationRunner? t_runner;

    /// <summary>Gets the current thread's runner, or null (always null, for one static field read, in production).</summary>
    internal static ContinuationRunner? Runner
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => s_runnerEverSet ? CurrentRunner() : null;
    }

    /// <summary>
    /// Registers <paramref name="continuation"/> to run once <paramref name="task"/> completes, without an ExecutionContext:
    /// as a ConfigureAwait(false) continuation, or through the current thread's runner.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void OnCompleted(Task task, Action continuation)
    {
        if (Runner is { } runner)
        {
            runner.OnCompleted(task, continuation);
            return;
        }

        task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(continuation);
    }

    /// <summary>
    /// Returns the task a Corral async method awaits (with ConfigureAwait(false)) for user code's <paramref name="task"/>: the
    /// task itself, or, with a runner, a task with the very same outcome that completes on the runner's thread.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Task ThroughRunner(Task task) => Runner is { } runner ? runner.Observe(task) : task;

    /// <inheritdoc cref="ThroughRunner(Task)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Task<T> ThroughRunner<T>(Task<T> task) => Runner is { } runner ? runner.Observe(task) : task;

    /// <summary>Sets (or, with null, clears) the calling thread's runner.</summary>
    internal static void SetRunner(ContinuationRunner? runner)
    {
        // INVARIANT: s_runnerEverSet is true before any thread's t_runner is non-null, and never goes back to false; so
        // Runner never misses a runner set on the calling thread (that thread wrote both, in this order).
        if (runner is not null)
        {
            Volatile.Write(ref s_runnerEverSet, true);
        }

        t_runner = runner;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ContinuationRunner? CurrentRunner() => t_runner;
}
