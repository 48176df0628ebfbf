using System;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Xunit;

namespace Corral.Tests.Diagnostics.Stacks;

/// <summary>Stacks in TaskTree.Capture: every task of a Corral tree names its frames, lines and what it awaits.</summary>
public sealed class CaptureStacksTests
{
    public static TheoryData<KnownBuild> Builds => [KnownBuild.Sdk, KnownBuild.Debug, KnownBuild.Release];

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task Capture_KnownTree_EveryTaskAtItsAwaitAwaitingTheRightThing(KnownBuild build)
    {
        var name = "known-tree-" + Guid.NewGuid().ToString("N")[..8];
        var gate = new TaskCompletionSource();
        var ready = new TaskCompletionSource();
        var run = await AsyncStackWalkerTests.StartAsync(build, "Tree", gate.Task, ready, name);
        await ready.Task;

        var snapshot = TaskTree.Capture();
        gate.SetResult();
        await run;

        var group = Assert.Single(snapshot.FindAll(n => n.Name == name));
        TaskTreeNode Task(string task) => Assert.Single(group.Children, c => c.Name == task);
        TaskTreeStackTrace Stack(string task) => Task(task).Stack ?? throw new InvalidOperationException($"no stack for {task}");

        AsyncStackWalkerTests.AssertFrames(Stack("body"), ("KnownProgram.Tree", "body"));
        Assert.Equal(TaskTreeFrameKind.Lambda, Stack("body").Frames[0].Kind);

        AsyncStackWalkerTests.AssertFrames(Stack("sleeper"), ("KnownProgram.SleeperAsync", "sleep"));
        Assert.Equal(TaskTreeAwaitKind.Sleep, Stack("sleeper").Awaiting?.Kind);
        Assert.InRange(Stack("sleeper").Awaiting!.TimeLeft!.Value, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10));
        Assert.Matches(@"^CancelScope\.SleepAsync \(\d+\.\ds left\)$", Stack("sleeper").Awaiting!.Description);

        AsyncStackWalkerTests.AssertFrames(Stack("loader"), ("KnownProgram.LoadAsync", "load"));

        // Which task awaits which: the consumer awaits the loader's Start<T> task, by name and node id.
        AsyncStackWalkerTests.AssertFrames(Stack("consumer"), ("KnownProgram.Tree", "awaits-loader"));
        Assert.Equal((TaskTreeAwaitKind.CorralTask, "task 'loader'", (long?)Task("loader").Id), (Stack("consumer").Awaiting?.Kind, Stack("consumer").Awaiting?.Description, Stack("consumer").Awaiting?.TargetId));

        // A nested group: the stack stops at it; its tasks carry their own stacks.
        AsyncStackWalkerTests.AssertFrames(Stack("nested"), ("KnownProgram.NestedAsync", "nested"));
        var inner = Assert.Single(Task("nested").Children);
        Assert.Equal((TaskTreeAwaitKind.TaskGroup, "group 'inner'", (long?)inner.Id), (Stack("nested").Awaiting?.Kind, Stack("nested").Awaiting?.Description, Stack("nested").Awaiting?.TargetId));
        AsyncStackWalkerTests.AssertFrames(Assert.Single(inner.Children, c => c.Name == "deep").Stack!, ("KnownProgram.DeepAsync", "deep"));

        // A scope: the stack runs through it, into its body.
        AsyncStackWalkerTests.AssertFrames(Stack("scoped"), ("KnownProgram.InScopeAsync", "in-scope"), ("KnownProgram.ScopedAsync", "scoped"));
        Assert.Equal(TaskTreeAwaitKind.TaskCompletionSource, Stack("scoped").Awaiting?.Kind);
    }

    [Fact]
    public async Task Capture_WithoutStacks_NoNodeHasOne()
    {
        var name = "no-stacks-" + Guid.NewGuid().ToString("N")[..8];
        var gate = new TaskCompletionSource();
        var ready = new TaskCompletionSource();
        var run = await AsyncStackWalkerTests.StartAsync(KnownBuild.Sdk, "Tree", gate.Task, ready, name);
        await ready.Task;

        var snapshot = TaskTree.Capture(new TaskTreeCaptureOptions { IncludeStacks = false });
        gate.SetResult();
        await run;

        var group = Assert.Single(snapshot.FindAll(n => n.Name == name));
        Assert.All(new TaskTreeSnapshot(snapshot.TakenAt, 0, [group]).FindAll(_ => true), n => Assert.Null(n.Stack));
    }

    [Fact]
    public async Task Capture_ToText_FramesUnderTheirTask()
    {
        var name = "text-" + Guid.NewGuid().ToString("N")[..8];
        var gate = new TaskCompletionSource();
        var ready = new TaskCompletionSource();
        var run = await AsyncStackWalkerTests.StartAsync(KnownBuild.Sdk, "Tree", gate.Task, ready, name);
        await ready.Task;

        var snapshot = TaskTree.Capture();
        gate.SetResult();
        await run;

        var text = new TaskTreeSnapshot(snapshot.TakenAt, 0, snapshot.FindAll(n => n.Name == name)).ToText();
        var marks = KnownProgramBuilds.Marks;
        var lines = text.Split('\n');
        var consumer = Array.FindIndex(lines, l => l.Contains("task 'consumer' running", StringComparison.Ordinal));
        Assert.True(consumer >= 0, text);
        var indent = lines[consumer].IndexOf("task", StringComparison.Ordinal) + 2; // frames sit two columns right of their node
        Assert.Equal("awaiting task 'loader'", lines[consumer + 1][indent..]);
        Assert.Equal($"at lambda in KnownProgram.Tree (KnownProgram.cs:{marks["awaits-loader"]})", lines[consumer + 2][indent..]);
        Assert.Contains($"at KnownProgram.InScopeAsync (KnownProgram.cs:{marks["in-scope"]})\n", text, StringComparison.Ordinal);
        Assert.Contains($"at KnownProgram.ScopedAsync (KnownProgram.cs:{marks["scoped"]})\n", text, StringComparison.Ordinal);
    }
}
