using System;
using System.Globalization;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Corral.Tool;
using Xunit;
using Xunit.Abstractions;

namespace Corral.Tools.Tests;

/// <summary>The tool on the services sample's stuck hop: the steps its README line describes, end to end.</summary>
[Collection(ProcessTests.Name)]
public sealed class ServicesSampleTests(ITestOutputHelper output)
{
    /// <summary>The reasons the stuck call scope can be cancelled with once its caller gave up (see the test).</summary>
    private static readonly string[] s_cancelReasons =
    [
        "scope '/corral.services.Pricing/Quote': deadline exceeded",
        "scope '/corral.services.Pricing/Quote': the caller's deadline passed",
        "scope '/corral.services.Pricing/Quote': the client cancelled the call",
    ];

    [Fact]
    public async Task GetSnapshotAsync_ServicesSampleStuckHop_ShowsTheCancelledCallAndTheTaskThatIgnoresIt()
    {
        await using var sample = ChildProcess.Start(ChildProcess.ServicesDll, "--stuck-seconds", "120");
        var line = await sample.ReadLineStartingWithAsync("   stuck: pricing PID ", TimeSpan.FromSeconds(120));
        int pid = int.Parse(line["   stuck: pricing PID ".Length..].Split(';')[0], CultureInfo.InvariantCulture);

        // The call's deadline has passed (the client gave up after 1 s); its scope is cancelled, its work still runs.
        var snapshot = await CorralClient.GetSnapshotAsync(pid, TimeSpan.FromSeconds(20));
        output.WriteLine(line);
        output.WriteLine(snapshot.ToText()); // shown when an assertion below fails: what the tool saw
        var call = Assert.Single(snapshot.FindAll(n => n.Name == "/corral.services.Pricing/Quote"));
        Assert.Equal(TaskTreeNodeKind.Scope, call.Kind);
        Assert.Equal(TaskTreeNodeState.Cancelling, call.State);
        // Which cancel reaches pricing first is the machine's to decide, and each says the caller's deadline ended the call: the
        // scope's own timer ("deadline exceeded"); the client's cancel crossing the hops within CallerDeadlineMargin of it ("the
        // caller's deadline passed"); or, on a busy machine, that cancel earlier still ("the client cancelled the call"), since
        // each hop counts its budget from when the call reached it, so queueing on the way makes pricing's deadline later than
        // its caller's. The tool must show the cancelled call and the task that ignores it, whichever reason it is.
        Assert.Contains(call.CancelReason, s_cancelReasons);
        var stubborn = Assert.Single(snapshot.FindAll(n => n.Name == "recompute-price"));
        Assert.Equal(TaskTreeNodeState.Cancelling, stubborn.State);
        Assert.Contains(call.CancelReason!, stubborn.CancelReason, StringComparison.Ordinal);
    }
}
