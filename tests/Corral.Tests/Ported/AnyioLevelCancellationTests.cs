using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Testing;
using Xunit;

namespace Corral.Tests;

/// <summary>
/// The semantics of anyio's task-group tests (<c>tests/test_taskgroups.py</c>): level cancellation, cancel scopes,
/// shielding, deadlines, <c>start</c> and reasons, ported to Corral. Time runs on the virtual clock of a
/// <see cref="CorralTest"/> run, which jumps to the next deadline when every task waits.
/// </summary>
/// <remarks>
/// Where anyio lets an outer cancelled scope catch a cancellation that an inner cancelled scope saw first, Corral lets the
/// inner one absorb it and the outer one raise again at its next checkpoint (DESIGN.md rule 3); those tests pin Corral's rule.
/// A task group that exits inside a cancelled scope is a checkpoint in Corral (DESIGN.md rule 8).
/// </remarks>
public sealed class AnyioLevelCancellationTests
{
    // ------------------------------------------------------------------------------------------------
    // Level cancellation
    // ------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Start_ChildReachesCheckpointAfterGroupCancelled_CheckpointThrows()
    {
        // Ports anyio test_level_cancellation: the child was not waiting when the group was cancelled; its next checkpoint
        // still sees the cancellation.
        var marker = 0;
        var gate = Steps.Signal();
        await TaskGroup.RunAsync(g =>
        {
            g.Start(async ct =>
            {
                await gate.Task;
                marker = 1;
                await CancelScope.CheckpointAsync();
                marker = 2;
            });
            Assert.Equal(0, marker);
            g.Scope.Cancel();
            gate.SetResult();
            return Task.CompletedTask;
        });

        Assert.Equal(1, marker);
    }

    [Fact]
    public async Task Cancel_GroupCancelMethod_ChildStopsAtNextCheckpoint()
    {
        // Ports anyio test_cancel (TaskGroup.cancel()).
        var steps = new Steps();
        var gate = Steps.Signal();
        TaskGroup? group = null;
        await TaskGroup.RunAsync(g =>
        {
            group = g;
            g.Start(async ct =>
            {
                await gate.Task;
                steps.Expect(2);
                await CancelScope.CheckpointAsync();
                steps.Never("after the child's checkpoint");
            });
            steps.Expect(1);
            g.Cancel();
            gate.SetResult();
            return Task.CompletedTask;
        });

        steps.Finish(3);
        Assert.True(group!.Scope.CancelCalled);
        Assert.True(group.Scope.CancelledCaught);
    }

    [Fact]
    public async Task CheckpointAsync_CancelledScopeCaughtRepeatedly_ThrowsEveryTime()
    {
        // Ports anyio test_level_cancellation: catching the cancellation does not use it up.
        var thrown = 0;
        await CancelScope.RunAsync(async scope =>
        {
            scope.Cancel();
            for (var i = 0; i < 100; i++)
            {
                try
                {
                    await CancelScope.CheckpointAsync();
                }
                catch (OperationCanceledException)
                {
                    thrown++;
                }
            }
        });

        Assert.Equal(100, thrown);
    }

