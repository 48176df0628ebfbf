using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Corral.StressTests;

/// <summary>
/// Storms: sixteen threads released together by a barrier (as kotlinx.coroutines' stress tests do) cancel, shield, move
/// deadlines and read tokens across a live tree; then, with the tree quiescent, every scope must hold the verdict its inputs
/// imply, its token must agree, and every task must end.
/// </summary>
public sealed class StormTests(ITestOutputHelper output)
{
    private const int Threads = 16;

    private static readonly DateTimeOffset s_epoch = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [StressFact]
    public Task CancelStorm_SixteenThreads_VerdictsSettleAndEveryTaskEnds() => OffContext.Run(() => CancelStormAsync(rounds: 200, workers: 64, opsPerThread: 2_000));

    [Fact]
    public Task CancelStorm_Short_VerdictsSettleAndEveryTaskEnds() => OffContext.Run(() => CancelStormAsync(rounds: 6, workers: 16, opsPerThread: 300));

    [StressFact]
    public Task DeadlineStorm_FakeClock_NeverEarlyNeverLost() => OffContext.Run(() => FakeDeadlineStormAsync(scopes: 100_000, movers: 8));

    [Fact]
    public Task DeadlineStorm_Short_FakeClock_NeverEarlyNeverLost() => OffContext.Run(() => FakeDeadlineStormAsync(scopes: 3_000, movers: 4));

    [StressFact]
    public Task DeadlineStorm_SystemClock_NeverEarly() => OffContext.Run(() => SystemDeadlineStormAsync(scopes: 50_000));

    [Fact]
    public Task DeadlineStorm_Short_SystemClock_NeverEarly() => OffContext.Run(() => SystemDeadlineStormAsync(scopes: 2_000));

    /// <summary>The verdict the inputs imply: cancelled by the innermost scope on the unshielded path whose own cancel was called.</summary>
    private static CancelScope? ExpectedSource(CancelScope scope)
    {
        for (var s = scope; s is not null; s = s.Shield ? null : s.Parent)
        {
            if (s.CancelCalled)
            {
                return s;
            }
        }

        return null;
    }

