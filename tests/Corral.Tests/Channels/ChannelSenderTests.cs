using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Xunit;

namespace Corral.Tests;

/// <summary>ChannelSender, TaskGroup.StartSender and the checkpointing receive extensions.</summary>
public sealed class ChannelSenderTests
{
    private static async Task<List<int>> DrainAsync(ChannelReader<int> reader)
    {
        var items = new List<int>();
        await foreach (var item in reader.ReceiveAllAsync())
        {
            items.Add(item);
        }

        return items;
    }

    [Fact]
    public async Task StartSender_Writer_ChannelCompletesWhenTaskReturns()
    {
        var channel = Channel.CreateBounded<int>(2);
        List<int>? items = null;
        await TaskGroup.RunAsync(async g =>
        {
            g.StartSender(channel.Writer, async (s, ct) =>
            {
                for (var i = 0; i < 5; i++)
                {
                    await s.SendAsync(i);
                }
            });
            items = await DrainAsync(channel.Reader);
        }).Within();

        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, items);
        Assert.True(channel.Reader.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task StartSender_TaskFails_ChannelCompletedWithFailureAndGroupReportsItOnce()
    {
        var channel = Channel.CreateUnbounded<int>();
        var boom = new IOException("disk");
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            g.StartSender(channel.Writer, async (s, ct) =>
            {
                await s.SendAsync(1);
                throw boom;
            }, "writer");
            return Task.CompletedTask;
        })).Within();

        var failure = Assert.Single(ex.Failures);
        Assert.Same(boom, failure.Exception);
        Assert.Equal("writer", failure.TaskName);

        // A reader outside the group sees that the stream was cut, not a normal end.
        Assert.Equal(1, await channel.Reader.ReceiveAsync());
        Assert.Same(boom, await Assert.ThrowsAsync<IOException>(async () => await channel.Reader.ReceiveAsync()));
    }

    [Fact]
    public async Task StartSender_ReaderInGroupRethrowsCompletionError_ReportedOnce()
    {
        var channel = Channel.CreateUnbounded<int>();
        var boom = new IOException("disk");
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(async g =>
        {
            g.StartSender(channel.Writer, (s, ct) => throw boom);
            await CancelScope.ShieldAsync(async _ => await DrainAsync(channel.Reader)); // shielded: sees the error itself
        })).Within();

        Assert.Same(boom, Assert.Single(ex.Failures).Exception);
    }

    [Fact]
    public async Task StartSender_SeveralClones_ChannelCompletesWhenLastEnds()
    {
        var channel = Channel.CreateUnbounded<int>();
        var releaseFirst = Gate.New();
        var releaseSecond = Gate.New();
        var firstDone = Gate.New();
        await TaskGroup.RunAsync(async g =>
        {
            var sender = new ChannelSender<int>(channel.Writer);
            using (sender)
            {
                g.StartSender(sender, async (s, ct) =>
                {
                    await s.SendAsync(1);
                    await releaseFirst.Task;
                }, "first");
                g.StartSender(sender, async (s, ct) =>
                {
                    await s.SendAsync(2);
                    await releaseSecond.Task;
                }, "second");
            }

            Assert.False(channel.Reader.Completion.IsCompleted); // the original closed; the clones hold it open

            g.Start(async _ =>
            {
                releaseFirst.SetResult();
                await Task.Yield();
                firstDone.SetResult();
            });
            await firstDone.Task;

            // Until the first clone has closed: a condition, not a delay (each turn yields; Within bounds the wait).
            while (sender.OpenHandles > 1)
            {
                await Task.Yield();
            }

            Assert.Equal(1, sender.OpenHandles);
            Assert.False(channel.Reader.Completion.IsCompleted); // the first clone closed; the second holds the channel open

            releaseSecond.SetResult();
            var items = await DrainAsync(channel.Reader);
            Assert.Equal(new[] { 1, 2 }, items.OrderBy(i => i));
        }).Within();

        Assert.True(channel.Reader.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task StartSender_OneCloneFailsOthersCancelled_CompletionCarriesFirstFailure()
    {
        var channel = Channel.CreateUnbounded<int>();
        var boom = new InvalidOperationException("first");
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            using var sender = new ChannelSender<int>(channel.Writer);
            g.StartSender(sender, async (s, ct) =>
            {
                while (true)
                {
                    await s.SendAsync(0);
                    await Task.Delay(Timeout.Infinite, ct);
                }
            }, "waiter");
            g.StartSender(sender, async (s, ct) =>
            {
                await Task.Yield();
                throw boom;
            }, "failer");
            return Task.CompletedTask;
        })).Within();

        Assert.Same(boom, Assert.Single(ex.Failures).Exception); // the cancelled sibling is not a failure
        var completion = await Assert.ThrowsAsync<InvalidOperationException>(() => DrainAsync(channel.Reader)).Within();
        Assert.Same(boom, completion);
    }

    [Fact]
    public async Task StartSender_ClosedGroup_ThrowsAndReleasesClone()
    {
        var channel = Channel.CreateUnbounded<int>();
        TaskGroup? closed = null;
        await TaskGroup.RunAsync(g =>
        {
            closed = g;
            return Task.CompletedTask;
        });

        Assert.Throws<InvalidOperationException>(() => closed!.StartSender(channel.Writer, (s, ct) => Task.CompletedTask));
        Assert.True(channel.Reader.Completion.IsCompleted); // the writer's only handle was closed again
    }

    [Fact]
    public void Clone_AfterDispose_ThrowsAndDisposeIsIdempotent()
    {
        var channel = Channel.CreateUnbounded<int>();
        var sender = new ChannelSender<int>(channel.Writer);
        var clone = sender.Clone();
        sender.Dispose();
        sender.Dispose(); // a second close must not count twice

        Assert.True(sender.IsClosed);
        Assert.False(clone.IsClosed);
        Assert.False(channel.Reader.Completion.IsCompleted);
        Assert.Throws<ObjectDisposedException>(() => sender.Clone());
        Assert.Throws<ObjectDisposedException>(() => sender.TrySend(1));
        Assert.True(clone.TrySend(1));

        clone.Dispose();
        Assert.False(channel.Writer.TryWrite(2)); // the writer is completed (Completion waits for the buffered item to be read)
    }

    [Fact]
    public async Task SendAsync_ScopeCancelledWithRoom_ThrowsEveryTime()
    {
        var channel = Channel.CreateUnbounded<int>();
        using var sender = new ChannelSender<int>(channel.Writer);
        var throws = 0;
        await CancelScope.RunAsync(async scope =>
        {
            scope.Cancel("stop sending");
            for (var i = 0; i < 2; i++)
            {
                var e = await Assert.ThrowsAsync<ScopeCancelledException>(async () => await sender.SendAsync(i));
                Assert.Equal("stop sending", e.Reason.Message);
                throws++;
            }
        });

        Assert.Equal(2, throws);
        Assert.False(channel.Reader.TryRead(out _));
    }

    [Fact]
    public async Task SendAsync_FullChannelThenScopeCancelled_ThrowsScopeCancelledWithReason()
    {
        var channel = Channel.CreateBounded<int>(1);
        using var sender = new ChannelSender<int>(channel.Writer);
        ScopeCancelledException? error = null;
        await CancelScope.RunAsync(async scope =>
        {
            await sender.SendAsync(1);
            var blocked = sender.SendAsync(2).AsTask();
            Assert.False(blocked.IsCompleted);
            scope.Cancel("full for too long");
            error = await Assert.ThrowsAsync<ScopeCancelledException>(() => blocked);
        }).Within();

        Assert.Equal("full for too long", error!.Reason.Message);
        Assert.Equal(1, await channel.Reader.ReadAsync());
        Assert.False(channel.Reader.TryRead(out _));
    }

    [Fact]
    public async Task ReceiveAsync_ScopeCancelledWithItemsBuffered_Throws()
    {
        var channel = Channel.CreateUnbounded<int>();
        channel.Writer.TryWrite(1);
        await CancelScope.RunAsync(async scope =>
        {
            scope.Cancel("no more");
            await Assert.ThrowsAsync<ScopeCancelledException>(async () => await channel.Reader.ReceiveAsync());
            await Assert.ThrowsAsync<ScopeCancelledException>(async () =>
            {
                await foreach (var item in channel.Reader.ReceiveAllAsync())
                {
                    Assert.Fail("a cancelled scope receives nothing");
                }
            });
        });

        Assert.True(channel.Reader.TryRead(out var left));
        Assert.Equal(1, left);
    }

    [Fact]
    public async Task ReceiveAsync_WaitingThenScopeCancelled_ThrowsWithReason()
    {
        var channel = Channel.CreateUnbounded<int>();
        ScopeCancelledException? error = null;
        await CancelScope.RunAsync(async scope =>
        {
            var pending = channel.Reader.ReceiveAsync().AsTask();
            Assert.False(pending.IsCompleted);
            scope.Cancel("waited enough");
            error = await Assert.ThrowsAsync<ScopeCancelledException>(() => pending);
        }).Within();

        Assert.Equal("waited enough", error!.Reason.Message);
    }

    [Fact]
    public async Task ReceiveAsync_CompletedEmptyChannel_ThrowsChannelClosed()
    {
        var channel = Channel.CreateUnbounded<int>();
        channel.Writer.Complete();
        await Assert.ThrowsAsync<ChannelClosedException>(async () => await channel.Reader.ReceiveAsync()).Within();
    }

    [Fact]
    public async Task ReceiveAllAsync_ConcurrentConsumers_EachItemExactlyOnce()
    {
        var channel = Channel.CreateBounded<int>(4);
        var seen = new List<int>[3];
        await TaskGroup.RunAsync(g =>
        {
            g.StartSender(channel.Writer, async (s, ct) =>
            {
                for (var i = 0; i < 300; i++)
                {
                    await s.SendAsync(i);
                }
            });
            for (var c = 0; c < seen.Length; c++)
            {
                var mine = seen[c] = new List<int>();
                g.Start(async _ =>
                {
                    await foreach (var item in channel.Reader.ReceiveAllAsync())
                    {
                        mine.Add(item);
                    }
                });
            }

            return Task.CompletedTask;
        }, new TaskGroupOptions { StartMode = ChildStartMode.ThreadPool }).Within();

        var all = seen.SelectMany(l => l).OrderBy(i => i).ToArray();
        Assert.Equal(Enumerable.Range(0, 300), all);
    }

    [Fact]
    public void NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => new ChannelSender<int>(null!));
        Assert.Throws<ArgumentNullException>(() => ChannelReaderExtensions.ReceiveAllAsync<int>(null!));
    }
}
