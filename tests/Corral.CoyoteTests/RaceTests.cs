using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Coyote.Random;
using Microsoft.Extensions.Time.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Corral.CoyoteTests;

/// <summary>
/// The core's races (the lists at the top of CancelScope.cs and TaskGroup.cs), each explored by Coyote over at least
/// <see cref="Explore.CiIterations"/> schedules. Every test ends by checking the invariants once all its racers returned.
/// </summary>
public sealed class RaceTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset s_epoch = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private sealed class Boom(string message) : Exception(message);

    /// <summary>
    /// The lazy sweep of the group's task list (TaskGroup.Track): children finishing on other tasks, each counting and
    /// marking itself without the lock, race the body starting more children, whose Track sweeps under the lock. A child
    /// that has not returned is never missing from LiveTasks, a finished one is never in it, and the closed group lists none.
    /// </summary>
    [Fact]
    public void Track_SweepRacingChildrenThatFinish_LiveTasksNeverLoseARunningTask()
    {
        Explore.Run(output, async () =>
        {
            const int Gated = 40;
            var returned = new int[Gated];
            TaskGroup? group = null;
            await TaskGroup.RunAsync(async g =>
            {
                group = g;
                var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                for (var i = 0; i < Gated; i++)
                {
                    var index = i;
                    g.Start(
                        async _ =>
                        {
                            await release.Task;
                            Volatile.Write(ref returned[index], 1);
                        },
                        name: $"gated {index}");
                }

                var racer = Task.Run(release.SetResult);
                for (var i = 0; i < 40; i++)
                {
                    g.Start(_ => Task.CompletedTask, name: "instant"); // each Track may sweep while gated children finish

                    // List first, then read who has not returned: a child that has not returned after the listing had
                    // not finished during it, so it must be listed (a sweep must never drop a running task).
                    var live = new HashSet<string>();
                    foreach (var task in g.LiveTasks())
                    {
                        Assert.True(task.Name != "instant", "a finished task is listed as live");
                        live.Add(task.Name);
                    }

                    for (var j = 0; j < Gated; j++)
                    {
                        if (Volatile.Read(ref returned[j]) == 0)
                        {
                            Assert.True(live.Contains($"gated {j}"), $"running task 'gated {j}' is missing from the live tasks");
                        }
                    }
                }

                await racer;
            });

            Assert.Empty(group!.LiveTasks());
        });
    }

    /// <summary>TaskGroup race 1: a Start from another task racing the group's close is either run before the group returns, or refused.</summary>
    [Fact]
    public void Start_RacingTheClose_RunsBeforeReturnOrIsRefused()
    {
        Explore.Run(output, async () =>
        {
            var running = new Invariants.Running();
            TaskGroup? group = null;
            var admitted = 0;
            var refused = 0;
            var handOver = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var racer = Task.Run(async () =>
            {
                await handOver.Task;
                try
                {
                    group!.Start(async _ =>
                    {
                        running.Enter();
                        await Task.Yield();
                        running.Leave();
                    });
                    Interlocked.Increment(ref admitted);
                }
                catch (InvalidOperationException)
                {
                    Interlocked.Increment(ref refused);
                }
            });

            await TaskGroup.RunAsync(g =>
            {
                group = g;
                g.Start(async _ =>
                {
                    running.Enter();
                    await Task.Yield();

                    // A child starting a grandchild while the group waits for it: also raced by the close.
                    g.Start(async _ =>
                    {
                        running.Enter();
                        await Task.Yield();
                        running.Leave();
                    });
                    running.Leave();
                });
                handOver.SetResult();
                return Task.CompletedTask;
            });

            var stillRunning = running.Count;
            var enteredAtClose = running.Entered;
            await racer;
            Assert.True(stillRunning == 0, $"{stillRunning} task(s) outlived their group");
            Assert.True(admitted + refused == 1, $"the late Start was admitted {admitted} and refused {refused} times");
            Assert.True(enteredAtClose == 2 + admitted, $"{enteredAtClose} tasks ran before the close; expected {2 + admitted}");
            Assert.True(group!.IsClosed, "RunAsync returned before the group closed");
        });
    }

    /// <summary>
    /// TaskGroup race 3: Cancel from another task racing children that finish, fail, check their token, or wait. The failure
    /// is reported once, a child's cancellation is never a failure, and the group waits for all.
    /// </summary>
    [Fact]
    public void Cancel_RacingChildCompletion_FailureReportedOnceCancellationNever()
    {
        Explore.Run(output, async () =>
        {
            var failFirst = Generator.Create().NextBoolean();
            var running = new Invariants.Running();
            var boom = new Boom("child failed");
            TaskGroup? group = null;
            Task? racer = null;
            var thrown = await Record(() => TaskGroup.RunAsync(g =>
            {
                group = g;
                racer = Task.Run(() => g.Cancel("racer"));
                g.Start(Leaf(running, async ct => await Task.Yield()), "finishes");
                g.Start(Leaf(running, async ct => { await Task.Yield(); ct.ThrowIfCancellationRequested(); }), "checks");
                g.Start(Leaf(running, ct => Waits.UntilCancelledAsync(ct)), "waits");
                if (failFirst)
                {
                    g.Start(Leaf(running, async ct => { await Task.Yield(); throw boom; }), "fails");
                }

                return Task.CompletedTask;
            }));
            await racer!;

            Assert.True(running.Count == 0, $"{running.Count} task(s) outlived their group");
            Assert.True(group!.Scope.IsExited, "the group's scope did not exit");
            if (failFirst)
            {
                var e = Assert.IsType<TaskGroupException>(thrown);
                Assert.True(e.Failures.Count == 1, $"expected only the failure, got: {Describe(e)}");
                Assert.True(Invariants.TimesReported(e, boom) == 1, "the failure was not reported exactly once");
                var reason = group.Scope.CancelReason!;
                Assert.True(reason.Kind == CancelReasonKind.TaskFailed || reason.Message == "racer", $"unexpected reason {reason}");
            }
            else
            {
                Assert.True(thrown is null, $"nothing failed, yet the group threw {thrown}");
                Assert.True(group.Scope.CancelledCaught, "the group absorbed its own cancel but did not record it");
                Assert.Equal("racer", group.Scope.CancelReason!.Message);
            }
        });
    }

    /// <summary>
    /// A deadline firing (FakeTimeProvider.Advance on another task) as its scope exits: it never fires early, a cut-off
    /// body reports false, and a timer that comes after the exit changes nothing.
    /// </summary>
    [Fact]
    public void Deadline_FiringAsTheScopeExits_NeverEarlyNeverAfterExit()
    {
        Explore.Run(output, async () =>
        {
            var clock = new FakeTimeProvider(s_epoch);
            var steps = 1 + Generator.Create().NextInteger(3);
            await CancelScope.RunAsync(
                async root =>
                {
                    var deadline = clock.GetUtcNow() + TimeSpan.FromSeconds(1);
                    CancelScope? inner = null;
                    DateTimeOffset? firedAt = null;
                    var advancer = Task.Run(() =>
                    {
                        for (var i = 0; i < steps; i++)
                        {
                            clock.Advance(TimeSpan.FromSeconds(1.0 / steps));
                        }
                    });
                    var completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), async ct =>
                    {
                        inner = CancelScope.Current!;
                        ct.Register(() => firedAt = clock.GetUtcNow());
                        for (var i = 0; i < 3; i++)
                        {
                            // Level-triggered and never early: cancelled implies the clock has reached the deadline.
                            Assert.True(!ct.IsCancellationRequested || clock.GetUtcNow() >= deadline, "deadline fired early");
                            await Task.Yield();
                        }

                        await CancelScope.CheckpointAsync();
                    });
                    var cancelledAtExit = inner!.CancelCalled;
                    await advancer;

                    Assert.True(firedAt is null || firedAt >= deadline, $"deadline {deadline:O} fired early at {firedAt:O}");
                    if (!completed)
                    {
                        Assert.True(cancelledAtExit, "cut off, yet the scope's own cancel was not called");
                        Assert.Equal(CancelReasonKind.DeadlineExceeded, inner.CancelReason!.Kind);
                        Assert.True(inner.CancelledCaught, "cut off but CancelledCaught is false");
                    }

                    clock.Advance(TimeSpan.FromSeconds(5));
                    Assert.True(firedAt is null || firedAt >= deadline, $"deadline {deadline:O} fired early at {firedAt:O}");
                    Assert.True(!inner.CancelCalled || inner.CancelReason!.Kind == CancelReasonKind.DeadlineExceeded, "cancelled by something else than its deadline");
                    Assert.False(root.IsCancellationRequested, "a child's deadline cancelled its parent");

                    // That the exited scope stays as it was at exit is CoreBugTests.Deadline_FiringAsTheScopeExits_ExitedScopeUnchanged.
                },
                new CancelScopeOptions { TimeProvider = clock, Name = "root" });
        });
    }

    /// <summary>
    /// StartAsync: the child calls Started from another task while it fails. Whichever wins, the failure is reported
    /// exactly once (to the group, or through the caller's await), and the group closes.
    /// </summary>
    [Fact]
    public void Started_RacingAFailure_ReportedOnceAndTheGroupCloses()
    {
        Explore.Run(output, async () =>
        {
            var boom = new Boom("failed while starting");
            var signalled = 0;
            var refusedSignal = 0;
            Task? racer = null;
            TaskGroup? group = null;
            var value = 0;
            var thrown = await Record(() => TaskGroup.RunAsync(async g =>
            {
                group = g;
                value = await g.StartAsync<int>(async (signal, ct) =>
                {
                    racer = Task.Run(() =>
                    {
                        try
                        {
                            signal.Started(42);
                            Interlocked.Increment(ref signalled);
                        }
                        catch (InvalidOperationException)
                        {
                            Interlocked.Increment(ref refusedSignal);
                        }
                    }, CancellationToken.None);
                    await Task.Yield();
                    throw boom;
                }, "starter");
            }, new TaskGroupOptions { Name = "group" }));
            await racer!;

            var e = Assert.IsType<TaskGroupException>(thrown);
            Assert.True(signalled + refusedSignal == 1, $"Started succeeded {signalled} and was refused {refusedSignal} times");
            Assert.True(Invariants.TimesReported(e, boom) == 1, $"the failure was reported {Invariants.TimesReported(e, boom)} times: {Describe(e)}");
            Assert.True(e.Failures.Count == 1, $"more than the one failure: {Describe(e)}");
            Assert.True(signalled == 0 || value == 42, "Started won but the caller did not get the value");
            Assert.True(group!.IsClosed, "the group returned before closing");

            // That the child's scope is not left linked is CoreBugTests.StartAsync_StartedAsTheChildEnds_NoExitedScopeLeftLinked.
        });
    }

    /// <summary>
    /// CancelScope race 4 and race 1: Cancel from four tasks at once while a fifth opens a nested scope. One reason wins
    /// everywhere, every token is cancelled, and each callback runs once.
    /// </summary>
    [Fact]
    public void Cancel_FromManyTasksAtOnce_OneReasonEveryTokenOnce()
    {
        Explore.Run(output, async () =>
        {
            var callbacks = 0;
            CancelScope? outerScope = null;
            CancelScope? late = null;
            await CancelScope.RunAsync(async outer =>
            {
                outerScope = outer;
                outer.Token.Register(() => Interlocked.Increment(ref callbacks));
                var racers = new List<Task>();
                await TaskGroup.RunAsync(async g =>
                {
                    g.Start(ct => Waits.UntilCancelledAsync(ct), "waits");
                    for (var i = 0; i < 4; i++)
                    {
                        var reason = $"thread {i}";
                        racers.Add(Task.Run(() => outer.Cancel(reason), CancellationToken.None));
                    }

                    // Race case 1: a scope created while the cancel propagates.
                    racers.Add(Task.Run(
                        () => CancelScope.RunAsync(async s =>
                        {
                            late = s;
                            _ = s.Token;
                            await Task.Yield();
                        }),
                        CancellationToken.None));
                    await Task.WhenAll(racers.ToArray());

                    Assert.True(outer.CancelCalled, "no cancel won");
                    Assert.StartsWith("thread ", outer.CancelReason!.Message, StringComparison.Ordinal);
                    Invariants.VerdictMatchesToken(outer, "outer");
                    Invariants.VerdictMatchesToken(g.Scope, "group");
                    Invariants.Settled(outer);
                    Assert.True(late!.IsExited, "the late scope did not exit");
                    await CancelScope.CheckpointAsync();
                });
                Assert.Fail("the group returned normally although its parent was cancelled");
            });

            // The group's exit re-raised the outer cancellation, and the outer scope absorbed it.
            Assert.True(outerScope!.CancelledCaught, "the outer scope did not absorb its own cancellation");
            Assert.True(callbacks == 1, $"the token callback ran {callbacks} times");
            Assert.False(late!.CancelCalled, "impossible: the late scope cancelled itself");
        });
    }

    /// <summary>
    /// CancelScope race 3: a shield raised (and maybe lowered again) on another task while an ancestor's cancel propagates.
    /// Once both return, the shielded scope and its descendant follow the final shield: verdict, token and checkpoints agree.
    /// </summary>
    [Fact]
    public void Shield_ToggledDuringACancel_FinalShieldDecides()
    {
        Explore.Run(output, async () =>
        {
            var lowerAgain = Generator.Create().NextBoolean();
            var readTokenEarly = Generator.Create().NextBoolean();
            await CancelScope.RunAsync(async outer =>
            {
                await CancelScope.RunAsync(async inner =>
                {
                    await CancelScope.RunAsync(async leaf =>
                    {
                        if (readTokenEarly)
                        {
                            _ = inner.Token;
                            _ = leaf.Token;
                        }

                        var canceller = Task.Run(() => outer.Cancel("outer"));
                        var toggler = Task.Run(() =>
                        {
                            inner.Shield = true;
                            if (lowerAgain)
                            {
                                inner.Shield = false;
                            }
                        });
                        await Task.WhenAll(new[] { canceller, toggler });

                        Assert.True(inner.IsCancellationRequested == lowerAgain, $"shield {(lowerAgain ? "lowered" : "up")}, yet inner verdict is {inner.IsCancellationRequested}");
                        Invariants.VerdictMatchesToken(outer, "outer");
                        Invariants.VerdictMatchesToken(inner, "inner");
                        Invariants.VerdictMatchesToken(leaf, "leaf");
                        Invariants.Settled(inner);
                        Assert.True(CheckpointThrows() == lowerAgain, "a checkpoint disagrees with the verdict");

                        // Lower the shield: the leaf's cancellation must arrive.
                        inner.Shield = false;
                        Invariants.VerdictMatchesToken(inner, "inner after lowering");
                        Invariants.VerdictMatchesToken(leaf, "leaf after lowering");
                        Assert.True(leaf.IsCancellationRequested, "cancellation did not reach the leaf once the shield went down");
                        Assert.True(CheckpointThrows(), "a checkpoint passed in a cancelled scope");
                    });
                });
            });
        });
    }

    /// <summary>
    /// Deadline moved (later, earlier, or removed) on one task while another advances the clock and a third cancels.
    /// A deadline never fires before the clock reaches one the scope had; and once the clock is past the final deadline, the
    /// scope is cancelled (no move loses it).
    /// </summary>
    [Fact]
    public void Deadline_MovedDuringACancel_NeverEarlyNeverLost()
    {
        Explore.Run(output, async () =>
        {
            var clock = new FakeTimeProvider(s_epoch);
            var move = Generator.Create().NextInteger(3);
            var alsoCancel = Generator.Create().NextBoolean();
            var first = s_epoch + TimeSpan.FromSeconds(10);
            DateTimeOffset? moved = move switch
            {
                0 => s_epoch + TimeSpan.FromSeconds(20),
                1 => s_epoch + TimeSpan.FromSeconds(5),
                _ => null,
            };
            var earliest = moved is { } m && m < first ? m : first;
            await CancelScope.RunAsync(
                async root =>
                {
                    await CancelScope.RunAsync(
                        async scope =>
                        {
                            DateTimeOffset? firedAt = null;
                            scope.Token.Register(() => firedAt = clock.GetUtcNow());
                            var racers = new List<Task>
                            {
                                Task.Run(() => scope.Deadline = moved),
                                Task.Run(() => clock.Advance(TimeSpan.FromSeconds(10))),
                            };
                            if (alsoCancel)
                            {
                                racers.Add(Task.Run(() => scope.Cancel("explicit")));
                            }

                            await Task.WhenAll(racers.ToArray());
                            Invariants.VerdictMatchesToken(scope, "scope");
                            if (scope.CancelReason is { Kind: CancelReasonKind.DeadlineExceeded })
                            {
                                Assert.True(firedAt >= earliest, $"deadline fired early at {firedAt:O}; earliest deadline {earliest:O}");
                            }

                            Assert.True(alsoCancel || scope.CancelReason is null or { Kind: CancelReasonKind.DeadlineExceeded }, "cancelled with no cause");
                            if (moved is { } final && clock.GetUtcNow() >= final + TimeSpan.FromTicks(1))
                            {
                                // The clock passed the final deadline with no race left: it must have fired.
                                Assert.True(scope.IsCancellationRequested, $"deadline {final:O} lost: clock at {clock.GetUtcNow():O}");
                            }

                            clock.Advance(TimeSpan.FromSeconds(30));
                            if (scope.Deadline is not null)
                            {
                                Assert.True(scope.IsCancellationRequested, $"deadline {scope.Deadline:O} never fired; clock at {clock.GetUtcNow():O}");
                            }

                            Assert.False(root.IsCancellationRequested, "a child's deadline reached its parent");
                            await CancelScope.CheckpointAsync();
                        },
                        new CancelScopeOptions { Deadline = first, Name = "moving" });
                },
                new CancelScopeOptions { TimeProvider = clock, Name = "root" });
        });
    }

    /// <summary>
    /// CancelScope races 6-10 (CancelScope.Stop.cs): a stop request on one task, while others open a child scope, read a
    /// stopping token, toggle a shield, cancel, ask again with a shorter grace, and advance the clock past the grace. Once all
    /// return, the stop and cancel verdicts and both tokens agree with their inputs, a child opened at any point is stopping
    /// unless shielded, and the grace never cancels before the clock reaches it.
    /// </summary>
    [Fact]
    public void RequestStop_RacingOpenCancelShieldAndTheGrace_VerdictsSettleNeverEarly()
    {
        Explore.Run(output, async () =>
        {
            var clock = new FakeTimeProvider(s_epoch);
            var alsoCancel = Generator.Create().NextBoolean();
            var shieldChild = Generator.Create().NextBoolean();
            var askAgain = Generator.Create().NextBoolean();
            await CancelScope.RunAsync(
                async outer =>
                {
                    DateTimeOffset? cancelledAt = null;
                    outer.Token.Register(() => cancelledAt = clock.GetUtcNow());
                    var childSeen = new TaskCompletionSource<CancelScope>(TaskCreationOptions.RunContinuationsAsynchronously);
                    var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    var child = Task.Run(() => CancelScope.RunAsync(
                        async c =>
                        {
                            _ = c.StoppingToken;
                            childSeen.SetResult(c);
                            await release.Task;
                        },
                        new CancelScopeOptions { Shield = shieldChild, Name = "child" }));
                    var racers = new List<Task>
                    {
                        Task.Run(() => outer.RequestStop(TimeSpan.FromSeconds(10), "first")),
                        Task.Run(() => clock.Advance(TimeSpan.FromSeconds(5))),
                        Task.Run(() => _ = outer.StoppingToken),
                    };
                    if (askAgain)
                    {
                        racers.Add(Task.Run(() => outer.RequestStop(TimeSpan.FromSeconds(2), "second")));
                    }

                    if (alsoCancel)
                    {
                        racers.Add(Task.Run(() => outer.Cancel("explicit")));
                    }

                    await Task.WhenAll(racers.ToArray());
                    var inner = await childSeen.Task;
                    Invariants.VerdictMatchesToken(outer, "outer");
                    Invariants.VerdictMatchesToken(inner, "child");
                    Assert.True(outer.IsStopRequested, "the stop request was lost");
                    Assert.True(outer.StoppingToken.IsCancellationRequested, "the stopping token missed the request");
                    Assert.True(inner.IsStopRequested == !shieldChild || inner.IsCancellationRequested, $"child stopping {inner.IsStopRequested}, shielded {shieldChild}");
                    Assert.True(inner.StoppingToken.IsCancellationRequested == inner.IsStopRequested, "the child's stopping token disagrees with its verdict");
                    if (outer.CancelReason is { Kind: CancelReasonKind.StopRequested } reason)
                    {
                        var earliest = reason.Message.Contains("second", StringComparison.Ordinal) ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(10);
                        Assert.True(cancelledAt >= s_epoch + earliest, $"the grace ran out early at {cancelledAt:O} ({reason.Message})");
                    }

                    Assert.True(alsoCancel || askAgain || !outer.IsCancellationRequested || clock.GetUtcNow() >= s_epoch + TimeSpan.FromSeconds(10), "cancelled with no cause");
                    clock.Advance(TimeSpan.FromSeconds(10));
                    Assert.True(outer.IsCancellationRequested, "the grace never ran out");
                    Invariants.Settled(outer);
                    release.SetResult();
                    await child;
                },
                new CancelScopeOptions { TimeProvider = clock, Name = "outer" });
        });
    }

    private static Func<CancellationToken, Task> Leaf(Invariants.Running running, Func<CancellationToken, Task> work) =>
        async ct =>
        {
            running.Enter();
            try
            {
                await work(ct);
            }
            finally
            {
                running.Leave();
            }
        };

    private static bool CheckpointThrows()
    {
        try
        {
            CancelScope.ThrowIfCancelled();
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    private static async Task<Exception?> Record(Func<Task> run)
    {
        try
        {
            await run();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static string Describe(TaskGroupException e) =>
        string.Join("; ", System.Linq.Enumerable.Select(e.Failures, f => $"{f.TaskName}: {f.Exception.GetType().Name} {f.Exception.Message}"));
}
