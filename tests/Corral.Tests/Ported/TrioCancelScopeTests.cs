using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using Corral.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Tests;

/// <summary>
/// The semantics of trio's cancel-scope tests (<c>src/trio/_core/_tests/test_run.py</c>), ported to Corral.
/// </summary>
/// <remarks>
/// Where Corral decides differently from trio on purpose, the test pins Corral's rule (DESIGN.md) and says so. The one
/// recurring difference: trio lets the outermost of several cancelled scopes catch a cancellation; Corral lets the innermost
/// scope whose own cancel was called absorb it, and the outer scope's next checkpoint raises again (DESIGN.md, rule 3).
/// </remarks>
public sealed class TrioCancelScopeTests
{
    private static CancelScopeOptions On(FakeTimeProvider time, DateTimeOffset? deadline = null) =>
        new() { TimeProvider = time, Deadline = deadline };

    [Fact]
    public async Task CheckpointAsync_BeforeAndAfterCancel_PassesThenThrows()
    {
        // Ports trio test_cancel_points (main1, main2).
        CancelScope? captured = null;
        await CancelScope.RunAsync(async scope =>
        {
            captured = scope;
            await CancelScope.CheckpointAsync();
            scope.Cancel();
            var ex = await Steps.CheckpointThrows();
            Assert.Same(scope, ex.Scope);
        });

        Assert.True(captured!.CancelCalled);
        Assert.False(captured.CancelledCaught); // the body caught it and ended normally
    }

    [Fact]
    public async Task SleepAsync_InfiniteInCancelledScope_ThrowsAtOnce()
    {
        // Ports trio test_cancel_points (main3).
        await CancelScope.RunAsync(async scope =>
        {
            scope.Cancel();
            await Assert.ThrowsAsync<ScopeCancelledException>(() => CancelScope.SleepAsync(Timeout.InfiniteTimeSpan));
        });
    }

    [Fact]
    public async Task Cancel_NoCheckpointBeforeExit_NotCaughtAndParentUnaffected()
    {
        // Ports trio test_cancel_points (main4) and test_cancel_scope_nesting ("pending, then popped off the stack").
        CancelScope? inner = null;
        var reachedEnd = false;
        await CancelScope.RunAsync(async outer =>
        {
            await CancelScope.RunAsync(scope =>
            {
                inner = scope;
                scope.Cancel();
                reachedEnd = true;
                return Task.CompletedTask;
            });

            await CancelScope.CheckpointAsync(); // the inner scope's cancellation is not delivered outside it
            Assert.False(outer.IsCancellationRequested);
        });

        Assert.True(reachedEnd);
        Assert.True(inner!.CancelCalled);
        Assert.False(inner.CancelledCaught);
    }

    [Fact]
    public async Task Cancel_CalledTwice_IdempotentFirstReasonKeptAndAbsorbedOnce()
    {
        // Ports trio test_cancel_edge_cases (two cancels in a row).
        CancelScope? captured = null;
        var after = false;
        await CancelScope.RunAsync(async scope =>
        {
            captured = scope;
            scope.Cancel("first");
            scope.Cancel("second");
            await CancelScope.CheckpointAsync();
            after = true;
        });

        Assert.False(after);
        Assert.True(captured!.CancelCalled);
        Assert.True(captured.CancelledCaught);
        Assert.Equal("first", captured.CancelReason!.Message);
    }

    [Fact]
    public async Task SleepAsync_CancelledScopeCaughtOnce_ThrowsAgainEveryTime()
    {
        // Ports trio test_cancel_edge_cases (level-triggering).
        await CancelScope.RunAsync(async scope =>
        {
            scope.Cancel();
            await Assert.ThrowsAsync<ScopeCancelledException>(() => CancelScope.SleepAsync(Timeout.InfiniteTimeSpan));
            await Assert.ThrowsAsync<ScopeCancelledException>(() => CancelScope.SleepAsync(Timeout.InfiniteTimeSpan));
            await Assert.ThrowsAsync<ScopeCancelledException>(() => CancelScope.SleepAsync(Timeout.InfiniteTimeSpan));
        });
    }

