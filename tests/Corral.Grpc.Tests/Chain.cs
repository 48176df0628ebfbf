using System;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Corral.AspNetCore;
using Corral.Grpc.Tests.Protos;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.ClientFactory;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Corral.Grpc.Tests;

/// <summary>What one hop saw of its call: the header it was given and its scope's deadline.</summary>
internal sealed record HopSeen(string Hop, string Header, DateTimeOffset? Deadline);

/// <summary>How a pricing call ended, as the pricing service saw it.</summary>
internal enum PricingEnd
{
    Ok,
    Deadline,
    ClientCancelled,
    Other,
}

/// <summary>Shared by the three services of a chain (one process): what they do and what they saw.</summary>
internal sealed class ChainProbe
{
    public Action? OrdersWork { get; set; }

    public Action? InventoryWork { get; set; }

    public bool Record { get; set; } = true;

    /// <summary>Plain-client calls that ended Cancelled at their deadline by grpc-dotnet's early reset (ChainLoadTests).</summary>
    public int PlainClientResetsAtDeadline;

    public ConcurrentQueue<HopSeen> Hops { get; } = new();

    public ConcurrentDictionary<string, TaskCompletionSource> PricingArrived { get; } = new();

    public ConcurrentQueue<WeakReference<CancelScope>> Scopes { get; } = new();

    public ConcurrentDictionary<PricingEnd, int> PricingEnds { get; } = new();

    public ConcurrentDictionary<string, PricingEnd> PricingEndById { get; } = new();

    /// <summary>
    /// What a hop's handler threw other than a cancellation, by call, with when it threw relative to the hop's own deadline:
    /// what a call that ended the wrong way needs to be diagnosed from the test's output alone.
    /// </summary>
    public ConcurrentDictionary<string, string> FailureById { get; } = new();

    private int _pricingStarted;

    /// <summary>Gets or sets how many calls reached pricing (a call whose deadline passed on the way may never get there).</summary>
    public int PricingStarted
    {
        get => Volatile.Read(ref _pricingStarted);
        set => Volatile.Write(ref _pricingStarted, value);
    }

    public void PricingStarts() => Interlocked.Increment(ref _pricingStarted);

    public static string GrpcTimeoutOf(ServerCallContext context) => context.GetHttpContext().Request.Headers["grpc-timeout"].ToString();

    /// <summary>
    /// Each call's deadline at each hop ("client" for a Corral client's scope, then "orders", "inventory", "pricing"), keyed by
    /// call: what the load test checks the invariant on (no hop's deadline before its caller's; src/Shared/TimeLeft.cs).
    /// </summary>
    public ConcurrentDictionary<(string Id, string Hop), DateTimeOffset> DeadlineById { get; } = new();

    /// <summary>The detail of the status a call ended with at the client, when it failed.</summary>
    public ConcurrentDictionary<string, string> ClientDetailById { get; } = new();

    public void Seen(string hop, string header, string id)
    {
        if (CancelScope.CurrentDeadline is { } deadline)
        {
            DeadlineById[(id, hop)] = deadline;
        }

        if (CancelScope.Current is { } scope)
        {
            Scopes.Enqueue(new WeakReference<CancelScope>(scope));
        }

        if (Record)
        {
            Hops.Enqueue(new HopSeen(hop, header, CancelScope.CurrentDeadline));
        }
    }

    /// <summary>Records that <paramref name="hop"/>'s handler of call <paramref name="id"/> threw <paramref name="e"/>.</summary>
    public void Failed(string hop, string id, Exception e)
    {
        var scope = CancelScope.Current;
        var when = scope?.EffectiveDeadline is { } deadline
            ? string.Create(CultureInfo.InvariantCulture, $"{(scope.TimeProvider.GetUtcNow() - deadline).TotalMilliseconds:+0.000;-0.000} ms from its deadline (scope cancelled: {scope.IsCancellationRequested})")
            : "no deadline";
        FailureById.AddOrUpdate(id, _ => $"{hop} threw {e.GetType().Name} ({e.Message}) {when}", (_, earlier) => $"{earlier}; {hop} threw {e.GetType().Name} ({e.Message}) {when}");
    }

    public void Ended(string id, PricingEnd end)
    {
        PricingEnds.AddOrUpdate(end, 1, (_, n) => n + 1);
        PricingEndById[id] = end;
    }
}

/// <summary>client → orders (gRPC) → inventory (HTTP) → pricing (gRPC), each a real Kestrel server on 127.0.0.1.</summary>
internal sealed class Chain : IAsyncDisposable
{
    private Chain(TestServer pricing, TestServer inventory, TestServer orders, ChainProbe probe)
    {
        Pricing = pricing;
        Inventory = inventory;
        Orders = orders;
        Probe = probe;
    }

    /// <summary>
    /// The chain's margin for "the caller's deadline passed": 1 s, not the default 250 ms. On a loaded 2-core machine a request
    /// can wait in a hop's queue for hundreds of milliseconds before its deadline starts counting, so the next hop's deadline
    /// falls that much after its caller's, and a cancel at the caller's deadline would arrive outside the default margin.
    /// </summary>
    public static readonly TimeSpan CallerDeadlineMargin = TimeSpan.FromSeconds(1);

    public TestServer Pricing { get; }

    public TestServer Inventory { get; }

    public TestServer Orders { get; }

    public ChainProbe Probe { get; }

