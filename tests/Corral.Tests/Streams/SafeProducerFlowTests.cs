using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using CsCheck;
using Xunit;

namespace Corral.Tests;

/// <summary>
/// The flow control of safe producers (ProducerFlow): the bound, the hysteresis of a waiting writer, the rendezvous demand,
/// the writer's synchronous API, and checkpoints that follow the ambient scope.
/// </summary>
public sealed class SafeProducerFlowTests
{
    /// <summary>Starts a producer whose writer the test drives itself, and returns the writer once the producer runs.</summary>
    private static async Task<(IAsyncEnumerator<int> Items, ChannelWriter<int> Writer)> OpenAsync(int capacity)
    {
        var writer = Gate.New<ChannelWriter<int>>();
        var stream = SafeProducer.ProduceAsync<int>(
            async (w, ct) =>
            {
                writer.SetResult(w);
                await Task.Delay(Timeout.Infinite, ct);
            },
            new SafeProducerOptions { Capacity = capacity });
        var items = stream.GetAsyncEnumerator();
        return (items, await writer.Task.Within());
    }

    [Fact]
    public async Task WriteAsync_WaitingForRoom_ResumesOnlyOnceHalfTheBufferIsFree()
    {
        var (items, writer) = await OpenAsync(capacity: 8);
        await using (items)
        {
            for (var i = 0; i < 8; i++)
            {
                Assert.True(writer.WriteAsync(i).IsCompletedSuccessfully, "a write with room completes at once");
            }

            var ninth = writer.WriteAsync(8).AsTask(); // full: this write waits
            for (var i = 0; i < 3; i++)
            {
                Assert.True(await items.MoveNextAsync().AsTask().Within());
                Assert.Equal(i, items.Current);
                Assert.False(ninth.IsCompleted, $"a waiting write resumed with {i + 1} of 8 slots free; hysteresis waits for 4");
            }

            Assert.True(await items.MoveNextAsync().AsTask().Within());
            Assert.Equal(3, items.Current);
            await ninth.Within(); // half the buffer is free: the write resumes

            for (var i = 4; i <= 8; i++)
            {
                Assert.True(await items.MoveNextAsync().AsTask().Within());
                Assert.Equal(i, items.Current);
            }
        }
    }

    [Fact]
    public async Task WriteAsync_FreshWriteAfterOneRead_TakesTheFreeSlotAtOnce()
    {
        var (items, writer) = await OpenAsync(capacity: 4);
        await using (items)
        {
            for (var i = 0; i < 4; i++)
            {
                await writer.WriteAsync(i).AsTask().Within();
            }

            Assert.False(writer.TryWrite(4), "the buffer is full");
            Assert.True(await items.MoveNextAsync().AsTask().Within());

            // Only a write that had to wait waits for half the buffer; a new one takes any published slot.
            Assert.True(writer.WriteAsync(4).IsCompletedSuccessfully);
            Assert.False(writer.TryWrite(5), "the buffer is full again");
        }
    }

    [Fact]
    public async Task TryWrite_Rendezvous_SucceedsOnlyWhileTheConsumerWaits()
    {
        var (items, writer) = await OpenAsync(capacity: 0);
        await using (items)
        {
            Assert.False(writer.TryWrite(1), "nobody asked for an item");

            var next = items.MoveNextAsync().AsTask(); // the consumer waits: one demand
            Assert.False(next.IsCompleted);
            Assert.True(writer.TryWrite(1));
            Assert.False(writer.TryWrite(2), "one demand lets one item through");

            Assert.True(await next.Within());
            Assert.Equal(1, items.Current);
            Assert.False(writer.TryWrite(2), "the demand was used up");
        }
    }

    [Fact]
    public async Task WaitToWriteAsync_Full_CompletesWhenTheConsumerFreesHalf()
    {
        var (items, writer) = await OpenAsync(capacity: 2);
        await using (items)
        {
            Assert.True(await writer.WaitToWriteAsync().AsTask().Within());
            Assert.True(writer.TryWrite(0));
            Assert.True(writer.TryWrite(1));

            var room = writer.WaitToWriteAsync().AsTask();
            Assert.False(room.IsCompleted, "the buffer is full");

            Assert.True(await items.MoveNextAsync().AsTask().Within());
            Assert.True(await room.Within());
            Assert.True(writer.TryWrite(2));
        }
    }

