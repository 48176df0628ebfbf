using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
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
        var time = new FakeTimeProvider();
        var started = new TaskCompletionSource();
        Task<bool>? run = null;
        await CancelScope.RunAsync(async _ =>
        {
            run = CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), async ct =>
            {
                started.SetResult();
                await Task.Delay(Timeout.Infinite, ct);
            });
            await started.Task;
            Assert.False(run.IsCompleted);
            time.Advance(TimeSpan.FromSeconds(4.999));
            Assert.False(run.IsCompleted);
            time.Advance(TimeSpan.FromMilliseconds(1));
            Assert.False(await run);
        }, new CancelScopeOptions { TimeProvider = time });
    }
}