    [Fact]
    public async Task Cancel_FromInsideBody_CodeAfterCheckpointSkippedAndScopeAbsorbs()
    {
        // Ports trio test_cancel_edge_cases: a scope cancelled from its own block.
        var steps = new Steps();
        CancelScope? captured = null;
        steps.Expect(1);
        await CancelScope.RunAsync(async scope =>
        {
            captured = scope;
            steps.Expect(2);
            scope.Cancel();
            steps.Expect(3); // Cancel itself is not a checkpoint
            await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
            steps.Never("after the checkpoint in a cancelled scope");
        });

        steps.Finish(4);
        Assert.True(captured!.CancelledCaught);
    }

    [Fact]
    public async Task RunAsync_DeadlineAlreadyPassedOnEntry_EntersCancelledAndNeverUncancels()
    {
        // Ports trio test_cancel_unbound ("cancel before entry"; "cancel_called is true when the deadline has passed";
        // "never become un-cancelled"). Corral has no unentered scope object: a deadline already past is how a scope is
        // cancelled before its block starts.
        var time = new FakeTimeProvider();
        var now = time.GetUtcNow();
        CancelScope? captured = null;
        await CancelScope.RunAsync(async scope =>
        {
            captured = scope;
            Assert.True(scope.CancelCalled);
            Assert.True(scope.IsCancellationRequested);
            Assert.True(scope.Token.IsCancellationRequested);
            scope.Deadline = now + TimeSpan.FromHours(1);
            Assert.True(scope.CancelCalled);
            Assert.True(scope.IsCancellationRequested);
            await CancelScope.CheckpointAsync();
        }, On(time, now - TimeSpan.FromSeconds(1)));

        Assert.True(captured!.CancelledCaught);
        Assert.Equal(CancelReasonKind.DeadlineExceeded, captured.CancelReason!.Kind);
    }

    [Fact]
    public async Task Cancel_FromAnotherTaskWhileBlockSleeps_WakesItAndScopeAbsorbs()
    {
        // Ports trio test_cancel_unbound ("cancel after entry", from another task).
        var entered = Steps.Signal();
        CancelScope? childScope = null;
        var after = false;
        await TaskGroup.RunAsync(async g =>
        {
            g.Start(async ct =>
            {
                await CancelScope.RunAsync(async scope =>
                {
                    childScope = scope;
                    var sleep = Steps.SleepForever(scope.Token);
                    entered.SetResult();
                    await sleep;
                    after = true;
                });
            });

            await entered.Task;
            childScope!.Cancel();
        });

        Assert.False(after);
        Assert.True(childScope!.CancelledCaught);
    }

    [Fact]
    public async Task Cancel_AfterExit_RecordedButChangesNothing()
    {
        // Ports trio test_cancel_unbound ("can't reuse": cancel after the block has exited).
        CancelScope? exited = null;
        await CancelScope.RunAsync(async outer =>
        {
            await CancelScope.RunAsync(async scope =>
            {
                exited = scope;
                await CancelScope.CheckpointAsync();
            });

            exited!.Cancel();
            await CancelScope.CheckpointAsync();
            Assert.False(outer.IsCancellationRequested);
            Assert.False(outer.CancelCalled);
        });

        Assert.True(exited!.IsExited);
        Assert.True(exited.CancelCalled);
        Assert.False(exited.CancelledCaught);
    }