    [Fact]
    public async Task Checkpoints_AllKindsAfterCaughtCancellation_EachThrowsAgain()
    {
        // Ports anyio test_level_cancellation across every kind of checkpoint: CheckpointAsync, SleepAsync,
        // ThrowIfCancelled, and a .NET API given the scope's token.
        await CancelScope.RunAsync(async scope =>
        {
            scope.Cancel("stop");
            for (var round = 0; round < 3; round++)
            {
                await Assert.ThrowsAsync<ScopeCancelledException>(() => CancelScope.CheckpointAsync().AsTask());
                await Assert.ThrowsAsync<ScopeCancelledException>(() => CancelScope.SleepAsync(TimeSpan.FromSeconds(1)));
                Assert.Throws<ScopeCancelledException>(() => CancelScope.ThrowIfCancelled());
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Delay(Timeout.Infinite, scope.Token));
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Delay(Timeout.Infinite, CancelScope.CurrentToken));
                Assert.True(CancelScope.CurrentToken.IsCancellationRequested);
                Assert.True(scope.IsCancellationRequested);
            }
        });
    }

    [Fact]
    public async Task CheckpointAsync_CancellationSwallowedByCatchAll_NextCheckpointThrowsAgain()
    {
        // Ports anyio test_level_cancellation against the .NET hazard it guards: catch (Exception) swallows the
        // OperationCanceledException, but not the cancellation.
        var swallowed = 0;
        var steps = new Steps();
        CancelScope? captured = null;
        await CancelScope.RunAsync(async scope =>
        {
            captured = scope;
            scope.Cancel();
            try
            {
                await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
            }
            catch (Exception)
            {
                swallowed++;
            }

            steps.Expect(1);
            await CancelScope.CheckpointAsync();
            steps.Never("after the checkpoint that follows the swallowed cancellation");
        });

        steps.Finish(2);
        Assert.Equal(1, swallowed);
        Assert.True(captured!.CancelledCaught);
    }

    [Fact]
    public async Task SleepAsync_StubbornLoopCatchingCancellation_EveryIterationThrowsAtOnce()
    {
        // Ports anyio test_level_cancellation: a loop that catches and retries never gets a real sleep again.
        var iterations = 0;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await CancelScope.RunAsync(async scope =>
            {
                scope.Cancel();
                while (iterations < 1000)
                {
                    try
                    {
                        await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
                        break;
                    }
                    catch (OperationCanceledException)
                    {
                        iterations++;
                    }
                }
            });
            Assert.Equal(TimeSpan.Zero, clock.Elapsed); // no sleep ever started
        });

        Assert.Equal(1000, iterations);
    }

    [Fact]
    public async Task Start_ChildRetriesOnItsToken_TokenStaysCancelledAndGroupAbsorbs()
    {
        // Ports anyio test_level_cancellation for a group child that catches the cancellation of its token and retries.
        var attempts = 0;
        await TaskGroup.RunAsync(g =>
        {
            g.Start(async ct =>
            {
                for (var i = 0; i < 5; i++)
                {
                    try
                    {
                        await Steps.SleepForever(ct);
                    }
                    catch (OperationCanceledException)
                    {
                        attempts++;
                    }
                }
            });
            g.Cancel();
            return Task.CompletedTask;
        });

        Assert.Equal(5, attempts);
    }

    [Fact]
    public async Task RunAsync_NestedPlainScopeSwallowsOuterCancellation_NestedExitRaisesAgainAndOuterAbsorbs()
    {
        // Ports anyio test_level_cancellation across scopes: a nested scope that swallows the outer cancellation does not
        // use it up. Its exit is a checkpoint, so the cancellation leaves it again and the outer scope absorbs it.
        CancelScope? outerScope = null, innerScope = null;
        var steps = new Steps();
        await CancelScope.RunAsync(async outer =>
        {
            outerScope = outer;
            outer.Cancel();
            await CancelScope.RunAsync(async inner =>
            {
                innerScope = inner;
                Assert.True(inner.IsCancellationRequested);
                await Steps.CheckpointThrows();
                steps.Expect(1); // the body swallowed it and ends normally
            });

            steps.Never("after a nested scope that exits inside a cancelled scope");
        });

        steps.Finish(2);
        Assert.False(innerScope!.CancelledCaught);
        Assert.True(outerScope!.CancelledCaught);
    }

    [Fact]
    public async Task Cancel_WithReason_CheckpointExceptionCarriesIt()
    {
        // Ports anyio test_cancel_with_reason.
        await TaskGroup.RunAsync(async g =>
        {
            g.Cancel("test reason");
            var ex = await Steps.CheckpointThrows();
            Assert.Contains("test reason", ex.Message, StringComparison.Ordinal);
            Assert.Equal("test reason", ex.Reason.Message);
            Assert.Same(g.Scope, ex.Scope);
        });
    }

    // ------------------------------------------------------------------------------------------------
    // Task groups
    // ------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Start_AfterGroupFailed_ThrowsInvalidOperation()
    {
        // Ports anyio test_start_soon_after_error and test_already_closed.
        TaskGroup? group = null;
        await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            group = g;
            throw new DivideByZeroException();
        }));

        Assert.True(group!.IsClosed);
        Assert.Throws<InvalidOperationException>(() => group.Start(_ => Task.CompletedTask));
    }

    [Fact]
    public async Task RunAsync_ChildFailsWhileBodySleeps_BodyCancelledAndOnlyChildReported()
    {
        // Ports anyio test_failing_child_task_cancels_host.
        var gate = Steps.Signal();
        var sleepCompleted = false;
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(async g =>
        {
            g.Start(async ct =>
            {
                await gate.Task;
                throw new InvalidOperationException("foo");
            });
            var sleep = CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
            gate.SetResult();
            await sleep;
            sleepCompleted = true;
        }));

        Assert.Equal("foo", Assert.Single(ex.Failures).Exception.Message);
        Assert.False(sleepCompleted);
    }

    [Fact]
    public async Task RunAsync_BodyFails_ChildrenCancelledAndOnlyBodyReported()
    {
        // Ports anyio test_failing_host_task_cancels_children and test_host_exception.
        var sleepCompleted = false;
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(async ct =>
            {
                await Steps.SleepForever(ct);
                sleepCompleted = true;
            });
            throw new InvalidOperationException("foo");
        }));

        var failure = Assert.Single(ex.Failures);
        Assert.Equal("body", failure.TaskName);
        Assert.Equal("foo", failure.Exception.Message);
        Assert.False(sleepCompleted);
    }

    [Fact]
    public async Task Start_OneChildFails_SleepingSiblingCancelled()
    {
        // Ports anyio test_exception_cancels_siblings.
        var sleepCompleted = false;
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(async ct =>
            {
                await Steps.SleepForever(ct);
                sleepCompleted = true;
            }, "sleeper");
            g.Start(_ => throw new InvalidOperationException("foo"), "failer");
            return Task.CompletedTask;
        }));

        Assert.Equal("failer", Assert.Single(ex.Failures).TaskName);
        Assert.False(sleepCompleted);
    }

    [Fact]
    public async Task RunAsync_HostFailsThenChildFailsInCleanup_BothReportedHostFirst()
    {
        // Ports anyio test_exception_group_host (and test_exception_group_children: a task that raises from its finally
        // while being cancelled is a second failure, not a lost one).
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(async ct =>
            {
                try
                {
                    await Steps.SleepForever(ct);
                }
                catch (OperationCanceledException)
                {
                    throw new InvalidOperationException("child");
                }
            }, "child");
            throw new InvalidOperationException("host");
        }));

        Assert.Equal(2, ex.Failures.Count);
        Assert.Equal("host", ex.Failures[0].Exception.Message);
        Assert.Equal("child", ex.Failures[1].Exception.Message);
    }

    [Fact]
    public async Task Cancel_ScopeOpenedInChild_OnlyThatScopeCancelledAndHostContinues()
    {
        // Ports anyio test_cancel_scope_in_another_task and test_cancel_scope_in_child_task.
        var entered = Steps.Signal();
        CancelScope? local = null;
        var result = false;
        var hostDone = false;
        TaskGroup? group = null;
        await TaskGroup.RunAsync(async g =>
        {
            group = g;
            g.Start(async ct =>
            {
                await CancelScope.RunAsync(async scope =>
                {
                    local = scope;
                    var sleep = Steps.SleepForever(scope.Token);
                    entered.SetResult();
                    await sleep;
                    result = true;
                });
            });
            await entered.Task;
            local!.Cancel();
            await CancelScope.CheckpointAsync();
            hostDone = true;
        });

        Assert.False(result);
        Assert.True(hostDone);
        Assert.True(local!.CancelledCaught);
        Assert.False(group!.Scope.CancelCalled);
    }

    [Fact]
    public async Task Cancel_OuterGroupWhileChildRunsNestedGroup_NestedExitRaisesAndNothingFails()
    {
        // Ports anyio test_cancel_propagation, test_cancel_propagation_with_inner_spawn and test_cancel_cascade.
        var steps = new Steps();
        var sleeping = Steps.Signal();
        await TaskGroup.RunAsync(async g =>
        {
            g.Start(async ct =>
            {
                await TaskGroup.RunAsync(async inner =>
                {
                    inner.Start(Steps.SleepForever, "sleep");
                    var sleep = CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                    sleeping.SetResult();
                    await sleep;
                });
                steps.Never("after the nested group of a cancelled group");
            }, "do_something");
            await sleeping.Task;
            steps.Expect(1);
            g.Scope.Cancel();
        });

        steps.Finish(2);
    }

    [Fact]
    public async Task Cancel_TwoGroupsInARowEachCancelledByAChild_BodyNeverPassesItsSleep()
    {
        // Ports anyio test_cancel_twice (the same task receives two cancellations).
        var steps = new Steps();
        for (var round = 0; round < 2; round++)
        {
            await TaskGroup.RunAsync(async g =>
            {
                var sleep = CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                g.Start(ct =>
                {
                    g.Scope.Cancel();
                    return Task.CompletedTask;
                });
                await sleep;
                steps.Never("after the sleep");
            });
        }

        steps.Finish(1);
    }

    [Fact]
    public async Task Cancel_GroupWaitingForNestedGroup_SubtasksCancelledAndWaitContinues()
    {
        // Ports anyio test_cancel_exiting_task_group.
        var cancelReceived = false;
        var waiting = Steps.Signal();
        await TaskGroup.RunAsync(async g =>
        {
            g.Start(ct => TaskGroup.RunAsync(tg2 =>
            {
                tg2.Start(async ct2 =>
                {
                    try
                    {
                        var sleep = Steps.SleepForever(ct2);
                        waiting.SetResult();
                        await sleep;
                    }
                    finally
                    {
                        cancelReceived = true;
                    }
                });
                return Task.CompletedTask;
            }));
            await waiting.Task;
            g.Scope.Cancel();
        });

        Assert.True(cancelReceived);
    }

    [Fact]
    public async Task Start_ByChildAfterGroupCancelled_InnerScopeDoesNotAbsorbAndCodeAfterNotReached()
    {
        // Ports anyio test_cancelled_parent.
        var steps = new Steps();
        var gate = Steps.Signal();
        await TaskGroup.RunAsync(g =>
        {
            g.Start(async ct =>
            {
                await gate.Task;
                g.Start(async ct2 =>
                {
                    await CancelScope.RunAsync(async _ => await CancelScope.SleepAsync(TimeSpan.FromSeconds(1)));
                    steps.Never("after a plain scope that saw the group's cancellation");
                    throw new InvalidOperationException("foo");
                });
            });
            g.Scope.Cancel();
            gate.SetResult();
            return Task.CompletedTask;
        });

        steps.Finish(1);
    }

    [Fact]
    public async Task RunAsync_BodyCheckpointsInOwnCancelledGroup_GroupAbsorbs()
    {
        // Ports anyio test_escaping_cancelled_exception.
        TaskGroup? group = null;
        await TaskGroup.RunAsync(async g =>
        {
            group = g;
            g.Scope.Cancel();
            await CancelScope.CheckpointAsync();
        });

        Assert.True(group!.Scope.CancelledCaught);
    }

    [Fact]
    public async Task RunAsync_OuterCancelledWhileGroupRuns_SingleCancellationNotTaskGroupException()
    {
        // Ports anyio test_single_cancellation_exc.
        Exception? seen = null;
        CancelScope? outerScope = null;
        await CancelScope.RunAsync(async outer =>
        {
            outerScope = outer;
            try
            {
                await TaskGroup.RunAsync(async g =>
                {
                    g.Start(Steps.SleepForever);
                    outer.Cancel();
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(5));
                });
            }
            catch (Exception e)
            {
                seen = e;
                throw;
            }
        });

        var cancelled = Assert.IsType<ScopeCancelledException>(seen);
        Assert.Same(outerScope, cancelled.Scope);
        Assert.True(outerScope!.CancelledCaught);
    }

    [Fact]
    public async Task RunAsync_GroupOpenedInCancelledScope_ExitRaisesAndOuterAbsorbs()
    {
        // Ports anyio test_cancel_before_entering_task_group. anyio lets an empty group exit quietly; in Corral a group
        // that exits inside a cancelled scope propagates the cancellation to it (DESIGN.md rule 8), and the scope absorbs it.
        var steps = new Steps();
        CancelScope? captured = null;
        await CancelScope.RunAsync(async scope =>
        {
            captured = scope;
            scope.Cancel();
            await TaskGroup.RunAsync(_ =>
            {
                steps.Expect(1);
                return Task.CompletedTask;
            });
            steps.Never("after a group that exits inside a cancelled scope");
        });

        steps.Finish(2);
        Assert.True(captured!.CancelledCaught);
    }

    [Fact]
    public async Task Cancel_OuterFromShieldedHost_ChildStillCancelled()
    {
        // Ports anyio test_cancel_child_task_when_host_is_shielded (anyio #642).
        var cancelled = Steps.Signal();
        var waiting = Steps.Signal();
        CancelScope? parentScope = null;
        await CancelScope.RunAsync(async parent =>
        {
            parentScope = parent;
            await TaskGroup.RunAsync(async g =>
            {
                g.Start(async ct =>
                {
                    try
                    {
                        var sleep = Steps.SleepForever(ct);
                        waiting.SetResult();
                        await sleep;
                    }
                    catch (OperationCanceledException)
                    {
                        cancelled.SetResult();
                        throw;
                    }
                });
                await waiting.Task;
                var completed = await CancelScope.ShieldAsync(async ct =>
                {
                    parent.Cancel();
                    await cancelled.Task;
                });
                Assert.True(completed);
            });
        });

        Assert.True(parentScope!.CancelledCaught);
    }

    // ------------------------------------------------------------------------------------------------
    // Absorption: who catches
    // ------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Cancel_InnerAndOuterBothCancelled_InnerAbsorbsThenOuterRaisesAtNextCheckpoint()
    {
        // Ports anyio test_cancelled_scope_based_checkpoint. anyio: the outer scope catches; Corral: the inner scope whose own
        // cancel was called absorbs, and the still-cancelled outer scope raises at its next checkpoint and absorbs that.
        var steps = new Steps();
        CancelScope? outerScope = null, innerScope = null;
        await CancelScope.RunAsync(async outer =>
        {
            outerScope = outer;
            outer.Cancel();
            await CancelScope.RunAsync(async inner =>
            {
                innerScope = inner;
                inner.Cancel();
                var ex = await Assert.ThrowsAsync<ScopeCancelledException>(() => CancelScope.SleepAsync(Timeout.InfiniteTimeSpan));
                Assert.Same(inner, ex.Scope);
                throw ex;
            });
            steps.Expect(1);
            await CancelScope.CheckpointAsync();
            steps.Never("checkpoint should have raised");
        });

        steps.Finish(2);
        Assert.True(innerScope!.CancelledCaught);
        Assert.True(outerScope!.CancelledCaught);
    }

    [Fact]
    public async Task Cancel_OuterCancelledInInnerFinally_InnerAbsorbsOwnAndOuterRaisesLater()
    {
        // Ports anyio test_cancelled_raises_beyond_origin_unshielded (Corral's absorption rule, see above).
        var steps = new Steps();
        CancelScope? outerScope = null, innerScope = null;
        await CancelScope.RunAsync(async outer =>
        {
            outerScope = outer;
            await CancelScope.RunAsync(async inner =>
            {
                innerScope = inner;
                inner.Cancel();
                try
                {
                    await CancelScope.CheckpointAsync();
                }
                finally
                {
                    outer.Cancel();
                }

                steps.Never("checkpoint should have raised");
            });
            steps.Expect(1);
            await CancelScope.CheckpointAsync();
            steps.Never("the outer scope is cancelled");
        });

        steps.Finish(2);
        Assert.True(innerScope!.CancelledCaught);
        Assert.True(outerScope!.CancelledCaught);
    }

    [Fact]
    public async Task Cancel_ShieldedInnerCancelledThenOuterInFinally_InnerAbsorbsCodeBetweenRunsOuterNotCaught()
    {
        // Ports anyio test_cancelled_raises_beyond_origin_shielded.
        var codeBetweenScopesRan = false;
        CancelScope? outerScope = null, innerScope = null;
        await CancelScope.RunAsync(async outer =>
        {
            outerScope = outer;
            await CancelScope.RunAsync(async inner =>
            {
                innerScope = inner;
                inner.Cancel();
                try
                {
                    await CancelScope.CheckpointAsync();
                }
                finally
                {
                    outer.Cancel();
                }
            }, new CancelScopeOptions { Shield = true });
            codeBetweenScopesRan = true;
        });

        Assert.True(codeBetweenScopesRan);
        Assert.True(innerScope!.CancelledCaught);
        Assert.True(outerScope!.CancelCalled);
        Assert.False(outerScope.CancelledCaught);
    }

    // ------------------------------------------------------------------------------------------------
    // Shielding
    // ------------------------------------------------------------------------------------------------

    [Fact]
    public async Task ShieldAsync_GroupCancelledWhileShieldedWorkRuns_WorkCompletesThenNextSleepCancelled()
    {
        // Ports anyio test_shielding.
        var innerSleepCompleted = false;
        var outerSleepCompleted = false;
        CancelScope? shieldScope = null;
        TaskGroup? group = null;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await TaskGroup.RunAsync(async g =>
            {
                group = g;
                g.Start(async ct =>
                {
                    await CorralTest.WaitAllTasksBlockedAsync(); // the body sleeps in its shield
                    g.Scope.Cancel();
                });
                var completed = await CancelScope.ShieldAsync(async ct =>
                {
                    shieldScope = CancelScope.Current;
                    Assert.True(shieldScope!.Shield);
                    await CancelScope.SleepAsync(TimeSpan.FromMilliseconds(100));
                    innerSleepCompleted = true;
                }, TimeSpan.FromSeconds(10));
                Assert.True(completed);
                await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
                outerSleepCompleted = true;
            });
            Assert.Equal(TimeSpan.FromMilliseconds(100), clock.Elapsed); // the shielded sleep ran its whole 100 ms
        });

        Assert.True(innerSleepCompleted);
        Assert.False(outerSleepCompleted);
        Assert.True(group!.Scope.CancelCalled);
        Assert.False(shieldScope!.CancelCalled);
    }

    [Fact]
    public async Task Cancel_GroupFromInsideShieldedScope_ShieldHoldsThenEveryCheckpointAfterThrows()
    {
        // Ports anyio test_cancel_from_shielded_scope.
        await TaskGroup.RunAsync(async g =>
        {
            await CancelScope.RunAsync(async inner =>
            {
                Assert.True(inner.Shield);
                g.Cancel();
                Assert.Null(CancelScope.CurrentDeadline);
                Assert.False(inner.IsCancellationRequested);
                Assert.False(CancelScope.CurrentToken.IsCancellationRequested);
                await CancelScope.CheckpointAsync();
            }, new CancelScopeOptions { Shield = true });

            Assert.True(CancelScope.Current!.IsCancellationRequested);
            await Assert.ThrowsAsync<ScopeCancelledException>(() => CancelScope.SleepAsync(TimeSpan.FromMilliseconds(10)));
            await Assert.ThrowsAsync<ScopeCancelledException>(() => CancelScope.SleepAsync(TimeSpan.FromMilliseconds(10)));
        });
    }

    [Fact]
    public async Task Cancel_ShieldedScopeItself_CheckpointThrowsAndShieldAbsorbs()
    {
        // Ports anyio test_cancel_shielded_scope.
        CancelScope? captured = null;
        await CancelScope.RunAsync(async scope =>
        {
            captured = scope;
            Assert.True(scope.Shield);
            scope.Cancel();
            Assert.True(scope.IsCancellationRequested);
            await CancelScope.CheckpointAsync();
        }, new CancelScopeOptions { Shield = true });

        Assert.True(captured!.CancelledCaught);
    }

    [Fact]
    public async Task ShieldAsync_InFinallyOfCancelledScope_CleanupUncancelledAndCancellationResumesAfter()
    {
        // Ports anyio test_shielded_cleanup_after_cancel (anyio #832).
        var cleanedUp = false;
        CancelScope? outerScope = null;
        await CancelScope.RunAsync(async outer =>
        {
            outerScope = outer;
            outer.Cancel();
            try
            {
                await CancelScope.CheckpointAsync();
            }
            finally
            {
                Assert.True(CancelScope.Current!.IsCancellationRequested);
                await CancelScope.ShieldAsync(async ct =>
                {
                    Assert.False(ct.IsCancellationRequested);
                    Assert.False(CancelScope.Current!.IsCancellationRequested);
                    await CancelScope.CheckpointAsync();
                    await Task.Delay(TimeSpan.Zero, ct);
                    cleanedUp = true;
                });
                Assert.True(CancelScope.Current!.IsCancellationRequested);
            }
        });

        Assert.True(cleanedUp);
        Assert.True(outerScope!.CancelledCaught);
    }

    [Fact]
    public async Task Shield_ShieldedScopeCancelledByChild_SleepAborted()
    {
        // Ports anyio test_shielding_immediate_scope_cancelled.
        var sleepCompleted = false;
        await TaskGroup.RunAsync(async g =>
        {
            var completed = await CancelScope.RunAsync(async scope =>
            {
                var sleep = CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                g.Start(ct =>
                {
                    scope.Cancel();
                    return Task.CompletedTask;
                });
                await sleep;
                sleepCompleted = true;
                return true;
            }, new CancelScopeOptions { Shield = true });
            Assert.False(completed.Completed);
        });

        Assert.False(sleepCompleted);
    }

    [Fact]
    public async Task Shield_ToggledInStartedChild_GroupCancelReachesOnlyAfterUnshield()
    {
        // Ports anyio test_shielding_mutate.
        var completed = false;
        var steps = new Steps();
        var resume = Steps.Signal();
        await TaskGroup.RunAsync(async g =>
        {
            await g.StartAsync<bool>(async (signal, ct) =>
            {
                await CancelScope.RunAsync(async scope =>
                {
                    await CancelScope.CheckpointAsync();
                    scope.Shield = true;
                    signal.Started(true);
                    await resume.Task.WaitAsync(scope.Token);
                    completed = true;
                    scope.Shield = false;
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
                    steps.Never("after unshielding in a cancelled group");
                });
                steps.Never("after the scope");
            });
            g.Cancel();
            resume.SetResult();
        });

        steps.Finish(1);
        Assert.True(completed);
    }

    [Fact]
    public async Task ShieldAsync_StartingChildShieldedWhileCallerCancelled_CancellationOnlyAfterShield()
    {
        // Ports anyio test_cancel_shielding_start (anyio #837).
        var resume = Steps.Signal();
        var waiting = Steps.Signal();
        var shieldedWaitCancelled = false;
        var checkpointRaised = false;
        CancelScope? outerScope = null;
        await CancelScope.RunAsync(async outer =>
        {
            outerScope = outer;
            await TaskGroup.RunAsync(async g =>
            {
                g.Start(async ct =>
                {
                    await g.StartAsync<bool>(async (signal, ct2) =>
                    {
                        await CancelScope.ShieldAsync(async shieldToken =>
                        {
                            try
                            {
                                var wait = resume.Task.WaitAsync(shieldToken);
                                waiting.SetResult();
                                await wait;
                            }
                            catch (OperationCanceledException)
                            {
                                shieldedWaitCancelled = true;
                                throw;
                            }
                        });

                        try
                        {
                            await CancelScope.CheckpointAsync();
                        }
                        catch (OperationCanceledException)
                        {
                            checkpointRaised = true;
                            throw;
                        }
                    });
                });
                await waiting.Task;
                outer.Cancel();
                resume.SetResult();
            });
        });

        Assert.False(shieldedWaitCancelled);
        Assert.True(checkpointRaised);
        Assert.True(outerScope!.CancelledCaught);
    }

    [Fact]
    public async Task Shield_InnerOfTripleNestingCheckpointsInOuter_OuterCheckpointRaises()
    {
        // Ports anyio test_triple_nested_shield_checkpoint_in_outer (anyio #370).
        var gotPastCheckpoint = false;
        CancelScope? s1 = null, s2 = null;
        await CancelScope.RunAsync(async scope1 =>
        {
            s1 = scope1;
            await CancelScope.RunAsync(async scope2 =>
            {
                s2 = scope2;
                await CancelScope.ShieldAsync(async ct =>
                {
                    scope1.Cancel();
                    scope2.Cancel();
                    await CancelScope.CheckpointAsync();
                });
            });
            await CancelScope.CheckpointAsync();
            gotPastCheckpoint = true;
        });

        Assert.False(gotPastCheckpoint);
        Assert.False(s2!.CancelledCaught); // scope2's block ended without a checkpoint
        Assert.True(s1!.CancelledCaught);
    }

    [Fact]
    public async Task Shield_InnerOfTripleNestingCheckpointsInMiddle_MiddleCheckpointRaisesOuterAbsorbs()
    {
        // Ports anyio test_triple_nested_shield_checkpoint_in_middle.
        var gotPastCheckpoint = false;
        CancelScope? s1 = null, s2 = null;
        await CancelScope.RunAsync(async scope1 =>
        {
            s1 = scope1;
            await CancelScope.RunAsync(async scope2 =>
            {
                s2 = scope2;
                await CancelScope.ShieldAsync(async ct =>
                {
                    scope1.Cancel();
                    await CancelScope.CheckpointAsync();
                });
                await CancelScope.CheckpointAsync();
                gotPastCheckpoint = true;
            });
        });

        Assert.False(gotPastCheckpoint);
        Assert.False(s2!.CancelledCaught);
        Assert.True(s1!.CancelledCaught);
    }

    // ------------------------------------------------------------------------------------------------
    // Deadlines and timeouts
    // ------------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public async Task FailAfterAsync_DeadlinePasses_TimeoutWithDeadlineCancellationInside(int delayMs)
    {
        // Ports anyio test_fail_after (instant and delayed).
        CancelScope? scope = null;
        ScopeCancelledException? seen = null;
        var reached = false;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var ex = await Assert.ThrowsAsync<TimeoutException>(() => CancelScope.FailAfterAsync(TimeSpan.FromMilliseconds(delayMs), async ct =>
            {
                scope = CancelScope.Current;
                try
                {
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
                }
                catch (ScopeCancelledException e)
                {
                    seen = e;
                    throw;
                }

                reached = true;
            }));
            Assert.Same(seen, ex.InnerException);
            Assert.Equal(TimeSpan.FromMilliseconds(delayMs), clock.Elapsed);
        });

        Assert.False(reached);
        Assert.Contains("deadline", seen!.Message, StringComparison.Ordinal);
        Assert.Equal(CancelReasonKind.DeadlineExceeded, seen.Reason.Kind);
        Assert.True(scope!.CancelCalled);
        Assert.True(scope.CancelledCaught);
    }

    [Fact]
    public async Task FailAfterAsync_InfiniteTimeout_NoDeadlineAndNothingCancelled()
    {
        // Ports anyio test_fail_after_no_timeout and test_move_on_after_no_timeout.
        CancelScope? failScope = null, moveScope = null;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await CancelScope.FailAfterAsync(Timeout.InfiniteTimeSpan, async ct =>
            {
                failScope = CancelScope.Current;
                Assert.Null(failScope!.Deadline);
                Assert.Null(CancelScope.CurrentDeadline);
                await CancelScope.SleepAsync(TimeSpan.FromDays(365));
            });
            var completed = await CancelScope.MoveOnAfterAsync(Timeout.InfiniteTimeSpan, async ct =>
            {
                moveScope = CancelScope.Current;
                Assert.Null(CancelScope.CurrentDeadline);
                await CancelScope.SleepAsync(TimeSpan.FromDays(365));
            });
            Assert.True(completed);
            Assert.Equal(TimeSpan.FromDays(730), clock.Elapsed);
        });

        Assert.False(failScope!.CancelCalled);
        Assert.False(failScope.CancelledCaught);
        Assert.False(moveScope!.CancelCalled);
    }

    [Fact]
    public async Task FailAfterAsync_AfterAnEarlierCancelledGroup_StillTimesOut()
    {
        // Ports anyio test_fail_after_after_cancellation.
        var blockComplete = false;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await TaskGroup.RunAsync(async g =>
            {
                g.Scope.Cancel();
                await Steps.SleepForever(g.Scope.Token);
            });

            await Assert.ThrowsAsync<TimeoutException>(() => CancelScope.FailAfterAsync(TimeSpan.FromMilliseconds(100), async ct =>
            {
                await CancelScope.SleepAsync(TimeSpan.FromMilliseconds(500));
                blockComplete = true;
            }));
            Assert.Equal(TimeSpan.FromMilliseconds(100), clock.Elapsed);
        });

        Assert.False(blockComplete);
    }

    [Fact]
    public async Task FailAfterAsync_OwnCancelBeforeDeadline_NoTimeoutException()
    {
        // Ports anyio test_fail_after_cancelled_before_deadline: no TimeoutException for a cancel that was not the deadline.
        // Where anyio then returns normally, Corral raises the cancellation itself (design.md, principle 4): a Fail… block
        // returns only when its body completed, with or without a value (issue 12).
        CancelScope? scope = null;
        var thrown = await Record.ExceptionAsync(() => CorralTest.RunAsync(async (_, _) =>
        {
            await CancelScope.FailAfterAsync(TimeSpan.FromSeconds(1), async ct =>
            {
                scope = CancelScope.Current;
                scope!.Cancel();
                await CancelScope.CheckpointAsync();
            });
        }));

        var cancellation = Assert.IsType<ScopeCancelledException>(thrown);
        Assert.Same(scope, cancellation.Reason.Scope);
        Assert.True(scope!.CancelledCaught);
        Assert.Equal(CancelReasonKind.Requested, scope.CancelReason!.Kind);
    }

    [Fact]
    public async Task FailAfterAsync_GenericBodyOwnCancel_OperationCanceledNotTimeout()
    {
        // Ports anyio test_fail_after_cancelled_before_deadline for a body with a value: there is no value to return, so
        // Corral lets the cancellation go on (documented on FailAfterAsync<T>), still not as a timeout.
        await CorralTest.RunAsync(async (_, _) =>
        {
            var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => CancelScope.FailAfterAsync(TimeSpan.FromSeconds(1), async ct =>
            {
                CancelScope.Current!.Cancel();
                await CancelScope.CheckpointAsync();
                return 1;
            }));
            Assert.IsType<ScopeCancelledException>(ex);
        });
    }

    [Fact]
    public async Task FailAfterAsync_EnclosingScopeCancelledByKiller_OperationCanceledNotTimeout()
    {
        // Ports anyio test_nested_fail_after: an external cancel is never turned into a TimeoutException.
        Exception? seen = null;
        CancelScope? killed = null;
        var steps = new Steps();
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await TaskGroup.RunAsync(async g =>
            {
                await CancelScope.RunAsync(async scope =>
                {
                    killed = scope;
                    await CancelScope.RunAsync(async middle =>
                    {
                        g.Start(async ct =>
                        {
                            await CorralTest.WaitAllTasksBlockedAsync(); // the body sleeps in FailAfterAsync
                            scope.Cancel();
                        }, "killer");
                        try
                        {
                            await CancelScope.FailAfterAsync(TimeSpan.FromSeconds(1), async ct =>
                            {
                                await CancelScope.SleepAsync(TimeSpan.FromSeconds(2));
                                steps.Never("after the sleep");
                            });
                        }
                        catch (Exception e)
                        {
                            seen = e;
                            throw;
                        }

                        steps.Never("after FailAfterAsync");
                    });
                    steps.Never("after the middle scope");
                });
            });
            Assert.Equal(TimeSpan.Zero, clock.Elapsed);
        });

        steps.Finish(1);
        var cancelled = Assert.IsType<ScopeCancelledException>(seen);
        Assert.Same(killed, cancelled.Scope);
        Assert.True(killed!.CancelCalled);
        Assert.True(killed.CancelledCaught);
    }

    [Fact]
    public async Task FailAfterAsync_InsideShieldWhileOuterKilled_TimeoutReportedByGroup()
    {
        // Ports anyio test_nested_shield.
        TaskGroupException? ex = null;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(async g =>
            {
                await CancelScope.RunAsync(async scope =>
                {
                    await CancelScope.ShieldAsync(async ct =>
                    {
                        g.Start(async ct2 =>
                        {
                            await CorralTest.WaitAllTasksBlockedAsync(); // the body sleeps in FailAfterAsync
                            scope.Cancel();
                        }, "killer");
                        await CancelScope.FailAfterAsync(TimeSpan.FromMilliseconds(200), async ct3 =>
                            await CancelScope.SleepAsync(TimeSpan.FromSeconds(2)));
                    });
                });
            }));
            Assert.Equal(TimeSpan.FromMilliseconds(200), clock.Elapsed); // the shield kept the killer's cancel out
        });

        Assert.IsType<TimeoutException>(Assert.Single(ex!.Failures).Exception);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public async Task MoveOnAfterAsync_DeadlinePasses_CutOffAndScopeCaught(int delayMs)
    {
        // Ports anyio test_move_on_after (instant and delayed).
        var result = false;
        CancelScope? scope = null;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            Assert.False(await CancelScope.MoveOnAfterAsync(TimeSpan.FromMilliseconds(delayMs), async ct =>
            {
                scope = CancelScope.Current;
                await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
                result = true;
            }));
            Assert.Equal(TimeSpan.FromMilliseconds(delayMs), clock.Elapsed);
        });

        Assert.False(result);
        Assert.True(scope!.CancelCalled);
        Assert.True(scope.CancelledCaught);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    public async Task FailAtAndMoveOnAt_DeadlinePasses_TimeoutAndCutOff(int delayMs)
    {
        // Ports anyio test_fail_at and test_move_on_at (instant and delayed).
        CancelScope? failScope = null, moveScope = null;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var deadline = clock.GetUtcNow() + TimeSpan.FromMilliseconds(delayMs);
            var fail = CancelScope.FailAtAsync(deadline, async ct =>
            {
                failScope = CancelScope.Current;
                await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
            });
            var move = CancelScope.MoveOnAtAsync(deadline, async ct =>
            {
                moveScope = CancelScope.Current;
                await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
            });
            var ex = await Assert.ThrowsAsync<TimeoutException>(() => fail);
            Assert.Contains("deadline", ex.InnerException!.Message, StringComparison.Ordinal);
            Assert.False(await move);
            Assert.Equal(deadline, clock.GetUtcNow());
        });

        Assert.True(failScope!.CancelledCaught);
        Assert.True(moveScope!.CancelledCaught);
    }

    [Fact]
    public async Task MoveOnAfterAsync_NestedInnerLonger_OuterDeadlineEffectiveAndOuterAbsorbs()
    {
        // Ports anyio test_nested_move_on_after.
        var sleepCompleted = false;
        var innerScopeCompleted = false;
        CancelScope? outerScope = null, innerScope = null;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            Assert.False(await CancelScope.MoveOnAfterAsync(TimeSpan.FromMilliseconds(100), async ct =>
            {
                outerScope = CancelScope.Current;
                Assert.Equal(outerScope!.Deadline, CancelScope.CurrentDeadline);
                await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), async ct2 =>
                {
                    innerScope = CancelScope.Current;
                    Assert.Equal(outerScope.Deadline, CancelScope.CurrentDeadline);
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(2));
                    sleepCompleted = true;
                });
                innerScopeCompleted = true;
            }));
            Assert.Equal(TimeSpan.FromMilliseconds(100), clock.Elapsed);
        });

        Assert.False(sleepCompleted);
        Assert.False(innerScopeCompleted);
        Assert.True(outerScope!.CancelCalled);
        Assert.True(outerScope.CancelledCaught);
        Assert.False(innerScope!.CancelCalled);
        Assert.False(innerScope.CancelledCaught);
    }

    [Fact]
    public async Task MoveOnAfterAsync_CutOff_CheckpointAfterwardPassesAndOuterCancelWithoutCheckpointIsQuiet()
    {
        // Ports anyio test_cancel_scope_cleared and test_escaping_cancelled_error_from_cancelled_task (anyio #88).
        CancelScope? outerScope = null;
        await CorralTest.RunAsync(async (_, _) => await CancelScope.RunAsync(async root =>
        {
            await CancelScope.RunAsync(async scope =>
            {
                outerScope = scope;
                Assert.False(await CancelScope.MoveOnAfterAsync(TimeSpan.FromMilliseconds(100), async ct =>
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(1))));
                await CancelScope.CheckpointAsync(); // the cut-off scope's cancellation stayed inside it
                scope.Cancel();
            });
            await CancelScope.CheckpointAsync();
            Assert.False(root.IsCancellationRequested);
        }));

        Assert.True(outerScope!.CancelCalled);
        Assert.False(outerScope.CancelledCaught);
    }

    [Fact]
    public async Task CurrentDeadline_ShieldBetweenTwoDeadlines_OuterDeadlineIgnored()
    {
        // Ports anyio test_shielded_deadline.
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var now = clock.GetUtcNow();
            await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(10), async ct =>
            {
                Assert.Equal(now + TimeSpan.FromSeconds(10), CancelScope.CurrentDeadline);
                await CancelScope.ShieldAsync(async ct2 =>
                {
                    Assert.Null(CancelScope.CurrentDeadline);
                    await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1000), async ct3 =>
                    {
                        Assert.Equal(now + TimeSpan.FromSeconds(1000), CancelScope.CurrentDeadline);
                        await CancelScope.CheckpointAsync();
                    });
                });
            });
        });
    }

    [Fact]
    public async Task MoveOnAfterAsync_ZeroTimeout_FirstCheckpointCutsOff()
    {
        // Ports anyio test_deadline_reached_on_start.
        var steps = new Steps();
        await CorralTest.RunAsync(async (_, _) =>
        {
            var completed = await CancelScope.MoveOnAfterAsync(TimeSpan.Zero, async ct =>
            {
                Assert.True(ct.IsCancellationRequested);
                steps.Expect(1);
                await CancelScope.CheckpointAsync();
                steps.Never("after the checkpoint");
            });
            Assert.False(completed);
        });

        steps.Finish(2);
    }

    [Fact]
    public async Task FailAfterAsync_DeadlineMovedLater_BodyFinishesWithoutTimeout()
    {
        // Ports anyio test_deadline_moved.
        var finished = false;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await CancelScope.FailAfterAsync(TimeSpan.FromMilliseconds(100), async ct =>
            {
                var scope = CancelScope.Current!;
                scope.Deadline += TimeSpan.FromMilliseconds(300);
                await CancelScope.SleepAsync(TimeSpan.FromMilliseconds(200));
                finished = true;
            });
            Assert.Equal(TimeSpan.FromMilliseconds(200), clock.Elapsed);
        });

        Assert.True(finished);
    }

    [Fact]
    public async Task FailAfterAsync_GroupInsideWithSleepingChildAndBody_SingleTimeoutException()
    {
        // Ports anyio test_timeout_error_with_multiple_cancellations.
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await Assert.ThrowsAsync<TimeoutException>(() => CancelScope.FailAfterAsync(TimeSpan.FromMilliseconds(100), async ct =>
                await TaskGroup.RunAsync(async g =>
                {
                    g.Start(async ct2 => await CancelScope.SleepAsync(TimeSpan.FromSeconds(2)));
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(2));
                })));
            Assert.Equal(TimeSpan.FromMilliseconds(100), clock.Elapsed);
        });
    }

    // ------------------------------------------------------------------------------------------------
    // start / started
    // ------------------------------------------------------------------------------------------------

    [Fact]
    public async Task StartAsync_WithValueAndWithout_ReturnWhenStarted()
    {
        // Ports anyio test_start_with_value and test_start_no_value.
        await TaskGroup.RunAsync(async g =>
        {
            var value = await g.StartAsync<string>((signal, ct) =>
            {
                signal.Started("foo");
                return Task.CompletedTask;
            });
            Assert.Equal("foo", value);

            StartSignal? seen = null;
            await g.StartAsync((signal, ct) =>
            {
                seen = signal;
                signal.Started();
                return Task.CompletedTask;
            });
            Assert.True(seen!.IsStarted);
        });
    }

    [Fact]
    public async Task StartAsync_GroupCancelledRightAfterStart_CompletesWithoutError()
    {
        // Ports anyio test_no_called_started_twice.
        await TaskGroup.RunAsync(async g =>
        {
            var starting = g.StartAsync<bool>((signal, ct) =>
            {
                signal.Started(true);
                return Task.CompletedTask;
            });
            g.Scope.Cancel();
            Assert.True(await starting);
        });
    }

    [Fact]
    public async Task StartAsync_GroupAlreadyCancelled_ChildRunsUntilCheckpointAndCallerCancelled()
    {
        // Ports anyio test_start_cancelled.
        var started = false;
        var finished = false;
        TaskGroup? group = null;
        await TaskGroup.RunAsync(async g =>
        {
            group = g;
            g.Scope.Cancel();
            await g.StartAsync<bool>(async (signal, ct) =>
            {
                started = true;
                await CancelScope.SleepAsync(TimeSpan.FromSeconds(2));
                finished = true;
            });
        });

        Assert.True(started);
        Assert.False(finished);
        Assert.True(group!.Scope.CancelledCaught);
    }

    [Fact]
    public async Task StartAsync_CallerScopeCancelledBeforeStarted_ChildCancelledCallerAbsorbsGroupUntouched()
    {
        // Ports anyio test_start_cancels_parent_scope (anyio #685 / #710).
        var started = false;
        CancelScope? innerScope = null;
        TaskGroup? group = null;
        await TaskGroup.RunAsync(async g =>
        {
            group = g;
            await CancelScope.RunAsync(async inner =>
            {
                innerScope = inner;
                inner.Cancel();
                await g.StartAsync<bool>(async (signal, ct) =>
                {
                    started = true;
                    Assert.True(ct.IsCancellationRequested);
                    await Steps.SleepForever(ct);
                });
            });
        });

        Assert.True(started);
        Assert.True(innerScope!.CancelledCaught);
        Assert.False(group!.Scope.CancelCalled);
    }

    [Fact]
    public async Task StartAsync_CallersGroupFailsBeforeStarted_StartingChildCancelledAndNestedFailureReported()
    {
        // Ports anyio test_start_cancel_after_error (anyio #517): until it signals, a starting child runs under the caller's
        // scope, so a failure that cancels the caller cancels it.
        var gate = Steps.Signal();
        var sleepCompleted = false;
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(async outerGroup =>
            await TaskGroup.RunAsync(async innerGroup =>
            {
                innerGroup.Start(async ct =>
                {
                    await gate.Task;
                    throw new InvalidOperationException("This should cancel the second start() call");
                });
                var starting = outerGroup.StartAsync<bool>(async (signal, ct) =>
                {
                    await Steps.SleepForever(ct);
                    sleepCompleted = true;
                    signal.Started(true);
                });
                gate.SetResult();
                await starting;
            })));

        var nested = Assert.IsType<TaskGroupException>(Assert.Single(ex.Failures).Exception);
        Assert.IsType<InvalidOperationException>(Assert.Single(nested.Failures).Exception);
        Assert.Single(ex.GetExceptions<InvalidOperationException>());
        Assert.False(sleepCompleted);
    }

    [Fact]
    public async Task StartAsync_ChildFailsAfterStarted_GroupReportsItAndValueWasReturned()
    {
        // Ports anyio test_start_crash_after_started_call.
        var value = 0;
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(async g =>
        {
            value = await g.StartAsync<int>((signal, ct) =>
            {
                signal.Started(2);
                throw new InvalidOperationException("foo");
            });
        }));

        Assert.Equal(2, value);
        Assert.Equal("foo", Assert.Single(ex.Failures).Exception.Message);
    }

    [Fact]
    public async Task StartAsync_AfterGroupClosed_ThrowsInvalidOperation()
    {
        // Ports anyio test_start_already_closed.
        TaskGroup? group = null;
        await TaskGroup.RunAsync(g =>
        {
            group = g;
            return Task.CompletedTask;
        });

        Assert.Throws<InvalidOperationException>(() =>
        {
            _ = group!.StartAsync((signal, ct) =>
            {
                signal.Started();
                return Task.CompletedTask;
            });
        });
    }

    // ------------------------------------------------------------------------------------------------
    // Reasons
    // ------------------------------------------------------------------------------------------------

    [Fact]
    public async Task Cancel_WithReason_ReasonOnScopeAndOnExceptionNamesTheScope()
    {
        // Ports anyio test_cancel_reason.
        ScopeCancelledException? ex = null;
        CancelScope? captured = null;
        await CancelScope.RunAsync(async scope =>
        {
            captured = scope;
            scope.Cancel("test reason");
            ex = await Steps.CheckpointThrows();
        }, new CancelScopeOptions { Name = "worker" });

        var reason = captured!.CancelReason!;
        Assert.Equal(CancelReasonKind.Requested, reason.Kind);
        Assert.Equal("test reason", reason.Message);
        Assert.Same(captured, reason.Scope);
        Assert.Null(reason.Exception);
        Assert.Same(reason, ex!.Reason);
        Assert.Same(captured, ex.Scope);
        Assert.Contains("test reason", ex.Message, StringComparison.Ordinal);
        Assert.Contains("worker", ex.Message, StringComparison.Ordinal);
        Assert.Equal("scope 'worker': test reason", reason.ToString());
    }

    [Fact]
    public async Task Cancel_WithoutReason_DefaultMessage()
    {
        // Ports anyio test_cancel_reason (no reason given).
        CancelScope? captured = null;
        await CancelScope.RunAsync(async scope =>
        {
            captured = scope;
            scope.Cancel();
            await CancelScope.CheckpointAsync();
        });

        Assert.Equal(CancelReasonKind.Requested, captured!.CancelReason!.Kind);
        Assert.Equal("cancel requested", captured.CancelReason.Message);
    }

    [Fact]
    public async Task CancelReason_DeadlineAndAncestor_KindAndScopeTellThemApart()
    {
        // Ports anyio test_fail_after_reason / test_cancel_reason: a deadline says so, and a nested scope reports its
        // ancestor's reason with the ancestor as Scope.
        ScopeCancelledException? ex = null;
        CancelReason? innerReason = null;
        CancelScope? outerScope = null, innerScope = null;
        await CorralTest.RunAsync(async (clock, _) =>
        {
            Assert.False(await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), async ct =>
            {
                outerScope = CancelScope.Current;
                await CancelScope.RunAsync(async inner =>
                {
                    innerScope = inner;
                    try
                    {
                        await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                    }
                    catch (ScopeCancelledException e)
                    {
                        ex = e;
                        innerReason = inner.CancelReason;
                        throw;
                    }
                });
            }));
            Assert.Equal(TimeSpan.FromSeconds(1), clock.Elapsed);
        });

        Assert.Equal(CancelReasonKind.DeadlineExceeded, ex!.Reason.Kind);
        Assert.Equal("deadline exceeded", ex.Reason.Message);
        Assert.Same(outerScope, ex.Scope);
        Assert.Same(outerScope, innerReason!.Scope);
        Assert.Same(ex.Reason, innerReason);
        Assert.False(innerScope!.CancelCalled);
        Assert.False(innerScope.CancelledCaught);
    }

    [Fact]
    public async Task CancelReason_SiblingFailed_NamesTaskAndCarriesException()
    {
        // Ports anyio test_exception_cancels_siblings with Corral's reasons: the sibling learns who failed and with what.
        var thrown = new InvalidOperationException("boom");
        ScopeCancelledException? seen = null;
        TaskGroup? group = null;
        await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            group = g;
            g.Start(async ct =>
            {
                try
                {
                    await Steps.SleepForever(ct);
                }
                catch (OperationCanceledException)
                {
                    // caught once; the next checkpoint tells why
                }

                try
                {
                    await CancelScope.CheckpointAsync();
                }
                catch (ScopeCancelledException e)
                {
                    seen = e;
                    throw;
                }
            }, "sibling");
            g.Start(_ => throw thrown, "crasher");
            return Task.CompletedTask;
        }));

        var reason = group!.Scope.CancelReason!;
        Assert.Equal(CancelReasonKind.TaskFailed, reason.Kind);
        Assert.Same(thrown, reason.Exception);
        Assert.Contains("crasher", reason.Message, StringComparison.Ordinal);
        Assert.Same(reason, seen!.Reason);
    }
}
