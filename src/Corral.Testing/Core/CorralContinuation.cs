using System;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Testing.Core;

/// <summary>A continuation of Corral's that a run took (<see cref="TestRun.OnCompleted"/>), with the run that runs it.</summary>
/// <remarks>
/// Race (the task completes on another thread between <see cref="TestRun.OnCompleted"/>'s look at it and its
/// <c>ContinueWith</c>): the runtime then runs an <c>ExecuteSynchronously</c> continuation at once, inside the registration,
/// on the scheduler thread. The runtime never runs an await continuation inside its registration, and Corral's callers
/// were written for that, so <see cref="Run"/> queues it to the run instead (<see cref="Registered"/> is still false).
/// </remarks>
internal sealed class CorralContinuation
{
    private readonly TestRun _run;
    private readonly Action _continuation;

    internal CorralContinuation(TestRun run, Action continuation)
    {
        _run = run;
        _continuation = continuation;
    }

    /// <summary>
    /// Gets or sets a value indicating whether <see cref="TestRun.OnCompleted"/> has returned from registering it.
    /// INVARIANT: written and first read on the scheduler thread (the only thread that registers and, while the run lasts,
    /// the only one that runs it); after the run, the queue that hands it to the thread pool publishes it.
    /// </summary>
    internal bool Registered { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether the continuation has reached the run: queued to it
    /// (<see cref="TestRun.Enqueue"/>) or running on the scheduler thread (<see cref="Run"/>). Until then a continuation
    /// registered on a task that runs elsewhere holds the run's clock (<see cref="TestRun.HoldsTaskRunningElsewhereLocked"/>).
    /// INVARIANT: written under the run's gate or on the scheduler thread; read under the gate on the scheduler thread.
    /// </summary>
    internal bool Settled { get; set; }

    /// <summary>Runs the continuation on the current thread, as a thread-pool thread would (see <see cref="TestRun.RunCorralContinuation"/>).</summary>
    internal void Run()
    {
        Settled = true;
        if (!Registered)
        {
            // Inside the registration (the race above): run it later, from the run's queue, as a task like any other.
            Registered = true;
            _ = Task.Factory.StartNew(
                static s => ((CorralContinuation)s!).Run(),
                this,
                CancellationToken.None,
                TaskCreationOptions.HideScheduler | TaskCreationOptions.DenyChildAttach,
                _run.Scheduler);
            return;
        }

        _run.RunCorralContinuation(_continuation);
    }
}
