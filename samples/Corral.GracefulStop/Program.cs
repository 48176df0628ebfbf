// Graceful stop on SIGTERM, in the two shapes a service has (docs/concepts/graceful-stop.md):
//
//   worker drain      a CorralBackgroundService whose queue worker finishes the item in hand and takes no new one once
//                     the host stops: exits with nothing cancelled, well before the host's shutdown timeout.
//   worker stubborn   the same service, but the worker ignores the stop: cancelled when the grace (2 s) runs out, with a
//                     reason that says so.
//   web               Kestrel on 127.0.0.1 with UseCorralRequestScopes: a request in flight gets the stop request, then,
//                     when its grace (2 s) runs out, a 503.
//
// Each prints what happens on standard output, one line per event, for a person and for the tests that send it a real
// SIGTERM (tests/Corral.Hosting.Tests/SigtermTests.cs). The host's shutdown timeout is 30 s: a stop that takes the grace
// plus a little, not 30 s, is the point.
using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.AspNetCore;
using Corral.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Corral.GracefulStop;

internal static class Program
{
    /// <summary>How long work may take to finish once the host stops.</summary>
    internal static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);

    /// <summary>The host's shutdown timeout: far longer than the grace, so a stop that waits for it shows.</summary>
    internal static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    public static async Task<int> Main(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "worker" when args.Length == 2 && args[1] is "drain" or "stubborn":
                await RunWorkerAsync(stubborn: args[1] == "stubborn");
                return 0;
            case "web":
                await RunWebAsync();
                return 0;
            default:
                Console.Error.WriteLine("usage: Corral.GracefulStop worker drain|stubborn | web");
                return 2;
        }
    }

    /// <summary>Prints one event, flushed at once (the tests read it line by line).</summary>
    internal static void Say(string line)
    {
        Console.Out.WriteLine(line);
        Console.Out.Flush();
    }

    private static async Task RunWorkerAsync(bool stubborn)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.AddCorral();
        builder.Services.AddSingleton(new WorkerMode(stubborn));
        builder.Services.AddHostedService<QueueWorker>();
        await builder.Build().RunAsync();
        Say("exited");
    }

    private static async Task RunWebAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(o => o.Listen(System.Net.IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        var app = builder.Build();
        app.UseCorralRequestScopes(new CorralRequestScopeOptions { StopGracePeriod = Grace });
        app.MapGet("/report", async (HttpContext context) =>
        {
            using var onStop = CancelScope.CurrentStoppingToken.Register(
                () => Say($"request asked to stop: {CancelScope.Current?.StopRequest}"));
            Say("request in flight");
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted); // a report that takes longer than any grace
            }
            finally
            {
                Say($"request cancelled: {CancelScope.Current?.CancelReason}");
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Say($"listening {address}");
        await app.WaitForShutdownAsync();
        Say("exited");
    }
}

/// <summary>Whether the worker ignores the stop.</summary>
internal sealed record WorkerMode(bool Stubborn);

/// <summary>A service whose worker takes items from a queue until the host stops.</summary>
internal sealed class QueueWorker(ILogger<QueueWorker> logger, IHostApplicationLifetime lifetime, IOptions<HostOptions> hostOptions, WorkerMode mode)
    : CorralBackgroundService(logger, lifetime, hostOptions)
{
    protected override TimeSpan StopGracePeriod => Program.Grace;

    protected override Task ExecuteAsync(TaskGroup group, CancellationToken stoppingToken)
    {
        group.Start(ct => mode.Stubborn ? IgnoreTheStopAsync(ct) : DrainAsync(stoppingToken, ct), "queue-worker");
        Program.Say("ready");
        return Task.CompletedTask;
    }

    /// <summary>Takes no new item once the host stops; the item in hand (half a second of work) is finished.</summary>
    private static async Task DrainAsync(CancellationToken stoppingToken, CancellationToken ct)
    {
        var handled = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), ct); // one item's work: the group's token, not the stopping one
            handled++;
        }

        Program.Say($"drained: {handled} item(s), cancelled={CancelScope.Current?.IsCancellationRequested}");
    }

    /// <summary>Works on, deaf to the stop: only the cancellation at the end of the grace ends it.</summary>
    private static async Task IgnoreTheStopAsync(CancellationToken ct)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, ct);
        }
        finally
        {
            Program.Say($"worker cancelled: {CancelScope.Current?.CancelReason}");
        }
    }
}
