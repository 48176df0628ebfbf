using System;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Threading.Tasks;
using Corral.Services.Protos;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Corral.Services;

/// <summary>The three services; each runs in its own process and prints <c>ready URL</c> once it listens.</summary>
internal static class Roles
{
    /// <summary>Runs one service until its standard input closes (the driver holds it open).</summary>
    public static async Task<int> RunAsync(string role, string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0, l => l.Protocols = role == "inventory" ? HttpProtocols.Http1 : HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Corral", LogLevel.Information);
        builder.Services.AddCorral(o => o.Watchdog.GracePeriod = TimeSpan.FromSeconds(1)); // names a task that ignores its cancel

        switch (role)
        {
            case "pricing":
                builder.Services.AddGrpc().AddCorralScopes();
                if (args.Length > 0)
                {
                    PricingService.StuckFor = TimeSpan.FromSeconds(double.Parse(args[0], CultureInfo.InvariantCulture));
                }

                break;
            case "inventory":
                builder.Services.AddGrpcClient<Pricing.PricingClient>(o => o.Address = new Uri(args[0]))
                    .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false })
                    .AddCorralInterceptor();
                break;
            case "orders":
                builder.Services.AddGrpc().AddCorralScopes();
                builder.Services.AddHttpClient("inventory", c => c.BaseAddress = new Uri(args[0]))
                    .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { UseProxy = false })
                    .AddCorralDeadlines();
                break;
            default:
                await Console.Error.WriteLineAsync($"unknown role '{role}'");
                return 1;
        }

        var app = builder.Build();
        switch (role)
        {
            case "pricing":
                app.MapGrpcService<PricingService>();
                break;
            case "inventory":
                app.UseCorralRequestScopes();
                app.MapGet("/stock/{sku}", StockAsync);
                break;
            default:
                app.MapGrpcService<OrdersService>();
                break;
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses is { } addresses
            ? string.Join(" ", addresses)
            : "?";
        Console.WriteLine($"ready {address}");

        // Until the driver closes our standard input (or dies): then stop, letting running calls end.
        await Task.Run(() => Console.In.ReadToEnd());
        await app.StopAsync();
        return 0;
    }

    /// <summary>Inventory: reports its budget, works a little, asks pricing.</summary>
    private static async Task<IResult> StockAsync(string sku, string mode, Pricing.PricingClient pricing)
    {
        var budget = Budget.Describe("inventory");
        await CancelScope.SleepAsync(TimeSpan.FromMilliseconds(150)); // looks the item up
        var quote = await pricing.QuoteAsync(new QuoteRequest { Sku = sku, Mode = mode });
        return Results.Text(string.Create(CultureInfo.InvariantCulture, $"{quote.Cents}|{budget}|{quote.Budget}"));
    }
}
