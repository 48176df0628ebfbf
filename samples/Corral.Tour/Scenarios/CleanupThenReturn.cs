// Scene 3: the article's process_item. On cancellation the work cleans up and *returns* instead of rethrowing.
// With a plain token the caller gets a task that ran to completion: it cannot tell "done" from "cancelled", and
// the code after it goes on. Under Corral the cancellation is level-triggered: the scope stays cancelled, so the
// next checkpoint after the swallowing code raises again, and the scope records that it was cancelled and why.
using System;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Tour.Scenarios;

internal static class CleanupThenReturn
{
    public static async Task<ScenarioResult> RunAsync()
    {
        var plain = await PlainAsync();
        var (corral, problem) = await CorralAsync();
        return new ScenarioResult(plain, corral, problem);
    }

    private static async Task<string> PlainAsync()
    {
        using var cts = new CancellationTokenSource();
        var cleanedUp = false;
        var work = ProcessItemAsync(
            ct => Task.Delay(Timeout.Infinite, ct),
            () => cleanedUp = true,
            cts.Token);
        await cts.CancelAsync();
        await work;

        // The code after the call cannot tell: nothing in the task says it was cancelled.
        return $"{(cleanedUp ? "cleaned up and returned" : "did not see the cancel")}, task {work.Status}, " +
            $"IsCanceled={work.IsCanceled}: the caller cannot tell";
    }

    private static async Task<(string Line, string? Problem)> CorralAsync()
    {
        CancelScope? job = null;
        var cleanedUp = false;
        var raisedAgain = false;
        var afterRan = false;
        await CancelScope.RunAsync(
            async scope =>
            {
                job = scope;
                var work = ProcessItemAsync(
                    _ => CancelScope.SleepAsync(Timeout.InfiniteTimeSpan),
                    () => cleanedUp = true,
                    scope.Token);
                scope.Cancel("shutting down");
                await work; // returns normally: the cancellation was swallowed in there...

                try
                {
                    await CancelScope.CheckpointAsync(); // ...but the scope is still cancelled: this raises again.
                }
                catch (OperationCanceledException)
                {
                    raisedAgain = true;
                    throw;
                }

                afterRan = true;
            },
            new CancelScopeOptions { Name = "job" });

        var line = $"{(cleanedUp ? "cleaned up and returned" : "did not see the cancel")}, next checkpoint raised again={raisedAgain}, " +
            $"scope CancelledCaught={job?.CancelledCaught} ({job?.CancelReason?.ToString() ?? "no reason"})";
        string? problem = null;
        if (!cleanedUp)
        {
            problem = "the work did not see the cancellation";
        }
        else if (!raisedAgain || afterRan)
        {
            problem = "the checkpoint after the swallowed cancellation did not raise again (edge, not level)";
        }
        else if (job is null || !job.CancelledCaught)
        {
            problem = "the scope did not record that it absorbed its own cancellation (CancelledCaught=false)";
        }
        else if (job.CancelReason?.Message != "shutting down")
        {
            problem = $"the scope lost the reason: {job.CancelReason?.ToString() ?? "null"}";
        }

        return (line, problem);
    }

    /// <summary>The bug under study: catches the cancellation, cleans up, and returns as if it had finished.</summary>
    private static async Task ProcessItemAsync(Func<CancellationToken, Task> step, Action cleanup, CancellationToken cancellationToken)
    {
        try
        {
            await step(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            cleanup();
            return; // cleanup done, but no rethrow
        }
    }
}
