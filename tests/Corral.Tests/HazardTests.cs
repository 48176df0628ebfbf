using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Corral.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Tests;

/// <summary>The .NET hazards from DESIGN.md: what plain .NET gets wrong, and what Corral does instead.</summary>
public sealed class HazardTests
{
    [Fact]
    public async Task Start_ChildCatchesExceptionAndLoops_NextCheckpointStillThrows()
    {
        // `catch (Exception)` swallows the cancellation once; level-triggered, the next checkpoint throws again.
        var swallowed = 0;
        var child = new TaskCompletionSource();
        await TaskGroup.RunAsync(async g =>
        {
            g.Start(async ct =>
            {
                child.SetResult();
                for (var i = 0; i < 3; i++)
                {
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }
                    catch (Exception)
                    {
                        swallowed++;
                    }
                }

                await CancelScope.CheckpointAsync(); // still cancelled: ends the child as cancelled, not as a failure
            });
            await child.Task;
            g.Cancel("stop");
        });

        Assert.Equal(3, swallowed);
    }

    [Fact]
    public async Task Start_ForeignCancellationWhileGroupNotCancelled_IsAFailure()
    {
        // An HttpClient-style timeout: an OperationCanceledException from a token the group does not own.
        using var foreign = new CancellationTokenSource();
        foreign.Cancel();
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(ct => Task.Delay(Timeout.Infinite, foreign.Token), "http call");
            return Task.CompletedTask;
        }));

        var failure = Assert.Single(ex.Failures);
        Assert.Equal("http call", failure.TaskName);
        Assert.IsAssignableFrom<OperationCanceledException>(failure.Exception);
        Assert.Equal(foreign.Token, ((OperationCanceledException)failure.Exception).CancellationToken);
    }

    [Fact]
    public async Task RunAsync_ForeignCancellationInScopeNotCancelled_PassesThroughUnchanged()
    {
        var foreign = new OperationCanceledException("HttpClient.Timeout");
        var thrown = await Assert.ThrowsAsync<OperationCanceledException>(() =>
            CancelScope.RunAsync(_ => Task.FromException(foreign)));

        Assert.Same(foreign, thrown);
    }

    [Fact]
    public async Task ShieldAsync_CleanupInFinallyWithCancelledToken_CompletesInsideShield()
    {
        var plainCleanupCutShort = false;
        var corralCleanupDone = false;
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async scope =>
            {
                scope.Cancel("shutdown");
                try
                {
                    await CancelScope.CheckpointAsync();
                }
                catch (OperationCanceledException)
                {
                    // Plain .NET: the cleanup reuses the cancelled token and is cut short.
                    try
                    {
                        await Task.Delay(1, scope.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        plainCleanupCutShort = true;
                    }

                    // Corral: the cleanup runs in a shield with its own bound.
                    var completed = await CancelScope.ShieldAsync(
                        async ct =>
                        {
                            Assert.False(ct.IsCancellationRequested);
                            await CancelScope.CheckpointAsync();
                            corralCleanupDone = true;
                        },
                        TimeSpan.FromSeconds(2));
                    Assert.True(completed);
                    throw;
                }
            },
            new CancelScopeOptions { TimeProvider = time });

        Assert.True(plainCleanupCutShort);
        Assert.True(corralCleanupDone);
    }

    [Fact]
    public async Task FailAfterAsync_OwnDeadline_TimeoutNotCancellation()
    {
        await CorralTest.RunAsync(async (_, _) =>
        {
            var ex = await Assert.ThrowsAsync<TimeoutException>(() =>
                CancelScope.FailAfterAsync(TimeSpan.FromSeconds(1), ct => Task.Delay(Timeout.Infinite, ct)));
            var inner = Assert.IsType<ScopeCancelledException>(ex.InnerException, exactMatch: false);
            Assert.Equal(CancelReasonKind.DeadlineExceeded, inner.Reason.Kind);
        });
    }

    [Fact]
    public async Task FailAfterAsync_ExternalCancel_StaysCancellation()
    {
        var time = new FakeTimeProvider();
        var outer = await CancelScope.RunAsync(
            async scope =>
            {
                var run = CancelScope.FailAfterAsync(TimeSpan.FromSeconds(10), ct => Task.Delay(Timeout.Infinite, ct));
                scope.Cancel("user pressed stop");
                var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
                Assert.IsNotType<TimeoutException>(ex);
                var scoped = Assert.IsType<ScopeCancelledException>(ex);
                Assert.Equal("user pressed stop", scoped.Reason.Message);
                throw ex;
            },
            new CancelScopeOptions { TimeProvider = time }).ContinueWith(t => t.Status);

        Assert.Equal(TaskStatus.RanToCompletion, outer);
    }

    [Fact]
    public async Task TaskGroup_TwoFailuresVersusWhenAll_AllKept()
    {
        // Task.WhenAll's await rethrows only the first; the group keeps both, in order.
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.Start(
                async ct =>
                {
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }
                    catch (OperationCanceledException)
                    {
                        throw new InvalidOperationException("second: thrown while handling the group's cancellation");
                    }
                },
                "b");
            g.Start(async _ => { await Task.Yield(); throw new ArgumentException("first"); }, "a");
            return Task.CompletedTask;
        }));

        Assert.Equal(["a", "b"], [ex.Failures[0].TaskName, ex.Failures[1].TaskName]);
        Assert.IsType<ArgumentException>(ex.InnerExceptions[0]);
        Assert.IsType<InvalidOperationException>(ex.InnerExceptions[1]);
    }

    [Fact]
    public async Task RunAsync_AsyncIteratorBody_AmbientScopeIsTheConsumers()
    {
        // PEP 789 in C#: after `yield return`, an async iterator's body resumes in the consumer's ExecutionContext.
        // Corral has no using-form, so no scope can be open across a yield; what the body sees is the consumer's scope.
        var seen = new List<string?>();
        async IAsyncEnumerable<int> Produce()
        {
            seen.Add(CancelScope.Current?.Name);
            yield return 1;
            seen.Add(CancelScope.Current?.Name);
            yield return 2;
        }

        await using var e = Produce().GetAsyncEnumerator();
        await CancelScope.RunAsync(async _ => Assert.True(await e.MoveNextAsync()), new CancelScopeOptions { Name = "A" });
        await CancelScope.RunAsync(async _ => Assert.True(await e.MoveNextAsync()), new CancelScopeOptions { Name = "B" });
        Assert.Equal(["A", "B"], seen);
    }

    [Fact]
    public async Task RunAsync_ScopeOpenedInsideIteratorBody_ClosedBeforeYield()
    {
        // The safe pattern: a scope opened in an iterator body ends before the yield; the consumer's scope is unaffected.
        async IAsyncEnumerable<bool> Produce()
        {
            for (var i = 0; i < 2; i++)
            {
                var completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), ct => Task.Delay(Timeout.Infinite, ct));
                yield return completed;
            }
        }

        var results = new List<bool>();
        await CorralTest.RunAsync(async (_, _) => await CancelScope.RunAsync(async consumer =>
        {
            await using var e = Produce().GetAsyncEnumerator();
            for (var i = 0; i < 2; i++)
            {
                Assert.True(await e.MoveNextAsync());
                results.Add(e.Current);
                Assert.Same(consumer, CancelScope.Current);
                Assert.False(consumer.IsCancellationRequested);
            }
        }));

        Assert.Equal([false, false], results);
    }
}
