// Reads the `Corral` meter (src/Corral/Diagnostics/CorralMetrics.cs) while a dashboard page is open.
//
// THE PROBLEM. `corral.tasks.running` is an up-down counter: a listener receives +1 and -1 as tasks start and end, never
// the current value. A listener that starts while 40 tasks run sums to 0 when those 40 are still running.
//
// THE SOLUTION. Anchor the sum once, at the first capture after the listener started: read the sum of deltas (d0), take
// the snapshot, count its live tasks (n); from then on the value is n - d0 + (the sum of deltas). A task that starts or
// ends between reading d0 and counting it in the snapshot makes the anchor off by one for as long as the listener runs;
// the next first page re-anchors. With task tracking off (TaskTree.TrackingEnabled) the snapshot shows no task, so the
// chart counts from zero when the first page opened; the page's label says which.
//
// COST. Only while a page is open: the listener makes the instruments Enabled, so each task start and end adds one
// Interlocked.Add here. Disposing the listener makes them disabled again (one branch each).
using System;
using System.Diagnostics.Metrics;
using System.Threading;

namespace Corral.Dashboard;

/// <summary>Sums the <c>Corral</c> meter's <c>corral.tasks.running</c> deltas while it is started. Thread-safe.</summary>
internal sealed class CorralMeterReader : IDisposable
{
    /// <summary>The meter the library publishes.</summary>
    internal const string MeterName = "Corral";

    /// <summary>The up-down counter of group tasks running.</summary>
    internal const string RunningInstrument = "corral.tasks.running";

    /// <summary>The listener; null until <see cref="Start"/>.</summary>
    private MeterListener? _listener;

    /// <summary>The sum of the deltas received since <see cref="Start"/>.</summary>
    private long _runningDelta;

    /// <summary>Gets the sum of the <c>corral.tasks.running</c> deltas received since <see cref="Start"/>.</summary>
    public long RunningDelta => Interlocked.Read(ref _runningDelta);

    /// <summary>Starts listening (the instruments become enabled).</summary>
    public void Start()
    {
        if (_listener is not null)
        {
            return;
        }

        Interlocked.Exchange(ref _runningDelta, 0);
        var listener = new MeterListener
        {
            InstrumentPublished = static (instrument, l) =>
            {
                if (instrument.Meter.Name == MeterName && instrument.Name == RunningInstrument)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _runningDelta, value));
        listener.Start();
        _listener = listener;
    }

    /// <summary>Stops listening; the instruments cost one branch again.</summary>
    public void Dispose()
    {
        _listener?.Dispose();
        _listener = null;
    }
}
