// The watchdog's delivery of a report: metrics, EventSource, the configured ILogger, then the TaskReported handlers, in
// that order; a throwing handler stops neither the others nor the watchdog.
using System;
using Microsoft.Extensions.Logging;

namespace Corral.Diagnostics;

public static partial class Watchdog
{
    private static readonly Action<ILogger, string, Exception?> s_logStillRunning = LoggerMessage.Define<string>(
        LogLevel.Warning, new EventId(1, "TaskIgnoringCancellation"), "Corral watchdog: {Report}");

    private static readonly Action<ILogger, string, Exception?> s_logFinishedLate = LoggerMessage.Define<string>(
        LogLevel.Information, new EventId(2, "TaskFinishedLate"), "Corral watchdog: {Report}");

    private static void Deliver(WatchdogReport report, WatchdogOptions options)
    {
        var text = report.ToString();
        if (report.Kind == WatchdogReportKind.StillRunning)
        {
            CorralMetrics.WatchdogReported();
            CorralEventSource.Log.TaskIgnoringCancellation(report.TaskId, report.TaskName, report.SpawnSite ?? string.Empty, report.Reason?.ToString() ?? string.Empty, report.SinceCancelled.TotalSeconds, report.ReportNumber, report.Where ?? "unknown");
            if (options.Logger is { } logger)
            {
                s_logStillRunning(logger, text, null);
            }
        }
        else
        {
            CorralEventSource.Log.TaskFinishedLate(report.TaskId, report.TaskName, report.SpawnSite ?? string.Empty, report.SinceCancelled.TotalSeconds);
            if (options.Logger is { } logger)
            {
                s_logFinishedLate(logger, text, null);
            }
        }

        var handlers = TaskReported;
        if (handlers is null)
        {
            return;
        }

        foreach (EventHandler<WatchdogReport> handler in handlers.GetInvocationList())
        {
            try
            {
                handler(null, report);
            }
            catch (Exception e)
            {
                // A diagnostics handler must not take the watchdog (or the cancelling thread) down; say so where people look.
                CorralEventSource.Log.HandlerFailed(e.ToString());
            }
        }
    }
}
