// Scene 1 of the article: asyncio.gather lets the other tasks run on when one fails. Task.WhenAll is the same:
// it cancels nobody, so a sibling of the failed task keeps running (here: forever) and the caller keeps waiting.
using System;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Tour.Scenarios;

internal static class SiblingsAfterFailure
{
    public static async Task<ScenarioResult> RunAsync()
    {
        var plain = await PlainAsync();
        var (corral, problem) = await CorralAsync();
        return new ScenarioResult(plain, corral, problem);
    }

    private static async Task<string> PlainAsync()
    {
        // Only the tour holds this source: in a real program nobody would, and 'cache' would run on forever.
        using var tourOnly = new CancellationTokenSource();
        var db = FailingDbAsync();
        var cache = Task.Delay(Timeout.Infinite, tourOnly.Token);
        var all = Task.WhenAll(db, cache);

        try
        {
            await db;
        }
        catch (InvalidOperationException)
        {
            // 'db' has failed; now look at its sibling.
        }

        var running = (db.IsCompleted ? 0 : 1) + (cache.IsCompleted ? 0 : 1);
        var whenAllWaiting = !all.IsCompleted;

        tourOnly.Cancel();
        try
        {
            await all;
        }
        catch (Exception)
        {
            // The tour stopped the orphan by hand; what WhenAll throws is scene 2.
        }

        return $"'db' failed, {running} of 2 still running, WhenAll {(whenAllWaiting ? "still waiting" : "done")} (it cancels nobody)";
    }

    private static async Task<(string Line, string? Problem)> CorralAsync()
    {
        var running = 0;
        string? cacheReason = null;
        TaskGroupException? thrown = null;
        try
        {
            await TaskGroup.RunAsync(
                group =>
                {
                    group.Start(
                        async ct =>
                        {
                            Interlocked.Increment(ref running);
                            try
                            {
                                await FailingDbAsync();
                            }
                            finally
                            {
                                Interlocked.Decrement(ref running);
                            }
                        },
                        "db");
                    group.Start(
                        async ct =>
                        {
                            Interlocked.Increment(ref running);
                            try
                            {
                                await Task.Delay(Timeout.Infinite, ct);
                            }
                            catch (OperationCanceledException)
                            {
                                cacheReason = CancelScope.Current?.CancelReason?.ToString();
                                throw;
                            }
                            finally
                            {
                                Interlocked.Decrement(ref running);
                            }
                        },
                        "cache");
                    return Task.CompletedTask;
                },
                new TaskGroupOptions { Name = "fetch" });
        }
        catch (TaskGroupException e)
        {
            thrown = e;
        }

        var stillRunning = Volatile.Read(ref running);
        var line = $"{stillRunning} of 2 running when the group returned, 'cache' cancelled ({cacheReason ?? "no reason"})";
        string? problem = null;
        if (stillRunning != 0)
        {
            problem = $"{stillRunning} child(ren) still running after TaskGroup.RunAsync returned";
        }
        else if (cacheReason is null)
        {
            problem = "'cache' was not cancelled, or its scope gave no reason";
        }
        else if (!cacheReason.Contains("'db'", StringComparison.Ordinal))
        {
            problem = $"the reason does not name the failed task 'db': {cacheReason}";
        }
        else if (thrown is null || thrown.Failures.Count != 1 || thrown.Failures[0].TaskName != "db")
        {
            problem = $"expected a TaskGroupException with the one failure of 'db', got: {thrown?.Message ?? "nothing"}";
        }

        return (line, problem);
    }

    private static async Task FailingDbAsync()
    {
        await Task.Yield();
        throw new InvalidOperationException("connection refused");
    }
}
