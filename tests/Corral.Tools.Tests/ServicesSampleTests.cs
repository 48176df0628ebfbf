using System;
using System.Globalization;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Corral.Tool;
using Xunit;

namespace Corral.Tools.Tests;

/// <summary>The tool on the services sample's stuck hop: the steps its README line describes, end to end.</summary>
[Collection(ProcessTests.Name)]
public sealed class ServicesSampleTests
{
    /// <summary>The reasons a call scope ends with when its deadline passes (see the test).</summary>
    private static readonly string[] s_deadlineReasons =
    [
        "scope '/corral.services.Pricing/Quote': deadline exceeded",
        "scope '/corral.services.Pricing/Quote': the caller's deadline passed",
    ];

    [Fact]
    public async Task GetSnapshotAsync_ServicesSampleStuckHop_ShowsTheCancelledCallAndTheTaskThatIgnoresIt()
    {
        await using var sample = ChildProcess.Start(ChildProcess.ServicesDll, "--stuck-seconds", "120");
        var line = await sample.ReadLineStartingWithAsync("   stuck: pricing PID ", TimeSpan.FromSeconds(120));
        int pid = int.Parse(line["   stuck: pricing PID ".Length..].Split(';')[0], CultureInfo.InvariantCulture);

        // The call's deadline has passed (the client gave up after 1 s); its scope is cancelled, its work still runs.
        var snapshot = await CorralClient.GetSnapshotAsync(pid, TimeSpan.FromSeconds(20));
        var call = Assert.Single(snapshot.FindAll(n => n.Name == "/corral.services.Pricing/Quote"));
        Assert.Equal(TaskTreeNodeKind.Scope, call.Kind);
        Assert.Equal(TaskTreeNodeState.Cancelling, call.State);
        // Two timers race on loopback, both for the one deadline: the scope's own (reason "deadline exceeded") and the client's,
        // whose cancel reaches the server within CallerDeadlineMargin of it ("the caller's deadline passed"). A busy machine
        // decides which comes first; either says the deadline ended the call, which is what the tool must show.
        Assert.Contains(call.CancelReason, s_deadlineReasons);
        var stubborn = Assert.Single(snapshot.FindAll(n => n.Name == "recompute-price"));
        Assert.Equal(TaskTreeNodeState.Cancelling, stubborn.State);
        Assert.Contains(call.CancelReason!, stubborn.CancelReason, StringComparison.Ordinal);
    }
}
