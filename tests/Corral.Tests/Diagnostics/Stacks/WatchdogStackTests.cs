using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Tests.Diagnostics.Stacks;

/// <summary>A watchdog report names the line that ignores the cancellation, read when the report is made.</summary>
[Collection(nameof(GlobalDiagnostics))]
public sealed class WatchdogStackTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly List<WatchdogReport> _reports = new();
    private readonly string _name = "deaf-" + Guid.NewGuid().ToString("N")[..8];

    public WatchdogStackTests()
    {
        Watchdog.Configure(new WatchdogOptions { GracePeriod = TimeSpan.FromSeconds(5), TimeProvider = _time });
        Watchdog.TaskReported += OnReport;
    }

    public void Dispose()
    {
        Watchdog.TaskReported -= OnReport;
        Watchdog.Configure(new WatchdogOptions());
    }

    [Fact]
    public async Task Report_TaskIgnoringCancellation_NamesTheAwaitItIsSuspendedAt()
    {
        var gate = new TaskCompletionSource();
        TaskGroup? group = null;
        var run = CancelScope.RunAsync(
            _ => TaskGroup.RunAsync(g =>
            {
                group = g;
                g.Start(_ => KnownProgramBuilds.Call<Task>(KnownBuild.Sdk, "Deaf", gate.Task), _name);
                return Task.CompletedTask;
            }),
            new CancelScopeOptions { TimeProvider = _time });

        group!.Cancel("shutting down");
        _time.Advance(TimeSpan.FromSeconds(5));
        Watchdog.CheckNow();
        gate.SetResult();
        await run;

        var report = Assert.Single(Ours(), r => r.Kind == WatchdogReportKind.StillRunning);
        var line = KnownProgramBuilds.Marks["deaf"];
        var frame = Assert.Single(report.Stack!.Frames);
        Assert.Equal(("KnownProgram.DeafAsync", (int?)line), (frame.Method, frame.Line));
        Assert.True(report.ToString().Contains(
            $"still running 5.0s after it was cancelled (shutting down), at KnownProgram.cs:{line} in KnownProgram.DeafAsync, awaiting the task of a TaskCompletionSource (Task); report #1",
            StringComparison.Ordinal), report.ToString());
    }

    private List<WatchdogReport> Ours()
    {
        lock (_reports)
        {
            return _reports.Where(r => r.TaskName == _name).ToList();
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
