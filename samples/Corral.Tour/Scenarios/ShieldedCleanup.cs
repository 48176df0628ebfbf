// Scene 6: cleanup in a finally block. With a plain token the cleanup gets the same, already-cancelled token and is
// cut short at its first await. Corral's ShieldAsync runs the cleanup in a shielded scope: enclosing cancellation
// does not reach it, and its own timeout keeps it bounded.
using System;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Tour.Scenarios;

internal static class ShieldedCleanup
{
    private static readonly TimeSpan s_flushTime = TimeSpan.FromMilliseconds(5);

    private static readonly TimeSpan s_cleanupBudget = TimeSpan.FromSeconds(2);

    public static async Task<ScenarioResult> RunAsync()
    {
        var plain = await PlainAsync();
        var (corral, problem) = await CorralAsync();
        return new ScenarioResult(plain, corral, problem);
    }

    private static async Task<string> PlainAsync()
    {
        using var cts = new CancellationTokenSource();
        var flushed = false;
        string? cutBy = null;
        var ct = cts.Token;
        var connection = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                try
                {
                    await FlushAsync(ct); // the only token at hand is the cancelled one
                    flushed = true;
                }
                catch (OperationCanceledException e)
                {
                    cutBy = e.GetType().Name;
                }
            }
        });
        await cts.CancelAsync();
        try
        {
            await connection;
        }
        catch (OperationCanceledException)
        {
            // expected: the connection was cancelled
        }

        return $"flush in finally completed={flushed} (cut short by {cutBy ?? "nothing"})";
    }

    private static async Task<(string Line, string? Problem)> CorralAsync()
    {
        CancelScope? connection = null;
        var flushed = false;
        bool? shieldCompleted = null;
        await CancelScope.RunAsync(
            async scope =>
            {
                connection = scope;
                try
                {
                    scope.Cancel("shutting down");
                    await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                }
                finally
                {
                    shieldCompleted = await CancelScope.ShieldAsync(
                        async ct =>
                        {
                            await FlushAsync(ct);
                            await CancelScope.SleepAsync(s_flushTime); // a Corral checkpoint too: quiet inside the shield
                            flushed = true;
                        },
                        s_cleanupBudget);
                }
            },
            new CancelScopeOptions { Name = "connection" });

        var line = $"flush in ShieldAsync completed={flushed} although the scope was cancelled " +
            $"({connection?.CancelReason?.ToString() ?? "no reason"})";
        string? problem = null;
        if (!flushed || shieldCompleted != true)
        {
            problem = "the shielded cleanup was cut short";
        }
        else if (connection is null || !connection.CancelledCaught)
        {
            problem = "the cancelled scope did not absorb its own cancellation after the cleanup";
        }

        return (line, problem);
    }

    private static Task FlushAsync(CancellationToken cancellationToken) => Task.Delay(s_flushTime, cancellationToken);
}
