using System;
using System.Globalization;

namespace Corral.Tool;

/// <summary>What the command line asked for.</summary>
/// <param name="Command"><c>ps</c>, <c>tree</c>, <c>help</c> or <c>version</c>.</param>
/// <param name="ProcessId">For <c>tree</c>: the target process.</param>
/// <param name="Json">For <c>tree</c>: print the snapshot JSON instead of the text tree.</param>
/// <param name="WatchInterval">For <c>tree</c>: refresh at this interval until Ctrl+C; null to print once.</param>
/// <param name="Timeout">How long to wait for an answer (per process for <c>ps</c>).</param>
internal sealed record CommandLine(string Command, int ProcessId, bool Json, TimeSpan? WatchInterval, TimeSpan Timeout)
{
    public const string Usage =
        """
        corral: see the live task tree of a .NET process that uses Corral.

        Usage:
          corral ps [--timeout <seconds>]
              List the .NET processes on this machine that use Corral: PID, name, Corral version.
          corral tree <pid> [--json] [--watch [<seconds>]] [--timeout <seconds>]
              Print the process's live tree of scopes, groups and tasks.
              --json               print the snapshot as JSON (schema corral.tasktree/1); with --watch, one line per refresh
              --watch [<seconds>]  refresh every <seconds> (default 2) until Ctrl+C
              --timeout <seconds>  how long to wait for an answer (tree: 10, ps: 3 per process)
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
            "ps" or "tree" => args[0],
            "-h" or "--help" or "help" or "-?" => "help",
            "--version" => "version",
            var other => throw Bad($"unknown command '{other}'."),
        };

        int? processId = null;
        var json = false;
        TimeSpan? watch = null;
        TimeSpan? timeout = null;
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
                case "--timeout" when command is "tree" or "ps":
                    if (i + 1 >= args.Length)
                    {
                        throw Bad("--timeout needs a number of seconds.");
                    }

                    timeout = Seconds(args[++i], "--timeout");
                    break;
                case "-h" or "--help":
                    return new CommandLine("help", 0, false, null, TimeSpan.Zero);
                default:
                    if (command == "tree" && processId is null && !arg.StartsWith('-'))
                    {
                        processId = int.TryParse(arg, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0
                            ? id
                            : throw Bad($"'{arg}' is not a process id.");
                        break;
                    }

                    throw Bad($"unexpected argument '{arg}' for '{command}'.");
            }
        }

        if (command == "tree" && processId is null)
        {
            throw Bad("tree needs a process id: corral tree <pid> (corral ps lists them).");
        }

        return new CommandLine(
            command,
            processId ?? 0,
            json,
            watch,
            timeout ?? (command == "ps" ? CorralClient.DefaultProbeTimeout : CorralClient.DefaultSnapshotTimeout));
    }

    private static TimeSpan Seconds(string text, string option) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 && seconds <= 24 * 3600
            ? TimeSpan.FromSeconds(seconds)
            : throw Bad($"{option} takes a number of seconds between 0 and 86400, not '{text}'.");

    private static CorralToolException Bad(string message) => new(ExitCodes.Usage, $"corral: {message} Try 'corral --help'.");
}
