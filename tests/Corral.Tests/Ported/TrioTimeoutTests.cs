using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Testing;
using Xunit;

namespace Corral.Tests;

/// <summary>
/// The semantics of trio's timeout tests (<c>src/trio/_tests/test_timeouts.py</c>) and the deadline parts of
/// <c>test_run.py</c>, ported to Corral in <see cref="CorralTest.RunAsync(Func{VirtualClock, CancellationToken, Task}, CorralTestOptions?)"/>
/// runs, as trio's own run on <c>MockClock(autojump_threshold=0)</c>: time jumps to the next deadline when every task
/// waits, so no test waits on the real clock or advances one by hand, and each asserts the exact virtual instant.
/// </summary>
public sealed class TrioTimeoutTests
{

    [Fact]
    public async Task SleepAsync_OnFakeClock_CompletesExactlyWhenClockReachesIt()
    {
        // Ports trio test_sleep (sleep and sleep_until take about the requested time).
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var sleep = CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
            clock.Advance(TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(1));
            Assert.False(sleep.IsCompleted);
            await sleep;
            Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed);
        });
    }

    [Fact]
    public async Task MoveOnAtAsync_DeadlineIsNow_SleepZeroThrowsAndResultIsFalse()
    {
        // Ports trio test_sleep (the trivial move_on_at: a deadline of "now" cancels even sleep(0)).
        var after = false;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var completed = await CancelScope.MoveOnAtAsync(clock.GetUtcNow(), async ct =>
            {
                await CancelScope.SleepAsync(TimeSpan.Zero);
                after = true;
            });
            Assert.False(completed);
        });

        Assert.False(after);
    }

    [Fact]
    public async Task MoveOnAfterAsync_BodySleepsLonger_CutOffAtDeadlineAndScopeCaught()
    {
        // Ports trio test_move_on_after.
        CancelScope? scope = null;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            Assert.False(await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), async ct =>
            {
                scope = CancelScope.Current;
                await CancelScope.SleepAsync(TimeSpan.FromSeconds(100));
            }));
            Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed);
        });

        Assert.True(scope!.CancelCalled);
        Assert.True(scope.CancelledCaught);
        Assert.Equal(CancelReasonKind.DeadlineExceeded, scope.CancelReason!.Kind);
    }

    [Fact]
    public async Task RunAsync_ShieldedWithTimeout_ShieldsFromOuterUntilUnshielded()
    {
        // Ports trio test_context_shields_from_outer (move_on_after / fail_after with shield=True).
        await CorralTest.RunAsync(async (_, _) => await CancelScope.RunAsync(async outer =>
        {
            await CancelScope.RunAsync(async inner =>
            {
                outer.Cancel();
                await CancelScope.CheckpointAsync(); // the shield works
                inner.Shield = false;
                var ex = await Steps.CheckpointThrows();
                Assert.Same(outer, ex.Scope);
            }, new CancelScopeOptions { Shield = true, Timeout = TimeSpan.FromSeconds(1) });
        }));
    }

    [Fact]
    public async Task RunAsync_ShieldedWithTimeoutInCancelledOuter_MovesOnAtItsOwnDeadline()
    {
        // Ports trio test_move_on_after_moves_on_even_if_shielded.
        CancelScope? inner = null;
        await CorralTest.RunAsync(async (clock, _) => await CancelScope.RunAsync(async outer =>
        {
            outer.Cancel();
            await CancelScope.RunAsync(async scope =>
            {
                inner = scope;
                await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
            }, new CancelScopeOptions { Shield = true, Timeout = TimeSpan.FromSeconds(1) });
            Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed); // the outer cancellation did not reach it
        }));

        Assert.True(inner!.CancelledCaught);
        Assert.Equal(CancelReasonKind.DeadlineExceeded, inner.CancelReason!.Kind);
    }

    [Fact]
    public async Task FailAfterAsync_InsideShieldInCancelledOuter_ThrowsTimeoutAtItsOwnDeadline()
    {
        // Ports trio test_fail_after_fails_even_if_shielded.
        await CorralTest.RunAsync(async (clock, _) => await CancelScope.RunAsync(async outer =>
        {
            outer.Cancel();
            await Assert.ThrowsAsync<TimeoutException>(() => CancelScope.ShieldAsync(async ct =>
                await CancelScope.FailAfterAsync(TimeSpan.FromSeconds(1), async ct2 =>
                    await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan))));
            Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed);
        }));
    }

    [Fact]
    public async Task FailAtAsync_DeadlinePasses_ThrowsTimeoutWithCancellationInside()
    {
        // Ports trio test_fail (fail_at).
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var ex = await Assert.ThrowsAsync<TimeoutException>(() => CancelScope.FailAtAsync(
                clock.GetUtcNow() + TimeSpan.FromSeconds(1), async ct => await CancelScope.SleepAsync(TimeSpan.FromSeconds(100))));
            var inner = Assert.IsType<ScopeCancelledException>(ex.InnerException);
            Assert.Equal(CancelReasonKind.DeadlineExceeded, inner.Reason.Kind);
            Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed);
        });
    }

    [Fact]
    public async Task FailAfterAsync_DeadlinePasses_ThrowsTimeout()
    {
        // Ports trio test_fail (fail_after).
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var ex = await Assert.ThrowsAsync<TimeoutException>(() => CancelScope.FailAfterAsync(TimeSpan.FromSeconds(1), async ct =>
                await CancelScope.SleepAsync(TimeSpan.FromSeconds(100))));
            Assert.IsAssignableFrom<OperationCanceledException>(ex.InnerException);
            Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed);
        });
    }

    [Fact]
    public async Task FailAtAndFailAfter_BodyFinishesInTime_NoTimeout()
    {
        // Ports trio test_fail (fail_at(now + 100) / fail_after(100) around sleep(0)).
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await CancelScope.FailAtAsync(clock.GetUtcNow() + TimeSpan.FromSeconds(100), async ct =>
                await CancelScope.SleepAsync(TimeSpan.Zero));
            await CancelScope.FailAfterAsync(TimeSpan.FromSeconds(100), async ct =>
                await CancelScope.SleepAsync(TimeSpan.Zero));
            var value = await CancelScope.FailAfterAsync(TimeSpan.FromSeconds(100), async ct =>
            {
                await CancelScope.SleepAsync(TimeSpan.Zero);
                return 42;
            });
            Assert.Equal(42, value);
            Assert.Equal(TimeSpan.Zero, clock.Elapsed);
        });
    }

    [Fact]
    public void SleepAsync_NegativeOrMaxValueDelay_ThrowsArgumentOutOfRangeAtOnce()
    {
        // Ports trio test_timeouts_raise_value_error (sleep with a negative delay). TimeSpan has no NaN; MaxValue stands in
        // for the other nonsensical value.
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = CancelScope.SleepAsync(TimeSpan.FromSeconds(-1)); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = CancelScope.SleepAsync(TimeSpan.MaxValue); });
    }

    [Fact]
    public void MoveOnAfterAndFailAfter_NegativeOrMaxValueTimeout_ThrowArgumentOutOfRangeBeforeBodyRuns()
    {
        // Ports trio test_timeouts_raise_value_error (fail_after / move_on_after with a negative delay).
        var ran = false;
        Func<CancellationToken, Task> body = _ =>
        {
            ran = true;
            return Task.CompletedTask;
        };

        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(-1), body); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = CancelScope.MoveOnAfterAsync(TimeSpan.MaxValue, body); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = CancelScope.FailAfterAsync(TimeSpan.FromSeconds(-1), body); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = CancelScope.FailAfterAsync(TimeSpan.MaxValue, body); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = CancelScope.ShieldAsync(body, TimeSpan.FromSeconds(-1)); });
        Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            _ = CancelScope.RunAsync(_ => Task.CompletedTask, new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(-1) });
        });
        Assert.False(ran);
    }

    [Fact]
    public async Task MoveOnAtAsync_DeadlineInThePast_IsAllowedAndCutsOffAtFirstCheckpoint()
    {
        // Ports trio test_timeouts_raise_value_error ("deadlines are allowed to be negative, but not delays").
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var completed = await CancelScope.MoveOnAtAsync(clock.GetUtcNow() - TimeSpan.FromDays(1), async ct =>
                await CancelScope.CheckpointAsync());
            Assert.False(completed);
        });
    }

    [Fact]
    public async Task MoveOnAfterAsync_OpenedAfterClockMoved_DeadlineMeasuredFromEntry()
    {
        // Ports trio test_timeout_deadline_on_entry.
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await CancelScope.SleepAsync(TimeSpan.FromSeconds(3));
            var start = clock.GetUtcNow();
            await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), async ct =>
            {
                var scope = CancelScope.Current!;
                Assert.Equal(start + TimeSpan.FromSeconds(5), scope.Deadline);
                Assert.Equal(start + TimeSpan.FromSeconds(5), CancelScope.CurrentDeadline);
                scope.Deadline = start + TimeSpan.FromSeconds(3);
                Assert.Equal(start + TimeSpan.FromSeconds(3), scope.Deadline);
                Assert.Equal(start + TimeSpan.FromSeconds(3), CancelScope.CurrentDeadline);
                await CancelScope.CheckpointAsync();
            });
        });
    }

    [Fact]
    public async Task Deadline_ClockOneTickShort_DoesNotFireEarly()
    {
        // Ports the "never early" guarantee of trio's mock-clock deadline tests (test_basic_timeout).
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var run = CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), async ct =>
                await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan));
            clock.Advance(TimeSpan.FromSeconds(5) - TimeSpan.FromTicks(1));
            await CorralTest.WaitAllTasksBlockedAsync();
            Assert.False(run.IsCompleted);
            Assert.False(await run);
            Assert.Equal(TimeSpan.FromSeconds(5), clock.Elapsed);
        });
    }

    [Fact]
    public async Task Deadline_MovedLaterBeforeItFired_FiresOnlyAtTheNewDeadline()
    {
        // Ports trio test_basic_timeout (changing the deadline while the scope runs) and anyio test_deadline_moved.
        await CorralTest.RunAsync(async (clock, _) =>
        {
            CancelScope? scope = null;
            var run = CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), async ct =>
            {
                scope = CancelScope.Current;
                await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
            });
            scope!.Deadline = clock.Start + TimeSpan.FromSeconds(4);
            Assert.False(await run);
            Assert.True(scope.CancelCalled);
            Assert.Equal(TimeSpan.FromSeconds(4), clock.Elapsed);
        });
    }

    [Fact]
    public async Task Deadline_MovedLaterAfterItFired_StaysCancelled()
    {
        // Ports trio test_cancel_unbound ("never become un-cancelled") for a deadline that fired while running.
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await CancelScope.RunAsync(async scope =>
            {
                clock.Advance(TimeSpan.FromSeconds(1));
                Assert.True(scope.CancelCalled);
                scope.Deadline = clock.GetUtcNow() + TimeSpan.FromHours(1);
                Assert.True(scope.IsCancellationRequested);
                await Steps.CheckpointThrows();
                await Steps.CheckpointThrows();
            }, new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(1) });
        });
    }

    [Fact]
    public async Task MoveOnAfterAsync_GenericBody_CutOffHasNoValueCompletedHasIt()
    {
        // Ports trio test_move_on_after for bodies with a value (Corral's ScopeResult<T>).
        await CorralTest.RunAsync(async (clock, runToken) =>
        {
            var cutOff = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), async ct =>
            {
                await CancelScope.SleepAsync(TimeSpan.FromSeconds(2));
                return 1;
            });
            Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed);
            Assert.False(cutOff.Completed);
            Assert.False(cutOff.TryGetValue(out _));
            Assert.Throws<InvalidOperationException>(() => cutOff.Value);

            var quick = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), async ct =>
            {
                await CancelScope.CheckpointAsync();
                return 2;
            });
            Assert.True(quick.Completed);
            Assert.Equal(2, quick.Value);
        });
    }

    [Fact]
    public async Task FailAfterAsync_OuterDeadlineFiresFirst_OuterMovesOnAndNoTimeoutException()
    {
        // Ports trio test_fail: TooSlowError belongs to fail_after's own deadline only. An enclosing deadline that fires
        // first cancels the body, and the FailAfter scope lets that cancellation pass to its owner.
        Exception? seen = null;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            Assert.False(await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), async ct =>
            {
                try
                {
                    await CancelScope.FailAfterAsync(TimeSpan.FromSeconds(5), async ct2 =>
                        await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan));
                }
                catch (Exception e)
                {
                    seen = e;
                    throw;
                }
            }));
            Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed);
        });

        Assert.IsType<ScopeCancelledException>(seen);
    }
}
