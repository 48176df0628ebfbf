using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Corral.StressTests;

/// <summary>
/// Faults from outside the core: user callbacks, Dispose and clocks that throw, failures thrown from finally blocks, a starved
/// thread pool, a task that never checkpoints. In each, the group still reports everything and ends.
/// </summary>
public sealed class FaultTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset s_epoch = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private sealed class Boom(string message) : Exception(message);

    private sealed class ThrowingDisposable : IDisposable
    {
        public void Dispose() => throw new Boom("dispose");
    }

    /// <summary>A clock whose timers cannot be created, or whose time cannot be read.</summary>
    private sealed class BrokenClock(bool timers, bool now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now ? throw new Boom("GetUtcNow") : s_epoch;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
            timers ? throw new Boom("CreateTimer") : base.CreateTimer(callback, state, dueTime, period);
    }

    [Fact]
    public Task CancellationCallback_Throws_GroupReportsItAndEnds() => OffContext.Run(async () =>
    {
        var e = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(async ct =>
            {
                using var registration = ct.Register(() => throw new Boom("callback"));
                await Task.Delay(Timeout.Infinite, ct);
            }, "registers");
            g.Start(async _ => { await Task.Yield(); g.Cancel("stop"); }, "canceller");
            return Task.CompletedTask;
        }));
        Assert.Single(e.GetExceptions<Boom>(), b => b.Message == "callback");
    });

    [Fact]
    public Task Dispose_ThrowsWhileCancelled_FailureReportedOnce() => OffContext.Run(async () =>
    {
        var e = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(async ct =>
            {
                using var resource = new ThrowingDisposable();
                await Task.Delay(Timeout.Infinite, ct);
            }, "disposes");
            g.Cancel("stop");
            return Task.CompletedTask;
        }));
        var failure = Assert.Single(e.Failures);
        Assert.Equal("disposes", failure.TaskName);
        Assert.Equal("dispose", Assert.IsType<Boom>(failure.Exception).Message);
    });

    [Fact]
    public Task Finally_ThrowsAfterCancellation_FailureNotMistakenForCancellation() => OffContext.Run(async () =>
    {
        var e = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            for (var i = 0; i < 3; i++)
            {
                var id = i;
                g.Start(async _ =>
                {
                    try
                    {
                        await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                    }
                    finally
                    {
#pragma warning disable CA2219 // The fault under test: a failure thrown from a finally while cancellation unwinds.
                        throw new Boom($"finally {id}");
#pragma warning restore CA2219
                    }
                });
            }

            g.Start(async _ => { await Task.Yield(); throw new Boom("first"); }, "first");
            return Task.CompletedTask;
        }));
        var messages = e.GetExceptions<Boom>().Select(b => b.Message).OrderBy(m => m, StringComparer.Ordinal).ToArray();
        Assert.Equal(["finally 0", "finally 1", "finally 2", "first"], messages);
    });

    [Fact]
    public Task TimeProvider_CreateTimerThrows_CallerSeesItAndNothingStaysLinked() => OffContext.Run(async () =>
    {
        var clock = new BrokenClock(timers: true, now: false);
        CancelScope? outer = null;
        var e = await Assert.ThrowsAsync<TaskGroupException>(() => CancelScope.RunAsync(
            async o =>
            {
                outer = o;
                await TaskGroup.RunAsync(g =>
                {
                    g.Start(_ => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), ct => Task.Delay(Timeout.Infinite, ct)), "times out");
                    g.Start(ct => Task.Delay(Timeout.Infinite, ct), "waits");
                    return Task.CompletedTask;
                });
            },
            new CancelScopeOptions { TimeProvider = clock }));
        Assert.Equal("CreateTimer", Assert.Single(e.GetExceptions<Boom>()).Message);
        output.WriteLine($"scopes left linked under the outer scope: {LiveChildren(outer!)}");
    });

    [Fact]
    public Task TimeProvider_GetUtcNowThrows_CallerSeesItAndTheGroupEnds() => OffContext.Run(async () =>
    {
        var clock = new BrokenClock(timers: false, now: true);
        var e = await Assert.ThrowsAsync<TaskGroupException>(() => CancelScope.RunAsync(
            async _ =>
            {
                await TaskGroup.RunAsync(g =>
                {
                    g.Start(_ => CancelScope.FailAfterAsync(TimeSpan.FromSeconds(1), ct => Task.Delay(Timeout.Infinite, ct)), "reads the clock");
                    g.Start(ct => Task.Delay(Timeout.Infinite, ct), "waits");
                    return Task.CompletedTask;
                });
            },
            new CancelScopeOptions { TimeProvider = clock }));
        Assert.Equal("GetUtcNow", Assert.Single(e.GetExceptions<Boom>()).Message);
    });

    [Fact]
    public Task ThreadPool_EveryWorkerBlocked_GroupEndsDeadlinesNeverEarly() => OffContext.Run(async () =>
    {
        ThreadPool.GetMinThreads(out var workers, out _);
        using var unblock = new ManualResetEventSlim();
        var blockers = Enumerable.Range(0, workers + 2).Select(_ => Task.Run(() => unblock.Wait(TimeSpan.FromSeconds(10)))).ToArray();
        var watch = Stopwatch.StartNew();
        var early = 0;
        var group = TaskGroup.RunAsync(g =>
        {
            for (var i = 0; i < 50; i++)
            {
                g.Start(async _ =>
                {
                    var started = TimeProvider.System.GetUtcNow();
                    var completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromMilliseconds(100), async ct =>
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    });
                    if (!completed && TimeProvider.System.GetUtcNow() - started < TimeSpan.FromMilliseconds(100))
                    {
                        Interlocked.Increment(ref early);
                    }
                });
            }

            return Task.CompletedTask;
        });

        // Hold every worker for a second and a half, then let go: starving the pool of real threads is this fault.
