using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;

namespace Corral.Dashboard.Tests;

/// <summary>A source that serves a hand-written snapshot JSON: shapes the library does not produce yet (or any more).</summary>
internal sealed class FixedSource(string json) : DashboardSource
{
    public override string Title => "hand-built tree";

    public override string ChartLabel => "running";

    public override Task<DashboardCapture> CaptureAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new DashboardCapture(new TaskTreeSnapshot(TimeProvider.System.GetUtcNow(), 1, []), json, [], 1));
}
