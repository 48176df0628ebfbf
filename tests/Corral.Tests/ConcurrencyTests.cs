using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Corral.Tests;

/// <summary>Races on real threads, repeated; each asserts an invariant that holds on every interleaving.</summary>
public sealed class ConcurrencyTests
{
    private const int Rounds = 200;

    [Fact]
    public async Task Cancel_FromManyThreadsAtOnce_OneReasonWinsAndEveryTokenCancelled()
    {
        for (var round = 0; round < Rounds; round++)
        {
            CancellationToken childToken = default;
            await CancelScope.RunAsync(async scope =>
            {
                await CancelScope.RunAsync(async child =>
                {
                    childToken = child.Token;
                    using var barrier = new Barrier(4);
                    var threads = Enumerable.Range(0, 4).Select(i => Task.Factory.StartNew(
                        () =>
                        {
                            barrier.SignalAndWait();
                            scope.Cancel($"thread {i}");
                        },
                        TaskCreationOptions.LongRunning)).ToArray();
                    await Task.WhenAll(threads);
                    await CancelScope.CheckpointAsync();
                });
                Assert.StartsWith("thread ", scope.CancelReason!.Message, StringComparison.Ordinal);
            });
            Assert.True(childToken.IsCancellationRequested);
        }
    }

    [Fact]
    public async Task Start_RacingTheClose_EitherRunsOrThrowsNeverLost()
    {
        for (var round = 0; round < Rounds; round++)
        {
            TaskGroup? group = null;
            var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var ranLate = 0;
            var refused = 0;
            var racer = Task.Run(async () =>
            {
                await release.Task;
                try
                {
                    group!.Start(_ => { Interlocked.Increment(ref ranLate); return Task.CompletedTask; });
                }
                catch (InvalidOperationException)
                {
                    Interlocked.Increment(ref refused);
                }
            });

            await TaskGroup.RunAsync(g =>
            {
                group = g;
                g.Start(async _ => { await Task.Yield(); });
                release.SetResult();
                return Task.CompletedTask;
            });
            await racer;

            // The late child either was admitted (and then it ran before the group closed) or was refused: never both, never neither.
            Assert.Equal(1, ranLate + refused);
        }
    }

    [Fact]
    public async Task Shield_ToggledWhileParentCancelled_CheckpointsFollowTheShield()
    {
        for (var round = 0; round < Rounds; round++)
        {
            await CancelScope.RunAsync(async outer =>
            {
                await CancelScope.RunAsync(async inner =>
                {
                    var cancelling = Task.Run(() => outer.Cancel("race"));
                    inner.Shield = true;
                    await cancelling;

                    // Whatever the interleaving, the shield is up now: the inner scope is not cancelled, and a fresh token is live.
                    Assert.False(inner.IsCancellationRequested);
                    Assert.False(inner.Token.IsCancellationRequested);
                    await CancelScope.CheckpointAsync();

                    inner.Shield = false;
                    Assert.True(inner.IsCancellationRequested);
                    Assert.True(inner.Token.IsCancellationRequested);
                    await CancelScope.CheckpointAsync();
                });
            });
        }
    }

    [Fact]
    public async Task Start_FromManyThreads_EveryChildAwaitedAndEveryFailureKept()
    {
        var started = 0;
        var finished = 0;
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(async g =>
        {
            var starters = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
            {
                for (var i = 0; i < 250; i++)
                {
                    var n = (t * 250) + i;
                    g.Start(async _ =>
                    {
                        Interlocked.Increment(ref started);
                        await Task.Yield();
                        Interlocked.Increment(ref finished);
                        if (n % 100 == 0)
                        {
                            throw new InvalidOperationException($"child {n}");
                        }
                    });
                }
            })).ToArray();
            await Task.WhenAll(starters);
        }));

        Assert.Equal(2000, started);
        Assert.Equal(2000, finished);
        Assert.Equal(20, ex.InnerExceptions.Count);
        Assert.Equal(20, ex.InnerExceptions.Select(e => e.Message).Distinct().Count());
    }

    [Fact]
    public async Task CancelScope_ChildrenCreatedWhileParentCancels_AllEndUpCancelled()
    {
        var checkedAfterCancel = 0;
        for (var round = 0; round < 50; round++)
        {
            var cancelReturned = 0;
            await CancelScope.RunAsync(async outer =>
            {
                var makers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
                {
                    for (var i = 0; i < 20; i++)
                    {
                        await CancelScope.RunAsync(async s =>
                        {
                            for (var read = 0; read < 2; read++)
                            {
                                // Cancel has returned before this read: the verdict and the token must both show it.
                                var after = Volatile.Read(ref cancelReturned) == 1;
                                var token = s.Token;
                                if (after)
                                {
                                    Interlocked.Increment(ref checkedAfterCancel);
                                    Assert.True(s.IsCancellationRequested, "verdict missed a cancel that had returned");
                                    Assert.True(token.IsCancellationRequested, "token missed a cancel that had returned");
                                }

                                await Task.Yield();
                            }
                        });
                    }
                })).ToArray();
                await Task.Yield();
                outer.Cancel("storm");
                Volatile.Write(ref cancelReturned, 1);
                await Task.WhenAll(makers);
            });

        }

        Assert.True(checkedAfterCancel > 0, "the race was never exercised");
    }
}