    [Fact]
    public async Task Shield_ToggledWhileOuterCancelled_FollowsShieldButNotAgainstOwnOrInnerCancel()
    {
        // Ports trio test_cancel_shielding.
        CancelScope? innerScope = null;
        var steps = new Steps();
        await CancelScope.RunAsync(async outer =>
        {
            await CancelScope.RunAsync(async inner =>
            {
                innerScope = inner;
                await CancelScope.CheckpointAsync();
                outer.Cancel();
                var first = await Steps.CheckpointThrows();
                Assert.Same(outer, first.Scope);

                Assert.False(inner.Shield);
                inner.Shield = true;
                Assert.True(inner.Shield);
                await CancelScope.CheckpointAsync(); // the shield protects from 'outer'
                Assert.False(inner.Token.IsCancellationRequested);

                await CancelScope.RunAsync(async innermost =>
                {
                    innermost.Cancel();
                    var ex = await Steps.CheckpointThrows(); // but not from a scope inside it
                    Assert.Same(innermost, ex.Scope);
                });

                await CancelScope.CheckpointAsync();

                inner.Shield = false; // the shield can be dropped again
                await Steps.CheckpointThrows();

                inner.Shield = true;
                await CancelScope.CheckpointAsync();

                inner.Cancel(); // the shield does not protect from the scope itself
                steps.Expect(1);
                await CancelScope.CheckpointAsync();
                steps.Never("after inner's own cancellation");
            });

            steps.Expect(2);
            Assert.True(innerScope!.CancelledCaught);
            await Steps.CheckpointThrows(); // outer is still cancelled: level-triggered
        });

        steps.Finish(3);
    }

    [Fact]
    public async Task Cancel_TwoOfThreeNestedScopes_InnermostAbsorbsAndOuterRaisesAtNextCheckpoint()
    {
        // Ports trio test_cancel_scope_nesting (two scopes triggering at once). trio lets the outer one catch; Corral lets the
        // innermost cancelled scope absorb and the outer one raise again at its next checkpoint (DESIGN.md rule 3).
        CancelScope? s1 = null, s2 = null, s3 = null;
        var steps = new Steps();
        await CancelScope.RunAsync(async scope1 =>
        {
            s1 = scope1;
            await CancelScope.RunAsync(async scope2 =>
            {
                s2 = scope2;
                await CancelScope.RunAsync(async scope3 =>
                {
                    s3 = scope3;
                    scope3.Cancel();
                    scope2.Cancel();
                    steps.Expect(1);
                    await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                    steps.Never("after sleep in scope3");
                });

                steps.Expect(2);
                await CancelScope.CheckpointAsync();
                steps.Never("after checkpoint in scope2");
            });

            steps.Expect(3);
        });

        steps.Finish(4);
        Assert.True(s3!.CancelCalled);
        Assert.True(s3.CancelledCaught);
        Assert.True(s2!.CancelCalled);
        Assert.True(s2.CancelledCaught);
        Assert.False(s1!.CancelCalled);
        Assert.False(s1.CancelledCaught);
    }

    [Fact]
    public async Task Shield_RaisedAfterOuterCancelThenOwnCancel_RaisesFromOwnScope()
    {
        // Ports trio test_cancel_scope_nesting (shielding part).
        CancelScope? inner = null;
        await CancelScope.RunAsync(async scope1 =>
        {
            await CancelScope.RunAsync(async scope2 =>
            {
                inner = scope2;
                scope1.Cancel();
                await Steps.CheckpointThrows();
                await Steps.CheckpointThrows();
                scope2.Shield = true;
                await CancelScope.CheckpointAsync();
                scope2.Cancel();
                var ex = await Steps.CheckpointThrows();
                Assert.Same(scope2, ex.Scope);
            });
        });

        Assert.False(inner!.CancelledCaught); // the body caught the last one itself
    }

    [Fact]
    public async Task Shield_SetInFinallyWhileOuterCancellationPropagates_OuterAbsorbsInnerDoesNot()
    {
        // Ports trio test_unshield_while_cancel_propagating (trio issue #1175).
        CancelScope? outerScope = null, innerScope = null;
        await CancelScope.RunAsync(async outer =>
        {
            outerScope = outer;
            await CancelScope.RunAsync(async inner =>
            {
                innerScope = inner;
                outer.Cancel();
                try
                {
                    await CancelScope.CheckpointAsync();
                }
                finally
                {
                    inner.Shield = true;
                }
            });
        });

        Assert.True(outerScope!.CancelledCaught);
        Assert.False(innerScope!.CancelledCaught);
    }

