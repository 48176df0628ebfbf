using System;
using System.Globalization;
using System.Net.Http;
using System.Threading.Tasks;
using Corral.Services.Protos;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Corral.Grpc;

namespace Corral.Services;

/// <summary>Starts the three services, plays the three scenes as their client, and stops them.</summary>
internal static class Driver
{
    public static async Task<int> RunAsync(string[] args)
    {
        double stuckSeconds = 5;
        if (args.Length == 2 && args[0] == "--stuck-seconds")
        {
            stuckSeconds = double.Parse(args[1], CultureInfo.InvariantCulture);
        }

        Console.WriteLine($"driver (the client) PID {Environment.ProcessId}; starting pricing, inventory and orders, each in its own process");
        await using var pricing = await ServiceProcess.StartAsync("pricing", stuckSeconds.ToString(CultureInfo.InvariantCulture));
        await using var inventory = await ServiceProcess.StartAsync("inventory", pricing.Address.ToString());
        await using var orders = await ServiceProcess.StartAsync("orders", inventory.Address.ToString());
        Console.WriteLine($"client -> orders {orders.Address} (PID {orders.Id}, gRPC) -> inventory {inventory.Address} (PID {inventory.Id}, HTTP) -> pricing {pricing.Address} (PID {pricing.Id}, gRPC)");

        using var channel = GrpcChannel.ForAddress(orders.Address, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler { UseProxy = false } });
        var client = new Orders.OrdersClient(channel.Intercept(new CorralClientInterceptor()));
        bool ok = true;

        // A first order without a deadline: connections and JIT warm up, so the scenes measure the services, not start-up.
        await client.PlaceOrderAsync(new OrderRequest { Sku = "warm-up", Mode = "ok" });

        // Scene 1: one budget for the whole chain. Each hop spends a little and passes on what is left.
        Console.WriteLine();
        Console.WriteLine("1. The budget shrinks hop by hop: the client gives the order 3 s");
        try
        {
            var reply = await CancelScope.FailAfterAsync(TimeSpan.FromSeconds(3), async ct => await client.PlaceOrderAsync(new OrderRequest { Sku = "kettle", Mode = "ok" }, cancellationToken: ct), "place-order");
            Console.WriteLine($"   {string.Join("  ->  ", reply.Budgets)}  =>  {reply.Cents} cents");
        }
        catch (TimeoutException e)
        {
            // A machine too busy to cross three hops in 3 s: say so, and go on to the other scenes.
            Console.WriteLine($"   {e.Message}");
            ok = false;
        }

        // Scene 2: the customer leaves; the cancel crosses gRPC, HTTP and gRPC again and stops pricing's work.
        Console.WriteLine();
        Console.WriteLine("2. A cancel at the client stops work three hops away");
        await CancelScope.RunAsync(async scope =>
        {
            var placing = client.PlaceOrderAsync(new OrderRequest { Sku = "teapot", Mode = "hang" }).ResponseAsync;
            await pricing.WaitForLineAsync(l => l.StartsWith("quote teapot started", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
            Console.WriteLine("   client: cancelling (the customer left)");
            scope.Cancel("the customer left");
            await placing;
        });
        var stopped = await pricing.WaitForLineAsync(l => l.StartsWith("quote teapot stopped", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Console.WriteLine($"   pricing, three hops away: {stopped}");
        ok &= stopped.Contains("the client cancelled the call", StringComparison.Ordinal);

        // Scene 3: a hop whose work ignores its cancellation. The client gives up at its deadline; pricing keeps running.
        Console.WriteLine();
        Console.WriteLine("3. A stuck hop: pricing's work forgets its token");
        bool completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), async ct =>
        {
            await client.PlaceOrderAsync(new OrderRequest { Sku = "toaster", Mode = "stuck" }, cancellationToken: ct);
        });
        Console.WriteLine($"   client: gave up after 1 s (completed: {completed})");
        ok &= !completed;

        // Pricing's call scope is cancelled by the deadline a moment later (its own timer, or the client's cancel crossing
        // three hops): wait for it to say so, so the tree read from outside shows the cancelled call, not a running one.
        var cancelled = await pricing.WaitForLineAsync(l => l.StartsWith("quote toaster cancelled", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Console.WriteLine($"   pricing: {cancelled}");
        Console.WriteLine($"   stuck: pricing PID {pricing.Id}; see its task tree from another terminal within {stuckSeconds:F0} s:");
        Console.WriteLine($"     dotnet run --project tools/corral -- tree {pricing.Id}");
        var finished = await pricing.WaitForLineAsync(l => l.StartsWith("quote toaster finished", StringComparison.Ordinal), TimeSpan.FromSeconds(stuckSeconds + 30));
        Console.WriteLine($"   pricing: {finished}");

        Console.WriteLine();
        Console.WriteLine(ok ? "all three scenes behaved as promised" : "a scene did not behave as promised");
        return ok ? 0 : 1;
    }
}