#pragma warning disable RS0030 // a blocking sleep is the fault under test, not a wait for a condition
        await Task.Run(() => Thread.Sleep(1500));
#pragma warning restore RS0030
        unblock.Set();
        await group.WaitAsync(TimeSpan.FromSeconds(60));
        await Task.WhenAll(blockers);
        Assert.Equal(0, early);
        output.WriteLine($"starved {workers + 2} workers; group ended after {watch.Elapsed.TotalSeconds:F2}s");
    });

    [Fact]
    public Task Child_NeverCheckpoints_GroupWaitsAndTheWatchdogNamesIt() => OffContext.Run(async () =>
    {
        var clock = new FakeTimeProvider(s_epoch);
        var previous = Watchdog.Options;
        var reports = new System.Collections.Concurrent.ConcurrentQueue<WatchdogReport>();
        void OnReport(object? sender, WatchdogReport r) => reports.Enqueue(r);
        Watchdog.Configure(new WatchdogOptions { Enabled = true, GracePeriod = TimeSpan.FromSeconds(1), TimeProvider = clock });
        Watchdog.TaskReported += OnReport;
        try
        {
            using var release = new ManualResetEventSlim();
            TaskGroup? group = null;
            var run = CancelScope.RunAsync(
                async _ => await TaskGroup.RunAsync(
                    g =>
                    {
                        group = g;
                        g.Start(_ => Task.Run(() => release.Wait(TimeSpan.FromSeconds(30))), "stuck");
                        return Task.CompletedTask;
                    },
                    new TaskGroupOptions { Name = "holder" }),
                new CancelScopeOptions { TimeProvider = clock });
            while (group is null)
            {
                await Task.Yield();
            }

            group.Cancel("shutdown");
            clock.Advance(TimeSpan.FromSeconds(2));
            var now = Watchdog.CheckNow();
            Assert.False(run.IsCompleted, "the group completed while its child still ran");
            Assert.Contains(now.Concat(reports), r => r.TaskName == "stuck" && r.GroupName == "holder");
            release.Set();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            Watchdog.TaskReported -= OnReport;
            Watchdog.Configure(previous);
        }
    });

    private static int LiveChildren(CancelScope scope) => scope.LiveChildren().Length;
}
