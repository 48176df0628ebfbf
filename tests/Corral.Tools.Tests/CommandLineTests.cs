using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Corral.Tool;
using Xunit;

namespace Corral.Tools.Tests;

/// <summary>The command line: what it accepts, and a clear usage error (exit code 1) for anything else.</summary>
public sealed class CommandLineTests
{
    [Fact]
    public void Parse_Tree_DefaultsToTextOnceWithTenSeconds()
    {
        var command = CommandLine.Parse(["tree", "1234"]);

        Assert.Equal(new CommandLine("tree", 1234, false, null, TimeSpan.FromSeconds(10)), command);
    }

    [Fact]
    public void Parse_TreeWithOptions_ReadsThem()
    {
        Assert.Equal(
            new CommandLine("tree", 42, true, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(3)),
            CommandLine.Parse(["tree", "42", "--json", "--watch", "0.5", "--timeout", "3"]));
        Assert.Equal(CommandLine.DefaultWatchInterval, CommandLine.Parse(["tree", "42", "--watch"]).WatchInterval);
        Assert.Equal(CommandLine.DefaultWatchInterval, CommandLine.Parse(["tree", "42", "--watch", "--json"]).WatchInterval);
    }

    [Fact]
    public void Parse_Ps_DefaultsToThreeSecondsPerProcess()
    {
        Assert.Equal(new CommandLine("ps", 0, false, null, TimeSpan.FromSeconds(3)), CommandLine.Parse(["ps"]));
    }

    [Theory]
    [InlineData("no command given")]
    [InlineData("unknown command 'trees'", "trees")]
    [InlineData("tree needs a process id", "tree")]
    [InlineData("'abc' is not a process id", "tree", "abc")]
    [InlineData("'0' is not a process id", "tree", "0")]
    [InlineData("unexpected argument '-5' for 'tree'", "tree", "-5")]
    [InlineData("unexpected argument '7'", "tree", "1", "7")]
    [InlineData("unexpected argument '--json' for 'ps'", "ps", "--json")]
    [InlineData("--timeout needs a number of seconds", "tree", "1", "--timeout")]
    [InlineData("--timeout takes a number of seconds between 0 and 86400, not '-1'", "tree", "1", "--timeout", "-1")]
    [InlineData("--watch takes a number of seconds between 0 and 86400, not 'NaN'", "tree", "1", "--watch", "NaN")]
    public void Parse_BadArguments_UsageErrorSaysWhatIsWrong(string expected, params string[] args)
    {
        var e = Assert.Throws<CorralToolException>(() => CommandLine.Parse(args));

        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.EndsWith("Try 'corral --help'.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_Help_PrintsUsageAndExitsZero()
    {
        using var output = new StringWriter();

        var exitCode = await Program.RunAsync(["--help"], output, TextWriter.Null, interactive: false, CancellationToken.None);

        Assert.Equal(0, exitCode);
        Assert.Contains("corral tree <pid> [--json] [--watch [<seconds>]]", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_NoSuchProcess_ExitCodeThreeAndSaysSo()
    {
        using var error = new StringWriter();

        var exitCode = await Program.RunAsync(["tree", int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)], TextWriter.Null, error, interactive: false, CancellationToken.None);

        Assert.Equal(ExitCodes.NotReachable, exitCode);
        Assert.Equal($"There is no process with id {int.MaxValue}.", error.ToString().Trim());
    }
}
