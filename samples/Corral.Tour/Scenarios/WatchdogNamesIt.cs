// Scene 8: the task that ignores cancellation. With a plain token, a loop that swallows the cancellation just runs on,
// and nothing anywhere says so. Corral's watchdog names every task still running a grace period after its scope was
// cancelled (5 s by default; 200 ms here so the tour stays short), with its spawn site, the reason and the time since
// the cancel, through ILogger, the Corral EventSource, the corral.watchdog.reports counter and the TaskReported event.
using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;

namespace Corral.Tour.Scenarios;

internal static class WatchdogNamesIt
{
    private static readonly TimeSpan s_grace = TimeSpan.FromMilliseconds(200);

    private static readonly TimeSpan s_reportLimit = TimeSpan.FromSeconds(3);

    public static async Task<ScenarioResult> RunAsync()
    {
        var plain = await PlainAsync();
        var (corral, problem) = await CorralAsync();
        return new ScenarioResult(plain, corral, problem);
    }

    private static async Task<string> PlainAsync()
    {
        using var cts = new CancellationTokenSource();
        using var tourOnly = new CancellationTokenSource();
        var loop = StubbornAsync(cts.Token, tourOnly.Token);
        await cts.CancelAsync();
        await Task.Delay(s_grace * 2);
        var stillRunning = !loop.IsCompleted;
        await tourOnly.CancelAsync();
        await loop;
        return $"still running {(s_grace * 2).TotalMilliseconds:0} ms after the cancel={stillRunning}, and nothing said so";
    }

    private static async Task<(string Line, string? Problem)> CorralAsync()
    {
        var previous = Watchdog.Options;
        var reported = new TaskCompletionSource<WatchdogReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnReport(object? sender, WatchdogReport report)
        {
            if (report.TaskName == "stubborn-loop" && report.Kind == WatchdogReportKind.StillRunning)
            {
                reported.TrySetResult(report);
            }
        }

        Watchdog.Configure(new WatchdogOptions { GracePeriod = s_grace });
        Watchdog.TaskReported += OnReport;
        WatchdogReport? report = null;
        try
        {
            using var tourOnly = new CancellationTokenSource();
            await TaskGroup.RunAsync(
                async workers =>
                {
                    workers.Start(ct => StubbornAsync(ct, tourOnly.Token), "stubborn-loop");
                    workers.Cancel("shutting down");
                    try
                    {
                        report = await reported.Task.WaitAsync(s_reportLimit, CancellationToken.None);
                    }
                    catch (TimeoutException)
                    {
                        // no report: said below
                    }

                    await tourOnly.CancelAsync(); // only the tour can stop the loop
                },
                new TaskGroupOptions { Name = "workers" });
        }
        finally
        {
            Watchdog.TaskReported -= OnReport;
            Watchdog.Configure(previous);
        }

        if (report is null)
        {
            return ("no report", $"the watchdog did not name 'stubborn-loop' within {s_reportLimit.TotalSeconds} s");
        }

        var line = $"watchdog: {report}";
        string? problem = null;
        if (report.GroupName != "workers" || report.SpawnSite is null || report.Reason?.Message != "shutting down" || report.SinceCancelled < s_grace)
        {
            problem = $"the report lacks the group, site or reason, or came before the grace period: {report}";
        }

        return (line, problem);
    }

    /// <summary>The article's stubborn loop, on a token: "cancelled? no thanks", until the tour stops it.</summary>
    private static async Task StubbornAsync(CancellationToken cancellationToken, CancellationToken tourOnly)
    {
        while (!tourOnly.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                try
                {
                    await Task.Delay(10, tourOnly); // swallowed: go round again
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