    [Fact]
    public async Task Shield_SetThroughOptionsInCancelledOuter_BlocksUntilCleared()
    {
        // Ports trio test_cancel_unbound ("shield before entry").
        await CancelScope.RunAsync(async outer =>
        {
            outer.Cancel();
            await CancelScope.RunAsync(async scope =>
            {
                Assert.True(scope.Shield);
                Assert.False(scope.IsCancellationRequested);
                await CancelScope.CheckpointAsync();
                scope.Shield = false;
                var ex = await Steps.CheckpointThrows();
                Assert.Same(outer, ex.Scope);
            }, new CancelScopeOptions { Shield = true });
        });
    }

    [Fact]
    public async Task Shield_SetOnGroupScopeThenCleared_AbortsChildSleep()
    {
        // Ports trio test_cancel_shield_abort.
        var record = new ConcurrentQueue<string>();
        CancelScope? outerScope = null;
        var steps = new Steps();
        await CancelScope.RunAsync(async outer =>
        {
            outerScope = outer;
            await TaskGroup.RunAsync(async g =>
            {
                outer.Cancel();
                g.Scope.Shield = true;
                var sleeping = Steps.Signal();
                var cancelled = Steps.Signal();
                g.Start(async ct =>
                {
                    record.Enqueue("sleeping");
                    var sleep = Steps.SleepForever(ct);
                    sleeping.SetResult();
                    try
                    {
                        await sleep;
                    }
                    catch (OperationCanceledException)
                    {
                        record.Enqueue("cancelled");
                        cancelled.SetResult();
                        throw;
                    }
                });

                await sleeping.Task;
                Assert.Equal(new[] { "sleeping" }, record);
                g.Scope.Shield = false; // unshielding must abort the sleep
                await cancelled.Task;
                Assert.Equal(new[] { "sleeping", "cancelled" }, record);
                steps.Expect(1);
            });

            steps.Never("after a group that exits inside a cancelled scope");
        });

        steps.Finish(2);
        Assert.True(outerScope!.CancelledCaught);
    }

    [Fact]
    public async Task CurrentDeadline_NestedScopesAndShield_IsEarliestUpToFirstShield()
    {
        // Ports trio test_current_effective_deadline (trio's -inf for a cancelled scope has no Corral counterpart: the
        // effective deadline stays the earliest instant).
        var time = new FakeTimeProvider();
        var t0 = time.GetUtcNow();
        Assert.Null(CancelScope.CurrentDeadline);
        await CancelScope.RunAsync(async scope1 =>
        {
            await CancelScope.RunAsync(async scope2 =>
            {
                Assert.Equal(t0 + TimeSpan.FromSeconds(5), CancelScope.CurrentDeadline);
                scope2.Deadline = t0 + TimeSpan.FromSeconds(3);
                Assert.Equal(t0 + TimeSpan.FromSeconds(3), CancelScope.CurrentDeadline);
                scope2.Deadline = t0 + TimeSpan.FromSeconds(10);
                Assert.Equal(t0 + TimeSpan.FromSeconds(5), CancelScope.CurrentDeadline);
                scope2.Shield = true;
                Assert.Equal(t0 + TimeSpan.FromSeconds(10), CancelScope.CurrentDeadline);
                scope2.Shield = false;
                Assert.Equal(t0 + TimeSpan.FromSeconds(5), CancelScope.CurrentDeadline);
                scope1.Cancel();
                scope2.Shield = true;
                Assert.Equal(t0 + TimeSpan.FromSeconds(10), CancelScope.CurrentDeadline);
                Assert.Equal(scope2.EffectiveDeadline, CancelScope.CurrentDeadline);
                await CancelScope.CheckpointAsync();
            }, new CancelScopeOptions { Deadline = t0 + TimeSpan.FromSeconds(10) });

            Assert.Equal(t0 + TimeSpan.FromSeconds(5), CancelScope.CurrentDeadline);
        }, On(time, t0 + TimeSpan.FromSeconds(5)));

        Assert.Null(CancelScope.CurrentDeadline);
    }

