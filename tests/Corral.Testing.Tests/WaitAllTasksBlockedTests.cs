using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Xunit;

namespace Corral.Testing.Tests;

public sealed class WaitAllTasksBlockedTests
{
    [Fact]
    public async Task WaitAllTasksBlockedAsync_ChildBlocksOnALock_ObservedWithoutSleeps()
    {
        // Ports trio's wait_all_tasks_blocked example (lock fairness) to SemaphoreSlim.
        await CorralTest.RunAsync(async (clock, ct) =>
        {
            using var gate = new SemaphoreSlim(1, 1);
            await gate.WaitAsync(ct);
            var acquired = false;
            await TaskGroup.RunAsync(async group =>
            {
                group.Start(async c =>
                {
                    await gate.WaitAsync(c);
                    acquired = true;
                    gate.Release();
                });
                await CorralTest.WaitAllTasksBlockedAsync();
                Assert.False(acquired);
                Assert.Equal(0, gate.CurrentCount);
                gate.Release();
                await CorralTest.WaitAllTasksBlockedAsync();
                Assert.True(acquired);
            });
        });
    }

    [Fact]
    public async Task WaitAllTasksBlockedAsync_TimersPending_ClockDoesNotMove()
    {
        await CorralTest.RunAsync(async (clock, ct) =>
        {
            var steps = new List<string>();
            await TaskGroup.RunAsync(async group =>
            {
                group.Start(async c =>
                {
                    steps.Add("child started");
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(5));
                    steps.Add("child woke");
                });
                await CorralTest.WaitAllTasksBlockedAsync();
                Assert.Equal(new[] { "child started" }, steps);
                Assert.Equal(TimeSpan.Zero, clock.Elapsed);
            });
            Assert.Equal(new[] { "child started", "child woke" }, steps);
            Assert.Equal(TimeSpan.FromSeconds(5), clock.Elapsed);
        });
    }

    [Fact]
    public async Task WaitAllTasksBlockedAsync_ChannelPipeline_IntermediateStateAsserted()
    {
        await CorralTest.RunAsync(async (clock, ct) =>
        {
            var channel = Channel.CreateBounded<int>(2);
            var produced = 0;
            await TaskGroup.RunAsync(async group =>
            {
                group.Start(async c =>
                {
                    for (var i = 0; i < 10; i++)
                    {
                        await channel.Writer.WriteAsync(i, c);
                        produced++;
                    }
                });
                await CorralTest.WaitAllTasksBlockedAsync();
                Assert.Equal(2, produced); // the channel holds two; the producer waits for room
                Assert.Equal(0, await channel.Reader.ReadAsync(ct));
                await CorralTest.WaitAllTasksBlockedAsync();
                Assert.Equal(3, produced);
                group.Cancel();
            });
        });
    }

    [Fact]
    public async Task WaitAllTasksBlockedAsync_Cushion_WokenAfterTheSmallerOneFirst()
    {
        await CorralTest.RunAsync(async (clock, ct) =>
        {
            var order = new List<string>();
            await TaskGroup.RunAsync(group =>
            {
                group.Start(async c =>
                {
                    await CorralTest.WaitAllTasksBlockedAsync(TimeSpan.FromMilliseconds(30));
                    order.Add("cushion 30 ms");
                });
                group.Start(async c =>
                {
                    await CorralTest.WaitAllTasksBlockedAsync();
                    order.Add("cushion 0");
                });
                return Task.CompletedTask;
            });
            Assert.Equal(new[] { "cushion 0", "cushion 30 ms" }, order);
        });
    }

    [Fact]
    public async Task WaitAllTasksBlockedAsync_OutsideARun_ThrowsInvalidOperation()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => CorralTest.WaitAllTasksBlockedAsync());
        Assert.Contains("CorralTest.RunAsync", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = CorralTest.WaitAllTasksBlockedAsync(TimeSpan.FromTicks(-1)); });
    }

    [Fact]
    public async Task WaitAllTasksBlockedAsync_ScopeCancelled_IsACheckpoint()
    {
        await CorralTest.RunAsync(async (clock, ct) =>
        {
            await CancelScope.RunAsync(async scope =>
            {
                scope.Cancel("stop");
                await Assert.ThrowsAsync<ScopeCancelledException>(() => CorralTest.WaitAllTasksBlockedAsync());
            });

            Exception? seen = null;
            await TaskGroup.RunAsync(async group =>
            {
                group.Start(async c =>
                {
                    try
                    {
                        await CorralTest.WaitAllTasksBlockedAsync(TimeSpan.FromDays(1));
                    }
                    catch (OperationCanceledException e)
                    {
                        seen = e;
                        throw;
                    }
                });
                await CorralTest.WaitAllTasksBlockedAsync(); // the smaller cushion wakes first
                group.Cancel("done waiting");
            });
            Assert.IsAssignableFrom<OperationCanceledException>(seen);
        }, new CorralTestOptions { Timeout = TimeSpan.FromSeconds(30) });
    }
}
