using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Testing;
using Xunit;

namespace Corral.Tests;

public sealed class SmokeTests
{
    [Fact]
    public async Task TaskGroup_ChildFails_SiblingCancelledAndFailureReported()
    {
        var siblingCancelled = false;
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(async g =>
        {
            g.Start(async ct =>
            {
                try { await Task.Delay(Timeout.Infinite, ct); }
                catch (OperationCanceledException) { siblingCancelled = true; throw; }
            }, "waiter");
            g.Start(async ct => { await Task.Yield(); throw new InvalidOperationException("boom"); }, "crasher");
            await Task.CompletedTask;
        }));
        Assert.True(siblingCancelled);
        var failure = Assert.Single(ex.Failures);
        Assert.Equal("crasher", failure.TaskName);
        Assert.IsType<InvalidOperationException>(failure.Exception);
    }

    [Fact]
    public async Task MoveOnAfterAsync_DeadlineOnFakeClock_CutsOff()
    {
        await CorralTest.RunAsync(async (clock, _) =>
        {
            Assert.False(await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), ct => Task.Delay(Timeout.Infinite, ct)));
            Assert.Equal(TimeSpan.FromSeconds(5), clock.Elapsed);
        });
    }
}
