// The `corral` command. See CommandLine.Usage for what it does, CorralClient for how, WebCommand for `corral web`.
using System;
using System.Globalization;
using System.IO;
using System.Reflection;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;

namespace Corral.Tool;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        try
        {
            Console.OutputEncoding = Encoding.UTF8; // the tree is drawn with box characters
        }
        catch (IOException)
        {
        }

        using var interrupted = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true; // end the way --watch ends: cleanly, with the session stopped
            interrupted.Cancel();
        };
        return await RunAsync(args, Console.Out, Console.Error, !Console.IsOutputRedirected, interrupted.Token);
    }

    /// <summary>Runs one invocation of the tool; returns its exit code (see <see cref="ExitCodes"/>).</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Where results go.</param>
    /// <param name="error">Where errors go.</param>
    /// <param name="interactive">Whether <c>--watch</c> may clear the screen between refreshes.</param>
    /// <param name="cancellationToken">Ctrl+C: ends <c>--watch</c> with 0 and anything else with 130.</param>
    internal static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, bool interactive, CancellationToken cancellationToken)
    {
        try
        {
            var command = CommandLine.Parse(args);
            switch (command.Command)
            {
                case "help":
                    await output.WriteLineAsync(CommandLine.Usage);
                    return ExitCodes.Ok;
                case "version":
                    await output.WriteLineAsync(Version());
                    return ExitCodes.Ok;
                case "ps":
                    await PsAsync(command, output, cancellationToken);
                    return ExitCodes.Ok;
                case "web":
                    return await WebCommand.RunAsync(command, output, cancellationToken);
                default:
                    return await TreeAsync(command, output, interactive, cancellationToken);
            }
        }
        catch (CorralToolException e)
        {
            await error.WriteLineAsync(e.Message);
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 130;
        }
    }

    private static async Task PsAsync(CommandLine command, TextWriter output, CancellationToken cancellationToken)
    {
        var processes = await CorralClient.ListAsync(command.Timeout, cancellationToken);
        if (processes.Count == 0)
        {
            await output.WriteLineAsync("No process using Corral was found (corral ps asks every .NET process of this user).");
            return;
        }

        await output.WriteLineAsync($"{"PID",8}  {"NAME",-30}  CORRAL");
        foreach (var p in processes)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{p.ProcessId,8}  {p.Name,-30}  {p.CorralVersion}"));
        }
    }

    private static async Task<int> TreeAsync(CommandLine command, TextWriter output, bool interactive, CancellationToken cancellationToken)
    {
        if (command.WatchInterval is not { } interval)
        {
            await output.WriteAsync(await RenderAsync(command, indented: true, cancellationToken));
            return ExitCodes.Ok;
        }

        try
        {
            while (true)
            {
                var text = await RenderAsync(command, indented: false, cancellationToken);
                if (interactive && !command.Json)
                {
                    await output.WriteAsync("\u001b[H\u001b[2J"); // home, clear screen
                    await output.WriteLineAsync(string.Create(
                        CultureInfo.InvariantCulture,
                        $"corral tree {command.ProcessId}: every {interval.TotalSeconds:0.##} s, Ctrl+C to stop"));
                }
                else if (!command.Json)
                {
                    await output.WriteLineAsync();
                }

                await output.WriteAsync(text);
                await output.FlushAsync(cancellationToken);
                await Task.Delay(interval, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return ExitCodes.Ok; // Ctrl+C is how --watch ends
        }
    }

    private static async Task<string> RenderAsync(CommandLine command, bool indented, CancellationToken cancellationToken)
    {
        var snapshot = await CorralClient.GetSnapshotAsync(command.ProcessId, command.Timeout, cancellationToken);
        return command.Json ? snapshot.ToJson(indented) + "\n" : snapshot.ToText();
    }

    private static string Version() =>
        "corral " + (typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?") +
        ", Corral " + (typeof(TaskTreeSnapshot).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?") +
        $", protocol {CorralClient.ProtocolVersion}";
}
