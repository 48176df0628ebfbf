using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Grpc.Tests.Protos;
using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Grpc.Tests;

/// <summary>The three hops end to end: client → orders (gRPC) → inventory (HTTP) → pricing (gRPC).</summary>
public sealed class ChainTests
{
    [Fact]
    public async Task Chain_FakeClock_EveryHopGetsExactlyWhatIsLeft()
    {
        var time = new FakeTimeProvider();
        await using var chain = await Chain.StartAsync(time);
        var client = chain.CreateClient();
        await WarmUpAsync(chain, client, "ok");
        chain.Probe.OrdersWork = () => time.Advance(TimeSpan.FromSeconds(25)); // orders works 25 s before it calls inventory
        chain.Probe.InventoryWork = () => time.Advance(TimeSpan.FromSeconds(12.5)); // inventory 12.5 s before it calls pricing
        var start = time.GetUtcNow();

        var reply = await CancelScope.RunAsync(
            async _ => await client.PlaceOrderAsync(new OrderRequest { Sku = "a", Mode = "ok" }),
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(100), TimeProvider = time });

        Assert.Equal("1999", reply.Value.Text);
        var hops = chain.Probe.Hops.ToArray();
        Assert.Equal(["orders", "inventory", "pricing"], hops.Select(h => h.Hop));
        Assert.Equal(["100S", "75000", "62500m"], hops.Select(h => h.Header)); // 100 s, then 100 - 25, then 100 - 25 - 12.5
        Assert.All(hops, h => Assert.Equal(start + TimeSpan.FromSeconds(100), h.Deadline)); // one budget, one deadline
    }

    [Fact]
    public async Task Chain_FakeClockDeadlinePassesAtThePricingHop_EveryHopStopsAndTheClientMovesOn()
    {
        var time = new FakeTimeProvider();
        await using var chain = await Chain.StartAsync(time);
        var client = chain.CreateClient();
        var arrived = chain.Probe.PricingArrived.GetOrAdd("b", _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        Task<bool>? moving = null;

        await CancelScope.RunAsync(
            async _ =>
            {
                moving = CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(100), async ct =>
                {
                    await client.PlaceOrderAsync(new OrderRequest { Sku = "b", Mode = "hang" }, cancellationToken: ct);
                });
                await arrived.Task.WaitAsync(Probes.Patience);
                time.Advance(TimeSpan.FromSeconds(100));
                Assert.False(await moving.WaitAsync(Probes.Patience));
            },
            new CancelScopeOptions { TimeProvider = time });

        await WaitUntilAsync(() => chain.Probe.PricingEndById.ContainsKey("b"));
        Assert.Equal(PricingEnd.Deadline, chain.Probe.PricingEndById["b"]);
    }

    [Fact]
    public async Task Chain_RealTimeClientCancels_PricingThreeHopsAwayStops()
    {
        await using var chain = await Chain.StartAsync(TimeProvider.System);
        var client = chain.CreateClient(corral: false);
        var arrived = chain.Probe.PricingArrived.GetOrAdd("c", _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        using var cts = new CancellationTokenSource();

        var calling = client.PlaceOrderAsync(new OrderRequest { Sku = "c", Mode = "hang" }, deadline: DateTime.UtcNow.AddMinutes(5), cancellationToken: cts.Token).ResponseAsync;
        await arrived.Task.WaitAsync(Probes.Patience);
        await cts.CancelAsync();

        var e = await Assert.ThrowsAsync<RpcException>(() => calling.WaitAsync(Probes.Patience));
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        await WaitUntilAsync(() => chain.Probe.PricingEndById.ContainsKey("c"));
        Assert.Equal(PricingEnd.ClientCancelled, chain.Probe.PricingEndById["c"]);
    }

    [Fact]
    public async Task Chain_RealTimeDeadline_ClientGetsDeadlineExceededAndPricingStopsAtItsDeadline()
    {
        await using var chain = await Chain.StartAsync(TimeProvider.System);
        var client = chain.CreateClient(corral: false);
        await client.PlaceOrderAsync(new OrderRequest { Sku = "warm-up", Mode = "ok" }); // connections and JIT: not the budget's

        // 2 s: enough to reach pricing on a loaded machine once warm; pricing then sleeps past it.
        var e = await Assert.ThrowsAsync<RpcException>(
            () => client.PlaceOrderAsync(new OrderRequest { Sku = "d", Mode = "slow" }, deadline: DateTime.UtcNow.AddSeconds(2)).ResponseAsync.WaitAsync(Probes.Patience));

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        await WaitUntilAsync(() => chain.Probe.PricingEndById.ContainsKey("d"));
        Assert.Equal(PricingEnd.Deadline, chain.Probe.PricingEndById["d"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Chain_BesideEnableCallContextPropagation_OneDeadlineOneHeaderAndTheCancelStillReachesPricing(bool propagationFirst)
    {
        var time = new FakeTimeProvider();
        await using var chain = await Chain.StartAsync(time, propagationFirst);
        var client = chain.CreateClient();
        await WarmUpAsync(chain, client, "direct-ok");
        chain.Probe.OrdersWork = () => time.Advance(TimeSpan.FromSeconds(25));
        var start = time.GetUtcNow();

        var reply = await CancelScope.RunAsync(
            async _ => await client.PlaceOrderAsync(new OrderRequest { Sku = "e", Mode = "direct-ok" }),
            new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(100), TimeProvider = time });

        Assert.Equal("1999", reply.Value.Text);
        var pricing = Assert.Single(chain.Probe.Hops, h => h.Hop == "pricing");
        Assert.Equal("75S", pricing.Header); // what is left, once: neither interceptor took it off twice
        Assert.Equal(start + TimeSpan.FromSeconds(100), pricing.Deadline);

        // The cancel of the client's scope crosses the direct hop too: the interceptors did not fight over the token.
        var arrived = chain.Probe.PricingArrived.GetOrAdd("f", _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        await CancelScope.RunAsync(
            async scope =>
            {
                var calling = client.PlaceOrderAsync(new OrderRequest { Sku = "f", Mode = "direct-hang" }).ResponseAsync;
                await arrived.Task.WaitAsync(Probes.Patience);
                scope.Cancel("the customer left");
                await calling.WaitAsync(Probes.Patience);
            },
            new CancelScopeOptions { TimeProvider = time });
        await WaitUntilAsync(() => chain.Probe.PricingEndById.ContainsKey("f"));
        Assert.Equal(PricingEnd.ClientCancelled, chain.Probe.PricingEndById["f"]);
    }

    /// <summary>
    /// One order without a deadline, so no JIT falls between a measured call's deadline and grpc-dotnet's reading of it;
    /// forgets what the hops saw.
    /// </summary>
    private static async Task WarmUpAsync(Chain chain, Protos.Orders.OrdersClient client, string mode)
    {
        await client.PlaceOrderAsync(new OrderRequest { Sku = "warm-up", Mode = mode });
        chain.Probe.Hops.Clear();
    }

    /// <summary>Waits (polling, bounded) for something another hop does after the client's call has ended.</summary>
    internal static async Task WaitUntilAsync(Func<bool> condition)
    {
        var giveUp = DateTime.UtcNow + Probes.Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < giveUp, "the condition did not become true in time");
            await Task.Delay(10);
        }
    }
}