    [Fact]
    public async Task WaitToWriteAsync_ProducerCompletedTheWriter_ReturnsFalse()
    {
        var (items, writer) = await OpenAsync(capacity: 2);
        await using (items)
        {
            Assert.True(writer.TryComplete());
            Assert.False(await writer.WaitToWriteAsync().AsTask().Within());
            await Assert.ThrowsAsync<ChannelClosedException>(() => writer.WriteAsync(1).AsTask()).Within();
            Assert.False(await items.MoveNextAsync().AsTask().Within());
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    public async Task WriteAsync_ShieldedWriterWaitingWhenConsumerLeaves_FailsWithChannelClosed(int capacity)
    {
        Exception? shieldedWrite = null;
        var waiting = Gate.New();
        var stream = SafeProducer.ProduceAsync<int>(
            async (w, ct) =>
            {
                for (var i = 0; i < capacity; i++)
                {
                    await w.WriteAsync(i, ct); // fill the buffer; nobody reads
                }

                await CancelScope.ShieldAsync(async _ =>
                {
                    var write = w.WriteAsync(-1, CancellationToken.None).AsTask(); // full (or no demand): it waits, shielded from the cancellation
                    Assert.False(write.IsCompleted);
                    waiting.SetResult();
                    try
                    {
                        await write;
                    }
                    catch (ChannelClosedException e)
                    {
                        shieldedWrite = e;
                    }
                });
            },
            new SafeProducerOptions { Capacity = capacity });

        var e = stream.GetAsyncEnumerator();
        await waiting.Task.Within();
        await e.DisposeAsync().AsTask().Within();

        Assert.IsType<ChannelClosedException>(shieldedWrite);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0)]
    public async Task WriteAsync_WaitingForRoomWhenGroupCancelled_ThrowsTheCancellationWithItsReason(int capacity)
    {
        var writeFailed = Gate.New<Exception>();
        await TaskGroup.RunAsync(async g =>
        {
            var e = g.ProduceAsync<int>(
                async (w, ct) =>
                {
                    for (var i = 0; i < capacity; i++)
                    {
                        await w.WriteAsync(i, ct);
                    }

                    try
                    {
                        await w.WriteAsync(-1, ct); // full (or no demand), and nobody reads
                    }
                    catch (Exception x)
                    {
                        writeFailed.SetResult(x);
                        throw;
                    }
                },
                new SafeProducerOptions { Capacity = capacity }).GetAsyncEnumerator();
            await using (e)
            {
                await Task.Yield();
                g.Cancel("stop");

                // Not disposed yet: only the cancellation of the producer's scope can wake the waiting write.
                var error = await writeFailed.Task.Within();
                Assert.Equal("stop", Assert.IsType<ScopeCancelledException>(error).Reason.Message);
            }
        }).Within();
    }

    [Fact]
    public async Task MoveNextAsync_AlternatingCancelledAndLiveScopes_CheckpointFollowsTheAmbientScope()
    {
        var (items, writer) = await OpenAsync(capacity: 8);
        await using (items)
        {
            for (var i = 0; i < 4; i++)
            {
                await writer.WriteAsync(i).AsTask().Within();
            }

            var read = new List<int>();
            await CancelScope.RunAsync(async cancelled =>
            {
                cancelled.Cancel("inner");
                for (var i = 0; i < 2; i++)
                {
                    // Back in the cancelled scope after each shield: the checkpoint must see it again.
                    await Assert.ThrowsAsync<ScopeCancelledException>(async () => await items.MoveNextAsync());
                    await CancelScope.ShieldAsync(async _ =>
                    {
                        Assert.True(await items.MoveNextAsync());
                        read.Add(items.Current);
                    });
                }
            }).Within();

            Assert.Equal(new[] { 0, 1 }, read);
            Assert.True(await items.MoveNextAsync().AsTask().Within()); // back in the live scope
            Assert.Equal(2, items.Current);
        }
    }

    [Fact]
    public async Task WriteAsync_AlternatingCancelledAndLiveScopes_CheckpointFollowsTheAmbientScope()
    {
        var throws = 0;
        var stream = SafeProducer.ProduceAsync<int>(
            async (w, ct) =>
            {
                for (var i = 0; i < 3; i++)
                {
                    await w.WriteAsync(i, ct);
                    await CancelScope.RunAsync(async inner =>
                    {
                        inner.Cancel("inner");
                        await Assert.ThrowsAsync<ScopeCancelledException>(async () => await w.WriteAsync(-1, CancellationToken.None));
                        throws++;
                    });
                }
            },
            new SafeProducerOptions { Capacity = 2 });

        var items = new List<int>();
        await foreach (var item in stream)
        {
            items.Add(item);
        }

        Assert.Equal(new[] { 0, 1, 2 }, items);
        Assert.Equal(3, throws);
    }

    /// <summary>One random run: the bound, the writers, the item counts and how often each side yields.</summary>
    private sealed record FlowCase(int Capacity, int Writers, int ItemsPerWriter, int ProducerYieldEvery, int ConsumerYieldEvery)
    {
        /// <inheritdoc/>
        public override string ToString() =>
            $"capacity {Capacity}, {Writers} writers x {ItemsPerWriter} items, producer yields every {ProducerYieldEvery}, consumer every {ConsumerYieldEvery}";
    }

    [Fact]
    public async Task ProduceAsync_RandomWritersAndPaces_EveryItemOnceInWriterOrderWithinCapacity()
    {
        var cases = Gen.Select(Gen.Int[0, 9], Gen.Int[1, 3], Gen.Int[0, 60], Gen.Int[0, 4], Gen.Int[0, 4], (c, w, n, p, q) => new FlowCase(c, w, n, p, q));
        await cases.SampleAsync(
            async flow =>
            {
                // Writes completed so far; a write counts once it has returned, so it is in the channel or already read.
                var completed = 0;
                var stream = SafeProducer.ProduceAsync<(int Writer, int Index)>(
                    async (w, ct) =>
                    {
                        await TaskGroup.RunAsync(group =>
                        {
                            for (var writer = 0; writer < flow.Writers; writer++)
                            {
                                var id = writer;
                                group.Start(
                                    async t =>
                                    {
                                        for (var i = 0; i < flow.ItemsPerWriter; i++)
                                        {
                                            if (flow.ProducerYieldEvery > 0 && i % flow.ProducerYieldEvery == 0)
                                            {
                                                await Task.Yield();
                                            }

                                            await w.WriteAsync((id, i), t);
                                            Interlocked.Increment(ref completed);
                                        }
                                    },
                                    $"writer {id}");
                            }

                            return Task.CompletedTask;
                        });
                    },
                    new SafeProducerOptions { Capacity = flow.Capacity });

                var next = new int[flow.Writers];
                var consumed = 0;
                await foreach (var (writer, index) in stream)
                {
                    consumed++;

                    // Never more than the capacity ahead (a rendezvous: never ahead), with any number of writers.
                    var ahead = Volatile.Read(ref completed) - consumed;
                    Assert.True(ahead <= flow.Capacity, $"{ahead} items ahead with capacity {flow.Capacity}: {flow}");
                    Assert.True(index == next[writer], $"writer {writer}: item {index} where {next[writer]} was due: {flow}");
                    next[writer]++;

                    if (flow.ConsumerYieldEvery > 0 && consumed % flow.ConsumerYieldEvery == 0)
                    {
                        await Task.Yield();
                    }
                }

                Assert.Equal(flow.Writers * flow.ItemsPerWriter, consumed);
                Assert.All(next, n => Assert.Equal(flow.ItemsPerWriter, n));
            },
            iter: 300);
    }
}
