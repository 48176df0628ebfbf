// Scene 9: graceful stop. A worker takes items from a queue and handles each in a few steps. In plain .NET the stop is one
// token: cancel it and the item in hand is cut off halfway (BackgroundService's stoppingToken, or a CancellationTokenSource).
// With Corral the stop is two steps: RequestStop asks (IsStopRequested and StoppingToken say so, checkpoints still pass),
// the worker finishes the item it holds and takes no new one; a task that does not listen is cancelled when the grace runs
// out, with a reason that says so.
using System;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace Corral.Tour.Scenarios;

internal static class AskThenCancel
{
    private static readonly TimeSpan s_step = TimeSpan.FromMilliseconds(20);

    private static readonly TimeSpan s_grace = TimeSpan.FromMilliseconds(400);

    private const int Steps = 5;

    public static async Task<ScenarioResult> RunAsync()
    {
        var plain = await PlainAsync();
        var (corral, details, problem) = await CorralAsync();
        return new ScenarioResult(plain, corral, problem) { Details = details };
    }

    private static async Task<string> PlainAsync()
    {
        using var stopping = new CancellationTokenSource();
        var queue = Queue();
        var (done, halfway) = (0, 0);
        var worker = Task.Run(async () =>
        {
            while (!stopping.IsCancellationRequested)
            {
                await queue.Reader.ReadAsync(stopping.Token);
                for (var step = 0; step < Steps; step++)
                {
                    try
                    {
                        await Task.Delay(s_step, stopping.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        halfway++;
                        throw;
                    }
                }

                done++;
            }
        });

        await Task.Delay(s_step * 7); // mid-way through the second item
        await stopping.CancelAsync();
        await worker.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        return $"{done} done, {halfway} cut off halfway";
    }

    private static async Task<(string Line, string Details, string? Problem)> CorralAsync()
    {
        var queue = Queue();
        var (done, halfway) = (0, 0);
        TaskGroup? worker = null;
        string? stubbornReason = null;
        var run = TaskGroup.RunAsync(
            async group =>
            {
                worker = group;
                group.Start(async ct =>
                {
                    // Take new work only while nobody asked us to stop; the work in hand gets the group's token (ct).
                    while (!CancelScope.CurrentStopRequested)
                    {
                        try
                        {
                            await queue.Reader.ReadAsync(CancelScope.CurrentStoppingToken);
                        }
                        catch (OperationCanceledException) when (CancelScope.CurrentStopRequested)
                        {
                            break;
                        }

                        for (var step = 0; step < Steps; step++)
                        {
                            try
                            {
                                await Task.Delay(s_step, ct);
                            }
                            catch (OperationCanceledException)
                            {
                                halfway++;
                                throw;
                            }
                        }

                        done++;
                    }
                }, "queue-worker");
                group.Start(async ct =>
                {
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct); // does not listen for the stop
                    }
                    finally
                    {
                        stubbornReason = CancelScope.Current?.CancelReason?.ToString();
                    }
                }, "heartbeat");
                await Task.CompletedTask;
            },
            new TaskGroupOptions { Name = "worker" });

        await Task.Delay(s_step * 7);
        worker!.RequestStop(s_grace, "the host is stopping");
        await run;

        var line = $"{done} done, {halfway} cut off; the listener stopped, the other was cancelled at the grace";
        var details = $"heartbeat cancelled: {stubbornReason ?? "(not cancelled)"}";
        string? problem = null;
        if (halfway != 0)
        {
            problem = $"{halfway} item(s) were cut off halfway although the grace was long enough";
        }
        else if (done < 2)
        {
            problem = $"the worker finished only {done} item(s): the one in hand when the stop came was dropped";
        }
        else if (stubbornReason is null || !stubbornReason.Contains("grace of 400 ms ran out", StringComparison.Ordinal))
        {
            problem = $"the task that did not listen was not cancelled at the grace with its reason: {stubbornReason ?? "no reason"}";
        }

        return (line, details, problem);
    }

    private static Channel<int> Queue()
    {
        var queue = Channel.CreateUnbounded<int>();
        for (var i = 0; i < 100; i++)
        {
            queue.Writer.TryWrite(i);
        }

        return queue;
    }
}
