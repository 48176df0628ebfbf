using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Hosting.Tests;

/// <summary>The service runs a task group under a real host: start, stop, failures.</summary>
[Collection(nameof(ProcessWideWatchdog))]
public sealed class CorralBackgroundServiceTests : WatchdogRestoringTests
{
    /// <summary>The reason a group ignoring the stop is cancelled with, at the default grace (half the host's 30 s).</summary>
    private const string GraceRanOut = "stop requested: the host is stopping; grace of 15 s ran out";

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Fact]
    public async Task TaskTree_RunningService_GroupNamesTheServiceAndExecuteAsyncNotALineInCorral()
    {
        var name = "site-" + Guid.NewGuid().ToString("N")[..8];
        var release = NewSignal();
        await using var host = TestHost.Create(async (_, _) => await release.Task, name);
        await host.StartAsync();

        var snapshot = TaskTree.Capture();
        release.SetResult();
        await host.Service!.RunCompletion;
        await host.Host.StopAsync();

        var group = Assert.Single(snapshot.FindAll(n => n.Name == name && n.Kind == TaskTreeNodeKind.TaskGroup));
        Assert.Equal("DelegateService.ExecuteAsync", group.Site);
        Assert.Equal("DelegateService.ExecuteAsync", Assert.Single(group.Children).Site); // the body
        Assert.Equal("Cache.ExecuteAsync", CorralBackgroundService.SpawnSite(typeof(Cache<int>)));
    }

    [Fact]
    public async Task StartAsync_ExecuteAsyncStillRunning_Returns()
    {
        var reachedAwait = false;
        var release = NewSignal();
        await using var host = TestHost.Create(async (_, _) =>
        {
            reachedAwait = true;
            await release.Task;
        });

        await host.StartAsync();

        Assert.True(reachedAwait); // the synchronous part ran before StartAsync returned
        Assert.False(host.Service!.RunCompletion.IsCompleted);
        release.SetResult();
        await host.Service.RunCompletion;
        await host.Host.StopAsync();
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task StopAsync_ChildrenRunning_CancelsEveryChildWithReasonAndWaitsForThemAll()
    {
        var reasons = new ConcurrentBag<string?>();
        var inCleanup = new CountdownEvent(2);
        var bothInCleanup = NewSignal();
        var cleanupGate = NewSignal();
        var cleaned = 0;
        var bothStarted = new CountdownEvent(2);
        var started = NewSignal();

        async Task Child(TaskGroup group, CancellationToken ct)
        {
            try
            {
                if (bothStarted.Signal())
                {
                    started.SetResult();
                }

                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                reasons.Add(group.Scope.CancelReason?.Message);
                await CancelScope.ShieldAsync(async _ =>
                {
                    if (inCleanup.Signal())
                    {
                        bothInCleanup.SetResult();
                    }

                    await cleanupGate.Task;
                    Interlocked.Increment(ref cleaned);
                });
            }
        }

        var time = new FakeTimeProvider();
        await using var host = TestHost.Create(
            (group, _) =>
            {
                group.Start(ct => Child(group, ct), "child-1");
                group.Start(ct => Child(group, ct), "child-2");
                return Task.CompletedTask;
            },
            time: time);
        await host.StartAsync();
        await started.Task;

        var stop = host.Host.StopAsync();
        Assert.True(host.Service!.Group!.Scope.IsStopRequested);
        Assert.False(host.Service.Group.Scope.IsCancellationRequested); // asked first
        time.Advance(TimeSpan.FromSeconds(15)); // the grace: half the host's 30 s shutdown timeout
        await bothInCleanup.Task;
        Assert.False(stop.IsCompleted); // both children are still cleaning up, in shields

        cleanupGate.SetResult();
        await stop;

        Assert.Equal(2, Volatile.Read(ref cleaned));
        Assert.Equal([GraceRanOut, GraceRanOut], reasons);
        Assert.True(host.Service!.RunCompletion.IsCompleted);
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task StopAsync_TokenFiresWhileChildIgnoresCancellation_ReturnsAndWatchdogNamesTheChild()
    {
        var time = new FakeTimeProvider();
        var reports = new ConcurrentQueue<WatchdogReport>();
        EventHandler<WatchdogReport> onReport = (_, r) => reports.Enqueue(r);
        var release = NewSignal();
        var started = NewSignal();
        await using var host = TestHost.Create(
            (group, _) =>
            {
                group.Start(
                    _ =>
                    {
                        started.SetResult();
                        return release.Task; // never looks at its token
                    },
                    "deaf-poller");
                return Task.CompletedTask;
            },
            name: "stubborn-service",
            time: time,
            corral: o =>
            {
                o.Watchdog.TimeProvider = time;
                o.Watchdog.GracePeriod = TimeSpan.FromSeconds(5);
            });
        Watchdog.TaskReported += onReport;
        try
        {
            await host.StartAsync();
            await started.Task;

            using var shutdownTimeout = new CancellationTokenSource();
            var stop = host.Host.StopAsync(shutdownTimeout.Token);
            Assert.False(stop.IsCompleted);

            time.Advance(TimeSpan.FromSeconds(15)); // the stop's grace: the group is cancelled
            Assert.Empty(reports);
            time.Advance(TimeSpan.FromSeconds(5)); // the watchdog's grace period
            var report = Assert.Single(reports, r => r.TaskName == "deaf-poller");
            Assert.Equal(WatchdogReportKind.StillRunning, report.Kind);
            Assert.Equal("stubborn-service", report.GroupName);
            Assert.Equal(GraceRanOut, report.Reason!.Message);
            Assert.Contains(host.Logs.Entries, e => e.Category == "Corral.Watchdog" && e.Level == LogLevel.Warning && e.Message.Contains("'deaf-poller'", StringComparison.Ordinal));

            await shutdownTimeout.CancelAsync(); // the host's shutdown timeout
            await stop;
            Assert.False(host.Service!.RunCompletion.IsCompleted); // the child still runs, and StopAsync returned anyway
            var timedOut = Assert.Single(host.Logs.Entries, e => e.EventId.Name == "StopTimedOut");
            Assert.Contains("'deaf-poller'", timedOut.Message, StringComparison.Ordinal);

            // The service's part of the task tree (group 'name' …), named after the service's type and its ExecuteAsync, not a line of Corral.
            Assert.Contains("group 'stubborn-service' cancelling", timedOut.Message, StringComparison.Ordinal);
            Assert.Contains("at DelegateService.ExecuteAsync", timedOut.Message, StringComparison.Ordinal);
            Assert.Contains("task 'deaf-poller' cancelling", timedOut.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("CorralBackgroundService.cs", timedOut.Message, StringComparison.Ordinal);

            release.SetResult();
            await host.Service.RunCompletion;
            Assert.Empty(host.Errors);
        }
        finally
        {
            Watchdog.TaskReported -= onReport;
        }
    }

    [Fact]
    public async Task StopAsync_TokenFiresWhileAnotherServiceHasTheSameName_NamesOnlyItsOwnTasks()
    {
        var release = NewSignal();
        var startedA = NewSignal();
        var startedB = NewSignal();
        Func<TaskGroup, CancellationToken, Task> Stuck(string child, TaskCompletionSource started) => (group, _) =>
        {
            group.Start(
                _ =>
                {
                    started.SetResult();
                    return release.Task; // never looks at its token
                },
                child);
            return Task.CompletedTask;
        };

        await using var a = TestHost.Create(Stuck("a-stuck", startedA), name: "same-name", addCorral: false);
        await using var b = TestHost.Create(Stuck("b-stuck", startedB), name: "same-name", addCorral: false);
        await a.StartAsync();
        await b.StartAsync();
        await Task.WhenAll(startedA.Task, startedB.Task);

        using var shutdownTimeout = new CancellationTokenSource();
        var stop = a.Host.StopAsync(shutdownTimeout.Token);
        await shutdownTimeout.CancelAsync();
        await stop;

        var timedOut = Assert.Single(a.Logs.Entries, e => e.EventId.Name == "StopTimedOut");
        Assert.Contains("'a-stuck'", timedOut.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("'b-stuck'", timedOut.Message, StringComparison.Ordinal);

        release.SetResult();
        await a.Service!.RunCompletion;
        await b.Service!.RunCompletion;
    }

    [Fact]
    public async Task Failure_ChildThrows_StopsApplicationAndLogsChildName()
    {
        var boom = new InvalidOperationException("boom");
        var fail = NewSignal();
        await using var host = TestHost.Create((group, _) =>
        {
            group.Start(async _ =>
            {
                await fail.Task;
                throw boom;
            },
            "orders-poller");
            group.Start(ct => Task.Delay(Timeout.Infinite, ct), "heartbeat");
            return Task.CompletedTask;
        });
        var stopping = NewSignal();
        using var registration = host.Lifetime.ApplicationStopping.Register(stopping.SetResult);
        await host.StartAsync();

        fail.SetResult();
        await stopping.Task;

        var failed = Assert.Single(host.Errors, e => e.EventId.Name == "TaskFailed");
        Assert.Contains("'orders-poller'", failed.Message, StringComparison.Ordinal);
        Assert.Contains("'worker'", failed.Message, StringComparison.Ordinal);
        Assert.Same(boom, failed.Exception);
        Assert.Single(host.Logs.Entries, e => e.EventId.Name == "StoppingHost");
        await host.Service!.RunCompletion;
        await host.Host.StopAsync();
    }

    [Fact]
    public async Task Failure_SeveralChildren_EachLoggedWithItsName()
    {
        await using var host = TestHost.Create(
            (group, _) =>
            {
                group.Start(_ => throw new InvalidOperationException("first"), "a");
                return Task.FromException(new ArgumentException("second"));
            },
            behavior: BackgroundServiceExceptionBehavior.Ignore);
        await host.StartAsync();
        await host.Service!.RunCompletion;

        var failed = host.Errors.Where(e => e.EventId.Name == "TaskFailed").ToList();
        Assert.Equal(2, failed.Count);
        Assert.Contains(failed, e => e.Message.Contains("'a'", StringComparison.Ordinal) && e.Exception is InvalidOperationException);
        Assert.Contains(failed, e => e.Message.Contains("'body'", StringComparison.Ordinal) && e.Exception is ArgumentException);
        await host.Host.StopAsync();
    }

    [Fact]
    public async Task Failure_BehaviorIgnore_LogsButDoesNotStopApplication()
    {
        await using var host = TestHost.Create(
            (group, _) =>
            {
                group.Start(_ => throw new InvalidOperationException("boom"), "flaky");
                return Task.CompletedTask;
            },
            behavior: BackgroundServiceExceptionBehavior.Ignore);
        await host.StartAsync();
        await host.Service!.RunCompletion;

        Assert.Single(host.Errors, e => e.EventId.Name == "TaskFailed" && e.Message.Contains("'flaky'", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Name == "StoppingHost");
        Assert.False(host.Lifetime.ApplicationStopping.IsCancellationRequested);
        await host.Host.StopAsync();
    }

    [Fact]
    public async Task Failure_ExecuteAsyncThrowsBeforeItsFirstAwait_LoggedAndStopsApplication()
    {
        await using var host = TestHost.Create((_, _) => throw new InvalidOperationException("bad config"));
        await host.StartAsync();
        await host.Service!.RunCompletion;

        var failed = Assert.Single(host.Errors, e => e.EventId.Name == "TaskFailed");
        Assert.Contains("'body'", failed.Message, StringComparison.Ordinal);
        Assert.True(host.Lifetime.ApplicationStopping.IsCancellationRequested);
        await host.Host.StopAsync();
    }

    [Fact]
    public async Task Dispose_WhileRunning_CancelsTheGroupWithReason()
    {
        string? reason = null;
        var host = TestHost.Create(async (group, ct) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            finally
            {
                reason = group.Scope.CancelReason?.Message;
            }
        });
        await host.StartAsync();
        var run = host.Service!.RunCompletion;

        host.Service.Dispose();
        await run;

        Assert.Equal("the service was disposed", reason);
        Assert.Empty(host.Errors);
        await host.Host.StopAsync();
        await host.DisposeAsync();
    }

    [Fact]
    public async Task ExecuteAsync_CompletesNormally_HostKeepsRunning()
    {
        var done = false;
        await using var host = TestHost.Create((_, _) =>
        {
            done = true;
            return Task.CompletedTask;
        });
        await host.StartAsync();
        await host.Service!.RunCompletion;

        Assert.True(done);
        Assert.False(host.Lifetime.ApplicationStopping.IsCancellationRequested);
        Assert.Empty(host.Errors);
        await host.Host.StopAsync();
    }

    [Fact]
    public async Task StopAsync_ChildFailsWhileStopping_LoggedAndThrown()
    {
        var started = NewSignal();
        await using var host = TestHost.Create((group, _) =>
        {
            group.Start(
                async ct =>
                {
                    try
                    {
                        started.SetResult();
                        await Task.Delay(Timeout.Infinite, CancelScope.CurrentStoppingToken);
                    }
                    catch (OperationCanceledException)
                    {
                        throw new InvalidOperationException("cleanup failed");
                    }
                },
                "flusher");
            return Task.CompletedTask;
        });
        await host.StartAsync();
        await started.Task;

        var thrown = await Assert.ThrowsAnyAsync<Exception>(() => host.Host.StopAsync());

        var group = Assert.IsType<TaskGroupException>(Flatten(thrown).OfType<TaskGroupException>().FirstOrDefault());
        Assert.Equal("flusher", Assert.Single(group.Failures).TaskName);
        Assert.Single(host.Errors, e => e.EventId.Name == "TaskFailed" && e.Message.Contains("'flusher'", StringComparison.Ordinal));
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Name == "StoppingHost"); // the host is stopping already
    }

    [Fact]
    public async Task StopAsync_ChildDrainsWithinTheGrace_EndsWithNothingCancelled()
    {
        var time = new FakeTimeProvider();
        var handled = 0;
        var inHand = NewSignal();
        var finishItem = NewSignal();
        await using var host = TestHost.Create(
            (group, stoppingToken) =>
            {
                group.Start(
                    async ct =>
                    {
                        while (!stoppingToken.IsCancellationRequested)
                        {
                            inHand.TrySetResult();
                            await finishItem.Task.WaitAsync(ct); // the item in hand: its work gets the group's token
                            handled++;
                        }
                    },
                    "queue-worker");
                return Task.CompletedTask;
            },
            time: time);
        await host.StartAsync();
        await inHand.Task;

        var stop = host.Host.StopAsync();
        var group = host.Service!.Group!;
        Assert.True(group.Scope.IsStopRequested);
        Assert.False(stop.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(14)); // within the grace
        finishItem.SetResult();
        await stop;

        Assert.Equal(1, handled);
        Assert.False(group.Scope.IsCancellationRequested);
        var requested = Assert.Single(host.Logs.Entries, e => e.EventId.Name == "StopRequested");
        Assert.Contains("15 s to finish", requested.Message, StringComparison.Ordinal);
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task StopAsync_ShutdownTimeoutTenSeconds_DefaultGraceIsFiveSeconds()
    {
        var time = new FakeTimeProvider();
        var started = NewSignal();
        await using var host = TestHost.Create(
            (group, _) =>
            {
                group.Start(
                    async ct =>
                    {
                        started.SetResult();
                        await Task.Delay(Timeout.Infinite, ct);
                    },
                    "poller");
                return Task.CompletedTask;
            },
            time: time,
            shutdownTimeout: TimeSpan.FromSeconds(10));
        await host.StartAsync();
        await started.Task;

        var stop = host.Host.StopAsync();
        time.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
        Assert.False(host.Service!.Group!.Scope.IsCancellationRequested);
        time.Advance(TimeSpan.FromTicks(1));
        await stop;
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task StopAsync_BodyEndsWithTheStoppingTokensCancellation_StoppedAsAskedNotAFailure()
    {
        await using var host = TestHost.Create(async (_, stoppingToken) =>
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(10), stoppingToken); // BackgroundService's usual loop
            }
        });
        await host.StartAsync();
        await host.Host.StopAsync();

        Assert.True(host.Service!.RunCompletion.IsCompletedSuccessfully);
        Assert.Empty(host.Errors);
    }

    [Fact]
    public async Task Failure_SiblingIgnoresCancellation_FailureLoggedTheMomentItHappensAndOnce()
    {
        var fail = NewSignal();
        var releaseSibling = NewSignal();
        await using var host = TestHost.Create((group, _) =>
        {
            group.Start(async _ =>
            {
                await fail.Task;
                throw new InvalidOperationException("disk full");
            },
            "writer");
            group.Start(_ => releaseSibling.Task, "deaf-sibling"); // ignores its cancellation
            return Task.CompletedTask;
        });
        await host.StartAsync();

        fail.SetResult();
        var failed = await host.Logs.WaitForAsync(e => e.EventId.Name == "TaskFailed").WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("'writer'", failed.Message, StringComparison.Ordinal);
        Assert.False(host.Service!.RunCompletion.IsCompleted); // logged while the group still waits for its sibling

        releaseSibling.SetResult();
        await host.Service.RunCompletion;
        Assert.Single(host.Errors, e => e.EventId.Name == "TaskFailed"); // and not again when the group ended
        await host.Host.StopAsync();
    }

    [Fact]
    public async Task Failure_FailureExitCodeSet_ProcessExitCodeIsSet()
    {
        var before = Environment.ExitCode;
        try
        {
            Environment.ExitCode = 0;
            await using var host = TestHost.Create(
                (group, _) =>
                {
                    group.Start(_ => throw new InvalidOperationException("boom"), "flaky");
                    return Task.CompletedTask;
                },
                corral: o => o.FailureExitCode = 3);
            await host.StartAsync();
            await host.Service!.RunCompletion;
            Assert.Equal(3, Environment.ExitCode);
            await host.Host.StopAsync();
        }
        finally
        {
            Environment.ExitCode = before;
        }
    }

    [Fact]
    public async Task Failure_FailureExitCodeNotSet_ExitCodeLeftAlone()
    {
        var before = Environment.ExitCode;
        try
        {
            Environment.ExitCode = 0;
            await using var host = TestHost.Create((group, _) =>
            {
                group.Start(_ => throw new InvalidOperationException("boom"), "flaky");
                return Task.CompletedTask;
            });
            await host.StartAsync();
            await host.Service!.RunCompletion;
            Assert.Equal(0, Environment.ExitCode);
            await host.Host.StopAsync();
        }
        finally
        {
            Environment.ExitCode = before;
        }
    }

    [Fact]
    public void FailureExitCode_Zero_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CorralHostingOptions().FailureExitCode = 0);
    }

    [Fact]
    public async Task StartAsync_Twice_Throws()
    {
        var release = NewSignal();
        await using var host = TestHost.Create((_, _) => release.Task);
        await host.StartAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => host.Service!.StartAsync(CancellationToken.None));
        release.SetResult();
        await host.Host.StopAsync();
    }

    [Fact]
    public async Task StopAsync_NeverStarted_ReturnsAtOnce()
    {
        using var service = new DelegateService(
            NullLogger<DelegateService>.Instance, new FakeLifetime(), Microsoft.Extensions.Options.Options.Create(new HostOptions()), (_, _) => Task.CompletedTask, "idle", null);

        var stop = service.StopAsync(CancellationToken.None);

        Assert.True(stop.IsCompletedSuccessfully, "StopAsync on a service that never started waited for something");
        await stop;
    }

    [Fact]
    public void Constructor_NullArguments_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => new DelegateService(null!, new FakeLifetime(), Microsoft.Extensions.Options.Options.Create(new HostOptions()), (_, _) => Task.CompletedTask, "x", null));
        Assert.Throws<ArgumentNullException>(() => new DelegateService(NullLogger<DelegateService>.Instance, null!, Microsoft.Extensions.Options.Options.Create(new HostOptions()), (_, _) => Task.CompletedTask, "x", null));
    }

    private static IEnumerable<Exception> Flatten(Exception e)
    {
        yield return e;
        if (e is AggregateException aggregate and not TaskGroupException)
        {
            foreach (var inner in aggregate.InnerExceptions.SelectMany(Flatten))
            {
                yield return inner;
            }
        }
        else if (e.InnerException is { } inner)
        {
            foreach (var nested in Flatten(inner))
            {
                yield return nested;
            }
        }
    }

    private sealed class FakeLifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}
