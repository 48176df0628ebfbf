// ProducerFlow: the flow control of one safe-producer enumeration, on top of an unbounded BCL channel
// (docs/adr/0007-safe-producers.md, "Speed: flow control on top of the channel"; the race cases are in ProducerSession.cs).
//
// The items travel through a System.Threading.Channels channel with one reader: its TryRead takes no lock, and it wakes a
// waiting reader itself. What the channel does not do here is bound the writers; this class does, with credits:
//
//   writers                                       consumer
//   -------                                       --------
//   Reserve a slot: Reserved < Limit, CAS         after each item read: Consumed++; every N/4 items, publish:
//     Reserved + 1, then write the item             Limit = Consumed + N (capacity N), fenced
//   No slot: register in the room signal,         before waiting for an item: publish (capacity N), or post one demand,
//     look again, wait                              Limit = Consumed + 1 (rendezvous); fenced
//                                                 after publishing: wake the waiting writers once Limit - Reserved >= WakeRoom
//
// Three things make it cheap:
//   * No shared write per item. Writers and the consumer each write their own counters, on cache lines of their own; a
//     writer reads the consumer's Limit only when its cached copy is used up, the consumer publishes it once per N/4 items
//     (the only atomic on its side), and it reads the writers' Reserved only while a writer waits.
//   * Hysteresis. A writer that found the buffer full is woken when the consumer has drained it to half (WakeRoom free slots),
//     not at the first free slot: a fast producer and a slower consumer alternate once per N/2 items instead of once per item.
//     A new write takes any published slot; only a write that had to wait waits for WakeRoom.
//   * Waits that allocate little. Every writer waiting meanwhile shares one signal (a TaskCompletionSource per wake), and a
//     wait on the producer scope's token registers nothing: the enumeration registers one wake-everybody callback on it.
//
// What a writer sees as "full" is the consumer's last publication, so TryWrite may fail (and a write wait) while up to
// N/4 - 1 items have been read but not yet published; the consumer publishes before it waits, so an empty buffer is never
// seen as full.
using System;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace Corral;

/// <summary>The credits between the writers of a safe producer and its consumer.</summary>
[DebuggerDisplay("reserved={Reserved} limit={Limit} consumed={Consumed}")]
internal sealed class ProducerFlow
{
    /// <summary>Bytes between counters written by different threads (two lines: the adjacent-line prefetcher pairs them).</summary>
    private const int Padding = 128;

    /// <summary>The capacity: how many items the writers may be ahead of the consumer; 0 for a rendezvous.</summary>
    private readonly int _capacity;

    /// <summary>How many free slots wake a writer that waits for room: half the capacity (rounded up), 1 for a rendezvous.</summary>
    private readonly long _wakeRoom;

    /// <summary>Capacity N: the consumer publishes its progress (raises <see cref="Counters.Limit"/>) every this many items,
    /// N/4, and whenever it is about to wait.</summary>
    private readonly long _publishEvery;

    /// <summary>Guards <see cref="_roomSignal"/> and the writes of <see cref="Counters.RoomWanted"/>.</summary>
    private readonly object _gate = new();

    /// <summary>Completed at the next wake; shared by every writer waiting for room meanwhile. Null while nobody waits.</summary>
    private TaskCompletionSource? _roomSignal;

    /// <summary>The producer scope's token: its cancellation wakes every waiting writer, so a wait on it registers nothing.</summary>
    private CancellationToken _sharedToken;

    /// <summary>The registration of <see cref="WakeWriters"/> on <see cref="_sharedToken"/>; one per enumeration.</summary>
    private CancellationTokenRegistration _sharedRegistration;

    /// <summary>The counters, each side's on its own cache lines.</summary>
    private Counters _c;

    /// <summary>Creates the flow control for a buffer of <paramref name="capacity"/> items (0: rendezvous).</summary>
    internal ProducerFlow(int capacity)
    {
        _capacity = capacity;
        _wakeRoom = capacity == 0 ? 1 : capacity - (capacity / 2);
        _publishEvery = Math.Max(1, capacity / 4);
        _c.Limit = capacity;
        _c.LimitCopy = capacity;
    }

    /// <summary>Gets the number of slots writers have reserved (items written, or being written).</summary>
    internal long Reserved => Volatile.Read(ref _c.Reserved);

    /// <summary>Gets the number of slots writers may reserve in all.</summary>
    internal long Limit => Volatile.Read(ref _c.Limit);

