using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Tests;

/// <summary>Scope behaviour beyond the trio ports: exits as checkpoints, sleeps, and token callbacks.</summary>
public sealed class CancelScopeTests
{
    [Fact]
    public async Task MoveOnAfterAsync_OuterCancelledBodyWithoutCheckpoint_ExitRaisesForOuter()
    {
        var reachedAfter = false;
        await CancelScope.RunAsync(async outer =>
        {
            outer.Cancel("outer");
            await CancelScope.MoveOnAfterAsync(TimeSpan.FromHours(1), _ => Task.CompletedTask);
            reachedAfter = true;
        });

        Assert.False(reachedAfter);
    }

    [Fact]
    public async Task ShieldAsync_OuterCancelled_ExitDoesNotRaise()
    {
        var reachedAfter = false;
        await CancelScope.RunAsync(async outer =>
        {
            outer.Cancel("outer");
            try
            {
                await CancelScope.CheckpointAsync();
            }
            finally
            {
                // Cleanup in a finally: the shield's exit must not throw over the unwinding cancellation.
                Assert.True(await CancelScope.ShieldAsync(_ => Task.CompletedTask));
                reachedAfter = true;
            }
        });

        Assert.True(reachedAfter);
    }

    [Fact]
    public async Task SleepAsync_LongerThanOneTimerWait_SleepsTheWholeTime()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async _ =>
            {
                var sleep = CancelScope.SleepAsync(TimeSpan.FromDays(60));
                time.Advance(TimeSpan.FromDays(50));
                Assert.False(sleep.IsCompleted);
                time.Advance(TimeSpan.FromDays(10) - TimeSpan.FromTicks(1));
                Assert.False(sleep.IsCompleted);
                time.Advance(TimeSpan.FromTicks(1));
                await sleep;
            },
            new CancelScopeOptions { TimeProvider = time });
    }

    [Fact]
    public async Task SleepAsync_CancelledWhileSleeping_ThrowsScopeCancelledWithReasonOnly()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async scope =>
            {
                var sleep = CancelScope.SleepAsync(TimeSpan.FromMinutes(5));
                scope.Cancel("wake up");
                var ex = await Assert.ThrowsAsync<ScopeCancelledException>(() => sleep);
                Assert.Equal("wake up", ex.Reason.Message);
                Assert.Null(ex.InnerException);
                throw ex;
            },
            new CancelScopeOptions { TimeProvider = time });
    }

    [Fact]
    public async Task SleepAsync_OutsideAnyScope_Sleeps()
    {
        Assert.Null(CancelScope.Current);
        await CancelScope.SleepAsync(TimeSpan.FromMilliseconds(1));
        await CancelScope.SleepAsync(TimeSpan.Zero);
    }

    [Fact]
    public async Task RunAsync_TokenCallbackThrowsOnCancel_ReportedAtExitNotLost()
    {
        var ex = await Assert.ThrowsAsync<AggregateException>(() => CancelScope.RunAsync(scope =>
        {
            scope.Token.Register(() => throw new InvalidOperationException("callback"));
            scope.Cancel("go");
            return Task.CompletedTask;
        }));

        Assert.IsType<InvalidOperationException>(Assert.Single(ex.InnerExceptions));
    }

    [Fact]
    public async Task Start_TokenCallbackThrowsOnCancel_GroupReportsIt()
    {
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Scope.Token.Register(() => throw new InvalidOperationException("callback"));
            g.Cancel("go");
            return Task.CompletedTask;
        }));

        var failure = Assert.Single(ex.Failures);
        Assert.Equal("cancellation callback", failure.TaskName);
    }

    [Fact]
    public async Task StartAsync_ChildCancelsItsOwnScopeAfterStarted_NotAFailure()
    {
        await TaskGroup.RunAsync(async g =>
        {
            await g.StartAsync(async (signal, ct) =>
            {
                signal.Started();
                CancelScope.Current!.Cancel("done with this one");
                await Task.Delay(Timeout.Infinite, ct);
            });
        });
    }

    [Fact]
    public async Task StartAsync_TokenCallbackThrowsAfterStarted_GroupReportsIt()
    {
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(async g =>
        {
            await g.StartAsync(
                async (signal, ct) =>
                {
                    ct.Register(() => throw new FormatException("callback"));
                    signal.Started();
                    await Task.Delay(Timeout.Infinite, ct);
                },
                "server");
            g.Cancel("stop");
        }));

        // Reported once: by the task if it was still running when the callback threw, else by the group.
        Assert.IsType<FormatException>(Assert.Single(ex.GetExceptions<Exception>()));
    }
}
