using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Corral.Tool;
using Xunit;

namespace Corral.Tools.Tests;

/// <summary>The tool against a live process: samples/Corral.TreeDemo, started as a child, read by PID.</summary>
[Collection(ProcessTests.Name)]
public sealed class EndToEndTests
{
    /// <summary>Generous: dotnet test runs several test projects at once on two cores.</summary>
    private static readonly TimeSpan s_answerLimit = TimeSpan.FromSeconds(20);

    private static readonly TimeSpan s_processLimit = TimeSpan.FromSeconds(45);

    private readonly TreeDemoFixture _fixture;

    public EndToEndTests(TreeDemoFixture fixture) => _fixture = fixture;

    [Fact]
    public async Task GetSnapshotAsync_TreeDemo_FindsNodesWithKindsStatesAndReasons()
    {
        var snapshot = await CorralClient.GetSnapshotAsync(_fixture.Demo.Id, s_answerLimit);

        Assert.Equal(_fixture.Demo.Id, snapshot.ProcessId);
        AssertDemoTree(snapshot);
    }

    [Fact]
    public async Task CorralCli_TreeJson_PrintsTheSnapshotOfTheProcess()
    {
        var (exitCode, output, error) = await ChildProcess.RunAsync(
            s_processLimit, ChildProcess.ToolDll, "tree", _fixture.Demo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json", "--timeout", "20");

        Assert.True(exitCode == 0, $"corral exited with {exitCode}: {error}");
        Assert.Contains("\"schema\": \"corral.tasktree/2\"", output, StringComparison.Ordinal);
        var snapshot = TaskTreeSnapshot.FromJson(output);
        Assert.Equal(_fixture.Demo.Id, snapshot.ProcessId);
        AssertDemoTree(snapshot);
    }

    [Fact]
    public async Task CorralTree_TreeDemo_PrintsTheTextTree()
    {
        var (exitCode, output, error) = await RunInProcessAsync("tree", _fixture.Demo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--timeout", "20");

        Assert.True(exitCode == 0, $"corral exited with {exitCode}: {error}");
        Assert.StartsWith($"process {_fixture.Demo.Id} at ", output, StringComparison.Ordinal);
        Assert.Contains("└── group 'tree-demo' running", output, StringComparison.Ordinal);
        Assert.Contains("group 'drain' cancelling", output, StringComparison.Ordinal);
        Assert.Contains("task 'stubborn-loop' cancelling", output, StringComparison.Ordinal);
        Assert.Contains("(from above: scope 'drain': draining for shutdown)", output, StringComparison.Ordinal);
        Assert.Contains("at Program.StubbornLoopAsync (Program.cs:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CorralTreeWatch_TreeDemo_RefreshesUntilCancelled()
    {
        using var stop = new CancellationTokenSource();
        var output = new LinesWriter(stop, stopAfter: 2, marker: "group 'tree-demo'");
        var exitCode = await Program.RunAsync(
            ["tree", _fixture.Demo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--watch", "0.2", "--timeout", "20"],
            output,
            TextWriter.Null,
            interactive: false,
            stop.Token).WaitAsync(s_processLimit);

        Assert.Equal(0, exitCode);
        Assert.True(output.Seen >= 2);
    }

    [Fact]
    public async Task ProbeAndPs_TreeDemo_AnswersAsACorralProcess()
    {
        var hello = await CorralClient.ProbeAsync(_fixture.Demo.Id, s_answerLimit);
        Assert.NotNull(hello);
        Assert.Equal("Corral.TreeDemo", hello.Name);
        Assert.Equal(CorralClient.ProtocolVersion, hello.ProtocolVersion);
        Assert.Equal(
            typeof(TaskTree).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion,
            hello.CorralVersion);

        var (exitCode, output, error) = await RunInProcessAsync("ps", "--timeout", "3");
        Assert.True(exitCode == 0, $"corral ps exited with {exitCode}: {error}");
        Assert.Contains(output.Split('\n'), line => line.TrimStart().StartsWith($"{_fixture.Demo.Id} ", StringComparison.Ordinal) && line.Contains("Corral.TreeDemo", StringComparison.Ordinal));
    }

    [Fact]
    public async Task GetSnapshotAsync_DotnetProcessWithoutCorral_NoAnswerWithinTheTimeout()
    {
        await using var plain = await ChildProcess.StartTreeDemoAsync("--plain");

        var e = await Assert.ThrowsAsync<CorralToolException>(() => CorralClient.GetSnapshotAsync(plain.Id, TimeSpan.FromSeconds(1.5)));
        Assert.Equal(ExitCodes.NoAnswer, e.ExitCode);
        Assert.Contains($"Process {plain.Id} (Corral.TreeDemo) did not answer within 1.5 s", e.Message, StringComparison.Ordinal);

        var (exitCode, _, error) = await RunInProcessAsync("tree", plain.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), "--timeout", "1");
        Assert.Equal(2, exitCode);
        Assert.Contains("does not use Corral", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetSnapshotAsync_CorralProcessBeforeAnyWatchdogReport_Answers()
    {
        await using var demo = await ChildProcess.StartTreeDemoAsync("--no-watchdog");

        var snapshot = await CorralClient.GetSnapshotAsync(demo.Id, s_answerLimit);

        AssertDemoTree(snapshot);
    }

    /// <summary>The tree the demo holds (see samples/Corral.TreeDemo/Program.cs).</summary>
    private static void AssertDemoTree(TaskTreeSnapshot snapshot)
    {
        var demo = Assert.Single(snapshot.FindAll(n => n.Name == "tree-demo"));
        Assert.Equal(TaskTreeNodeKind.TaskGroup, demo.Kind);
        Assert.Equal(TaskTreeNodeState.Running, demo.State);
        Assert.False(demo.CancelCalled);
        Assert.Null(demo.CancelReason);
        Assert.StartsWith("Program.cs:", demo.Site, StringComparison.Ordinal);

        var tasks = demo.Children.Where(c => c.Name != "body").ToArray();
        Assert.Equal(["heartbeat", "orders-poller", "shutdown"], tasks.Select(t => t.Name));
        Assert.All(tasks, t => Assert.Equal(TaskTreeNodeKind.Task, t.Kind));
        Assert.All(tasks, t => Assert.Equal(TaskTreeNodeState.Running, t.State));

        var poll = Assert.Single(tasks[1].Children);
        Assert.Equal(("poll-orders", TaskTreeNodeKind.Scope, TaskTreeNodeState.Running), (poll.Name, poll.Kind, poll.State));
        Assert.NotNull(poll.Deadline);

        var drain = Assert.Single(tasks[2].Children);
        Assert.Equal(("drain", TaskTreeNodeKind.TaskGroup, TaskTreeNodeState.Cancelling), (drain.Name, drain.Kind, drain.State));
        Assert.True(drain.CancelCalled);
        Assert.Equal("scope 'drain': draining for shutdown", drain.CancelReason);

        var stubborn = Assert.Single(drain.Children, c => c.Name != "body");
        Assert.Equal(("stubborn-loop", TaskTreeNodeKind.Task, TaskTreeNodeState.Cancelling), (stubborn.Name, stubborn.Kind, stubborn.State));
        Assert.False(stubborn.CancelCalled);
        Assert.Equal("scope 'drain': draining for shutdown", stubborn.CancelReason);
        Assert.True(stubborn.CancelledFor > TimeSpan.Zero, $"cancelled for {stubborn.CancelledFor}");
        Assert.StartsWith("Program.cs:", stubborn.Site, StringComparison.Ordinal);

        // Where each task is now (issue 13): the frames and lines of the demo's own awaits, read from the other process.
        var marks = File.ReadAllLines(ChildProcess.TreeDemoSource)
            .Select((text, i) => (text, line: i + 1))
            .Where(l => l.text.Contains("// @await:", StringComparison.Ordinal))
            .ToDictionary(l => l.text[(l.text.IndexOf("// @await:", StringComparison.Ordinal) + 10)..].Split(' ')[0], l => l.line);
        AssertInnermost(stubborn, "Program.StubbornLoopAsync", marks["stubborn"], TaskTreeAwaitKind.WhenAny);
        AssertInnermost(tasks[0], "Program.HeartbeatAsync", marks["heartbeat"], TaskTreeAwaitKind.Sleep);
        var shutdown = tasks[2].Stack!;
        Assert.Equal((TaskTreeAwaitKind.TaskGroup, (long?)drain.Id), (shutdown.Awaiting?.Kind, shutdown.Awaiting?.TargetId));
    }

    private static void AssertInnermost(TaskTreeNode task, string method, int line, TaskTreeAwaitKind awaiting)
    {
        var stack = task.Stack ?? throw new Xunit.Sdk.XunitException($"task '{task.Name}' has no stack");
        if (stack.Status == TaskTreeStackStatus.Running)
        {
            return; // caught between two awaits: nothing to check but that it is not another task's
        }

        var frame = stack.Frames[0];
        Assert.Equal((method, (int?)line, "Program.cs", awaiting), (frame.Method, frame.Line, Path.GetFileName(frame.File), stack.Awaiting!.Kind));
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunInProcessAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await Program.RunAsync(args, output, error, interactive: false, CancellationToken.None).WaitAsync(s_processLimit);
        return (exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Counts the refreshes of <c>--watch</c> (by a line each contains) and cancels after enough of them.</summary>
    private sealed class LinesWriter(CancellationTokenSource stop, int stopAfter, string marker) : StringWriter
    {
        private int _seen;

        public int Seen => Volatile.Read(ref _seen);

        public override Task WriteAsync(string? value)
        {
            if (value is not null && value.Contains(marker, StringComparison.Ordinal) && Interlocked.Increment(ref _seen) >= stopAfter)
            {
                stop.Cancel();
            }

            return base.WriteAsync(value);
        }
    }
}
