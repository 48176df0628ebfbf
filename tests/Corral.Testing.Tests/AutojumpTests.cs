using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Corral.Testing.Tests;

public sealed class AutojumpTests
{
    /// <summary>A service that answers only after <c>latency</c> of virtual time, and fails its first attempts.</summary>
    private sealed class FlakyService(VirtualClock clock, TimeSpan latency, int failures)
    {
        public List<TimeSpan> Calls { get; } = new();

        public async Task<string> GetAsync(CancellationToken ct)
        {
            Calls.Add(clock.Elapsed);
            await Task.Delay(latency, clock, ct);
            if (Calls.Count <= failures)
            {
                throw new InvalidOperationException($"attempt {Calls.Count} failed");
            }

            return "ok";
        }
    }

    [Fact]
    public async Task FailAfterAsync_TenMinuteRetryScenario_ExactVirtualTimestamps()
    {
        // The "prove it" scenario: a ten-minute budget, each attempt cut off after 30 s, exponential backoff from 1 s.
        // Attempts 1-3 time out (the service takes 45 s), attempts 4-5 answer in 10 s but fail, attempt 6 succeeds.
        var log = new List<string>();
        var result = await CorralTest.RunAsync(async (clock, _) =>
        {
            var slow = new FlakyService(clock, TimeSpan.FromSeconds(45), failures: int.MaxValue);
            var fast = new FlakyService(clock, TimeSpan.FromSeconds(10), failures: 2);
            return await CancelScope.FailAfterAsync(TimeSpan.FromMinutes(10), async ct =>
            {
                var backoff = TimeSpan.FromSeconds(1);
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        var service = attempt <= 3 ? slow : fast;
                        var answer = await CancelScope.FailAfterAsync(TimeSpan.FromSeconds(30), service.GetAsync, $"attempt {attempt}");
                        log.Add($"{clock.Elapsed} attempt {attempt} ok");
                        return answer;
                    }
                    catch (Exception e) when (e is TimeoutException or InvalidOperationException)
                    {
                        log.Add($"{clock.Elapsed} attempt {attempt} {(e is TimeoutException ? "timed out" : "failed")}");
                    }

                    await CancelScope.SleepAsync(backoff);
                    backoff *= 2;
                }
            }, "whole job");
        });

        Assert.Equal("ok", result);
        Assert.Equal(
            new[]
            {
                "00:00:30 attempt 1 timed out", // 0 + 30
                "00:01:01 attempt 2 timed out", // 30 + 1 backoff + 30
                "00:01:33 attempt 3 timed out", // 61 + 2 + 30
                "00:01:47 attempt 4 failed",    // 93 + 4 + 10
                "00:02:05 attempt 5 failed",    // 107 + 8 + 10
                "00:02:31 attempt 6 ok",        // 125 + 16 + 10
            },
            log);
    }

    [Fact]
    public async Task FailAfterAsync_JobNeverSucceeds_TimesOutAtExactlyTenMinutes()
    {
        TimeSpan failedAt = default;
        var attempts = 0;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await Assert.ThrowsAsync<TimeoutException>(() => CancelScope.FailAfterAsync(TimeSpan.FromMinutes(10), async ct =>
            {
                while (true)
                {
                    attempts++;
                    await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(30), c => Task.Delay(Timeout.InfiniteTimeSpan, clock, c));
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(20));
                }
            }));
            failedAt = clock.Elapsed;
        });

        Assert.Equal(TimeSpan.FromMinutes(10), failedAt);
        Assert.Equal(12, attempts); // every 50 s: 0, 50, ..., 550
    }

    [Fact]
    public async Task RunAsync_ScopesInside_UseTheRunsClock()
    {
        await CorralTest.RunAsync(async (clock, ct) =>
        {
            Assert.Same(clock, CancelScope.Current!.TimeProvider);
            Assert.Same(clock, CorralTest.CurrentClock);
            await TaskGroup.RunAsync(group =>
            {
                group.Start(async c =>
                {
                    Assert.Same(clock, CancelScope.Current!.TimeProvider);
                    await CancelScope.SleepAsync(TimeSpan.FromHours(2));
                });
                return Task.CompletedTask;
            });
            Assert.Equal(TimeSpan.FromHours(2), clock.Elapsed);
        });
        Assert.Null(CorralTest.CurrentClock);
    }

    [Fact]
    public async Task RunAsync_TimeProviderApis_AllJumpOnTheVirtualClock()
    {
        await CorralTest.RunAsync(async (clock, ct) =>
        {
            await Task.Delay(TimeSpan.FromMinutes(5), clock, ct);
            Assert.Equal(TimeSpan.FromMinutes(5), clock.Elapsed);

            using (var timer = new PeriodicTimer(TimeSpan.FromSeconds(10), clock))
            {
                for (var i = 0; i < 3; i++)
                {
                    Assert.True(await timer.WaitForNextTickAsync(ct));
                }
            }

            Assert.Equal(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(30), clock.Elapsed);

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(7), clock);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Delay(Timeout.InfiniteTimeSpan, clock, cts.Token));
            Assert.Equal(TimeSpan.FromSeconds(337), clock.Elapsed);

            await Assert.ThrowsAsync<TimeoutException>(() => new TaskCompletionSource().Task.WaitAsync(TimeSpan.FromSeconds(3), clock));
            Assert.Equal(TimeSpan.FromSeconds(340), clock.Elapsed);
        });
    }

    [Fact]
    public async Task RunAsync_WorkerThreadRunsTheRunsCode_ClockHoldsStill()
    {
        // trio #456: a worker thread that runs for a while must not let time jump past a timeout around it.
        bool completed = false;
        await CorralTest.RunAsync(async (clock, ct) =>
        {
#pragma warning disable RS0030 // a worker thread busy for real time is the case under test (trio #456)
            completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromMilliseconds(1), c => Task.Run(() => Thread.Sleep(100), c));
#pragma warning restore RS0030
            Assert.Equal(TimeSpan.Zero, clock.Elapsed);
        });

        Assert.True(completed);
    }

    [Fact]
    public async Task RunAsync_BodyTaskRunsWithoutTheRunsContext_ClockHoldsStillUntilItCompletes()
    {
        // The task a scope's body returns is the run's work until it completes, even when its thread never carries the run's
        // context, so that no count of the run's threads sees it: the run holds its clock for it (TestRun.Runner.cs). The
        // same holds in the window where a Task.Run worker has left the run's context and not yet completed its task.
        bool completed = false;
        await CorralTest.RunAsync(async (clock, ct) =>
        {
#pragma warning disable RS0030 // a worker thread busy for real time is the case under test (trio #456)
            completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromMilliseconds(1), _ => RunWithoutTheRunsContext(() => Thread.Sleep(200)));
#pragma warning restore RS0030
            Assert.Equal(TimeSpan.Zero, clock.Elapsed);
        });

        Assert.True(completed);
    }

    [Fact]
    public async Task RunAsync_ChildTaskQueuedElsewhereRunsOnTheRunsThread_ClockMovesOnAfterIt()
    {
        // A child's task queued to another scheduler holds the clock (the test above); when that task then runs and completes
        // on the run's own thread, its continuation runs inline there, and the run must let go of it so time moves again.
        var elsewhere = new ManualScheduler();
        await CorralTest.RunAsync(
            async (clock, ct) =>
            {
                await TaskGroup.RunAsync(async group =>
                {
                    var queued = Task.Factory.StartNew(() => { }, CancellationToken.None, TaskCreationOptions.None, elsewhere);
                    group.Start(_ => queued);
                    elsewhere.RunAll(); // on the run's thread: the task and Corral's continuation of it run inline here
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
                });

                Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed);
            },
            new CorralTestOptions { Timeout = TimeSpan.FromSeconds(10) });
    }

    /// <summary>A scheduler that runs its tasks only when told, on the calling thread.</summary>
    private sealed class ManualScheduler : TaskScheduler
    {
        private readonly List<Task> _queued = new();

        public void RunAll()
        {
            foreach (var task in _queued.ToArray())
            {
                TryExecuteTask(task);
            }

            _queued.Clear();
        }

        protected override void QueueTask(Task task) => _queued.Add(task);

        protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

        protected override IEnumerable<Task> GetScheduledTasks() => _queued;
    }

    private static Task RunWithoutTheRunsContext(Action work)
    {
        using (ExecutionContext.SuppressFlow())
        {
            return Task.Run(work);
        }
    }

    [Fact]
    public async Task RunAsync_RealDelayOutsideTheClock_TimeJumpsPastIt()
    {
        // The documented limit: a wait on the real clock is invisible to the run, so the virtual timeout around it fires.
        bool completed = true;
        await CorralTest.RunAsync(async (clock, ct) =>
        {
            completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), c => Task.Delay(TimeSpan.FromSeconds(30), c));
            Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed);
        });

        Assert.False(completed);
    }

    [Fact]
    public async Task RunAsync_AutojumpThreshold_WaitsForWorkTheRunCannotSee()
    {
        bool completed = false;
        await CorralTest.RunAsync(
            async (clock, ct) =>
            {
                completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), c => Task.Delay(TimeSpan.FromMilliseconds(20), c));
                Assert.Equal(TimeSpan.Zero, clock.Elapsed);
            },
            new CorralTestOptions { AutojumpThreshold = TimeSpan.FromSeconds(5) });

        Assert.True(completed);
    }

    [Fact]
    public async Task RunAsync_EveryContinuation_RunsOnTheSchedulerThread()
    {
        var threads = new HashSet<int>();
        await CorralTest.RunAsync(async (clock, ct) =>
        {
            await TaskGroup.RunAsync(group =>
            {
                for (var i = 0; i < 5; i++)
                {
                    var delay = TimeSpan.FromSeconds(i);
                    group.Start(async c =>
                    {
                        threads.Add(Environment.CurrentManagedThreadId);
                        await Task.Yield();
                        threads.Add(Environment.CurrentManagedThreadId);
                        await CancelScope.SleepAsync(delay);
                        threads.Add(Environment.CurrentManagedThreadId);
                        await Task.Factory.StartNew(() => threads.Add(Environment.CurrentManagedThreadId), c);
                        threads.Add(Environment.CurrentManagedThreadId);
                    });
                }

                return Task.CompletedTask;
            });
        });

        Assert.Single(threads);
    }

    [Fact]
    public async Task RunAsync_ConfigureAwaitFalseAfterCorralWaits_StaysOnTheSchedulerThread()
    {
        // Corral's own continuations run on the run's thread as a pool thread would run them (ADR 0022), so code that goes
        // on with ConfigureAwait(false) after a Corral wait goes on there too, inline, as it would on that pool thread.
        var steps = new List<(string Step, int Thread)>();
        var scheduler = 0;
        await CorralTest.RunAsync(async (clock, ct) =>
        {
            scheduler = Environment.CurrentManagedThreadId;
            await CancelScope.SleepAsync(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
            steps.Add(("after a sleep", Environment.CurrentManagedThreadId));

            await TaskGroup.RunAsync(group =>
            {
                group.Start(_ => CancelScope.SleepAsync(TimeSpan.FromSeconds(1)));
                return Task.CompletedTask;
            }).ConfigureAwait(false);
            steps.Add(("after a group", Environment.CurrentManagedThreadId));

            var completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), _ => CancelScope.SleepAsync(Timeout.InfiniteTimeSpan))
                .ConfigureAwait(false);
            steps.Add(("after a deadline", Environment.CurrentManagedThreadId));
            Assert.False(completed);
            Assert.Equal(TimeSpan.FromSeconds(3), clock.Elapsed);
        });

        Assert.Equal(new[] { "after a sleep", "after a group", "after a deadline" }, steps.ConvertAll(s => s.Step));
        Assert.All(steps, s => Assert.True(s.Thread == scheduler, $"{s.Step}: thread {s.Thread}, not the scheduler's ({scheduler})"));
    }

    [Fact]
    public async Task RunAsync_GenericBody_ReturnsTheValue()
    {
        var value = await CorralTest.RunAsync(async (clock, ct) =>
        {
            await Task.Delay(TimeSpan.FromDays(1), clock, ct);
            return clock.Elapsed;
        });

        Assert.Equal(TimeSpan.FromDays(1), value);
    }

    [Fact]
    public async Task RunAsync_BodyThrows_ExceptionLeavesUnchanged()
    {
        var thrown = new InvalidOperationException("boom");
        var seen = await Assert.ThrowsAsync<InvalidOperationException>(() => CorralTest.RunAsync(async (clock, ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(1), clock, ct);
            throw thrown;
        }));

        Assert.Same(thrown, seen);
    }

    [Fact]
    public async Task RunAsync_AsyncVoidThrows_RunFailsWithIt()
    {
        var seen = await Assert.ThrowsAsync<InvalidOperationException>(() => CorralTest.RunAsync(async (clock, ct) =>
        {
            Fire(clock);
            await Task.Delay(TimeSpan.FromSeconds(10), clock, ct);
        }));

        Assert.Equal("async void", seen.Message);

        static async void Fire(VirtualClock clock)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), clock);
            throw new InvalidOperationException("async void");
        }
    }
}
