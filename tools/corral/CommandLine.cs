using System;
using System.Globalization;

namespace Corral.Tool;

/// <summary>What the command line asked for.</summary>
/// <param name="Command"><c>ps</c>, <c>tree</c>, <c>web</c>, <c>help</c> or <c>version</c>.</param>
/// <param name="ProcessId">For <c>tree</c> and <c>web</c>: the target process.</param>
/// <param name="Json">For <c>tree</c>: print the snapshot JSON instead of the text tree.</param>
/// <param name="WatchInterval">For <c>tree</c>: refresh at this interval until Ctrl+C; null to print once.</param>
/// <param name="Timeout">How long to wait for an answer (per process for <c>ps</c>).</param>
internal sealed record CommandLine(string Command, int ProcessId, bool Json, TimeSpan? WatchInterval, TimeSpan Timeout)
{
    /// <summary>The default update interval of <c>web</c>.</summary>
    public static readonly TimeSpan DefaultWebInterval = TimeSpan.FromSeconds(1);

    /// <summary>The default grace period of <c>web</c>: the watchdog's default.</summary>
    public static readonly TimeSpan DefaultGrace = TimeSpan.FromSeconds(5);

    public const string Usage =
        """
        corral: see the live task tree of a .NET process that uses Corral.

        Usage:
          corral ps [--timeout <seconds>]
              List the .NET processes on this machine that use Corral: PID, name, Corral version.
          corral tree <pid> [--json] [--watch [<seconds>]] [--timeout <seconds>]
              Print the process's live tree of scopes, groups and tasks.
              --json               print the snapshot as JSON (schema corral.tasktree/2); with --watch, one line per refresh
              --watch [<seconds>]  refresh every <seconds> (default 2) until Ctrl+C
              --timeout <seconds>  how long to wait for an answer (tree: 10, ps: 3 per process)
          corral web <pid> [--port <port>] [--interval <seconds>] [--grace <seconds>] [--timeout <seconds>]
              Serve the process's live tree as a page on http://127.0.0.1:<port>/ until Ctrl+C (read-only,
              this machine only). Nothing is read from the process while no page is open.
              --port <port>         the port (default 0: any free port; the URL is printed)
              --interval <seconds>  how often an open page is updated (default 1, at least 0.25)
              --grace <seconds>     highlight tasks still running this long after their cancellation (default 5)
              --timeout <seconds>   how long one read of the tree may take (default 10)
          corral --help | --version

        Exit codes: 0 done, 1 bad command line, 2 no answer in time (not a Corral process?),
                    3 no such process or not a .NET process, 4 an answer this version cannot read.
        """;

    /// <summary>The default refresh interval of <c>--watch</c>.</summary>
    public static readonly TimeSpan DefaultWatchInterval = TimeSpan.FromSeconds(2);

    /// <summary>Reads the arguments.</summary>
    /// <exception cref="CorralToolException">With <see cref="ExitCodes.Usage"/>: the arguments are wrong; the message says how.</exception>
    public static CommandLine Parse(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0)
        {
            throw Bad("no command given.");
        }

        var command = args[0] switch
        {
            "ps" or "tree" or "web" => args[0],
            "-h" or "--help" or "help" or "-?" => "help",
            "--version" => "version",
            var other => throw Bad($"unknown command '{other}'."),
        };

        int? processId = null;
        var json = false;
        TimeSpan? watch = null;
        TimeSpan? timeout = null;
        var port = 0;
        var interval = DefaultWebInterval;
        var grace = DefaultGrace;
        for (var i = 1; i < args.Length; i++)
        {
            var arg = args[i];
            switch (arg)
            {
                case "--json" when command == "tree":
                    json = true;
                    break;
                case "--watch" when command == "tree":
                    watch = DefaultWatchInterval;
                    if (i + 1 < args.Length && !args[i + 1].StartsWith('-') && processId is not null)
                    {
                        watch = Seconds(args[++i], "--watch");
                    }

                    break;
                case "--port" when command == "web":
                    port = i + 1 < args.Length && int.TryParse(args[++i], NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p <= 65535
                        ? p
                        : throw Bad("--port takes a port number between 0 and 65535.");
                    break;
                case "--interval" when command == "web":
                    interval = i + 1 < args.Length ? Seconds(args[++i], "--interval") : throw Bad("--interval needs a number of seconds.");
                    if (interval < TimeSpan.FromSeconds(0.25) || interval > TimeSpan.FromMinutes(1))
                    {
                        throw Bad("--interval takes a number of seconds between 0.25 and 60.");
                    }

                    break;
                case "--grace" when command == "web":
                    grace = i + 1 < args.Length ? Seconds(args[++i], "--grace") : throw Bad("--grace needs a number of seconds.");
                    break;
                case "--timeout" when command is "tree" or "ps" or "web":
                    if (i + 1 >= args.Length)
                    {
                        throw Bad("--timeout needs a number of seconds.");
                    }

                    timeout = Seconds(args[++i], "--timeout");
                    break;
                case "-h" or "--help":
                    return new CommandLine("help", 0, false, null, TimeSpan.Zero);
                default:
                    if (command is "tree" or "web" && processId is null && !arg.StartsWith('-'))
                    {
                        processId = int.TryParse(arg, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0
                            ? id
                            : throw Bad($"'{arg}' is not a process id.");
                        break;
                    }

                    throw Bad($"unexpected argument '{arg}' for '{command}'.");
            }
        }

        if (command is "tree" or "web" && processId is null)
        {
            throw Bad($"{command} needs a process id: corral {command} <pid> (corral ps lists them).");
        }

        return new CommandLine(
            command,
            processId ?? 0,
            json,
            watch,
            timeout ?? (command == "ps" ? CorralClient.DefaultProbeTimeout : CorralClient.DefaultSnapshotTimeout))
        {
            Port = port,
            Interval = interval,
            Grace = grace,
        };
    }

    /// <summary>Gets, for <c>web</c>, the port to listen on (0: any free one).</summary>
    public int Port { get; init; }

    /// <summary>Gets, for <c>web</c>, how often an open page is updated.</summary>
    public TimeSpan Interval { get; init; } = DefaultWebInterval;

    /// <summary>Gets, for <c>web</c>, how long a task may run on after its cancellation before the page highlights it.</summary>
    public TimeSpan Grace { get; init; } = DefaultGrace;

    private static TimeSpan Seconds(string text, string option) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= 24 * 3600
            ? TimeSpan.FromSeconds(seconds)
            : throw Bad($"{option} takes a number of seconds between 0 and 86400, not '{text}'.");

    private static CorralToolException Bad(string message) => new(ExitCodes.Usage, $"corral: {message} Try 'corral --help'.");
}
