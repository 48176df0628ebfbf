using System;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Xunit;

namespace Corral.Testing.Tests;

public sealed class DeadlockTests
{
    [Fact]
    public async Task RunAsync_TwoTasksWaitForEachOthersChannel_DeadlockReportNamesBoth()
    {
        var e = await Assert.ThrowsAsync<CorralTestException>(() => CorralTest.RunAsync(async (clock, ct) =>
        {
            var toPong = Channel.CreateUnbounded<int>();
            var toPing = Channel.CreateUnbounded<int>();
            await TaskGroup.RunAsync(group =>
            {
                // Each waits for the other to speak first.
                group.Start(async c => await toPong.Writer.WriteAsync(await toPing.Reader.ReadAsync(c), c), "ping");
                group.Start(async c => await toPing.Writer.WriteAsync(await toPong.Reader.ReadAsync(c), c), "pong");
                return Task.CompletedTask;
            }, new TaskGroupOptions { Name = "players" });
        }, new CorralTestOptions { Name = "ping-pong" }));

        Assert.Equal(CorralTestFailureKind.Deadlock, e.Kind);
        Assert.StartsWith("Deadlock:", e.Message, StringComparison.Ordinal);
        Assert.Contains("task 'ping'", e.Message, StringComparison.Ordinal);
        Assert.Contains("task 'pong'", e.Message, StringComparison.Ordinal);
        Assert.Contains("group 'players'", e.Message, StringComparison.Ordinal);
        Assert.Contains("scope 'ping-pong #", e.Message, StringComparison.Ordinal);
        var tree = Assert.IsType<TaskTreeSnapshot>(e.TaskTree);
        Assert.Equal(2, tree.FindAll(n => n.Kind == TaskTreeNodeKind.Task && n.Name is "ping" or "pong").Count);
        Assert.Equal(CorralTestOptions.DefaultStartTime, e.VirtualTime);
        Assert.Null(e.Seed);
    }

    [Fact]
    public async Task RunAsync_DeadlockAfterTimePassed_ReportedAtTheLastInstantWithTheTree()
    {
        var e = await Assert.ThrowsAsync<CorralTestException>(() => CorralTest.RunAsync(async (clock, ct) =>
        {
            await CancelScope.SleepAsync(TimeSpan.FromMinutes(3));
            await new TaskCompletionSource().Task.WaitAsync(ct); // nobody will ever complete it
        }));

        Assert.Equal(CorralTestFailureKind.Deadlock, e.Kind);
        Assert.Equal(CorralTestOptions.DefaultStartTime + TimeSpan.FromMinutes(3), e.VirtualTime);
        Assert.Contains("(+00:03:00)", e.Message, StringComparison.Ordinal);
        Assert.Contains("AutojumpThreshold", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_DeadlockedTasksIgnoreCancellation_RunStillEnds()
    {
        // Nothing can unwind these (they wait without a token): the run's task completes anyway.
        var e = await Assert.ThrowsAsync<CorralTestException>(() => CorralTest.RunAsync(async (clock, ct) =>
        {
            var never = new TaskCompletionSource();
            await TaskGroup.RunAsync(group =>
            {
                group.Start(_ => never.Task, "stuck");
                return Task.CompletedTask;
            });
        }));

        Assert.Equal(CorralTestFailureKind.Deadlock, e.Kind);
        Assert.Contains("task 'stuck'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_NeitherEndsNorDeadlocks_SafetyTimeoutWithTheTree()
    {
        var e = await Assert.ThrowsAsync<CorralTestException>(() => CorralTest.RunAsync(async (clock, ct) =>
        {
            await TaskGroup.RunAsync(group =>
            {
                group.Start(async c =>
                {
                    using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), clock);
                    while (await timer.WaitForNextTickAsync(c))
                    {
                    }
                }, "heartbeat");
                group.Start(_ => new TaskCompletionSource().Task, "waits forever");
                return Task.CompletedTask;
            });
        }, new CorralTestOptions { Timeout = TimeSpan.FromSeconds(3) }));

        Assert.Equal(CorralTestFailureKind.Timeout, e.Kind);
        Assert.Contains("neither finished nor deadlocked", e.Message, StringComparison.Ordinal);
        Assert.Contains("kept jumping", e.Message, StringComparison.Ordinal);
        Assert.Contains("task 'heartbeat'", e.Message, StringComparison.Ordinal);
        Assert.Contains("task 'waits forever'", e.Message, StringComparison.Ordinal);
        Assert.True(e.VirtualTime > CorralTestOptions.DefaultStartTime);
    }
}