    /// <summary>Starts the three services on one clock; <paramref name="propagationFirst"/> orders the direct client's interceptors.</summary>
    public static async Task<Chain> StartAsync(TimeProvider time, bool propagationFirst = false, LogLevel logLevel = LogLevel.Debug)
    {
        var probe = new ChainProbe();
        var pricing = await TestServer.StartAsync(
            s =>
            {
                s.AddGrpc().AddCorralScopes(o =>
                {
                    o.TimeProvider = time;
                    o.CallerDeadlineMargin = CallerDeadlineMargin;
                });
                s.AddSingleton(probe);
            },
            app => app.MapGrpcService<PricingService>(),
            minimumLevel: logLevel);

        var inventory = await TestServer.StartAsync(
            s =>
            {
                s.AddSingleton(probe);
                s.AddGrpcClient<Protos.Pricing.PricingClient>(o => o.Address = pricing.BaseAddress)
                    .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false, EnableMultipleHttp2Connections = true })
                    .AddCorralInterceptor();
            },
            app =>
            {
                app.UseCorralRequestScopes(new CorralRequestScopeOptions { TimeProvider = time, CallerDeadlineMargin = CallerDeadlineMargin });
                app.MapGet("/stock/{sku}", InventoryAsync);
            },
            http1: true,
            minimumLevel: logLevel);

        var orders = await TestServer.StartAsync(
            s =>
            {
                s.AddGrpc().AddCorralScopes(o =>
                {
                    o.TimeProvider = time;
                    o.CallerDeadlineMargin = CallerDeadlineMargin;
                });
                s.AddSingleton(probe);
                s.AddHttpClient("inventory", c => c.BaseAddress = inventory.BaseAddress)
                    .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false })
                    .AddCorralDeadlines();
                var direct = s.AddGrpcClient<Protos.Pricing.PricingClient>("direct", o => o.Address = pricing.BaseAddress)
                    .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false });
                if (propagationFirst)
                {
                    direct.EnableCallContextPropagation().AddCorralInterceptor();
                }
                else
                {
                    direct.AddCorralInterceptor().EnableCallContextPropagation();
                }
            },
            app => app.MapGrpcService<OrdersService>(),
            minimumLevel: logLevel);

        return new Chain(pricing, inventory, orders, probe);
    }

    /// <summary>A client of orders through Corral's interceptor (or a plain one).</summary>
    public Protos.Orders.OrdersClient CreateClient(bool corral = true)
    {
        var channel = Orders.CreateChannel();
        return corral ? new Protos.Orders.OrdersClient(channel.Intercept(new CorralClientInterceptor())) : new Protos.Orders.OrdersClient(channel);
    }

    public async ValueTask DisposeAsync()
    {
        await Orders.DisposeAsync();
        await Inventory.DisposeAsync();
        await Pricing.DisposeAsync();
    }

    private static async Task<IResult> InventoryAsync(string sku, string mode, HttpContext context, ChainProbe probe, Protos.Pricing.PricingClient pricing)
    {
        probe.Seen("inventory", context.Request.Headers[CorralHttpHeaders.Timeout].ToString(), sku);
        probe.InventoryWork?.Invoke();
        try
        {
            var quote = await pricing.QuoteAsync(new QuoteRequest { Sku = sku, Mode = mode }, cancellationToken: CancellationToken.None);
            return Results.Text(quote.Cents.ToString(CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            probe.Failed("inventory", sku, e);
            throw;
        }
    }
}

/// <summary>The first hop: calls inventory over HTTP, or pricing directly over gRPC when the mode starts with "direct-".</summary>
internal sealed class OrdersService(ChainProbe probe, IHttpClientFactory http, GrpcClientFactory grpc) : Orders.OrdersBase
{
    public override async Task<OrderReply> PlaceOrder(OrderRequest request, ServerCallContext context)
    {
        probe.Seen("orders", ChainProbe.GrpcTimeoutOf(context), request.Sku);
        probe.OrdersWork?.Invoke();
        try
        {
            if (request.Mode.StartsWith("direct-", StringComparison.Ordinal))
            {
                var pricing = grpc.CreateClient<Protos.Pricing.PricingClient>("direct");
                var quote = await pricing.QuoteAsync(new QuoteRequest { Sku = request.Sku, Mode = request.Mode["direct-".Length..] });
                return new OrderReply { Text = quote.Cents.ToString(CultureInfo.InvariantCulture) };
            }

            var inventory = http.CreateClient("inventory");
            var text = await inventory.GetStringAsync(new Uri($"/stock/{request.Sku}?mode={request.Mode}", UriKind.Relative), context.CancellationToken);
            return new OrderReply { Text = text };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            probe.Failed("orders", request.Sku, e);
            throw;
        }
    }
}

/// <summary>The last hop: answers, sleeps past any deadline ("slow"), or waits until cancelled ("hang").</summary>
internal sealed class PricingService(ChainProbe probe) : Pricing.PricingBase
{
    public override async Task<QuoteReply> Quote(QuoteRequest request, ServerCallContext context)
    {
        probe.Seen("pricing", ChainProbe.GrpcTimeoutOf(context), request.Sku);
        probe.PricingStarts();
        try
        {
            switch (request.Mode)
            {
                case "slow":
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(60));
                    break;
                case "hang":
                    probe.PricingArrived.GetOrAdd(request.Sku, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                    await Task.Delay(Timeout.Infinite, context.CancellationToken);
                    break;
            }

            probe.Ended(request.Sku, PricingEnd.Ok);
            return new QuoteReply { Cents = 1999 };
        }
        catch (OperationCanceledException)
        {
            var reason = CancelScope.Current?.CancelReason;
            probe.Ended(
                request.Sku,
                reason is { Kind: CancelReasonKind.DeadlineExceeded } || reason?.Message == "the caller's deadline passed" ? PricingEnd.Deadline
                : reason?.Message == "the client cancelled the call" ? PricingEnd.ClientCancelled
                : PricingEnd.Other);
            throw;
        }
    }
}
