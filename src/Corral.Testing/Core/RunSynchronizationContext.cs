using System;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Testing.Core;

/// <summary>
/// The run's <see cref="SynchronizationContext"/>: <c>await</c> in the run comes back to the run's scheduler thread.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="Post"/> queues the callback as a task of <see cref="RunTaskScheduler"/>, from any thread; after the run
/// ended it goes to the thread pool (nothing turns the run's loop any more).</item>
/// <item><see cref="Send"/> runs inline on the scheduler thread; from another thread it posts and blocks until the callback
/// ran, rethrowing its exception.</item>
/// <item>An exception escaping a posted callback (an <c>async void</c> method) fails the run.</item>
/// </list>
/// </remarks>
internal sealed class RunSynchronizationContext : SynchronizationContext
{
    private readonly TestRun _run;

    internal RunSynchronizationContext(TestRun run) => _run = run;

    /// <inheritdoc />
    public override void Post(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        var task = new Task(PostedCallback.Invoke, new PostedCallback(d, state), CancellationToken.None, TaskCreationOptions.DenyChildAttach);
        task.Start(_run.Scheduler);
    }

    /// <inheritdoc />
    public override void Send(SendOrPostCallback d, object? state)
    {
        ArgumentNullException.ThrowIfNull(d);
        if (_run.IsSchedulerThread || _run.HasEnded)
        {
            d(state);
            return;
        }

        using var done = new ManualResetEventSlim();
        ExceptionDispatchInfo? error = null;
        Post(
            _ =>
            {
                try
                {
                    d(state);
                }
                catch (Exception e)
                {
                    error = ExceptionDispatchInfo.Capture(e);
                }
                finally
                {
                    done.Set();
                }
            },
            null);
        done.Wait();
        error?.Throw();
    }

    /// <inheritdoc />
    public override SynchronizationContext CreateCopy() => this;
}