    private async Task CancelStormAsync(int rounds, int workers, int opsPerThread)
    {
        var watch = Stopwatch.StartNew();
        long ops = 0;
        long checkedScopes = 0;
        long leftArmed = 0;
        for (var round = 0; round < rounds; round++)
        {
            var scopes = new ConcurrentBag<CancelScope>();
            var running = 0;
            var allReady = new CountdownEvent(workers);
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            CancelScope? root = null;
            var clock = new FakeTimeProvider(s_epoch);
            var tree = Task.Run(() => CancelScope.RunAsync(async r =>
            {
                root = r;
                scopes.Add(r);
                await TaskGroup.RunAsync(g =>
                {
                    scopes.Add(g.Scope);
                    for (var w = 0; w < workers; w++)
                    {
                        g.Start(_ => CancelScope.RunAsync(async s =>
                        {
                            scopes.Add(s);
                            await TaskGroup.RunAsync(inner =>
                            {
                                scopes.Add(inner.Scope);
                                for (var leaf = 0; leaf < 3; leaf++)
                                {
                                    inner.Start(async ct =>
                                    {
                                        Interlocked.Increment(ref running);
                                        try
                                        {
                                            await release.Task;
                                            await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                                        }
                                        finally
                                        {
                                            Interlocked.Decrement(ref running);
                                        }
                                    });
                                }

                                allReady.Signal();
                                return Task.CompletedTask;
                            });
                        }));
                    }

                    return Task.CompletedTask;
                });
            }, new CancelScopeOptions { TimeProvider = clock }));

            allReady.Wait(TimeSpan.FromSeconds(30));
            var targets = scopes.Where(s => s != root).ToArray();
            using (var barrier = new Barrier(Threads))
            {
                var stormers = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(
                    () =>
                    {
                        var random = new Random((round * 1000) + t);
                        barrier.SignalAndWait();
                        for (var i = 0; i < opsPerThread; i++)
                        {
                            var s = targets[random.Next(targets.Length)];
                            switch (random.Next(10))
                            {
                                case 0:
                                    s.Cancel($"t{t}");
                                    break;
                                case 1 or 2 or 3:
                                    s.Shield = !s.Shield;
                                    break;
                                case 4:
                                    s.Deadline = random.Next(2) == 0 ? null : s_epoch.AddHours(1);
                                    break;
                                default:
                                    _ = s.Token.IsCancellationRequested;
                                    _ = s.IsCancellationRequested;
                                    break;
                            }
                        }

                        Interlocked.Add(ref ops, opsPerThread);
                    },
                    CancellationToken.None,
                    TaskCreationOptions.LongRunning,
                    TaskScheduler.Default)).ToArray();
                await Task.WhenAll(stormers);
            }

            // Quiescent: every scope holds the verdict its inputs imply, with the right reason, and its token agrees.
            foreach (var s in scopes)
            {
                var source = ExpectedSource(s);
                Assert.True(s.IsCancellationRequested == source is not null, $"round {round}: {s} verdict {s.IsCancellationRequested}, expected {source is not null}");
                Assert.True(ReferenceEquals(s.CancelReason, source?.CancelReason), $"round {round}: {s} reason '{s.CancelReason}', expected '{source?.CancelReason}'");
                Assert.True(s.Token.IsCancellationRequested == s.IsCancellationRequested, $"round {round}: {s} token disagrees with its verdict");
                checkedScopes++;
            }

            // End: lower every shield and cancel the root; every leaf must end and the tree return.
            foreach (var s in scopes)
            {
                s.Shield = false;
            }

            release.SetResult();
            root!.Cancel("end of round");
            var thrown = await Record(() => tree);
            Assert.True(thrown is null, $"round {round}: the tree ended with {thrown}");
            Assert.Equal(0, Volatile.Read(ref running));
            Assert.All(scopes, s => Assert.True(s.IsExited));

            // This found CoreBugTests.Deadline_SetWhileCancelledThenCleared_NotLeftArmed (fixed in 935f65c).
            var armed = Stress.ArmedDeadlines(clock);
            leftArmed += armed;
            Assert.Equal(0, armed);
        }

