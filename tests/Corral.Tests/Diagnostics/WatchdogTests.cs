using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Tests.Diagnostics;

/// <summary>Tests that change process-wide diagnostics settings run one at a time.</summary>
[CollectionDefinition(nameof(GlobalDiagnostics), DisableParallelization = true)]
public sealed class GlobalDiagnostics
{
}

/// <summary>The watchdog names the task that ignores its cancellation.</summary>
[Collection(nameof(GlobalDiagnostics))]
public sealed class WatchdogTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly List<WatchdogReport> _reports = new();
    private readonly string _prefix = Guid.NewGuid().ToString("N")[..8];

    public WatchdogTests()
    {
        Watchdog.Configure(new WatchdogOptions { GracePeriod = TimeSpan.FromSeconds(5), MaxReportInterval = TimeSpan.FromSeconds(20), TimeProvider = _time });
        Watchdog.TaskReported += OnReport;
    }

    public void Dispose()
    {
        Watchdog.TaskReported -= OnReport;
        Watchdog.Configure(new WatchdogOptions());
    }

    [Fact]
    public async Task Watchdog_StubbornLoop_NamedWithSiteReasonAndTime()
    {
        var stop = 0;
        var looping = new TaskCompletionSource();
        var run = RunOnFakeClock(g =>
        {
            g.Start(
                async ct =>
                {
                    looping.TrySetResult();
                    while (Volatile.Read(ref stop) == 0)
                    {
                        try
                        {
                            await Task.Delay(1000, ct);
                        }
                        catch (OperationCanceledException)
                        {
                            // "cancelled? no thanks"
                            await Task.Yield();
                        }
                    }
                },
                _prefix + "-stubborn");
        });

        await looping.Task;
        Cancel();
        _time.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Empty(Ours());
        _time.Advance(TimeSpan.FromSeconds(0.1));
        var first = Assert.Single(Ours());
        Assert.Equal(WatchdogReportKind.StillRunning, first.Kind);
        Assert.Equal(_prefix + "-stubborn", first.TaskName);
        Assert.StartsWith("WatchdogTests.cs:", first.SpawnSite, StringComparison.Ordinal);
        Assert.Equal("shutting down", first.Reason!.Message);
        Assert.Equal(TimeSpan.FromSeconds(5), first.SinceCancelled);
        Assert.Equal(1, first.ReportNumber);
        Assert.Contains("still running 5.0s after it was cancelled", first.ToString(), StringComparison.Ordinal);

        Volatile.Write(ref stop, 1);
        await run;
        var last = Ours().Last();
        Assert.Equal(WatchdogReportKind.FinishedLate, last.Kind);
        Assert.Equal(_prefix + "-stubborn", last.TaskName);
    }

    [Fact]
    public async Task Watchdog_TaskReportedTwiceThenFinishes_CountsItsReportsAndKeepsNothingAfter()
    {
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        var run = RunOnFakeClock(g => g.Start(
            _ =>
            {
                started.SetResult();
                return release.Task;
            },
            _prefix + "-deaf"));

        await started.Task;
        Cancel();
        _time.Advance(TimeSpan.FromSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal([1, 2], Ours().Select(r => r.ReportNumber));
        Assert.Contains(_prefix + "-deaf", Watchdog.ReportedTaskNames());

        release.SetResult();
        await run;
        var last = Ours().Last();
        Assert.Equal(WatchdogReportKind.FinishedLate, last.Kind);
        Assert.Equal(2, last.ReportNumber);
        Assert.DoesNotContain(_prefix + "-deaf", Watchdog.ReportedTaskNames());
    }

    [Fact]
    public async Task Watchdog_TaskOutlivesNamedMoveOnAfterDeadline_ReasonNamesTheScope()
    {
        var release = new TaskCompletionSource();
        var started = new TaskCompletionSource();
        var run = CancelScope.RunAsync(
            _ => CancelScope.MoveOnAfterAsync(
                TimeSpan.FromSeconds(1),
                _ => TaskGroup.RunAsync(g =>
                {
                    g.Start(
                        _ =>
                        {
                            started.SetResult();
                            return release.Task;
                        },
                        _prefix + "-deaf");
                    return Task.CompletedTask;
                }),
                _prefix + "-fetch"),
            new CancelScopeOptions { TimeProvider = _time });

        await started.Task;
        _time.Advance(TimeSpan.FromSeconds(1)); // the named scope's deadline
        _time.Advance(TimeSpan.FromSeconds(5)); // the grace period
        var report = Assert.Single(Ours());
        Assert.Equal(_prefix + "-deaf", report.TaskName);
        Assert.Equal(CancelReasonKind.DeadlineExceeded, report.Reason!.Kind);
        Assert.Equal(_prefix + "-fetch", report.Reason.Scope.Name);
        Assert.Contains($"(scope '{_prefix}-fetch': deadline exceeded)", report.ToString(), StringComparison.Ordinal);

        release.SetResult();
        Assert.False((await run).Value);
    }

    [Fact]
    public async Task Watchdog_StillStuck_ReportsAgainAtGrowingIntervals()
    {
        var release = new TaskCompletionSource();
        var run = RunOnFakeClock(g => g.Start(_ => release.Task, _prefix + "-deaf"));
        Cancel();

        var reportedAt = new List<double>();
        for (var second = 1; second <= 60; second++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            if (Ours().Count > reportedAt.Count)
            {
                reportedAt.Add(second);
            }
        }

        // grace 5s, then intervals 5, 10, 20 (capped at 20): 5, 10, 20, 40, 60.
        Assert.Equal([5, 10, 20, 40, 60], reportedAt);
        Assert.Equal([1, 2, 3, 4, 5], Ours().Select(r => r.ReportNumber));
        release.SetResult();
        await run;
    }

    [Fact]
    public async Task Watchdog_GroupCancelledBetweenChecks_FirstReportAtExactlyTheGraceThenTwiceAndFourTimes()
    {
        // Issue 16: with a check every half grace, a group cancelled just after a check was first reported up to 1.5× the grace
        // after its cancel. Group A arms the timer at t=0; group B is cancelled at t=1 s, off A's rhythm.
        var releaseA = new TaskCompletionSource();
        var releaseB = new TaskCompletionSource();
        TaskGroup? groupB = null;
        var runA = RunOnFakeClock(g => g.Start(_ => releaseA.Task, _prefix + "-a"));
        var runB = CancelScope.RunAsync(
            _ => TaskGroup.RunAsync(g =>
            {
                groupB = g;
                g.Start(_ => releaseB.Task, _prefix + "-b");
                return Task.CompletedTask;
            }),
            new CancelScopeOptions { TimeProvider = _time });
        Cancel();
        _time.Advance(TimeSpan.FromSeconds(1));
        groupB!.Cancel("late");

        var seen = new List<(string Task, double At, double Since)>();
        for (var ms = 0; ms < 25_000; ms += 100)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            foreach (var r in Ours().Skip(seen.Count))
            {
                seen.Add((r.TaskName[(_prefix.Length + 1)..], Math.Round((ms + 1_100) / 1000.0, 1), r.SinceCancelled.TotalSeconds));
            }
        }

        // Each report exactly at 1×, 2×, 4× the grace (5 s) after its own group's cancel.
        Assert.Equal(
            [("a", 5.0, 5.0), ("b", 6.0, 5.0), ("a", 10.0, 10.0), ("b", 11.0, 10.0), ("a", 20.0, 20.0), ("b", 21.0, 20.0)],
            seen);
        releaseA.SetResult();
        releaseB.SetResult();
        await runA;
        await runB;
    }

    [Fact]
    public async Task Watchdog_TaskEndsWithinGrace_NeverReported()
    {
        var run = RunOnFakeClock(g => g.Start(ct => Task.Delay(Timeout.Infinite, ct), _prefix + "-polite"));
        Cancel();
        await run;
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(Ours());
        Assert.DoesNotContain(Watchdog.CheckNow(), r => r.TaskName.StartsWith(_prefix, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Watchdog_Disabled_ReportsNothing()
    {
        Watchdog.Configure(new WatchdogOptions { Enabled = false, TimeProvider = _time });
        var release = new TaskCompletionSource();
        var run = RunOnFakeClock(g => g.Start(_ => release.Task, _prefix + "-ignored"));
        Cancel();
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Empty(Ours());
        release.SetResult();
        await run;
    }

    [Fact]
    public async Task Watchdog_CancelledGroupCloses_ForgottenWithoutWaitingForACheck()
    {
        var release = new TaskCompletionSource();
        var run = RunOnFakeClock(g => g.Start(_ => release.Task, _prefix + "-quick"));
        Cancel();
        Assert.True(Watchdog.IsWatching(_group!));

        release.SetResult();
        await run;

        // No check ran (the fake clock did not move): the group's close alone made the watchdog let it go.
        Assert.False(Watchdog.IsWatching(_group!));
    }

    [Fact]
    public void Configure_BadOptions_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => Watchdog.Configure(null!));
        Assert.Throws<ArgumentOutOfRangeException>(() => Watchdog.Configure(new WatchdogOptions { GracePeriod = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Watchdog.Configure(new WatchdogOptions { GracePeriod = TimeSpan.FromSeconds(10), MaxReportInterval = TimeSpan.FromSeconds(1) }));
        Assert.Throws<ArgumentNullException>(() => Watchdog.Configure(new WatchdogOptions { TimeProvider = null! }));
    }

    [Fact]
    public async Task Watchdog_HandlerThrows_OtherHandlersStillCalled()
    {
        EventHandler<WatchdogReport> bad = (_, _) => throw new InvalidOperationException("bad handler");
        Watchdog.TaskReported -= OnReport;
        Watchdog.TaskReported += bad;
        Watchdog.TaskReported += OnReport;
        try
        {
            var release = new TaskCompletionSource();
            var run = RunOnFakeClock(g => g.Start(_ => release.Task, _prefix + "-x"));
            Cancel();
            _time.Advance(TimeSpan.FromSeconds(5));
            Assert.Single(Ours());
            release.SetResult();
            await run;
        }
        finally
        {
            Watchdog.TaskReported -= bad;
        }
    }

    private TaskGroup? _group;

    private Task RunOnFakeClock(Action<TaskGroup> start) =>
        CancelScope.RunAsync(
            _ => TaskGroup.RunAsync(g =>
            {
                _group = g;
                start(g);
                return Task.CompletedTask;
            }),
            new CancelScopeOptions { TimeProvider = _time });

    private void Cancel() => _group!.Cancel("shutting down");

    private List<WatchdogReport> Ours()
    {
        lock (_reports)
        {
            return _reports.Where(r => r.TaskName.StartsWith(_prefix, StringComparison.Ordinal)).ToList();
        }
    }

    private void OnReport(object? sender, WatchdogReport report)
    {
        lock (_reports)
        {
            _reports.Add(report);
        }
    }
}
