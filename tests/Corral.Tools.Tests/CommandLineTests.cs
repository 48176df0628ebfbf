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

    [Fact]
    public void Parse_Web_DefaultsToAnyPortEverySecondFiveSecondGrace()
    {
        var command = CommandLine.Parse(["web", "1234"]);

        Assert.Equal(("web", 1234, 0, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)), (command.Command, command.ProcessId, command.Port, command.Interval, command.Grace, command.Timeout));
    }

    [Fact]
    public void Parse_WebWithOptions_ReadsThem()
    {
        var command = CommandLine.Parse(["web", "42", "--port", "8080", "--interval", "0.25", "--grace", "2", "--timeout", "3"]);

        Assert.Equal((42, 8080, TimeSpan.FromSeconds(0.25), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3)), (command.ProcessId, command.Port, command.Interval, command.Grace, command.Timeout));
    }

    [Theory]
    [InlineData("web needs a process id", "web")]
    [InlineData("--port takes a port number between 0 and 65535", "web", "1", "--port", "70000")]
    [InlineData("--port takes a port number between 0 and 65535", "web", "1", "--port")]
    [InlineData("--interval takes a number of seconds between 0.25 and 60", "web", "1", "--interval", "0.1")]
    [InlineData("--grace takes a number of seconds between 0 and 86400, not 'soon'", "web", "1", "--grace", "soon")]
    [InlineData("unexpected argument '--port' for 'tree'", "tree", "1", "--port", "80")]
    public void Parse_BadWebArguments_UsageErrorSaysWhatIsWrong(string expected, params string[] args)
    {
        var e = Assert.Throws<CorralToolException>(() => CommandLine.Parse(args));

        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
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
