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
        Assert.Equal("scope '/corral.services.Pricing/Quote': deadline exceeded", call.CancelReason);
        var stubborn = Assert.Single(snapshot.FindAll(n => n.Name == "recompute-price"));
        Assert.Equal(TaskTreeNodeState.Cancelling, stubborn.State);
        Assert.Contains("scope '/corral.services.Pricing/Quote': deadline exceeded", stubborn.CancelReason, StringComparison.Ordinal);
    }
}
