using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Testing;
using Xunit;

namespace Corral.Tests;

/// <summary>
/// The semantics of trio's nursery tests (<c>src/trio/_core/_tests/test_run.py</c>): crashes, cancellation inheritance,
/// closure and <c>nursery.start</c>, ported to <see cref="TaskGroup"/>.
/// </summary>
public sealed class TrioNurseryTests
{
    [Fact]
    public async Task RunAsync_BodyThrows_TaskGroupExceptionHoldsThatInstance()
    {
        // Ports trio test_nursery_main_block_error_basic and test_nursery_explicit_exception.
        var thrown = new ArgumentException("whoops");
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(_ => throw thrown));
        var failure = Assert.Single(ex.Failures);
        Assert.Same(thrown, failure.Exception);
        Assert.Equal("body", failure.TaskName);
        Assert.Same(thrown, Assert.Single(ex.InnerExceptions));
    }

    [Fact]
    public async Task Start_ChildThrows_TaskGroupExceptionHoldsThatInstance()
    {
        // Ports trio test_child_crash_basic.
        var thrown = new ArgumentException("uh oh");
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(_ => throw thrown, "erroring");
            return Task.CompletedTask;
        }));
        var failure = Assert.Single(ex.Failures);
        Assert.Same(thrown, failure.Exception);
        Assert.Equal("erroring", failure.TaskName);
    }

    [Fact]
    public async Task Start_CrasherBesideLooper_LooperCancelledOnceAndOnlyCrashReported()
    {
        // Ports trio test_task_crash_propagation.
        var looperRecord = new ConcurrentQueue<string>();
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(async ct =>
            {
                try
                {
                    // Bounded so that a broken checkpoint fails the test instead of hanging it.
                    for (var i = 0; i < 100_000; i++)
                    {
                        await Task.Yield();
                        await CancelScope.CheckpointAsync();
                    }
                }
                catch (OperationCanceledException)
                {
                    looperRecord.Enqueue("cancelled");
                    throw;
                }

                looperRecord.Enqueue("never cancelled");
            }, "looper");
            g.Start(_ => throw new ArgumentException("argh"), "crasher");
            return Task.CompletedTask;
        }));

        var failure = Assert.Single(ex.Failures);
        Assert.Equal("crasher", failure.TaskName);
        Assert.Equal("argh", failure.Exception.Message);
        Assert.Equal(new[] { "cancelled" }, looperRecord);
    }

    [Fact]
    public async Task RunAsync_ChildAndBodyBothCrash_BothReportedInOrder()
    {
        // Ports trio test_main_and_task_both_crash.
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(_ => throw new ArgumentException("child"), "crasher");
            throw new KeyNotFoundException("body");
        }));

        Assert.Equal(2, ex.Failures.Count);
        Assert.IsType<ArgumentException>(ex.Failures[0].Exception);
        Assert.Equal("crasher", ex.Failures[0].TaskName);
        Assert.IsType<KeyNotFoundException>(ex.Failures[1].Exception);
        Assert.Equal("body", ex.Failures[1].TaskName);
    }

    [Fact]
    public async Task Start_TwoChildrenCrash_BothReportedInOneExceptionInOrder()
    {
        // Ports trio test_two_child_crashes.
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(_ => throw new KeyNotFoundException(), "first");
            g.Start(_ => throw new ArgumentException(), "second");
            return Task.CompletedTask;
        }));

        Assert.Equal(new[] { "first", "second" }, ex.Failures.Select(f => f.TaskName));
        Assert.IsType<KeyNotFoundException>(ex.InnerExceptions[0]);
        Assert.IsType<ArgumentException>(ex.InnerExceptions[1]);
    }

    [Fact]
    public async Task Start_SecondChildCrashesWhileBeingCancelled_BothReportedInOrderTheyHappened()
    {
        // Ports trio test_two_child_crashes with the crashes in the opposite order to the starts: the order reported is the
        // order in which they happened, pinned here by making one crash only once the other has cancelled the group.
        var gate = Steps.Signal();
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
                    throw new ArgumentException("second, while cancelled");
                }
            }, "started first");
            g.Start(async ct =>
            {
                await gate.Task;
                throw new KeyNotFoundException("first");
            }, "started second");
            gate.SetResult();
            return Task.CompletedTask;
        }));

        Assert.Equal(new[] { "started second", "started first" }, ex.Failures.Select(f => f.TaskName));
        Assert.IsType<KeyNotFoundException>(ex.Failures[0].Exception);
        Assert.IsType<ArgumentException>(ex.Failures[1].Exception);
    }

    [Fact]
    public async Task RunAsync_ChildCrashesWhileBodySleepsForever_WakesBodyAndReportsCrashOnly()
    {
        // Ports trio test_child_crash_wakes_parent.
        var gate = Steps.Signal();
        var bodyWoke = false;
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(async g =>
        {
            g.Start(async ct =>
            {
                await gate.Task;
                throw new InvalidOperationException("this is a crash");
            });
            var sleep = CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
            gate.SetResult();
            try
            {
                await sleep;
            }
            catch (OperationCanceledException)
            {
                bodyWoke = true;
                throw;
            }
        }));

        Assert.True(bodyWoke);
        Assert.Equal("this is a crash", Assert.Single(ex.Failures).Exception.Message);
    }

    [Fact]
    public async Task Cancel_OuterGroup_ReachesEveryLeafOfNestedGroups()
    {
        // Ports trio test_cancel_inheritance.
        var record = new ConcurrentBag<string>();
        TaskGroup? outerGroup = null;

        Func<CancellationToken, Task> Leaf(string id) => async ct =>
        {
            try
            {
                await Steps.SleepForever(ct);
            }
            catch (OperationCanceledException)
            {
                record.Add(id);
                throw;
            }
        };

        Func<CancellationToken, Task> Worker(string id) => _ => TaskGroup.RunAsync(inner =>
        {
            inner.Start(Leaf(id + "-l1"));
            inner.Start(Leaf(id + "-l2"));
            return Task.CompletedTask;
        });

        await TaskGroup.RunAsync(g =>
        {
            outerGroup = g;
            g.Start(Worker("w1"));
            g.Start(Worker("w2"));
            g.Scope.Cancel();
            return Task.CompletedTask;
        });

        Assert.Equal(new[] { "w1-l1", "w1-l2", "w2-l1", "w2-l2" }, record.OrderBy(s => s, StringComparer.Ordinal));
        Assert.True(outerGroup!.Scope.CancelledCaught);
    }

    [Fact]
    public async Task Start_IntoAlreadyCancelledGroup_ChildRunsUntilFirstCheckpoint()
    {
        // Ports trio test_precancelled_task (trio issue #41).
        var record = new ConcurrentQueue<string>();
        await TaskGroup.RunAsync(g =>
        {
            g.Scope.Cancel();
            g.Start(async ct =>
            {
                record.Enqueue("started");
                Assert.True(ct.IsCancellationRequested);
                await Steps.SleepForever(ct);
                record.Enqueue("after sleep");
            });
            return Task.CompletedTask;
        });

        Assert.Equal(new[] { "started" }, record);
    }

    [Fact]
    public async Task Start_FromChildWhileGroupWaitsThenAfterClose_RunsThenThrowsInvalidOperation()
    {
        // Ports trio test_nursery_closure.
        TaskGroup? group = null;
        var gate = Steps.Signal();
        var child2Ran = false;
        var run = TaskGroup.RunAsync(g =>
        {
            group = g;
            g.Start(async ct =>
            {
                await gate.Task;
                g.Start(_ =>
                {
                    child2Ran = true;
                    return Task.CompletedTask;
                }, "child2");
            }, "child1");
            return Task.CompletedTask;
        });

        // The body has ended; the group waits for child1, and is still open for child1 to start child2.
        Assert.False(run.IsCompleted);
        Assert.False(group!.IsClosed);
        gate.SetResult();
        await run;

        Assert.True(child2Ran);
        Assert.True(group.IsClosed);
        var ex = Assert.Throws<InvalidOperationException>(() => group.Start(_ => Task.CompletedTask, "late"));
        Assert.Contains("closed", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_AfterGroupClosed_ThrowsInvalidOperationAtOnce()
    {
        // Ports trio test_nursery_start ("trying to start in a closed nursery raises an error immediately").
        TaskGroup? closed = null;
        await TaskGroup.RunAsync(g =>
        {
            closed = g;
            return Task.CompletedTask;
        });

        var ran = false;
        Assert.Throws<InvalidOperationException>(() =>
        {
            _ = closed!.StartAsync<int>((signal, ct) =>
            {
                ran = true;
                signal.Started(7);
                return Task.CompletedTask;
            });
        });
        Assert.False(ran);
    }

    [Fact]
    public async Task StartAsync_ChildSleepsThenSignals_ValueReturnedAtSignalAndGroupWaitsForRest()
    {
        // Ports trio test_nursery_start (basic happy path, on a fake clock).
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var value = 0;
            var valueAt = TimeSpan.MinValue;
            await TaskGroup.RunAsync(async g =>
            {
                value = await g.StartAsync<int>(async (signal, ct) =>
                {
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(2));
                    signal.Started(2);
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(2));
                });
                valueAt = clock.Elapsed;
            });

            Assert.Equal(2, value);
            Assert.Equal(TimeSpan.FromSeconds(2), valueAt);
            Assert.Equal(TimeSpan.FromSeconds(4), clock.Elapsed); // the group waited for the started child
        });
    }

    [Fact]
    public async Task StartAsync_StartedCalledTwice_SecondCallThrowsInvalidOperation()
    {
        // Ports trio test_nursery_start (calling started twice).
        InvalidOperationException? second = null;
        await TaskGroup.RunAsync(async g =>
        {
            var value = await g.StartAsync<int>((signal, ct) =>
            {
                signal.Started(1);
                Assert.True(signal.IsStarted);
                second = Assert.Throws<InvalidOperationException>(() => signal.Started(2));
                return Task.CompletedTask;
            });
            Assert.Equal(1, value);
        });

        Assert.NotNull(second);
        Assert.Contains("twice", second.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_ChildThrowsBeforeStarted_ErrorGoesToCallerNotGroup()
    {
        // Ports trio test_nursery_start (child crashes before calling started -> error comes out of start()).
        TaskGroup? group = null;
        await TaskGroup.RunAsync(async g =>
        {
            group = g;
            var thrown = new KeyNotFoundException("oops");
            var ex = await Assert.ThrowsAsync<KeyNotFoundException>(() => g.StartAsync<int>(async (signal, ct) =>
            {
                await Task.Yield();
                throw thrown;
            }));
            Assert.Same(thrown, ex);
        });

        Assert.False(group!.Scope.CancelCalled); // the group never saw the failure
    }

    [Fact]
    public async Task StartAsync_ChildReturnsWithoutStarted_CallerGetsInvalidOperation()
    {
        // Ports trio test_nursery_start (child exiting cleanly before calling started -> error).
        await TaskGroup.RunAsync(async g =>
        {
            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => g.StartAsync<int>((signal, ct) => Task.CompletedTask));
            Assert.Contains("without calling Started", ex.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task StartAsync_CallerCancelledButChildSignalsWithoutCheckpoint_ValueReturnedAndNothingCaught()
    {
        // Ports trio test_nursery_start ("if the task does not execute any checkpoints, and exits, then start() doesn't
        // raise Cancelled").
        CancelScope? callerScope = null;
        await TaskGroup.RunAsync(async g =>
        {
            await CancelScope.RunAsync(async cs =>
            {
                callerScope = cs;
                cs.Cancel();
                var value = await g.StartAsync<string>((signal, ct) =>
                {
                    signal.Started("hi");
                    return Task.CompletedTask;
                });
                Assert.Equal("hi", value);
            });
        });

        Assert.False(callerScope!.CancelledCaught);
    }

    [Fact]
    public async Task StartAsync_StartingChildKeepsGroupOpen_GroupClosesOnlyAfterIt()
    {
        // Ports trio test_nursery_start_keeps_nursery_open (first half).
        await CorralTest.RunAsync(async (clock, _) =>
        {
            TaskGroup? group2 = null;
            var closedAt = TimeSpan.MinValue;
            var run = TaskGroup.RunAsync(async g1 =>
            {
                await TaskGroup.RunAsync(g2 =>
                {
                    group2 = g2;
                    g1.Start(async ct =>
                    {
                        await g2.StartAsync<bool>(async (signal, ct2) =>
                        {
                            await CancelScope.SleepAsync(TimeSpan.FromSeconds(2));
                            signal.Started(true);
                            await CancelScope.SleepAsync(TimeSpan.FromSeconds(3));
                        });
                    });
                    return Task.CompletedTask; // no child in group2 yet: only the starting one keeps it open
                });
                closedAt = clock.Elapsed;
            });

            Assert.False(group2!.IsClosed);
            await run;
            Assert.Equal(TimeSpan.FromSeconds(5), closedAt); // open while the child started (2 s) and after, as its own (3 s)
        });
    }

    [Fact]
    public async Task StartAsync_StartingChildCrashesBeforeStarted_GroupWaitsForItAndCallerGetsError()
    {
        // Ports trio test_nursery_start_keeps_nursery_open (second half: the child crashes and never enters the group).
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var callerCaught = false;
            var closedAt = TimeSpan.MinValue;
            await TaskGroup.RunAsync(async g1 =>
            {
                await TaskGroup.RunAsync(g2 =>
                {
                    g1.Start(async ct =>
                    {
                        await Assert.ThrowsAsync<KeyNotFoundException>(() => g2.StartAsync<bool>(async (signal, ct2) =>
                        {
                            await CancelScope.SleepAsync(TimeSpan.FromSeconds(7));
                            throw new KeyNotFoundException();
                        }));
                        callerCaught = true;
                    });
                    return Task.CompletedTask;
                });
                closedAt = clock.Elapsed;
            });

            Assert.True(callerCaught);
            Assert.Equal(TimeSpan.FromSeconds(7), closedAt);
        });
    }

    [Fact]
    public async Task StartAsync_IntoGroupCancelledJustBeforeStarted_SleepingGrandchildrenAborted()
    {
        // Ports trio test_nursery_start_with_cancelled_nursery (cancel just *before* started()).
        var aborted = 0;
        var value = false;
        await TaskGroup.RunAsync(async g =>
        {
            var target = await g.StartAsync<TaskGroup>(async (signal, ct) =>
                await TaskGroup.RunAsync(async tg =>
                {
                    signal.Started(tg);
                    await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                }));

            value = await target.StartAsync<bool>(async (signal, ct) =>
                await TaskGroup.RunAsync(ng =>
                {
                    ng.Start(SleepCountingAbort);
                    ng.Start(SleepCountingAbort);
                    target.Cancel();
                    signal.Started(true); // moves the sleepers into a cancelled group: they must wake
                    return Task.CompletedTask;
                }));
        });

        Assert.True(value);
        Assert.Equal(2, aborted);

        async Task SleepCountingAbort(CancellationToken ct)
        {
            try
            {
                await Steps.SleepForever(ct);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref aborted);
                throw;
            }
        }
    }

    [Fact]
    public async Task StartAsync_GroupCancelledJustAfterStarted_SleepingGrandchildrenAborted()
    {
        // Ports trio test_nursery_start_with_cancelled_nursery (cancel just *after* started()).
        var aborted = 0;
        await TaskGroup.RunAsync(async g =>
        {
            var target = await g.StartAsync<TaskGroup>(async (signal, ct) =>
                await TaskGroup.RunAsync(async tg =>
                {
                    signal.Started(tg);
                    await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
                }));

            await target.StartAsync<bool>(async (signal, ct) =>
                await TaskGroup.RunAsync(ng =>
                {
                    ng.Start(SleepCountingAbort);
                    ng.Start(SleepCountingAbort);
                    signal.Started(true);
                    return Task.CompletedTask;
                }));
            target.Cancel();
        });

        Assert.Equal(2, aborted);

        async Task SleepCountingAbort(CancellationToken ct)
        {
            try
            {
                await Steps.SleepForever(ct);
            }
            catch (OperationCanceledException)
            {
                Interlocked.Increment(ref aborted);
                throw;
            }
        }
    }

    [Fact]
    public async Task TaskGroup_CancelledChildrenAndOneCrashInsideCancelledOuter_OnlyCrashReportedAndPassesOuter()
    {
        // Ports trio test_cancel_scope_exceptiongroup_filtering: children cancelled by the group's scope and by an outer
        // scope are not failures; the one real crash is reported alone and is not absorbed by the cancelled outer scope.
        CancelScope? outerScope = null;
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => CancelScope.RunAsync(async outer =>
        {
            outerScope = outer;
            await TaskGroup.RunAsync(g =>
            {
                g.Start(Steps.SleepForever, "t1");
                g.Start(Steps.SleepForever, "t2");
                g.Scope.Cancel();
                g.Start(Steps.SleepForever, "t3");
                outer.Cancel();
                g.Start(_ => throw new KeyNotFoundException(), "t4");
                return Task.CompletedTask;
            });
        }));

        var failure = Assert.Single(ex.Failures);
        Assert.Equal("t4", failure.TaskName);
        Assert.IsType<KeyNotFoundException>(failure.Exception);
        Assert.True(outerScope!.CancelCalled);
        Assert.False(outerScope.CancelledCaught);
    }

    [Fact]
    public async Task StartAsync_AfterStartedChildFails_FailureIsTheGroupsAndValueWasReturned()
    {
        // Ports trio test_nursery_start (errors after started() belong to the nursery) — Corral hands a started child to
        // the group whatever the caller's state, so its later failure is always the group's.
        var value = 0;
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(async g =>
        {
            value = await g.StartAsync<int>(async (signal, ct) =>
            {
                signal.Started(2);
                await Task.Yield();
                throw new KeyNotFoundException("whoopsiedaisy");
            }, "late crasher");
        }));

        Assert.Equal(2, value);
        var failure = Assert.Single(ex.Failures);
        Assert.Equal("late crasher", failure.TaskName);
        Assert.Equal("whoopsiedaisy", failure.Exception.Message);
    }
}