    /// <summary>Gets the number of items the consumer has taken.</summary>
    internal long Consumed => _c.Consumed;

    /// <summary>Gets a value indicating whether a writer is registered as waiting for room.</summary>
    internal bool WriterWaiting => Volatile.Read(ref _c.RoomWanted);

    /// <summary>Gets a value indicating whether a writer could reserve a slot now.</summary>
    internal bool HasRoom => Volatile.Read(ref _c.Reserved) < Volatile.Read(ref _c.Limit);

    /// <summary>Gets a value indicating whether enough room is free to wake a waiting writer (hysteresis).</summary>
    private bool HasWakeRoom => Volatile.Read(ref _c.Limit) - Volatile.Read(ref _c.Reserved) >= _wakeRoom;

    /// <summary>
    /// Producer, once its scope opened and before its code runs: the scope's cancellation wakes every writer waiting for room.
    /// A writer's wait then costs no registration of its own when it waits on that token (the usual case).
    /// </summary>
    internal void WatchCancellation(CancellationToken token)
    {
        _sharedToken = token;
        _sharedRegistration = token.UnsafeRegister(static flow => ((ProducerFlow)flow!).WakeWriters(), this);
    }

    /// <summary>Producer, once it ended: stops watching its scope's cancellation.</summary>
    internal void StopWatching() => _sharedRegistration.Dispose();

    /// <summary>Writer: whether a wait on <paramref name="token"/> is woken by its cancellation without a registration of its own.</summary>
    internal bool WakesOnCancellationOf(CancellationToken token) => !token.CanBeCanceled || token == _sharedToken;

    /// <summary>Writer: reserves one slot if the buffer has room. Safe for concurrent writers.</summary>
    /// <returns>True when the caller owns a slot and must write one item into the channel.</returns>
    internal bool TryReserve()
    {
        while (true)
        {
            var reserved = Volatile.Read(ref _c.Reserved);

            // INVARIANT: LimitCopy <= Limit. Limit only grows, so any value read from it is a safe copy, even one overwritten
            // by an older value from a concurrent writer (that costs one more refresh, never an extra slot).
            if (reserved >= Volatile.Read(ref _c.LimitCopy))
            {
                var limit = Volatile.Read(ref _c.Limit);
                if (reserved >= limit)
                {
                    return false;
                }

                Volatile.Write(ref _c.LimitCopy, limit);
            }

            // INVARIANT: Reserved - Consumed <= capacity (+1 for a posted demand): a slot is taken only below the limit.
            if (Interlocked.CompareExchange(ref _c.Reserved, reserved + 1, reserved) == reserved)
            {
                AssertInvariants(locked: false, consumer: false);
                return true;
            }
        }
    }

