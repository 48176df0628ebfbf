using System.Collections.Generic;
using System.Diagnostics.Metrics;

namespace Corral.Diagnostics;

/// <summary>
/// Corral's instruments on <see cref="System.Diagnostics.Metrics"/>, in a <see cref="Meter"/> named <c>Corral</c>.
/// </summary>
/// <remarks>
/// Instruments (names follow OpenTelemetry conventions):
/// <list type="bullet">
/// <item><c>corral.tasks.started</c> (counter): group children and bodies started.</item>
/// <item><c>corral.tasks.running</c> (up-down counter): group children and bodies running now.</item>
/// <item><c>corral.scopes.cancelled</c> (counter, tag <c>source</c> = <c>explicit</c> | <c>deadline</c> | <c>failure</c> | <c>parent</c>):
/// scopes whose cancellation began, by what set it off; <c>parent</c> counts scopes reached by an ancestor's cancellation.</item>
/// <item><c>corral.watchdog.reports</c> (counter): tasks reported by the watchdog for running on after their cancellation.</item>
/// </list>
/// With no listener, each update is a branch on <see cref="Instrument.Enabled"/>.
/// </remarks>
internal static class CorralMetrics
{
    /// <summary>The meter's name, as listeners and <c>dotnet-counters</c> see it.</summary>
    internal const string MeterName = "Corral";

    private static readonly Meter s_meter = new(MeterName, typeof(CorralMetrics).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> s_tasksStarted =
        s_meter.CreateCounter<long>("corral.tasks.started", "{task}", "Group children and bodies started.");

    private static readonly UpDownCounter<long> s_tasksRunning =
        s_meter.CreateUpDownCounter<long>("corral.tasks.running", "{task}", "Group children and bodies running.");

    private static readonly Counter<long> s_scopesCancelled =
        s_meter.CreateCounter<long>("corral.scopes.cancelled", "{scope}", "Scopes whose cancellation began, by source.");

    private static readonly Counter<long> s_watchdogReports =
        s_meter.CreateCounter<long>("corral.watchdog.reports", "{report}", "Tasks reported for running on after their cancellation.");

    private static readonly KeyValuePair<string, object?> s_explicit = new("source", "explicit");
    private static readonly KeyValuePair<string, object?> s_deadline = new("source", "deadline");
    private static readonly KeyValuePair<string, object?> s_failure = new("source", "failure");
    private static readonly KeyValuePair<string, object?> s_parent = new("source", "parent");

    internal static void TaskStarted()
    {
        if (s_tasksStarted.Enabled)
        {
            s_tasksStarted.Add(1);
        }

        if (s_tasksRunning.Enabled)
        {
            s_tasksRunning.Add(1);
        }
    }

    internal static void TaskFinished()
    {
        if (s_tasksRunning.Enabled)
        {
            s_tasksRunning.Add(-1);
        }
    }

    internal static void ScopeCancelled(CancelReasonKind kind)
    {
        if (s_scopesCancelled.Enabled)
        {
            s_scopesCancelled.Add(1, kind switch
            {
                CancelReasonKind.DeadlineExceeded => s_deadline,
                CancelReasonKind.TaskFailed => s_failure,
                _ => s_explicit,
            });
        }
    }

    internal static void ScopesCancelledByParent(int count)
    {
        if (s_scopesCancelled.Enabled)
        {
            s_scopesCancelled.Add(count, s_parent);
        }
    }

    internal static void WatchdogReported()
    {
        if (s_watchdogReports.Enabled)
        {
            s_watchdogReports.Add(1);
        }
    }
}