        var line = string.Create(CultureInfo.InvariantCulture, $"cancel storm rounds={rounds} threads={Threads} ops={ops} scopesChecked={checkedScopes} deadlinesLeftArmedAfterExit={leftArmed} {watch.Elapsed.TotalSeconds:F2}s");
        output.WriteLine(line);
        Stress.Record(line);
    }

    private async Task FakeDeadlineStormAsync(int scopes, int movers)
    {
        var clock = new FakeTimeProvider(s_epoch);
        var watch = Stopwatch.StartNew();
        var minDeadline = new long[scopes];
        var firedAt = new long[scopes];
        var live = new CancelScope?[scopes];
        var ready = new CountdownEvent(scopes);
        var random = new Random(42);
        var tree = Task.Run(() => CancelScope.RunAsync(
            async _ =>
            {
                await TaskGroup.RunAsync(g =>
                {
                    for (var i = 0; i < scopes; i++)
                    {
                        var id = i;
                        var deadline = s_epoch.AddMilliseconds(1 + random.Next(1_000));
                        minDeadline[id] = deadline.UtcTicks;
                        g.Start(_ => CancelScope.RunAsync(
                            async s =>
                            {
                                s.Token.Register(() => Volatile.Write(ref firedAt[id], clock.GetUtcNow().UtcTicks));
                                Volatile.Write(ref live[id], s);
                                ready.Signal();
                                await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                            },
                            new CancelScopeOptions { Deadline = deadline }));
                    }

                    return Task.CompletedTask;
                });
            },
            new CancelScopeOptions { TimeProvider = clock }));
        Assert.True(ready.Wait(TimeSpan.FromMinutes(2)), "scopes did not start");

        // Movers push deadlines around (earlier or later, recording the earliest ever set first) while advancers move the clock.
        using var barrier = new Barrier(movers + 2);
        var workers = new List<Task>();
        for (var m = 0; m < movers; m++)
        {
            var seed = m;
            workers.Add(Task.Factory.StartNew(
                () =>
                {
                    var r = new Random(seed);
                    barrier.SignalAndWait();
                    for (var i = 0; i < scopes; i++)
                    {
                        var id = r.Next(scopes);
                        var s = live[id]!;
                        var next = clock.GetUtcNow().AddMilliseconds(r.Next(-50, 500));
                        InterlockedMin(ref minDeadline[id], next.UtcTicks);
                        s.Deadline = next;
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default));
        }

        for (var a = 0; a < 2; a++)
        {
            workers.Add(Task.Factory.StartNew(
                () =>
                {
                    barrier.SignalAndWait();
                    for (var step = 0; step < 600; step++)
                    {
                        clock.Advance(TimeSpan.FromMilliseconds(1));
                    }
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default));
        }

        await Task.WhenAll(workers.ToArray());

        // Nothing moves now: advance past every deadline; each scope must fire, and none before its earliest deadline.
        clock.Advance(TimeSpan.FromSeconds(5));
        await tree;
        long early = 0;
        long lost = 0;
        for (var i = 0; i < scopes; i++)
        {
            if (firedAt[i] == 0)
            {
                lost++;
            }
            else if (firedAt[i] < minDeadline[i])
            {
                early++;
            }

            Assert.Equal(CancelReasonKind.DeadlineExceeded, live[i]!.CancelReason?.Kind);
        }

        Assert.Equal(0, early);
        Assert.Equal(0, lost);
        Assert.Equal(0, Stress.ArmedDeadlines(clock));
        var line = string.Create(CultureInfo.InvariantCulture, $"deadline storm (fake clock) scopes={scopes} movers={movers} early={early} lost={lost} {watch.Elapsed.TotalSeconds:F2}s");
        output.WriteLine(line);
        Stress.Record(line);
    }

    private async Task SystemDeadlineStormAsync(int scopes)
    {
        var watch = Stopwatch.StartNew();
        var armedBefore = Stress.ArmedDeadlines(TimeProvider.System);
        var lateness = new double[scopes];
        var early = 0;
        await TaskGroup.RunAsync(g =>
        {
            var random = new Random(7);
            for (var i = 0; i < scopes; i++)
            {
                var id = i;
                var timeout = TimeSpan.FromMilliseconds(1 + random.Next(50));
                g.Start(async _ =>
                {
                    var completed = await CancelScope.MoveOnAfterAsync(timeout, async ct =>
                    {
                        var deadline = CancelScope.Current!.Deadline!.Value;
                        using var registration = ct.Register(() =>
                        {
                            var now = TimeProvider.System.GetUtcNow();
                            if (now < deadline)
                            {
                                Interlocked.Increment(ref early);
                            }

                            lateness[id] = (now - deadline).TotalMilliseconds;
                        });
                        await Task.Delay(Timeout.Infinite, ct);
                    });
                    Assert.False(completed);
                });
            }

            return Task.CompletedTask;
        });

        Assert.Equal(0, early);
        Assert.Equal(armedBefore, Stress.ArmedDeadlines(TimeProvider.System));
        Array.Sort(lateness);
        var line = string.Create(
            CultureInfo.InvariantCulture,
            $"deadline storm (system clock) scopes={scopes} early={early} late p50={lateness[scopes / 2]:F2}ms p99={lateness[(int)(scopes * 0.99)]:F2}ms max={lateness[^1]:F2}ms {watch.Elapsed.TotalSeconds:F2}s");
        output.WriteLine(line);
        Stress.Record(line);
    }

    private static void InterlockedMin(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value < current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private static async Task<Exception?> Record(Func<Task> run)
    {
        try
        {
            await run();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
