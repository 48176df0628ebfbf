using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Corral.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Tests;

/// <summary>Scope behaviour beyond the trio ports: exits as checkpoints, sleeps, token callbacks, and the names of timeout and
/// shield scopes.</summary>
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
    public async Task RunAsync_CancelledFromAbove_ExitEndsTheTaskWithoutThrowingInside()
    {
        // Counts throws of the exit's ScopeCancelledException by its unique reason: the only one is the awaiter's below.
        var reason = $"stop {Guid.NewGuid()}";
        using var throws = new ThrowCounter(reason);
        await CancelScope.RunAsync(async outer =>
        {
            var inner = CancelScope.RunAsync(async scope =>
            {
                await Task.Delay(Timeout.Infinite, scope.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            });

            outer.Cancel(reason);
            var seen = await Assert.ThrowsAsync<ScopeCancelledException>(() => inner);
            Assert.Equal(reason, seen.Reason.Message);
            Assert.True(inner.IsCanceled); // as an async method's task would be: Canceled, carrying the exception
        });

        Assert.Equal(1, throws.Count);
    }

    [Fact]
    public async Task SleepAsync_GroupOfSleepersCancelled_NothingThrownInsideCorral()
    {
        var reason = $"stop {Guid.NewGuid()}";
        using var throws = new ThrowCounter(reason);
        var sleepers = new Task[100];
        await TaskGroup.RunAsync(async group =>
        {
            for (var i = 0; i < sleepers.Length; i++)
            {
                var index = i;
                group.Start(_ => sleepers[index] = CancelScope.SleepAsync(Timeout.InfiniteTimeSpan));
            }

            await Task.Yield();
            group.Cancel(reason);
        });

        // Each sleep ended Canceled carrying its ScopeCancelledException, and the group classified it by status: no throw.
        Assert.All(sleepers, s => Assert.True(s.IsCanceled));
        Assert.Equal(0, throws.Count);
        var error = await Assert.ThrowsAsync<ScopeCancelledException>(() => sleepers[0]);
        Assert.Equal(reason, error.Reason.Message);
    }

    [Fact]
    public async Task RunAsync_FlowOfContextSuppressed_BodyStillRunsInItsScopeAndAbsorbs()
    {
        CancelScope? seen = null;
        Task run;
        using (ExecutionContext.SuppressFlow())
        {
            run = CancelScope.RunAsync(async scope =>
            {
                seen = CancelScope.Current;
                scope.Cancel();
                await Task.Delay(Timeout.Infinite, scope.Token);
            });
        }

        await run;
        Assert.NotNull(seen);
        Assert.True(seen!.CancelledCaught);
        Assert.Null(CancelScope.Current);
    }

    [Fact]
    public async Task MoveOnAfterAsync_FlowOfContextSuppressed_ReportsCutOff()
    {
        Task<bool> run;
        using (ExecutionContext.SuppressFlow())
        {
            run = CancelScope.MoveOnAfterAsync(TimeSpan.Zero, ct => Task.Delay(Timeout.Infinite, ct));
        }

        Assert.False(await run);
    }

    [Fact]
    public async Task RunAsync_BodyReturnsNull_FailsNamingTheScope()
    {
        var error = await Assert.ThrowsAsync<InvalidOperationException>(
            () => CancelScope.RunAsync(_ => null!, new CancelScopeOptions { Name = "loader" }));

        Assert.Contains("scope 'loader'", error.Message, StringComparison.Ordinal);
        Assert.Contains("returned null", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailAfterAsyncT_BodySuspendsThenTimesOut_ThrowsTimeoutWithTheReason()
    {
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var error = await Assert.ThrowsAsync<TimeoutException>(() => CancelScope.FailAfterAsync(TimeSpan.FromSeconds(5), async ct =>
            {
                await Task.Delay(Timeout.Infinite, ct);
                return 1;
            }));
            var inner = Assert.IsType<ScopeCancelledException>(error.InnerException, exactMatch: false);
            Assert.Equal(CancelReasonKind.DeadlineExceeded, inner.Reason.Kind);
            Assert.Equal(TimeSpan.FromSeconds(5), clock.Elapsed);
        });
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
        // A timer waits at most about 49.7 days: the sleep is made of pieces, and ends at exactly 60 days, not at a piece's end.
        await CorralTest.RunAsync(async (clock, _) =>
        {
            await CancelScope.SleepAsync(TimeSpan.FromDays(60));
            Assert.Equal(TimeSpan.FromDays(60), clock.Elapsed);
        });
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
        CancelScope? childScope = null;
        TaskGroup? group = null;
        var thrown = await Record.ExceptionAsync(() => TaskGroup.RunAsync(async g =>
        {
            group = g;
            await g.StartAsync(async (signal, ct) =>
            {
                signal.Started();
                childScope = CancelScope.Current;
                childScope!.Cancel("done with this one");
                await Task.Delay(Timeout.Infinite, ct);
            });
        }).WaitAsync(TimeSpan.FromSeconds(20)));

        Assert.Null(thrown); // not a failure of the group
        Assert.True(childScope!.CancelledCaught, "the child's own scope absorbs its own cancel");
        Assert.Equal("done with this one", childScope.CancelReason!.Message);
        Assert.False(group!.Scope.IsCancellationRequested, "the child's cancel stayed in the child's scope");
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

    // ----------------------------------------------------------------------------------------------
    // Names of the scopes the timeout and shield helpers open
    // ----------------------------------------------------------------------------------------------

    /// <summary>Every public timeout and shield helper, generic and not, by the name its tests call it.</summary>
    public static TheoryData<string> TimeoutAndShieldHelpers => new()
    {
        "MoveOnAfterAsync", "MoveOnAfterAsync<T>", "MoveOnAtAsync", "MoveOnAtAsync<T>",
        "FailAfterAsync", "FailAfterAsync<T>", "FailAtAsync", "FailAtAsync<T>",
        "ShieldAsync", "ShieldAsync<T>",
    };

    [Theory]
    [MemberData(nameof(TimeoutAndShieldHelpers))]
    public async Task TimeoutAndShieldHelpers_NameGiven_BodySeesItAsCurrentNameAndInDisplay(string helper)
    {
        var (name, display) = await ScopeSeenByBodyAsync(helper, "fetch-user");

        Assert.Equal("fetch-user", name);
        var kind = helper.StartsWith("Shield", StringComparison.Ordinal) ? "Shield" : "Scope";
        Assert.StartsWith($"{kind} 'fetch-user' running", display, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(TimeoutAndShieldHelpers))]
    public async Task TimeoutAndShieldHelpers_NoNameGiven_BodySeesNullName(string helper)
    {
        var (name, display) = await ScopeSeenByBodyAsync(helper, name: null);

        Assert.Null(name);
        Assert.Contains("'(unnamed)'", display, StringComparison.Ordinal);
    }

    /// <summary>The four <c>Fail…</c> helpers, with and without a value.</summary>
    public static TheoryData<string> FailHelpers => new() { "FailAfterAsync", "FailAfterAsync<T>", "FailAtAsync", "FailAtAsync<T>" };

    /// <summary>
    /// Issue 12 (design.md, principle 4): a <c>Fail…</c> block returns only when its body completed. Cut off by an explicit
    /// <c>Cancel</c> of its own scope, every form, with or without a value, raises that cancellation (not a timeout): the
    /// form without a value used to absorb it and return as if the body had completed.
    /// </summary>
    [Theory]
    [MemberData(nameof(FailHelpers))]
    public async Task FailHelpers_OwnExplicitCancel_RaiseTheCancellationWithItsReason(string helper)
    {
        var time = new FakeTimeProvider();
        CancelScope? own = null;
        var afterBlock = false;

        async Task Body(CancellationToken ct)
        {
            own = CancelScope.Current;
            own!.Cancel("done early");
            await CancelScope.CheckpointAsync();
        }

        async Task<int> ValueBody(CancellationToken ct)
        {
            await Body(ct);
            return 1;
        }

        var thrown = await Record.ExceptionAsync(() => CancelScope.RunAsync(
            async _ =>
            {
                var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(10);
                await (helper switch
                {
                    "FailAfterAsync" => CancelScope.FailAfterAsync(TimeSpan.FromSeconds(10), Body),
                    "FailAfterAsync<T>" => CancelScope.FailAfterAsync(TimeSpan.FromSeconds(10), ValueBody),
                    "FailAtAsync" => CancelScope.FailAtAsync(deadline, Body),
                    "FailAtAsync<T>" => CancelScope.FailAtAsync(deadline, ValueBody),
                    _ => throw new ArgumentOutOfRangeException(nameof(helper), helper, "not a Fail helper"),
                });
                afterBlock = true;
            },
            new CancelScopeOptions { TimeProvider = time }));

        var cancellation = Assert.IsType<ScopeCancelledException>(thrown);
        Assert.Equal("done early", cancellation.Reason.Message);
        Assert.Same(own, cancellation.Reason.Scope);
        Assert.False(afterBlock, "the Fail block returned although its body was cut off");
        Assert.True(own!.CancelledCaught, "the block recognised its own cancellation");
    }

    [Fact]
    public async Task FailAfterAsync_NamedAndDeadlinePasses_TimeoutMessageAndReasonNameTheScope()
    {
        await CorralTest.RunAsync(async (_, _) =>
        {
            var error = await Assert.ThrowsAsync<TimeoutException>(() =>
                CancelScope.FailAfterAsync(TimeSpan.FromSeconds(5), ct => Task.Delay(Timeout.Infinite, ct), "fetch-user"));
            Assert.Equal("The operation did not complete within 00:00:05; the deadline of scope 'fetch-user' passed.", error.Message);
            var inner = Assert.IsType<ScopeCancelledException>(error.InnerException, exactMatch: false);
            Assert.Equal("fetch-user", inner.Scope.Name);
            Assert.Equal("scope 'fetch-user': deadline exceeded", inner.Reason.ToString());
        });
    }

    [Fact]
    public async Task FailAfterAsync_UnnamedAndDeadlinePasses_TimeoutMessageSaysTheScope()
    {
        await CorralTest.RunAsync(async (_, _) =>
        {
            var error = await Assert.ThrowsAsync<TimeoutException>(() =>
                CancelScope.FailAfterAsync(TimeSpan.FromSeconds(5), ct => Task.Delay(Timeout.Infinite, ct)));
            Assert.Equal("The operation did not complete within 00:00:05; the deadline of the scope passed.", error.Message);
        });
    }

    [Fact]
    public async Task FailAtAsyncT_NamedAndDeadlinePasses_TimeoutMessageNamesTheScope()
    {
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var deadline = clock.GetUtcNow() + TimeSpan.FromSeconds(5);
            var error = await Assert.ThrowsAsync<TimeoutException>(() => CancelScope.FailAtAsync(
                deadline,
                async ct =>
                {
                    await Task.Delay(Timeout.Infinite, ct);
                    return 1;
                },
                "fetch-user"));
            Assert.Equal(
                $"The operation did not complete by its deadline {deadline.ToString("O", CultureInfo.InvariantCulture)}; the deadline of scope 'fetch-user' passed.",
                error.Message);
        });
    }

    [Fact]
    public async Task MoveOnAfterAsync_NamedAndDeadlinePasses_CutOffWithReasonNamingTheScope()
    {
        CancelScope? scope = null;
        await CorralTest.RunAsync(async (_, _) =>
        {
            Assert.False(await CancelScope.MoveOnAfterAsync(
                TimeSpan.FromSeconds(1),
                ct =>
                {
                    scope = CancelScope.Current;
                    return Task.Delay(Timeout.Infinite, ct);
                },
                "warm-up"));
        });

        Assert.Equal("warm-up", scope!.Name);
        Assert.True(scope.CancelledCaught);
        Assert.Equal("scope 'warm-up': deadline exceeded", scope.CancelReason!.ToString());
    }

    [Fact]
    public async Task ShieldAsync_NamedInCancelledOuter_BodyRunsUncancelledInTheNamedShield()
    {
        string? name = null;
        var shielded = false;
        var tokenCancelled = true;
        await CancelScope.RunAsync(async outer =>
        {
            outer.Cancel("outer");
            var completed = await CancelScope.ShieldAsync(
                ct =>
                {
                    name = CancelScope.Current!.Name;
                    shielded = CancelScope.Current.Shield;
                    tokenCancelled = ct.IsCancellationRequested;
                    return Task.CompletedTask;
                },
                TimeSpan.FromSeconds(2),
                "close-connection");
            Assert.True(completed);
        });

        Assert.Equal("close-connection", name);
        Assert.True(shielded);
        Assert.False(tokenCancelled);
    }

    [Fact]
    public async Task ShieldAsyncT_NamedAndItsTimeoutPasses_CutOffWithReasonNamingTheShield()
    {
        CancelScope? shield = null;
        await CorralTest.RunAsync(async (_, _) =>
        {
            var run = await CancelScope.ShieldAsync(
                async ct =>
                {
                    shield = CancelScope.Current;
                    await Task.Delay(Timeout.Infinite, ct);
                    return 1;
                },
                TimeSpan.FromSeconds(2),
                "flush");
            Assert.False(run.Completed);
        });

        Assert.Equal("flush", shield!.Name);
        Assert.Equal("scope 'flush': deadline exceeded", shield.CancelReason!.ToString());
    }

    /// <summary>
    /// Runs <paramref name="helper"/> on a fake clock whose deadlines never pass, with <paramref name="name"/> or (when null)
    /// without the argument, and returns the name and debugger display of the scope its body ran in.
    /// </summary>
    private static async Task<(string? Name, string Display)> ScopeSeenByBodyAsync(string helper, string? name)
    {
        var time = new FakeTimeProvider();
        (string? Name, string Display)? seen = null;
        void Look()
        {
            var scope = CancelScope.Current!;
            seen = (scope.Name, scope.ToString());
        }

        Task Body(CancellationToken _)
        {
            Look();
            return Task.CompletedTask;
        }

        Task<int> ValueBody(CancellationToken _)
        {
            Look();
            return Task.FromResult(1);
        }

        await CancelScope.RunAsync(
            async _ =>
            {
                var timeout = TimeSpan.FromSeconds(10);
                var deadline = time.GetUtcNow() + timeout;
                Task run = helper switch
                {
                    "MoveOnAfterAsync" => name is null ? CancelScope.MoveOnAfterAsync(timeout, Body) : CancelScope.MoveOnAfterAsync(timeout, Body, name),
                    "MoveOnAfterAsync<T>" => name is null ? CancelScope.MoveOnAfterAsync(timeout, ValueBody) : CancelScope.MoveOnAfterAsync(timeout, ValueBody, name),
                    "MoveOnAtAsync" => name is null ? CancelScope.MoveOnAtAsync(deadline, Body) : CancelScope.MoveOnAtAsync(deadline, Body, name),
                    "MoveOnAtAsync<T>" => name is null ? CancelScope.MoveOnAtAsync(deadline, ValueBody) : CancelScope.MoveOnAtAsync(deadline, ValueBody, name),
                    "FailAfterAsync" => name is null ? CancelScope.FailAfterAsync(timeout, Body) : CancelScope.FailAfterAsync(timeout, Body, name),
                    "FailAfterAsync<T>" => name is null ? CancelScope.FailAfterAsync(timeout, ValueBody) : CancelScope.FailAfterAsync(timeout, ValueBody, name),
                    "FailAtAsync" => name is null ? CancelScope.FailAtAsync(deadline, Body) : CancelScope.FailAtAsync(deadline, Body, name),
                    "FailAtAsync<T>" => name is null ? CancelScope.FailAtAsync(deadline, ValueBody) : CancelScope.FailAtAsync(deadline, ValueBody, name),
                    "ShieldAsync" => name is null ? CancelScope.ShieldAsync(Body, timeout) : CancelScope.ShieldAsync(Body, timeout, name),
                    "ShieldAsync<T>" => name is null ? CancelScope.ShieldAsync(ValueBody, timeout) : CancelScope.ShieldAsync(ValueBody, timeout, name),
                    _ => throw new ArgumentOutOfRangeException(nameof(helper), helper, "not a timeout or shield helper"),
                };
                await run;
            },
            new CancelScopeOptions { TimeProvider = time });

        Assert.NotNull(seen);
        return seen.Value;
    }
}
