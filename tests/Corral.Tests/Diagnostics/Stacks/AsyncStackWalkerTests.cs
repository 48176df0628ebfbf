using System;
using System.Linq;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Corral.Diagnostics.Stacks;
using Xunit;

namespace Corral.Tests.Diagnostics.Stacks;

/// <summary>The walker against the known program, as the SDK built it and as Roslyn builds it in Debug and Release.</summary>
public sealed class AsyncStackWalkerTests
{
    public static TheoryData<KnownBuild> Builds => [KnownBuild.Sdk, KnownBuild.Debug, KnownBuild.Release];

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task Walk_AsyncMethodsCallingAsyncMethods_NamesEveryFrameAtItsAwait(KnownBuild build)
    {
        var gate = new TaskCompletionSource();
        var root = await StartAsync(build, "Methods", gate.Task);

        var stack = Walk(root);

        AssertFrames(stack, ("KnownProgram.MiddleAsync", "middle"), ("KnownProgram.OuterAsync", "outer"));
        Assert.Equal(TaskTreeStackStatus.Suspended, stack.Status);
        Assert.Equal(TaskTreeAwaitKind.TaskCompletionSource, stack.Awaiting?.Kind);
        gate.SetResult();
        await root;
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public Task Walk_OneMethodMovingThroughItsAwaits_FollowsTheState(KnownBuild build) => Task.Run(async () =>
    {
        // On a pool thread, with no SynchronizationContext: StepsAsync's awaits capture none, so each SetResult runs its
        // continuation inline, and the method has reached its next await when SetResult returns. Under the test framework's
        // context the continuation was posted instead, and a walk right after SetResult could still see the await before.
        var first = new TaskCompletionSource();
        var second = new TaskCompletionSource();
        var third = new TaskCompletionSource();
        var root = await StartAsync(build, "Steps", first.Task, second.Task, third.Task);

        AssertFrames(Walk(root), ("KnownProgram.StepsAsync", "step1"));
        first.SetResult();
        AssertFrames(Walk(root), ("KnownProgram.StepsAsync", "step2"));
        second.SetResult();
        AssertFrames(Walk(root), ("KnownProgram.StepsAsync", "step3"));
        third.SetResult();
        await root;
    });

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task Walk_Lambda_NamedAfterTheMethodItIsWrittenIn(KnownBuild build)
    {
        var gate = new TaskCompletionSource();
        var root = await StartAsync(build, "Lambda", gate.Task);

        var stack = Walk(root);

        AssertFrames(stack, ("KnownProgram.Lambda", "lambda"));
        Assert.Equal(TaskTreeFrameKind.Lambda, stack.Frames[0].Kind);
        Assert.Equal($"lambda in KnownProgram.Lambda (KnownProgram.cs:{KnownProgramBuilds.Marks["lambda"]})", stack.Frames[0].ToString());
        gate.SetResult();
        await root;
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task Walk_LocalFunctionWithConfigureAwaitFalse_NamedAfterItsEnclosingMethod(KnownBuild build)
    {
        var gate = new TaskCompletionSource();
        var root = await StartAsync(build, "LocalFunction", gate.Task);

        var stack = Walk(root);

        AssertFrames(stack, ("KnownProgram.LocalFunction.WorkerAsync", "local"));
        Assert.Equal(TaskTreeFrameKind.LocalFunction, stack.Frames[0].Kind);
        Assert.Equal(TaskTreeAwaitKind.TaskCompletionSource, stack.Awaiting?.Kind);
        gate.SetResult();
        await root;
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task Walk_ValueTaskMethodReadingAChannel_FramesAndChannelRead(KnownBuild build)
    {
        var channel = Channel.CreateUnbounded<int>();
        var root = await StartAsync(build, "ValueTaskRead", channel.Reader);

        var stack = Walk(root);

        AssertFrames(stack, ("KnownProgram.ReadOneAsync", "read"), ("KnownProgram.SumAsync", "sum"));
        Assert.Equal(TaskTreeAwaitKind.ChannelRead, stack.Awaiting?.Kind);
        Assert.Equal("ChannelReader<T>.ReadAsync", stack.Awaiting?.Call);
        channel.Writer.TryWrite(1);
        await root;
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task Walk_PoolingValueTaskMethod_FramesThroughThePooledBox(KnownBuild build)
    {
        var gate = new TaskCompletionSource();
        var root = await StartAsync(build, "Pooled", gate.Task);

        AssertFrames(Walk(root), ("KnownProgram.PooledAsync", "pooled"), ("KnownProgram.PooledCallerAsync", "pooled-caller"));
        gate.SetResult();
        await root;
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task Walk_GenericMethodOfGenericType_NamedWithItsTypeParameters(KnownBuild build)
    {
        var gate = new TaskCompletionSource<string>();
        var root = await StartAsync(build, "Generic", gate.Task);

        var stack = Walk(root);

        AssertFrames(stack, ("KnownProgram.Cache<TKey>.LoadAsync<TValue>", "generic"));
        Assert.Equal("Corral.Tests.Diagnostics.Stacks.Known.KnownProgram.Cache<TKey>", stack.Frames[0].TypeFullName);
        gate.SetResult("done");
        await root;
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task Walk_AsyncIterator_FramesOfTheIteratorAndItsConsumer(KnownBuild build)
    {
        var gate = new TaskCompletionSource();
        var root = await StartAsync(build, "Iterator", gate.Task);

        AssertFrames(Walk(root), ("KnownProgram.ProduceAsync", "produce"), ("KnownProgram.ConsumeAsync", "consume"));
        gate.SetResult();
        await root;
    }

    [Theory]
    [MemberData(nameof(Builds))]
    public async Task Walk_WaitAsync_WalksIntoTheWrappedTask(KnownBuild build)
    {
        var gate = new TaskCompletionSource();
        var root = await StartAsync(build, "WaitAsyncOnMethod", gate.Task);

        AssertFrames(Walk(root), ("KnownProgram.MiddleAsync", "middle"), ("KnownProgram.WaitAsyncAsync", "waitasync"));
        gate.SetResult();
        await root;
    }

    [Fact]
    public async Task Walk_TaskDelayWithoutToken_TimeLeft()
    {
        var root = await StartAsync(KnownBuild.Sdk, "Delay");

        var stack = Walk(root);

        AssertFrames(stack, ("KnownProgram.DelayAsync", "delay"));
        var awaiting = Assert.IsType<TaskTreeAwait>(stack.Awaiting);
        Assert.Equal(TaskTreeAwaitKind.Delay, awaiting.Kind);
        Assert.InRange(awaiting.TimeLeft!.Value, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10));
        Assert.Matches(@"^Task\.Delay \(\d+\.\ds left, without a token\)$", awaiting.Description);
        Assert.Equal("Task.Delay", awaiting.Call);
    }

    [Fact]
    public async Task Walk_TaskDelayWithToken_SaysSoAndNoTimeLeftWhenInfinite()
    {
        using var cts = new CancellationTokenSource();
        var root = await StartAsync(KnownBuild.Sdk, "DelayWithToken", cts.Token);

        var awaiting = Walk(root).Awaiting;

        Assert.Equal(TaskTreeAwaitKind.Delay, awaiting?.Kind);
        Assert.Null(awaiting?.TimeLeft); // infinite
        Assert.Equal("Task.Delay (time left unknown, with a token)", awaiting?.Description);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => root);
    }

    [Fact]
    public async Task Walk_FiniteTaskDelayWithToken_TimeLeft()
    {
        using var cts = new CancellationTokenSource();
        var root = await StartAsync(KnownBuild.Sdk, "FiniteDelayWithToken", cts.Token);

        var awaiting = Walk(root).Awaiting;

        Assert.InRange(awaiting!.TimeLeft!.Value, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10));
        Assert.EndsWith(" left, with a token)", awaiting.Description, StringComparison.Ordinal);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => root);
    }

    [Fact]
    public async Task Walk_SemaphoreAndWhenAll_Classified()
    {
        using var semaphore = new SemaphoreSlim(0);
        var gate = new TaskCompletionSource();
        var waiting = await StartAsync(KnownBuild.Sdk, "Semaphore", semaphore);
        var both = await StartAsync(KnownBuild.Sdk, "WhenAll", gate.Task, Task.CompletedTask);

        Assert.Equal(TaskTreeAwaitKind.Semaphore, Walk(waiting).Awaiting?.Kind);
        Assert.Equal(TaskTreeAwaitKind.WhenAll, Walk(both).Awaiting?.Kind);
        semaphore.Release();
        gate.SetResult();
        await Task.WhenAll(waiting, both);
    }

    [Theory]
    [InlineData(KnownBuild.DebugNoPdb)]
    [InlineData(KnownBuild.ReleaseNoPdb)]
    public async Task Walk_PdbAbsent_MethodNamesAndLineUnknown(KnownBuild build)
    {
        var gate = new TaskCompletionSource();
        var root = await StartAsync(build, "Methods", gate.Task);

        var stack = Walk(root);

        Assert.Equal(["KnownProgram.MiddleAsync", "KnownProgram.OuterAsync"], stack.Frames.Select(f => f.Method));
        Assert.All(stack.Frames, f => Assert.Null(f.Line));
        Assert.Equal("KnownProgram.MiddleAsync (line unknown)", stack.Frames[0].ToString());
        Assert.Contains("line unknown", stack.Note, StringComparison.Ordinal);
        Assert.Equal(TaskTreeAwaitKind.TaskCompletionSource, stack.Awaiting?.Kind);
        gate.SetResult();
        await root;
    }

    [Theory]
    [InlineData("AsyncStateMachineBox.StateMachine")]
    [InlineData("TaskAwaiter.m_task")]
    [InlineData("ValueTask._obj")]
    public async Task Walk_RuntimeShapeNotFound_FramesUnavailableNamingIt(string shape)
    {
        var gate = new TaskCompletionSource();
        var root = await StartAsync(KnownBuild.Sdk, "Methods", gate.Task);

        var stack = new AsyncStackWalker(new RuntimeShapes([shape]), resolver: null).Walk(root);

        Assert.Equal(TaskTreeStackStatus.Unavailable, stack.Status);
        Assert.Empty(stack.Frames);
        Assert.Contains("frames unavailable", stack.Note, StringComparison.Ordinal);
        Assert.Contains(shape, stack.Note, StringComparison.Ordinal);
        gate.SetResult();
        await root;
    }

    [Fact]
    public async Task Walk_StateFieldNotFound_OuterFrameThenUnavailable()
    {
        var gate = new TaskCompletionSource();
        var root = await StartAsync(KnownBuild.Sdk, "Methods", gate.Task);

        var stack = new AsyncStackWalker(new RuntimeShapes(["StateMachine.<>1__state"]), resolver: null).Walk(root);

        Assert.Equal(TaskTreeStackStatus.Unavailable, stack.Status);
        Assert.Equal("KnownProgram.OuterAsync", Assert.Single(stack.Frames).Method);
        Assert.Contains("<>1__state", stack.Note, StringComparison.Ordinal);
        gate.SetResult();
        await root;
    }

    [Theory]
    [InlineData(KnownBuild.Sdk)]
    [InlineData(KnownBuild.Release)]
    public async Task Walk_ThousandsOfCapturesWhileTasksMoveAndFinish_NeverMixesTasksOrInventsLines(KnownBuild build)
    {
        // Two families of tasks with disjoint methods keep moving (Task.Yield, Task.Delay(1), loops); each capture of a task
        // may only show that family's frames, each at one of its awaits, or running (no line) innermost.
        var families = new[]
        {
            (Scenario: "ChurnA", Lines: Lines("churn-a-outer", "churn-a-yield", "churn-a-delay"), Prefix: "KnownProgram.ChurnA"),
            (Scenario: "ChurnB", Lines: Lines("churn-b-outer", "churn-b-yield", "churn-b-delay"), Prefix: "KnownProgram.ChurnB"),
        };
        using var stop = new CancellationTokenSource();
        var tasks = new System.Collections.Generic.List<(Task Root, int Family)>();
        for (var i = 0; i < 40; i++)
        {
            tasks.Add((await StartAsync(build, families[i % 2].Scenario, stop.Token), i % 2));
        }

        var walker = new AsyncStackWalker(RuntimeShapes.Default, resolver: null);
        int captures = 0, suspended = 0;
        try
        {
            for (var round = 0; round < 100; round++)
            {
                foreach (var (root, family) in tasks)
                {
                    var stack = walker.Walk(root);
                    captures++;
                    Assert.True(stack.Status != TaskTreeStackStatus.Unavailable, $"capture {captures}: {stack.Note}");
                    for (var f = 0; f < stack.Frames.Count; f++)
                    {
                        var frame = stack.Frames[f];
                        Assert.StartsWith(families[family].Prefix, frame.Method, StringComparison.Ordinal);
                        if (frame.Line is { } line)
                        {
                            Assert.Contains(line, families[family].Lines);
                        }
                        else
                        {
                            Assert.True(f == 0 && stack.Status == TaskTreeStackStatus.Running, $"a frame without a line that is not the running innermost one: {frame} in {stack.Status}");
                        }
                    }

                    suspended += stack.Status == TaskTreeStackStatus.Suspended ? 1 : 0;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(tasks.Select(t => t.Root));
        }

        Assert.Equal(4000, captures);
        Assert.True(suspended > 0, "no capture saw a suspended task: the churn did not exercise the walk");
    }

    [Fact]
    public void Shapes_ThisRuntime_EveryEssentialShapeFound()
    {
        // Fails loudly, naming the shape, when a runtime update changes one the walker relies on (RuntimeShapes.cs, essay).
        Assert.Null(RuntimeShapes.Default.Problem);
    }

    [Fact]
    public void Walk_PlainTaskNotAnAsyncMethod_NoFrameAndTheLeaf()
    {
        using var cts = new CancellationTokenSource();
        var stack = Walk(Task.Delay(TimeSpan.FromMinutes(10), cts.Token)); // walked, never awaited; cancelled at the end
        cts.Cancel();

        Assert.Empty(stack.Frames);
        Assert.Equal(TaskTreeAwaitKind.Delay, stack.Awaiting?.Kind);
    }

    private static int[] Lines(params string[] marks) => marks.Select(m => KnownProgramBuilds.Marks[m]).ToArray();

    internal static TaskTreeStackTrace Walk(object root) => new AsyncStackWalker(RuntimeShapes.Default, resolver: null).Walk(root);

    /// <summary>Starts a scenario off the test's synchronization context, so that releasing a gate resumes it inline.</summary>
    internal static Task<Task> StartAsync(KnownBuild build, string scenario, params object?[] args) =>
        Task.Factory.StartNew(() => KnownProgramBuilds.Call<Task>(build, scenario, args), CancellationToken.None, TaskCreationOptions.None, TaskScheduler.Default);

    internal static void AssertFrames(TaskTreeStackTrace stack, params (string Method, string Mark)[] expected)
    {
        var actual = stack.Frames.Select(f => (f.Method, f.Line, File: f.File is null ? null : System.IO.Path.GetFileName(f.File))).ToArray();
        var wanted = expected.Select(e => (e.Method, (int?)KnownProgramBuilds.Marks[e.Mark], File: (string?)"KnownProgram.cs")).ToArray();
        Assert.True(wanted.SequenceEqual(actual), $"expected [{string.Join(", ", wanted)}], got [{string.Join(", ", actual)}] ({stack.Status}, {stack.Note})");
    }
}