    [Fact]
    public async Task Deadline_SetInsideThenBlockExited_NeverFires()
    {
        // Ports trio test_basic_timeout (a deadline on a scope that has already exited does nothing).
        CancelScope? captured = null;
        await CorralTest.RunAsync(async (clock, _) => await CancelScope.RunAsync(async root =>
        {
            var start = clock.GetUtcNow();
            await CancelScope.RunAsync(scope =>
            {
                captured = scope;
                Assert.Null(scope.Deadline);
                scope.Deadline = start + TimeSpan.FromSeconds(1);
                Assert.Equal(start + TimeSpan.FromSeconds(1), scope.Deadline);
                return Task.CompletedTask;
            });

            await CancelScope.SleepAsync(TimeSpan.FromSeconds(2));
            await CancelScope.CheckpointAsync();
            Assert.False(captured!.CancelCalled);
            Assert.False(root.IsCancellationRequested);
        }));
    }

    [Fact]
    public async Task Deadline_PassedWhileBlockRuns_SleepThrowsAndScopeAbsorbs()
    {
        // Ports trio test_basic_timeout (deadline given at entry, clock jumps past it).
        CancelScope? captured = null;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await CancelScope.RunAsync(async scope =>
            {
                captured = scope;
                await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
            }, new CancelScopeOptions { Deadline = clock.GetUtcNow() + TimeSpan.FromSeconds(1) });
            Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed);
        });

        Assert.True(captured!.CancelCalled);
        Assert.True(captured.CancelledCaught);
    }

    [Fact]
    public async Task Deadline_MovedEarlierIntoThePast_CancelsAtOnceAndEveryCheckpointThrows()
    {
        // Ports trio test_basic_timeout (changing the deadline).
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var start = clock.GetUtcNow();
            await CancelScope.RunAsync(async scope =>
            {
                await CancelScope.CheckpointAsync();
                scope.Deadline = start + TimeSpan.FromSeconds(10);
                await CancelScope.CheckpointAsync();
                clock.Advance(TimeSpan.FromSeconds(5));
                await CancelScope.CheckpointAsync();
                Assert.False(scope.CancelCalled);
                scope.Deadline = start + TimeSpan.FromSeconds(1);
                Assert.True(scope.CancelCalled); // at once, no timer tick needed
                await Steps.CheckpointThrows();
                await Steps.CheckpointThrows();
            });
        });
    }

    [Fact]
    public async Task CheckpointAsync_AfterClockJumpsPastDeadline_Throws()
    {
        // Ports trio test_yield_briefly_checks_for_timeout.
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await CancelScope.RunAsync(async scope =>
            {
                await CancelScope.CheckpointAsync();
                clock.Advance(TimeSpan.FromSeconds(10));
                var ex = await Steps.CheckpointThrows();
                Assert.Equal(CancelReasonKind.DeadlineExceeded, ex.Reason.Kind);
            }, new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(5) });
        });
    }

    [Fact]
    public async Task Cancel_OuterScope_InheritedByNestedScopeAndItsToken()
    {
        // Ports trio test_cancel_inheritance for plain scopes: cancellation reaches nested scopes at once.
        await CancelScope.RunAsync(async outer =>
        {
            await CancelScope.RunAsync(async middle =>
            {
                await CancelScope.RunAsync(async inner =>
                {
                    var token = inner.Token;
                    Assert.False(token.IsCancellationRequested);
                    outer.Cancel();
                    Assert.True(token.IsCancellationRequested);
                    Assert.True(middle.IsCancellationRequested);
                    Assert.True(inner.IsCancellationRequested);
                    Assert.False(inner.CancelCalled);
                    Assert.Same(outer, inner.CancelReason!.Scope);
                    var ex = await Steps.CheckpointThrows();
                    Assert.Same(outer, ex.Scope);
                });
            });
        });
    }

    [Fact]
    public async Task RunAsync_OpenedInsideCancelledScope_EntersCancelled()
    {
        // Ports trio test_cancel_inheritance / test_precancelled_task for scopes: a scope opened after the cancellation
        // inherits it on entry.
        await CancelScope.RunAsync(async outer =>
        {
            outer.Cancel();
            await CancelScope.RunAsync(async inner =>
            {
                Assert.True(inner.IsCancellationRequested);
                Assert.True(inner.Token.IsCancellationRequested);
                Assert.Same(outer, inner.CancelReason!.Scope);
                await Steps.CheckpointThrows();
            });
        });
    }
}
