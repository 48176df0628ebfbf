using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Tests;

/// <summary>
/// Stop requests (src/Corral/Core/CancelScope.Stop.cs), row by row of the state table in docs/concepts/graceful-stop.md, on a
/// <see cref="FakeTimeProvider"/>: no test waits on the real clock.
/// </summary>
public sealed class CancelScopeStopTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(5);

    private static CancelScopeOptions On(FakeTimeProvider time, string? name = null) => new() { TimeProvider = time, Name = name };

    /// <summary>Starts a scope whose body waits until the scope is cancelled; returns the scope (its body has run up to the
    /// wait) and the block's task.</summary>
    private static (CancelScope Scope, Task Run) StartWaiting(CancelScopeOptions options)
    {
        CancelScope? scope = null;
        var run = CancelScope.RunAsync(
            async s =>
            {
                scope = s;
                await Task.Delay(Timeout.Infinite, s.Token);
            },
            options);
        return (scope!, run);
    }

    [Fact]
    public async Task RequestStop_BodyReturnsWithinGrace_EndsNormallyNothingCancelled()
    {
        var time = new FakeTimeProvider();
        CancelScope? scope = null;
        var drained = 0;
        var run = CancelScope.RunAsync(async s =>
        {
            scope = s;
            while (drained < 3)
            {
                await CancelScope.CheckpointAsync(); // passes while stopping: a stop is not a cancellation
                await Task.Delay(TimeSpan.FromSeconds(1), time, s.Token);
                drained++;
            }
        }, On(time));

        scope!.RequestStop(Grace, "host shutting down");
        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
        }

        await run;
        Assert.Equal(3, drained);
        Assert.False(scope.IsCancellationRequested);
        Assert.False(scope.CancelledCaught);
        Assert.Equal(0, DeadlineCount(time)); // the grace left the queue with the scope
    }

    [Fact]
    public async Task RequestStop_DuringGrace_StoppingButNotCancelled()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(async scope =>
        {
            var stoppingToken = scope.StoppingToken;
            var firedOn = -1;
            using var registration = stoppingToken.Register(() => firedOn = Environment.CurrentManagedThreadId);
            Assert.False(scope.IsStopRequested);
            Assert.False(CancelScope.CurrentStopRequested);

            scope.RequestStop(Grace, "host shutting down");

            Assert.Equal(Environment.CurrentManagedThreadId, firedOn); // before RequestStop returned, on this thread
            Assert.True(scope.IsStopRequested);
            Assert.True(CancelScope.CurrentStopRequested);
            Assert.True(CancelScope.CurrentStoppingToken.IsCancellationRequested);
            Assert.False(scope.IsCancellationRequested);
            Assert.False(scope.Token.IsCancellationRequested);
            Assert.Null(scope.CancelReason);
            var request = Assert.IsType<StopRequest>(scope.StopRequest);
            Assert.Equal("host shutting down", request.Reason);
            Assert.Same(scope, request.Scope);
            Assert.Equal(Grace, request.GracePeriod);
            Assert.Equal(time.GetUtcNow() + Grace, request.CancelAt);
            Assert.Contains("stopping", scope.ToString(), StringComparison.Ordinal);
            await CancelScope.CheckpointAsync();
            CancelScope.ThrowIfCancelled();
        }, On(time));
    }

    [Fact]
    public async Task RequestStop_GraceRunsOut_CancelledAtExactlyTheGraceWithAReasonThatSaysSo()
    {
        var time = new FakeTimeProvider();
        var (scope, run) = StartWaiting(On(time, "worker"));

        scope.RequestStop(Grace, "host shutting down");
        time.Advance(Grace - TimeSpan.FromTicks(1));
        Assert.False(scope.IsCancellationRequested);
        Assert.False(run.IsCompleted);

        time.Advance(TimeSpan.FromTicks(1));
        await run; // absorbed: the scope's own cancel
        Assert.True(scope.CancelledCaught);
        var reason = Assert.IsType<CancelReason>(scope.CancelReason);
        Assert.Equal(CancelReasonKind.StopRequested, reason.Kind);
        Assert.Equal("stop requested: host shutting down; grace of 5 s ran out", reason.Message);
        Assert.Equal("scope 'worker': stop requested: host shutting down; grace of 5 s ran out", reason.ToString());
    }

    [Fact]
    public async Task RequestStop_WithoutReason_ReasonSaysStopRequested()
    {
        var time = new FakeTimeProvider();
        var (scope, run) = StartWaiting(On(time));

        scope.RequestStop(TimeSpan.FromMilliseconds(250));
        Assert.Equal("stop requested", scope.StopRequest!.Reason);
        time.Advance(TimeSpan.FromMilliseconds(250));
        await run;
        Assert.Equal("stop requested; grace of 250 ms ran out", scope.CancelReason!.Message);
    }

    [Fact]
    public async Task StopRequest_ToString_NamesTheScopeTheReasonAndTheGrace()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async worker =>
            {
                worker.RequestStop(TimeSpan.FromMilliseconds(2500), "the host is stopping");
                Assert.Equal("scope 'worker': stop requested (the host is stopping), grace 2.5 s", worker.StopRequest!.ToString());
                await CancelScope.RunAsync(
                    async unnamed =>
                    {
                        Assert.Same(worker.StopRequest, unnamed.StopRequest); // the ancestor's request, named by it
                        unnamed.RequestStop(Timeout.InfiniteTimeSpan);
                        Assert.Equal("stop requested, grace infinite", unnamed.StopRequest!.ToString()); // no reason given
                        unnamed.RequestStop(TimeSpan.FromMilliseconds(250));
                        Assert.Equal("stop requested, grace 250 ms", unnamed.StopRequest!.ToString());
                        await Task.CompletedTask;
                    },
                    On(time));
            },
            On(time, "worker"));
    }

    [Fact]
    public void CurrentStopRequested_OutsideAnyScope_FalseAndTheStoppingTokenIsNone()
    {
        Assert.Null(CancelScope.Current);
        Assert.False(CancelScope.CurrentStopRequested);
        Assert.Equal(CancellationToken.None, CancelScope.CurrentStoppingToken);
    }

    [Fact]
    public async Task Cancel_DuringGrace_WinsAtOnceWithItsOwnReason()
    {
        var time = new FakeTimeProvider();
        var (scope, run) = StartWaiting(On(time));

        scope.RequestStop(Grace, "host shutting down");
        time.Advance(TimeSpan.FromSeconds(1));
        scope.Cancel("operator said so");
        await run;
        Assert.Equal("operator said so", scope.CancelReason!.Message);
        Assert.Equal(0, DeadlineCount(time)); // the grace is disarmed
        time.Advance(Grace);
        Assert.Equal("operator said so", scope.CancelReason!.Message);
    }

    [Fact]
    public async Task Deadline_DuringGrace_FiresWithItsOwnReason()
    {
        var time = new FakeTimeProvider();
        CancelScope? scope = null;

        // FailAfterAsync reads the ambient clock: run it inside a scope on the fake one.
        await Assert.ThrowsAsync<TimeoutException>(() => CancelScope.RunAsync(
            async _ =>
            {
                var inner = CancelScope.FailAfterAsync(TimeSpan.FromSeconds(2), async ct =>
                {
                    scope = CancelScope.Current;
                    await Task.Delay(Timeout.Infinite, ct);
                });
                scope!.RequestStop(Grace, "host shutting down");
                time.Advance(TimeSpan.FromSeconds(2));
                await inner;
            },
            On(time)));
        Assert.Equal(CancelReasonKind.DeadlineExceeded, scope!.CancelReason!.Kind);
    }

    [Fact]
    public async Task RequestStop_GraceShorterThanDeadline_GraceWinsAndFailBlockRaisesTheCancellationNotATimeout()
    {
        var time = new FakeTimeProvider();
        CancelScope? scope = null;
        await CancelScope.RunAsync(
            async _ =>
            {
                var inner = CancelScope.FailAfterAsync(TimeSpan.FromSeconds(10), async ct =>
                {
                    scope = CancelScope.Current;
                    await Task.Delay(Timeout.Infinite, ct);
                });
                scope!.RequestStop(Grace, "host shutting down");
                time.Advance(Grace);
                var e = await Assert.ThrowsAsync<ScopeCancelledException>(() => inner);
                Assert.Equal(CancelReasonKind.StopRequested, e.Reason.Kind);
            },
            On(time));
    }

    [Fact]
    public async Task RequestStop_NestedScopes_ExistingAndLaterChildrenStoppingAndCancelledWithTheAncestorsReason()
    {
        var time = new FakeTimeProvider();
        CancelScope? outer = null;
        CancelScope? before = null;
        CancelScope? after = null;
        var stopped = new TaskCompletionSource();
        var run = CancelScope.RunAsync(async o =>
        {
            outer = o;
            await TaskGroup.RunAsync(async g =>
            {
                g.Start(async ct => await CancelScope.RunAsync(async s =>
                {
                    before = s;
                    await Task.Delay(Timeout.Infinite, s.Token);
                }), "before");
                await stopped.Task;
                g.Start(async ct =>
                {
                    Assert.True(CancelScope.CurrentStopRequested); // a task started after the request
                    await CancelScope.RunAsync(async s =>
                    {
                        after = s;
                        Assert.True(s.IsStopRequested); // a scope opened after the request (level-triggered)
                        Assert.True(s.StoppingToken.IsCancellationRequested);
                        Assert.Same(o, s.StopRequest!.Scope);
                        await Task.Delay(Timeout.Infinite, s.Token);
                    });
                }, "after");
            });
        }, On(time, "outer"));

        Assert.False(before!.IsStopRequested);
        var beforeStopping = before.StoppingToken;
        outer!.RequestStop(Grace, "host shutting down");
        Assert.True(beforeStopping.IsCancellationRequested);
        Assert.True(before.IsStopRequested);
        Assert.False(before.IsCancellationRequested);
        stopped.SetResult();
        Assert.NotNull(after);

        time.Advance(Grace);
        await run;
        Assert.True(outer.CancelledCaught);
        Assert.Same(outer.CancelReason, before.CancelReason);
        Assert.Same(outer.CancelReason, after!.CancelReason);
        Assert.Equal(CancelReasonKind.StopRequested, after.CancelReason!.Kind);
    }

    [Fact]
    public async Task RequestStop_ShieldedChild_NeitherStoppingNorCancelledByTheGrace()
    {
        var time = new FakeTimeProvider();
        CancelScope? outer = null;
        CancelScope? shield = null;
        var release = new TaskCompletionSource();
        var run = CancelScope.RunAsync(async o =>
        {
            outer = o;
            await CancelScope.ShieldAsync(async ct =>
            {
                shield = CancelScope.Current;
                await release.Task.WaitAsync(ct);
                CancelScope.ThrowIfCancelled();
            });
        }, On(time));

        outer!.RequestStop(Grace, "host shutting down");
        Assert.True(outer.IsStopRequested);
        Assert.False(shield!.IsStopRequested);
        Assert.False(shield.StoppingToken.IsCancellationRequested);
        time.Advance(Grace);
        Assert.True(outer.IsCancellationRequested);
        Assert.False(shield.IsCancellationRequested);
        Assert.False(run.IsCompleted);
        release.SetResult();
        await run;
    }

    [Fact]
    public async Task Shield_RaisedWhileStoppingFromAbove_LiftsTheStopAndAFreshStoppingTokenIsLive()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(async outer =>
        {
            await CancelScope.RunAsync(async inner =>
            {
                outer.RequestStop(Grace);
                var old = inner.StoppingToken;
                Assert.True(old.IsCancellationRequested);
                inner.Shield = true;
                Assert.False(inner.IsStopRequested);
                Assert.Null(inner.StopRequest);
                Assert.True(old.IsCancellationRequested); // a token cannot be un-cancelled
                Assert.False(inner.StoppingToken.IsCancellationRequested);
                inner.Shield = false;
                Assert.True(inner.IsStopRequested);
                Assert.True(inner.StoppingToken.IsCancellationRequested);
                await Task.CompletedTask;
            });
        }, On(time));
    }

    [Fact]
    public async Task RequestStop_AfterCancel_ChangesNothing()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(async scope =>
        {
            scope.Cancel("first");
            scope.RequestStop(Grace, "too late");
            Assert.Null(scope.StopRequest);
            Assert.True(scope.IsStopRequested); // a cancelled scope is stopping too
            Assert.True(scope.StoppingToken.IsCancellationRequested);
            Assert.Equal("first", scope.CancelReason!.Message);
            Assert.Equal(0, DeadlineCount(time));
            await CancelScope.CheckpointAsync();
        }, On(time));
    }

    [Fact]
    public async Task RequestStop_AfterExit_ChangesNothing()
    {
        var time = new FakeTimeProvider();
        CancelScope? scope = null;
        await CancelScope.RunAsync(s =>
        {
            scope = s;
            return Task.CompletedTask;
        }, On(time));

        scope!.RequestStop(Grace);
        Assert.Null(scope.StopRequest);
        Assert.False(scope.IsStopRequested);
        Assert.Equal(0, DeadlineCount(time));
    }

    [Fact]
    public async Task RequestStop_SecondWithShorterGrace_BringsTheCancelForwardAndIsReported()
    {
        var time = new FakeTimeProvider();
        var (scope, run) = StartWaiting(On(time));

        scope.RequestStop(TimeSpan.FromSeconds(30), "host shutting down");
        time.Advance(TimeSpan.FromSeconds(1));
        scope.RequestStop(TimeSpan.FromSeconds(2), "second signal");
        Assert.Equal("second signal", scope.StopRequest!.Reason);
        time.Advance(TimeSpan.FromSeconds(2) - TimeSpan.FromTicks(1));
        Assert.False(scope.IsCancellationRequested);
        time.Advance(TimeSpan.FromTicks(1));
        await run;
        Assert.Equal("stop requested: second signal; grace of 2 s ran out", scope.CancelReason!.Message);
    }

    [Fact]
    public async Task RequestStop_SecondWithLongerOrInfiniteGrace_DoesNotExtend()
    {
        var time = new FakeTimeProvider();
        var (scope, run) = StartWaiting(On(time));

        scope.RequestStop(Grace, "first");
        var first = scope.StopRequest;
        scope.RequestStop(TimeSpan.FromSeconds(60), "longer");
        scope.RequestStop(Timeout.InfiniteTimeSpan, "infinite");
        time.Advance(TimeSpan.FromSeconds(4)); // a second later request of the same grace ends one second later: no change either
        scope.RequestStop(TimeSpan.FromSeconds(1), "same instant");
        Assert.Same(first, scope.StopRequest);
        time.Advance(TimeSpan.FromSeconds(1));
        await run;
        Assert.Equal("stop requested: first; grace of 5 s ran out", scope.CancelReason!.Message);
    }

    [Fact]
    public async Task RequestStop_InfiniteGrace_NeverCancels()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(async scope =>
        {
            scope.RequestStop(Timeout.InfiniteTimeSpan, "drain");
            Assert.Null(scope.StopRequest!.CancelAt);
            Assert.Equal(0, DeadlineCount(time));
            time.Advance(TimeSpan.FromDays(365));
            Assert.False(scope.IsCancellationRequested);
            Assert.True(scope.IsStopRequested);
            await CancelScope.CheckpointAsync();
        }, On(time));
    }

    [Fact]
    public async Task RequestStop_ZeroGrace_CancelsAtOnce()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(async scope =>
        {
            scope.RequestStop(TimeSpan.Zero, "now");
            Assert.True(scope.IsCancellationRequested);
            Assert.Equal("stop requested: now; grace of 0 ms ran out", scope.CancelReason!.Message);
            await Assert.ThrowsAsync<ScopeCancelledException>(async () => await CancelScope.CheckpointAsync());
        }, On(time));
    }

    [Fact]
    public async Task RequestStop_NegativeOrMaxValueGrace_ThrowsAndChangesNothing()
    {
        await CancelScope.RunAsync(async scope =>
        {
            var negative = Assert.Throws<ArgumentOutOfRangeException>(() => scope.RequestStop(TimeSpan.FromSeconds(-1)));
            Assert.Equal("gracePeriod", negative.ParamName);
            var max = Assert.Throws<ArgumentOutOfRangeException>(() => scope.RequestStop(TimeSpan.MaxValue));
            Assert.Equal("gracePeriod", max.ParamName);
            await TaskGroup.RunAsync(g =>
            {
                Assert.Throws<ArgumentOutOfRangeException>(() => g.RequestStop(TimeSpan.FromTicks(-1)));
                return Task.CompletedTask;
            });
            Assert.False(scope.IsStopRequested);
        });
    }

    [Fact]
    public async Task RequestStop_DeadlineClearedDuringGrace_GraceStaysArmed()
    {
        var time = new FakeTimeProvider();
        var (scope, run) = StartWaiting(new CancelScopeOptions { TimeProvider = time, Timeout = TimeSpan.FromSeconds(60) });

        scope.RequestStop(Grace);
        scope.Deadline = null;
        scope.Deadline = time.GetUtcNow() + TimeSpan.FromSeconds(30); // later than the grace: the grace stays first
        time.Advance(Grace);
        await run;
        Assert.Equal(CancelReasonKind.StopRequested, scope.CancelReason!.Kind);
    }

    [Fact]
    public async Task TaskGroup_RequestStop_ChildrenDrainWithinGraceAndTheGroupEndsNormally()
    {
        var time = new FakeTimeProvider();
        var handled = 0;
        TaskGroup? group = null;
        var queue = System.Threading.Channels.Channel.CreateUnbounded<int>();
        for (var i = 0; i < 3; i++)
        {
            queue.Writer.TryWrite(i);
        }

        var run = TaskGroup.RunAsync(async g =>
        {
            group = g;
            g.Start(async ct =>
            {
                // The loop the stop request is for: take the next item until asked to stop, finish the one in hand.
                while (!CancelScope.CurrentStopRequested)
                {
                    int item;
                    try
                    {
                        item = await queue.Reader.ReadAsync(CancelScope.CurrentStoppingToken);
                    }
                    catch (OperationCanceledException) when (CancelScope.CurrentStopRequested)
                    {
                        break;
                    }

                    await Task.Delay(TimeSpan.FromSeconds(1), time, ct);
                    handled++;
                }
            }, "consumer");
            await Task.CompletedTask;
        }, new TaskGroupOptions { TimeProvider = time });

        time.Advance(TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(1));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(3, handled); // now waiting on an empty queue
        group!.RequestStop(Grace, "drain");
        await run;
        Assert.False(group.Scope.IsCancellationRequested);
        Assert.False(group.Scope.CancelledCaught);
    }

    [Fact]
    public async Task TaskGroup_RequestStop_GraceRunsOut_ChildrenCancelledAndTheGroupAbsorbs()
    {
        var time = new FakeTimeProvider();
        TaskGroup? group = null;
        var run = TaskGroup.RunAsync(async g =>
        {
            group = g;
            g.Start(ct => Task.Delay(Timeout.Infinite, ct), "stubborn");
            await Task.CompletedTask;
        }, new TaskGroupOptions { TimeProvider = time, Name = "svc" });

        group!.RequestStop(Grace, "host shutting down");
        Assert.False(run.IsCompleted);
        time.Advance(Grace);
        await run;
        Assert.True(group.Scope.CancelledCaught);
        Assert.Equal("scope 'svc': stop requested: host shutting down; grace of 5 s ran out", group.Scope.CancelReason!.ToString());
    }

    private static int DeadlineCount(FakeTimeProvider time) => Corral.Core.DeadlineQueue.For(time).Count;
}
