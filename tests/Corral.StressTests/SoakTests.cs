using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Corral.StressTests;

/// <summary>
/// Churn for minutes inside one long-lived group (a server's lifetime): create, complete, cancel, fail, time out, shield,
/// start-and-signal. Memory, sampled after a full collection between batches, must not grow; no deadline may stay armed
/// and no scope may stay linked under the long-lived group.
/// </summary>
/// <remarks>Run: <c>CORRAL_SOAK_MINUTES=10 dotnet test tests/Corral.StressTests -c Release --filter Soak</c>.</remarks>
public sealed class SoakTests(ITestOutputHelper output)
{
    private sealed class Boom(string message) : Exception(message);

    private sealed class Counts
    {
        public long Completed;
        public long Cancelled;
        public long Failed;
        public long TimedOut;
        public long Shielded;
        public long Started;
        public long Batches;
    }

    [SoakFact]
    public Task Soak_Churn_MemoryDoesNotGrow() => OffContext.Run(() => SoakAsync(TimeSpan.FromMinutes(Stress.SoakMinutes), TimeSpan.FromSeconds(10)));

    [Fact]
    public Task Soak_Short_MemoryDoesNotGrow() => OffContext.Run(() => SoakAsync(TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(0.5)));

    private async Task SoakAsync(TimeSpan duration, TimeSpan sampleEvery)
    {
        var counts = new Counts();
        var samples = new List<(TimeSpan At, long Bytes, long Batches)>();
        var clock = Stopwatch.StartNew();
        var nextSample = TimeSpan.Zero;
        await TaskGroup.RunAsync(
            async server =>
            {
                while (clock.Elapsed < duration)
                {
                    await BatchAsync(server, counts);
                    counts.Batches++;
                    if (clock.Elapsed >= nextSample)
                    {
                        // Between batches nothing runs: every deadline is disarmed and every scope unlinked.
                        Assert.Equal(0, Stress.ArmedDeadlines(TimeProvider.System));
                        var linked = LiveChildCount(server.Scope);
                        Assert.True(linked == 0, $"{linked} scope(s) left linked under the long-lived group");
                        samples.Add((clock.Elapsed, GC.GetTotalMemory(forceFullCollection: true), counts.Batches));
                        nextSample = clock.Elapsed + sampleEvery;
                    }
                }
            },
            new TaskGroupOptions { Name = "server" });

        var final = GC.GetTotalMemory(forceFullCollection: true);
        samples.Add((clock.Elapsed, final, counts.Batches));
        foreach (var s in samples)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{s.At.TotalSeconds,8:F1}s  {s.Bytes / 1024.0,10:F0} KiB  batches={s.Batches}"));
        }

        // Baseline: the smallest sample of the first third (after warm-up); the end must stay within 25% + 2 MiB of it.
        var third = Math.Max(1, samples.Count / 3);
        var baseline = samples.Skip(1).Take(third).Select(s => s.Bytes).DefaultIfEmpty(samples[0].Bytes).Min();
        var tail = samples.Skip(samples.Count - third).Select(s => s.Bytes).Min();
        var peak = samples.Max(s => s.Bytes);
        var summary = string.Create(
            CultureInfo.InvariantCulture,
            $"soak {duration.TotalMinutes:F2} min: batches={counts.Batches} completed={counts.Completed} cancelled={counts.Cancelled} failed={counts.Failed} timedOut={counts.TimedOut} shielded={counts.Shielded} started={counts.Started} baseline={baseline / 1024} KiB tail={tail / 1024} KiB peak={peak / 1024} KiB samples={samples.Count}");
        output.WriteLine(summary);
        Stress.Record(summary);
        Assert.True(tail <= (baseline * 1.25) + (2 << 20), $"memory grew: {summary}");
        Assert.True(counts.Failed > 0 && counts.TimedOut > 0 && counts.Cancelled > 0, $"the churn missed a kind: {summary}");
    }

    private static async Task BatchAsync(TaskGroup server, Counts counts)
    {
        // One request-like child of the long-lived group, itself a group of 20 mixed tasks.
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Start(
            async _ =>
            {
                try
                {
                    await TaskGroup.RunAsync(g =>
                    {
                        for (var k = 0; k < 20; k++)
                        {
                            g.Start(KindOf(k, counts));
                        }

                        return g.StartAsync(async (signal, ct) =>
                        {
                            signal.Started();
                            Interlocked.Increment(ref counts.Started);
                            await Task.Yield();
                        });
                    });
                }
                finally
                {
                    done.SetResult();
                }
            },
            "request");
        await done.Task;
    }

    private static Func<CancellationToken, Task> KindOf(int k, Counts counts) => (k % 6) switch
    {
        0 => async _ =>
        {
            await Task.Yield();
            Interlocked.Increment(ref counts.Completed);
        },
        1 => async _ =>
        {
            // Time out on the real clock: a deadline armed and fired.
            if (!await CancelScope.MoveOnAfterAsync(TimeSpan.FromMilliseconds(1), ct => Task.Delay(Timeout.Infinite, ct)))
            {
                Interlocked.Increment(ref counts.TimedOut);
            }
        },
        2 => async _ =>
        {
            await CancelScope.RunAsync(async s =>
            {
                using var registration = s.Token.Register(() => { });
                s.Cancel("churn");
                await CancelScope.CheckpointAsync();
            });
            Interlocked.Increment(ref counts.Cancelled);
        },
        3 => async _ =>
        {
            try
            {
                await TaskGroup.RunAsync(inner =>
                {
                    inner.Start(ct => Task.Delay(Timeout.Infinite, ct), "waits");
                    inner.Start(async _ => { await Task.Yield(); throw new Boom("churn"); }, "fails");
                    return Task.CompletedTask;
                });
            }
            catch (TaskGroupException e) when (e.Failures.Count == 1 && e.Failures[0].Exception is Boom)
            {
                Interlocked.Increment(ref counts.Failed);
            }
        },
        4 => async _ =>
        {
            // A deadline armed, moved and disarmed by the exit; a shield with its own timeout inside.
            await CancelScope.RunAsync(
                async s =>
                {
                    s.Deadline = TimeProvider.System.GetUtcNow().AddMinutes(5);
                    if (await CancelScope.ShieldAsync(async ct => await Task.Yield(), TimeSpan.FromSeconds(30)))
                    {
                        Interlocked.Increment(ref counts.Shielded);
                    }
                },
                new CancelScopeOptions { Timeout = TimeSpan.FromMinutes(1) });
        },
        _ => async _ =>
        {
            // FailAfter that does not fire, nested in a group that is cancelled from inside.
            await TaskGroup.RunAsync(g =>
            {
                g.Start(ct => CancelScope.FailAfterAsync(TimeSpan.FromMinutes(1), c => Task.Delay(Timeout.Infinite, c)));
                g.Cancel("done");
                return Task.CompletedTask;
            });
            Interlocked.Increment(ref counts.Cancelled);
        },
    };

    private static int LiveChildCount(CancelScope scope) => scope.LiveChildren().Length;
}
