using System;
using System.Linq;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Xunit;

namespace Corral.Testing.Tests;

/// <summary>
/// Async call stacks inside a test run (issue 13): a sleep parked through the run's continuation runner is still read as
/// a sleep, on the virtual clock, and a deadlock report says where each stuck task waits.
/// </summary>
public sealed class StackTests
{
    [Fact]
    public async Task RunAsync_TaskSleepingInTheRun_TreeNamesTheSleepAndItsTimeLeftOnTheVirtualClock()
    {
        var name = "sleeper-" + Guid.NewGuid().ToString("N")[..8];
        TaskTreeNode? sleeper = null;
        await CorralTest.RunAsync(async (clock, ct) =>
        {
            await TaskGroup.RunAsync(async group =>
            {
                group.Start(_ => SleepLongAsync(), name);
                await CancelScope.SleepAsync(TimeSpan.FromMinutes(1));
                sleeper = TaskTree.Capture().FindAll(n => n.Name == name).Single();
                group.Cancel("seen");
            });
        });

        var stack = sleeper?.Stack ?? throw new InvalidOperationException("no stack for the sleeper");
        Assert.Equal(TaskTreeStackStatus.Suspended, stack.Status);
        Assert.Equal(TaskTreeAwaitKind.Sleep, stack.Awaiting?.Kind);
        Assert.Equal(TimeSpan.FromMinutes(9), stack.Awaiting!.TimeLeft); // ten minutes asked, one passed on the run's clock
        Assert.Equal("StackTests.SleepLongAsync", Assert.Single(stack.Frames).Method);
    }

    [Fact]
    public async Task RunAsync_Deadlock_ReportSaysWhereTheStuckTaskWaits()
    {
        var e = await Assert.ThrowsAsync<CorralTestException>(() => CorralTest.RunAsync(async (clock, ct) =>
        {
            var never = Channel.CreateUnbounded<int>();
            await TaskGroup.RunAsync(group =>
            {
                group.Start(c => ReadForeverAsync(never.Reader, c), "reader");
                return Task.CompletedTask;
            });
        }));

        Assert.Equal(CorralTestFailureKind.Deadlock, e.Kind);
        var reader = Assert.Single(Assert.IsType<TaskTreeSnapshot>(e.TaskTree).FindAll(n => n.Name == "reader"));
        Assert.Equal(TaskTreeAwaitKind.ChannelRead, reader.Stack?.Awaiting?.Kind);
        Assert.Equal("StackTests.ReadForeverAsync", reader.Stack!.Frames[0].Method);
        Assert.Contains("at StackTests.ReadForeverAsync (StackTests.cs:", e.Message, StringComparison.Ordinal);
    }

    private static async Task SleepLongAsync() => await CancelScope.SleepAsync(TimeSpan.FromMinutes(10));

    private static async Task ReadForeverAsync(ChannelReader<int> reader, CancellationToken cancellationToken)
    {
        await reader.ReadAsync(cancellationToken);
    }
}
