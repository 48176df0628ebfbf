using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Tests;

/// <summary>Group behaviour beyond the trio ports: values, start modes, failure bookkeeping and the except* helpers.</summary>
public sealed class TaskGroupTests
{
    [Fact]
    public async Task StartT_BodyAwaitsFailingChild_FailureReportedOnce()
    {
        var boom = new InvalidOperationException("boom");
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(async g =>
        {
            var child = g.Start<int>(async _ => { await Task.Yield(); throw boom; }, "child");
            await child; // rethrows the same exception in the body
        }));

        var failure = Assert.Single(ex.Failures);
        Assert.Same(boom, failure.Exception);
        Assert.Equal("child", failure.TaskName);
    }

    [Fact]
    public async Task StartT_ChildReturnsValue_TaskCompletesBeforeGroupCloses()
    {
        Task<int>? child = null;
        await TaskGroup.RunAsync(g =>
        {
            child = g.Start(async _ => { await Task.Yield(); return 42; });
            return Task.CompletedTask;
        });

        Assert.True(child!.IsCompletedSuccessfully);
        Assert.Equal(42, await child);
    }

    [Fact]
    public async Task StartT_ChildCancelledByGroup_TaskIsCanceledAndNotAFailure()
    {
        Task<int>? child = null;
        await TaskGroup.RunAsync(async g =>
        {
            child = g.Start<int>(async ct => { await Task.Delay(Timeout.Infinite, ct); return 1; });
            await Task.Yield();
            g.Cancel("done");
        });

        Assert.True(child!.IsCanceled);
    }

    [Fact]
    public async Task RunAsyncT_BodyValue_ReturnedAfterChildren()
    {
        var childDone = false;
        var value = await TaskGroup.RunAsync(async g =>
        {
            g.Start(async _ => { await Task.Yield(); childDone = true; });
            return await Task.FromResult("body value");
        });

        Assert.Equal("body value", value);
        Assert.True(childDone);
    }

    [Fact]
    public async Task RunAsyncT_OwnCancelCutsBodyOff_ThrowsCancellation()
    {
        var ex = await Assert.ThrowsAsync<ScopeCancelledException>(() => TaskGroup.RunAsync<int>(async g =>
        {
            g.Cancel("no value today");
            await CancelScope.CheckpointAsync();
            return 1;
        }));

        Assert.Equal("no value today", ex.Reason.Message);
    }

    [Fact]
    public async Task RunAsync_OwnCancel_AbsorbedAndCancelledCaught()
    {
        CancelScope? scope = null;
        await TaskGroup.RunAsync(async g =>
        {
            scope = g.Scope;
            g.Start(ct => Task.Delay(Timeout.Infinite, ct));
            g.Cancel();
            await CancelScope.SleepAsync(Timeout.InfiniteTimeSpan);
        });

        Assert.True(scope!.CancelCalled);
        Assert.True(scope.CancelledCaught);
        Assert.True(scope.IsExited);
    }

    [Fact]
    public async Task RunAsync_CancelledFromOutside_PropagatesToOuterScopeWithReason()
    {
        ScopeCancelledException? seen = null;
        await CancelScope.RunAsync(async outer =>
        {
            try
            {
                await TaskGroup.RunAsync(g =>
                {
                    g.Start(ct => Task.Delay(Timeout.Infinite, ct));
                    outer.Cancel("outer stop");
                    return Task.CompletedTask;
                });
            }
            catch (ScopeCancelledException e)
            {
                seen = e;
                throw;
            }
        });

        Assert.NotNull(seen);
        Assert.Equal("outer stop", seen!.Reason.Message);
    }

    [Fact]
    public async Task Start_ThreadPoolMode_ChildDoesNotRunInline()
    {
        var callerThread = Environment.CurrentManagedThreadId;
        var childRanInline = true;
        var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await TaskGroup.RunAsync(
            async g =>
            {
                g.Start(async _ =>
                {
                    childRanInline = Environment.CurrentManagedThreadId == callerThread && !gate.Task.IsCompleted;
                    await gate.Task;
                    ran.SetResult();
                });

                // The caller gets here before the child ran: Start only queued it.
                gate.SetResult();
                await ran.Task;
            },
            new TaskGroupOptions { StartMode = ChildStartMode.ThreadPool });

        Assert.False(childRanInline);
    }

    private static readonly AsyncLocal<string?> s_callerValue = new();

    [Fact]
    public async Task Start_ThreadPoolMode_ChildRunsInGroupScopeWithCallersContext()
    {
        CancelScope? childScope = null;
        string? childValue = null;
        CancelScope? groupScope = null;
        await TaskGroup.RunAsync(
            g =>
            {
                groupScope = g.Scope;
                s_callerValue.Value = "from the caller";
                g.Start(_ =>
                {
                    childScope = CancelScope.Current;
                    childValue = s_callerValue.Value;
                    return Task.CompletedTask;
                });
                return Task.CompletedTask;
            },
            new TaskGroupOptions { StartMode = ChildStartMode.ThreadPool });

        Assert.Same(groupScope, childScope);
        Assert.Equal("from the caller", childValue);
    }

    [Fact]
    public async Task Start_ThreadPoolModeWithFlowSuppressed_ChildStillRunsInGroupScope()
    {
        CancelScope? childScope = null;
        CancelScope? groupScope = null;
        await TaskGroup.RunAsync(
            g =>
            {
                groupScope = g.Scope;
                using (ExecutionContext.SuppressFlow())
                {
                    g.Start(async _ =>
                    {
                        await Task.Yield();
                        childScope = CancelScope.Current;
                    });
                }

                return Task.CompletedTask;
            },
            new TaskGroupOptions { StartMode = ChildStartMode.ThreadPool });

        Assert.Same(groupScope, childScope);
    }

    [Fact]
    public async Task Start_ThreadPoolModeChildThrowsBeforeItsFirstAwait_ReportedAsTheChildsFailure()
    {
        var error = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(
            g =>
            {
                g.Start(_ => throw new InvalidOperationException("synchronous"), name: "thrower");
                g.Start(_ => Task.FromException(new FormatException("faulted")), name: "faulted");
                g.Start(_ => null!, name: "returns null");
                return Task.CompletedTask;
            },
            new TaskGroupOptions { StartMode = ChildStartMode.ThreadPool }));

        Assert.Equal(3, error.Failures.Count);
        Assert.Contains(error.Failures, f => f.TaskName == "thrower" && f.Exception is InvalidOperationException { Message: "synchronous" });
        Assert.Contains(error.Failures, f => f.TaskName == "faulted" && f.Exception is FormatException);
        Assert.Contains(error.Failures, f => f.TaskName == "returns null" && f.Exception is InvalidOperationException);
    }

    [Theory]
    [InlineData(ChildStartMode.Inline)]
    [InlineData(ChildStartMode.ThreadPool)]
    public async Task Start_ChildSetsAnAsyncLocalOutsideAnAsyncMethod_GroupWaitsForItAndSeesItsFailure(ChildStartMode mode)
    {
        // The child's delegate leaves a context behind that is not the one Corral gave it: its end must still be observed.
        var local = new AsyncLocal<int>();
        var gate = new TaskCompletionSource();
        var run = TaskGroup.RunAsync(
            g =>
            {
                g.Start(
                    _ =>
                    {
                        local.Value = 42;
                        return FailAfterAsync(gate.Task);
                    },
                    "child");
                return Task.CompletedTask;
            },
            new TaskGroupOptions { StartMode = mode });

        Assert.False(run.IsCompleted); // the child waits for the gate
        gate.SetResult();
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => run.Within());
        Assert.Equal("child", Assert.Single(ex.Failures).TaskName);
    }

    [Fact]
    public async Task Start_ChildSuppressesTheFlowAndLeavesItSuppressed_GroupWaitsForIt()
    {
        var gate = new TaskCompletionSource();
        var finished = 0;
        var run = TaskGroup.RunAsync(g =>
        {
            g.Start(ct =>
            {
                _ = ExecutionContext.SuppressFlow(); // never undone: Corral puts the caller's context back
                return FinishAfterAsync(gate.Task);
            });
            Assert.False(ExecutionContext.IsFlowSuppressed());
            return Task.CompletedTask;
        });

        Assert.False(run.IsCompleted); // the child waits for the gate
        gate.SetResult();
        await run.Within();
        Assert.Equal(1, Volatile.Read(ref finished));

        async Task FinishAfterAsync(Task wait)
        {
            await wait.ConfigureAwait(false);
            Interlocked.Increment(ref finished);
        }
    }

    private static async Task FailAfterAsync(Task wait)
    {
        await wait.ConfigureAwait(false);
        throw new IOException("disk");
    }

    [Fact]
    public async Task Start_InlineMode_ChildRunsBeforeStartReturns()
    {
        var order = new List<string>();
        await TaskGroup.RunAsync(g =>
        {
            g.Start(async _ =>
            {
                order.Add("child before await");
                await Task.Yield();
            });
            order.Add("after Start");
            return Task.CompletedTask;
        });

        Assert.Equal(["child before await", "after Start"], order);
    }

    [Fact]
    public async Task Start_ChildThrowsSynchronously_RecordedAsFailureNotThrownFromStart()
    {
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(_ => throw new FormatException("sync"), "sync thrower");
            return Task.CompletedTask;
        }));

        Assert.IsType<FormatException>(Assert.Single(ex.InnerExceptions));
    }

    [Fact]
    public async Task Start_ChildOfChild_GroupWaitsForGrandchildren()
    {
        var grandchildDone = false;
        await TaskGroup.RunAsync(g =>
        {
            g.Start(_ =>
            {
                g.Start(async _ => { await Task.Yield(); await Task.Yield(); grandchildDone = true; });
                return Task.CompletedTask;
            });
            return Task.CompletedTask;
        });

        Assert.True(grandchildDone);
    }

    [Fact]
    public async Task Start_FirstFailure_ReasonNamesTaskAndException()
    {
        CancelScope? scope = null;
        await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            scope = g.Scope;
            g.Start(_ => throw new IOException("disk on fire"), "writer");
            return Task.CompletedTask;
        }));

        var reason = scope!.CancelReason!;
        Assert.Equal(CancelReasonKind.TaskFailed, reason.Kind);
        Assert.Contains("'writer'", reason.Message, StringComparison.Ordinal);
        Assert.Contains("IOException", reason.Message, StringComparison.Ordinal);
        Assert.IsType<IOException>(reason.Exception);
    }

    [Fact]
    public async Task Start_UnnamedChild_NamedAfterItsExpression()
    {
        static Task FetchAsync(CancellationToken ct) => throw new InvalidOperationException("down");
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(_ => Task.CompletedTask);
            g.Start(FetchAsync);
            return Task.CompletedTask;
        }));

        Assert.Equal("FetchAsync", ex.Failures[0].TaskName);
    }

    [Fact]
    public async Task Start_NoNameNoExpression_NumberedName()
    {
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(_ => Task.CompletedTask, null, null);
            g.Start(_ => throw new InvalidOperationException(), null, null);
            return Task.CompletedTask;
        }));

        Assert.Equal("task #2", ex.Failures[0].TaskName);
    }

    [Fact]
    public async Task Start_LongLambda_NameIsFirstLineShortened()
    {
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(async ct =>
            {
                await Task.Yield();
                throw new InvalidOperationException();
            });
            return Task.CompletedTask;
        }));

        Assert.Equal("async ct => …", ex.Failures[0].TaskName);
    }

    [Fact]
    public async Task RunAsync_BodyFails_BodyNamedAndChildrenCancelled()
    {
        var childCancelled = false;
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(async ct =>
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                finally
                {
                    childCancelled = ct.IsCancellationRequested;
                }
            });
            throw new InvalidDataException("body broke");
        }));

        Assert.Equal("body", Assert.Single(ex.Failures).TaskName);
        Assert.True(childCancelled);
    }

    [Fact]
    public async Task TaskGroupException_NestedGroups_HelpersLookThrough()
    {
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(
            g =>
            {
                g.Start(_ => TaskGroup.RunAsync(inner =>
                {
                    inner.Start(_ => throw new TimeoutException("inner timeout"), "inner-a");
                    inner.Start(_ => throw new IOException("inner io"), "inner-b");
                    return Task.CompletedTask;
                }, new TaskGroupOptions { Name = "inner" }), "nested");
                g.Start(_ => throw new IOException("outer io"), "outer-b");
                return Task.CompletedTask;
            },
            new TaskGroupOptions { Name = "outer" }));

        Assert.True(ex.Contains<TimeoutException>());
        Assert.True(ex.Contains<IOException>(e => e.Message == "outer io"));
        Assert.False(ex.Contains<FormatException>());
        Assert.Equal(2, ex.GetExceptions<IOException>().Count);

        var (matched, rest) = ex.Split<IOException>();
        Assert.NotNull(matched);
        Assert.NotNull(rest);
        Assert.Equal(2, matched!.GetExceptions<Exception>().Count);
        Assert.IsType<TimeoutException>(Assert.Single(rest!.GetExceptions<Exception>()));
        Assert.Equal("outer", rest.GroupName);

        // Nesting is kept: the timeout is still inside the nested group's exception.
        var nested = Assert.IsType<TaskGroupException>(Assert.Single(rest.Failures).Exception);
        Assert.Equal("inner", nested.GroupName);
    }

    [Fact]
    public void TaskGroupException_Message_ListsEveryFailureInOrder()
    {
        var ex = new TaskGroupException("g", [new TaskFailure("a", new IOException("x")), new TaskFailure("b", new FormatException("y"))]);
        Assert.Equal("2 task(s) failed in task group 'g': a: IOException: x; b: FormatException: y", ex.Message);
        var (m, r) = ex.Split<ArgumentException>();
        Assert.Null(m);
        Assert.Same(ex.Failures[0], r!.Failures[0]);
    }

    [Fact]
    public async Task StartAsync_ValueReturnedAndChildJoinsGroup()
    {
        var childCancelledByGroup = false;
        await TaskGroup.RunAsync(async g =>
        {
            var port = await g.StartAsync<int>(async (signal, ct) =>
            {
                signal.Started(8080);
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                    childCancelledByGroup = g.Scope.IsCancellationRequested;
                    throw;
                }
            });
            Assert.Equal(8080, port);
            g.Cancel("shutdown");
        });

        Assert.True(childCancelledByGroup);
    }

    [Fact]
    public async Task StartAsync_FailsBeforeStarted_ExceptionGoesToCallerNotGroup()
    {
        var boom = new IOException("bind failed");
        await TaskGroup.RunAsync(async g =>
        {
            var thrown = await Assert.ThrowsAsync<IOException>(() => g.StartAsync((_, _) => Task.FromException(boom)));
            Assert.Same(boom, thrown);
            Assert.False(g.Scope.IsCancellationRequested);
        });
    }

    [Fact]
    public async Task StartAsync_FailsAfterStarted_IsGroupFailure()
    {
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(async g =>
        {
            await g.StartAsync(async (signal, _) =>
            {
                signal.Started();
                await Task.Yield();
                throw new IOException("after start");
            }, "server");
        }));

        Assert.Equal("server", Assert.Single(ex.Failures).TaskName);
    }

    [Fact]
    public async Task StartAsync_CallerScopeCancelledBeforeStarted_ChildCancelledAndCallerSeesCancellation()
    {
        await TaskGroup.RunAsync(async g =>
        {
            var moved = await CancelScope.MoveOnAfterAsync(TimeSpan.Zero, async _ =>
            {
                await g.StartAsync<int>(async (signal, ct) =>
                {
                    await Task.Delay(Timeout.Infinite, ct); // the caller's scope is cancelled: never gets to Started
                    signal.Started(1);
                });
            });
            Assert.False(moved);
            Assert.False(g.Scope.IsCancellationRequested);
        });
    }

    [Fact]
    public async Task Start_DelegateReturnsNull_ReportedAsFailureOfThatTask()
    {
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(_ => null!, "nothing");
            return Task.CompletedTask;
        }));

        var failure = Assert.Single(ex.Failures);
        Assert.Equal("nothing", failure.TaskName);
        Assert.IsType<InvalidOperationException>(failure.Exception);
    }

    [Fact]
    public async Task StartT_ThreadPoolMode_ValueReturnedAndFailureReportedOnce()
    {
        var boom = new FormatException("pool");
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(
            async g =>
            {
                Assert.Equal(7, await g.Start(async _ => { await Task.Yield(); return 7; }, "seven"));
                await g.Start<int>(async _ => { await Task.Yield(); throw boom; }, "thrower");
            },
            new TaskGroupOptions { StartMode = ChildStartMode.ThreadPool }));

        var failure = Assert.Single(ex.Failures);
        Assert.Same(boom, failure.Exception);
        Assert.Equal("thrower", failure.TaskName);
    }

    [Fact]
    public void TaskGroupException_NestedGroup_MessageSummarisesItInsteadOfRepeatingIt()
    {
        var inner = new TaskGroupException("inner", [new TaskFailure("deep", new IOException("disk"))]);
        var outer = new TaskGroupException("outer", [new TaskFailure("nested", inner)]);
        Assert.Equal("1 task(s) failed in task group 'outer': nested: TaskGroupException: 1 task(s) failed in task group 'inner'", outer.Message);
        Assert.Equal("nested: TaskGroupException: 1 task(s) failed in task group 'inner'", outer.Failures[0].ToString());
    }

    [Fact]
    public async Task RunAsync_TimeProviderOption_GroupChildrenAndTheirDeadlinesUseIt()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        TimeProvider? inChild = null;
        DateTimeOffset? deadlineInChild = null;
        var sleeping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var slept = false;

        await TaskGroup.RunAsync(
            async group =>
            {
                Assert.Same(clock, group.Scope.TimeProvider);
                group.Start(async _ =>
                {
                    inChild = CancelScope.Current!.TimeProvider;
                    await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), _ =>
                    {
                        deadlineInChild = CancelScope.CurrentDeadline;
                        return Task.CompletedTask;
                    });
                    var sleep = CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
                    sleeping.SetResult();
                    await sleep;
                    slept = true;
                });

                await sleeping.Task;
                Assert.False(slept);
                clock.Advance(TimeSpan.FromSeconds(1));
            },
            new TaskGroupOptions { TimeProvider = clock });

        Assert.Same(clock, inChild);
        Assert.Equal(clock.Start + TimeSpan.FromSeconds(5), deadlineInChild);
        Assert.True(slept);
    }

    [Fact]
    public async Task RunAsync_NoTimeProviderOption_InheritsTheEnclosingScopesClock()
    {
        var clock = new FakeTimeProvider();
        TimeProvider? inGroup = null;

        await CancelScope.RunAsync(
            _ => TaskGroup.RunAsync(group =>
            {
                inGroup = group.Scope.TimeProvider;
                return Task.CompletedTask;
            }),
            new CancelScopeOptions { TimeProvider = clock });

        Assert.Same(clock, inGroup);
    }
}
