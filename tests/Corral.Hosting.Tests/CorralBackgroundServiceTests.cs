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
    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

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

        await using var host = TestHost.Create((group, _) =>
        {
            group.Start(ct => Child(group, ct), "child-1");
            group.Start(ct => Child(group, ct), "child-2");
            return Task.CompletedTask;
        });
        await host.StartAsync();
        await started.Task;

        var stop = host.Host.StopAsync();
        await bothInCleanup.Task;
        Assert.False(stop.IsCompleted); // both children are still cleaning up, in shields

        cleanupGate.SetResult();
        await stop;

        Assert.Equal(2, Volatile.Read(ref cleaned));
        Assert.Equal([CorralBackgroundService.StoppingReason, CorralBackgroundService.StoppingReason], reasons);
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

            time.Advance(TimeSpan.FromSeconds(5)); // the watchdog's grace period
            var report = Assert.Single(reports, r => r.TaskName == "deaf-poller");
            Assert.Equal(WatchdogReportKind.StillRunning, report.Kind);
            Assert.Equal("stubborn-service", report.GroupName);
            Assert.Equal(CorralBackgroundService.StoppingReason, report.Reason!.Message);
            Assert.Contains(host.Logs.Entries, e => e.Category == "Corral.Watchdog" && e.Level == LogLevel.Warning && e.Message.Contains("'deaf-poller'", StringComparison.Ordinal));

            await shutdownTimeout.CancelAsync(); // the host's shutdown timeout
            await stop;
            Assert.False(host.Service!.RunCompletion.IsCompleted); // the child still runs, and StopAsync returned anyway
            var timedOut = Assert.Single(host.Logs.Entries, e => e.EventId.Name == "StopTimedOut");
            Assert.Contains("'deaf-poller'", timedOut.Message, StringComparison.Ordinal);

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
                        await Task.Delay(Timeout.Infinite, ct);
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