    /// <summary>
    /// Writer: registers as waiting for room and returns the signal the next wake completes. The caller must then look again
    /// (<see cref="RoomAfterRegistering"/>, whether the consumer is gone, its token) before it waits: race cases 6, 7 and 8 in
    /// ProducerSession.cs.
    /// </summary>
    internal Task RegisterWaiter()
    {
        Task signal;
        lock (_gate)
        {
            AssertInvariants(locked: true, consumer: false);
            signal = (_roomSignal ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            Volatile.Write(ref _c.RoomWanted, true);
            AssertInvariants(locked: true, consumer: false);
        }

        // Race case 6: the flag is visible before this writer reads Limit again.
        Interlocked.MemoryBarrier();
        return signal;
    }

    /// <summary>Writer: after <see cref="RegisterWaiter"/>, whether it may go on without waiting.</summary>
    internal bool RoomAfterRegistering => HasWakeRoom;

    /// <summary>Consumer: one item was taken out of the channel.</summary>
    internal void OnConsumed()
    {
        var consumed = ++_c.Consumed;
        if (_capacity > 0 && consumed - _c.Published >= _publishEvery)
        {
            Publish(consumed);
        }
    }

    /// <summary>
    /// Consumer: the channel is empty and the consumer is about to wait. Publishes its progress (capacity N) or posts the
    /// rendezvous demand (one item), then wakes any waiting writer.
    /// </summary>
    internal void OnConsumerWaiting()
    {
        var consumed = _c.Consumed;
        if (_capacity > 0)
        {
            Publish(consumed);
            return;
        }

        // INVARIANT (rendezvous): Limit <= Consumed + 1. A demand is posted only here, with the channel empty, so the writers
        // are at most one item ahead even when this wait is abandoned (race case 4).
        if (Volatile.Read(ref _c.Limit) <= consumed)
        {
            Interlocked.Exchange(ref _c.Limit, consumed + 1);
        }
        else
        {
            Interlocked.MemoryBarrier();
        }

        AssertInvariants(locked: false, consumer: true);

        WakeWritersIfRoom();
    }

    /// <summary>Consumer, capacity N: raises the limit to Consumed + N and wakes waiting writers if that made enough room.</summary>
    private void Publish(long consumed)
    {
        _c.Published = consumed;

        // Race case 6: a full fence between raising the limit and reading RoomWanted (the writer fences the other way).
        Interlocked.Exchange(ref _c.Limit, consumed + _capacity);
        AssertInvariants(locked: false, consumer: true);
        WakeWritersIfRoom();
    }

    private void WakeWritersIfRoom()
    {
        if (Volatile.Read(ref _c.RoomWanted) && HasWakeRoom)
        {
            WakeWriters();
        }
    }

    /// <summary>Wakes every writer waiting for room; each re-checks what it waits for.</summary>
    internal void WakeWriters()
    {
        TaskCompletionSource? signal;
        lock (_gate)
        {
            AssertInvariants(locked: true, consumer: false);
            signal = _roomSignal;
            _roomSignal = null;
            Volatile.Write(ref _c.RoomWanted, false);
            AssertInvariants(locked: true, consumer: false);
        }

        signal?.TrySetResult();
    }

    /// <summary>
    /// The invariants of the credits: at the start and end of every region under the gate, and after every CAS or fenced
    /// exchange on the counters.
    /// </summary>
    /// <param name="locked">Whether the caller holds the gate: only then are the room signal and its flag checked.</param>
    /// <param name="consumer">Whether the caller is the consumer: only then is its own counter exact, so only then is the
    /// bound on how far the writers run ahead checked.</param>
    [Conditional("DEBUG")]
    private void AssertInvariants(bool locked, bool consumer)
    {
        // Read in this order: each only grows, so a later read is never smaller than the truth at an earlier one.
        var reserved = Volatile.Read(ref _c.Reserved);
        var limitCopy = Volatile.Read(ref _c.LimitCopy);
        var limit = Volatile.Read(ref _c.Limit);
        Debug.Assert(reserved <= limit, "a slot is taken only below the limit");
        Debug.Assert(limitCopy <= limit, "a writer's copy of the limit is never above it");
        if (consumer)
        {
            // INVARIANT: Reserved - Consumed <= capacity (+1 for a posted rendezvous demand).
            Debug.Assert(limit <= _c.Consumed + Math.Max(_capacity, 1), "the writers run at most the capacity (or one demand) ahead");
        }

        if (locked)
        {
            Debug.Assert(Monitor.IsEntered(_gate), "under the gate");
            Debug.Assert((_roomSignal is not null) == Volatile.Read(ref _c.RoomWanted), "a writer is registered exactly while there is a room signal to wake it");
        }
    }

    /// <summary>The counters: the writers' on one pair of cache lines, the consumer's on another.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 3 * Padding)]
    private struct Counters
    {
        /// <summary>Writers: slots reserved so far (CAS).</summary>
        [FieldOffset(Padding)]
        public long Reserved;

        /// <summary>Writers: the last value of <see cref="Limit"/> a writer read.</summary>
        [FieldOffset(Padding + 8)]
        public long LimitCopy;

        /// <summary>Consumer: the number of slots writers may reserve (Consumed + capacity, or the demand of a rendezvous).</summary>
        /// <remarks>INVARIANT: never decreases.</remarks>
        [FieldOffset(2 * Padding)]
        public long Limit;

        /// <summary>Consumer only: items taken out of the channel.</summary>
        [FieldOffset((2 * Padding) + 8)]
        public long Consumed;

        /// <summary>Consumer only: the value of <see cref="Consumed"/> when <see cref="Limit"/> was last raised from it.</summary>
        [FieldOffset((2 * Padding) + 16)]
        public long Published;

        /// <summary>True while a writer is registered in the room signal; set by writers, cleared by a wake (both under the gate).</summary>
        [FieldOffset((2 * Padding) + 24)]
        public bool RoomWanted;
    }
}
