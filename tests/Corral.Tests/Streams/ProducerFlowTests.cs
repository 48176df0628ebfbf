using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Corral.Tests;

/// <summary>
/// ProducerFlow on its own: the credits between a safe producer's writers and its consumer. A wake completes the room signal
/// synchronously (only the waiters' continuations run later), so every assertion here is exact.
/// </summary>
public sealed class ProducerFlowTests
{
    [Fact]
    public void TryReserve_CapacityN_GrantsExactlyNSlots()
    {
        var flow = new ProducerFlow(capacity: 5);

        var granted = Enumerable.Range(0, 8).Count(_ => flow.TryReserve());

        Assert.Equal(5, granted);
        Assert.False(flow.HasRoom);
    }

    [Fact]
    public void TryReserve_ConcurrentWriters_NeverExceedTheLimit()
    {
        var flow = new ProducerFlow(capacity: 1000);
        var granted = 0;

        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 1000; i++)
            {
                if (flow.TryReserve())
                {
                    Interlocked.Increment(ref granted);
                }
            }
        });

        Assert.Equal(1000, granted);
        Assert.Equal(1000, flow.Reserved);
    }

    [Fact]
    public void OnConsumed_WriterWaiting_WakesItOnlyOnceHalfTheBufferIsFree()
    {
        var flow = new ProducerFlow(capacity: 8);
        for (var i = 0; i < 8; i++)
        {
            Assert.True(flow.TryReserve());
        }

        var signal = flow.RegisterWaiter();
        Assert.False(flow.RoomAfterRegistering, "a full buffer has no room for a waiting writer");

        for (var read = 1; read <= 3; read++)
        {
            flow.OnConsumed();
            Assert.False(signal.IsCompleted, $"woken with {read} of 8 slots free; hysteresis waits for 4");
            Assert.True(flow.WriterWaiting);
        }

        flow.OnConsumed();

        Assert.True(signal.IsCompletedSuccessfully);
        Assert.False(flow.WriterWaiting);
        Assert.Equal(4, Enumerable.Range(0, 8).Count(_ => flow.TryReserve()));
    }

    [Fact]
    public void OnConsumed_FreshWriter_SeesRoomPublishedEveryQuarterOfTheBuffer()
    {
        var flow = new ProducerFlow(capacity: 8);
        for (var i = 0; i < 8; i++)
        {
            flow.TryReserve();
        }

        flow.OnConsumed();
        Assert.False(flow.TryReserve(), "one read is not yet published (every 8 / 4 = 2 reads)");

        flow.OnConsumed();
        Assert.True(flow.TryReserve());
        Assert.True(flow.TryReserve());
        Assert.False(flow.TryReserve());
    }

    [Fact]
    public void OnConsumerWaiting_CapacityN_PublishesEveryRead()
    {
        var flow = new ProducerFlow(capacity: 8);
        for (var i = 0; i < 8; i++)
        {
            flow.TryReserve();
        }

        flow.OnConsumed();
        flow.OnConsumerWaiting(); // the consumer is about to wait: nothing it has read stays unpublished

        Assert.True(flow.TryReserve());
        Assert.False(flow.TryReserve());
    }

    [Fact]
    public void OnConsumerWaiting_Rendezvous_PostsOneDemandAndWakesTheWriter()
    {
        var flow = new ProducerFlow(capacity: 0);
        Assert.False(flow.TryReserve(), "nobody asked for an item");

        var signal = flow.RegisterWaiter();
        Assert.False(flow.RoomAfterRegistering);
        flow.OnConsumerWaiting();

        Assert.True(signal.IsCompletedSuccessfully);
        Assert.True(flow.TryReserve());
        Assert.False(flow.TryReserve(), "one demand, one item");
    }

    [Fact]
    public void OnConsumerWaiting_RendezvousDemandLeftPosted_WritersAtMostOneAhead()
    {
        var flow = new ProducerFlow(capacity: 0);

        // Race case 4: a wait abandoned (cancelled) and a new one, with no item read in between.
        flow.OnConsumerWaiting();
        flow.OnConsumerWaiting();

        Assert.True(flow.TryReserve());
        Assert.False(flow.TryReserve(), "two waits for the same item are one demand");

        flow.OnConsumed();
        Assert.False(flow.TryReserve(), "reading the item uses the demand up");
        flow.OnConsumerWaiting();
        Assert.True(flow.TryReserve());
    }

    [Fact]
    public void RegisterWaiter_RoomFreedBeforeRegistering_WriterSeesItWithoutWaiting()
    {
        var flow = new ProducerFlow(capacity: 4);
        for (var i = 0; i < 4; i++)
        {
            flow.TryReserve();
        }

        Assert.False(flow.TryReserve());

        // The consumer frees the whole buffer between the writer's failed reservation and its registration.
        for (var i = 0; i < 4; i++)
        {
            flow.OnConsumed();
        }

        flow.RegisterWaiter();
        Assert.True(flow.RoomAfterRegistering, "race case 6: the look after registering finds the room");
    }

    [Fact]
    public void WakeWriters_NoWriterWaiting_NextRegistrationGetsAFreshSignal()
    {
        var flow = new ProducerFlow(capacity: 1);
        var first = flow.RegisterWaiter();
        flow.WakeWriters();
        Assert.True(first.IsCompletedSuccessfully);

        var second = flow.RegisterWaiter();

        Assert.False(second.IsCompleted, "a wake is not remembered for writers that register after it");
        Assert.True(flow.WriterWaiting);
    }
}
