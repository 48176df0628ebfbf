// `corral web PID`: the dashboard's page for another process, on 127.0.0.1 only.
using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Corral.Dashboard;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Corral.Tool;

/// <summary>Serves the live tree of another process in the browser until Ctrl+C or until that process exits.</summary>
internal static class WebCommand
{
    /// <summary>How often the target's existence is checked.</summary>
    private static readonly TimeSpan s_exitPoll = TimeSpan.FromSeconds(1);

    /// <summary>Runs the command.</summary>
    /// <param name="command">The command line.</param>
    /// <param name="output">Where the URL is printed.</param>
    /// <param name="cancellationToken">Ctrl+C: ends the command with 0.</param>
    /// <returns>The exit code: 0 after Ctrl+C, 3 when the process exited, or the first read's failure.</returns>
    /// <exception cref="CorralToolException">The process cannot be read (checked once before serving), or the port is taken.</exception>
    public static async Task<int> RunAsync(CommandLine command, TextWriter output, CancellationToken cancellationToken)
    {
        // Fail the way `corral tree` fails (same messages and exit codes) before serving anything.
        await CorralClient.GetSnapshotJsonAsync(command.ProcessId, command.Timeout, cancellationToken).ConfigureAwait(false);

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, command.Port));
        var app = builder.Build();
        await using (app.ConfigureAwait(false))
        {
            var options = new CorralDashboardOptions { UpdateInterval = command.Interval };
            var source = new RemoteDashboardSource(command.ProcessId, command.Timeout, command.Grace);
            DashboardEndpoints.Map(app, "/", options, source);
            try
            {
                await app.StartAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new CorralToolException(ExitCodes.Usage, $"corral web: cannot listen on 127.0.0.1:{command.Port}: {e.Message}", e);
            }

            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            await output.WriteLineAsync($"corral web: the live tree of {source.Title} at {address}/ (this machine only; Ctrl+C to stop)").ConfigureAwait(false);
            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            var exitCode = ExitCodes.Ok;

            // Ctrl+C arrives as the token; SIGTERM (and SIGQUIT) through the host's console lifetime, which stops the app.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(
                cancellationToken, app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping);
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(s_exitPoll, stop.Token).ConfigureAwait(false);
                    if (!IsRunning(command.ProcessId))
                    {
                        await output.WriteLineAsync($"corral web: process {command.ProcessId} has exited.").ConfigureAwait(false);
                        exitCode = ExitCodes.NotReachable;
                        break;
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Ctrl+C or SIGTERM
            }

            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await app.StopAsync(stopping.Token).ConfigureAwait(false);
            return exitCode;
        }
    }

    private static bool IsRunning(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }
}
