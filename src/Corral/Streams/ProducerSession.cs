// ---------------------------------------------------------------------------------------------
// ProducerSession: one enumeration of a safe producer (docs/adr/0007-safe-producers.md).
//
// THE PROBLEM. An `async IAsyncEnumerable` method runs its body in the consumer's context, a piece at a time: between two
// `yield return`s the body is frozen, and it resumes wherever the consumer calls MoveNextAsync next. A scope or task group
// cannot span a `yield` (their bodies are lambdas, and `yield` cannot appear in a lambda), an AsyncLocal set in the body
// is gone after the first `yield`, and work the body started in the background is owned by nobody. That is PEP 789 in C#.
//
// THE SOLUTION (trio's as_safe_channel). The producer is ordinary async code that runs as a child task of a task group
// (the consumer's, or a group of its own) inside its own cancel scope, and hands items over a System.Threading.Channels
// channel. The consumer reads the channel through this enumerator. The channel is unbounded with one reader (its TryRead
// takes no lock); ProducerFlow bounds the writers with credits (capacity N, or one demand per waiting consumer for a
// rendezvous), so the channel never holds more than the capacity allows.
//
//   consumer                                 producer task (child of the group, in its own scope)
//   --------                                 ------------------------------------------------------
//   MoveNextAsync: checkpoint, TryRead,      writer.WriteAsync(item): checkpoint, take a slot (CAS), TryWrite;
//     count it (publish every N/4);            no slot: register as waiting, look again, wait for the
//     empty: publish / post the demand,        consumer to free half the buffer (hysteresis)
//     wake a waiting writer, wait
//   DisposeAsync: cancel the producer's      ends any way -> its task completes -> ObserveAsync
//     scope, close the channel, wake           completes the channel (wakes the consumer)
//     writers, wait for the producer to end
//
// SPEED (docs/adr/0007-safe-producers.md, "Speed"). An item costs, on each side, a call that completes synchronously: no
// async state machine, one AsyncLocal read (the checkpoint), one lock (the channel's TryWrite) and one CAS (the slot)
// for the writer, no lock for the reader and one fenced exchange per N/4 items. A producer and a consumer that outpace each
// other meet once per half buffer, not once per item: a full buffer wakes its writer when half of it is free, and an empty
// one wakes its reader at the first item, whose continuation is queued to the thread pool while the writer keeps writing.
//
// OUTCOMES. The producer task ends Completed, Faulted (any exception that is not the group's cancellation) or Cancelled (the
// group, or something above it, was cancelled). The consumer drains a Completed producer's items; a Faulted or Cancelled
// producer's error is thrown by the next MoveNextAsync, buffered items or not, and only once.
//
// THE RACES, CASE BY CASE.
//   1. Producer failure vs. the consumer rethrowing it in the same group. The group must record the failure under the
//      producer's name before the consumer can throw it, or the body's rethrow would be recorded first, as the body's.
//      The producer runs through TaskGroup.Start<T>, which records a failure before the task completes; the channel is
//      completed only after the task completed (ObserveAsync), and a consumer that sees the Faulted outcome early (it is set
//      before the exception leaves the producer) first awaits _producerDone. So the consumer throws the very exception the
//      group already holds, and the group's de-duplication by reference reports it once.
//   2. Producer failure vs. the consumer's wait being cancelled by it. Recording the failure cancels the group; a consumer
//      waiting in the group's scope wakes with an OperationCanceledException. _outcome was set before the exception left
//      the producer, so the consumer finds Faulted and delivers the failure (after case 1's wait) instead of a cancellation.
//   3. DisposeAsync vs. the producer's scope opening (ThreadPool start mode). DisposeAsync moves _consumer from Reading to
//      Leaving, then reads _producerScope; the producer publishes _producerScope, then reads _consumer; both with full
//      fences (Interlocked). At least one of them sees the other, so the producer's scope is cancelled either way, and
//      before the producer's code runs when the producer is the one that sees it.
//   4. Rendezvous demand vs. a consumer whose wait was cancelled (a MoveOnAfter around one MoveNextAsync). A demand can be
//      left posted. A demand raises the limit to Consumed + 1, never further, and the consumer posts one only after TryRead
//      found nothing, so the producer runs at most one item ahead, and the next MoveNextAsync finds that item (Consumed
//      reaches the limit) before it posts another.
//   5. An item arriving vs. the producer failing right after writing it. A MoveNextAsync waits only on an empty buffer, so the
//      item that wakes it is the first written since, and it was written before the failure (program order in the producer;
//      the failure cancels the consumer's wait only after it is recorded, and a wait already completed by the item stays
//      completed). A wait the failure's cancellation ended before the item completed it — the consumer posted its demand,
//      and the producer wrote and failed before the consumer registered its wait — looks for the item before it delivers
//      the failure. So a waiting MoveNextAsync returns that item, and the failure comes at the next call, deterministically.
//      A MoveNextAsync that starts after the failure throws it at once, and items still buffered are dropped: the failure
//      has cancelled the group, and a consumer in it may not go on as if nothing happened.
//   6. A writer going to wait for room vs. the consumer making room (ProducerFlow). The writer sets RoomWanted, fences, then
//      reads Limit; the consumer raises Limit with a fenced exchange, then reads RoomWanted (Dekker). At least one sees the
//      other: the writer finds the room and does not wait, or the consumer finds the writer and wakes it once half the
//      buffer is free. The consumer publishes Limit every N/4 items and always before it waits, so a waiting writer is woken
//      by the read that frees half the buffer (or up to N/4 - 1 items later), or at the latest when the consumer finds the
//      channel empty.
//      INVARIANT: a writer reserves a slot and writes its item in one synchronous step (no await between the CAS and
//      TryWrite), so an empty channel with a waiting consumer means no slot is held for long, and every slot taken becomes
//      an item the consumer reads (or the channel is completed and the stream is ending).
//   7. A writer waiting for room vs. DisposeAsync. DisposeAsync sets _consumer to Gone (full fence), completes the channel,
//      then wakes the writers; a writer registers (under the gate, then a fence), then reads _consumer. A writer that
//      registered after the wake sees Gone; one that registered before is woken. Either way it fails at once instead of
//      waiting forever (a shielded write; an unshielded one is cancelled with the producer's scope anyway).
//   8. A writer waiting for room vs. the cancellation of the producer's scope. A wait on the producer scope's token (the
//      usual one) registers nothing of its own: the enumeration registers WakeWriters on that token once, when the scope
//      opens. The writer registers in the room signal, then reads the token; the token source marks itself cancelled before
//      it runs callbacks. So either the writer sees the cancellation and throws without waiting, or the callback, which
//      runs after, completes the signal the writer holds and the writer throws on its next look. A wait on any other token
//      (a scope nested in the producer's, a linked token) watches that token itself (Task.WaitAsync).
//   9. A writer running as the consumer leaves (issue 12). A writer that finds the consumer gone throws the cancellation of
//      its scope, or, when no cancellation reaches it (a shielded write), ChannelClosedException, which is a failure of the
//      producer. So "gone" must never be visible before the producer's scope is cancelled: DisposeAsync cancels the scope
//      (Leaving: Cancel refreshes the whole subtree before it returns) and only then publishes Gone (a full fence), and a
//      writer reads Gone before it reads its scope's verdict. The cases: the writer reads Reading or Leaving (it goes on
//      writing, or waits and is woken by the cancellation: case 8); or it reads Gone, and then its scope's verdict already
//      says cancelled unless a shield keeps it out. Publishing Gone first (the order before issue 12) let a writer in
//      between take the shielded path and fail the producer: 0.3-40 % of breaks threw TaskGroupException from DisposeAsync.
// ---------------------------------------------------------------------------------------------
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral;

/// <summary>One enumeration of a safe producer: the channel, the producer task and the consumer's side of it.</summary>
/// <typeparam name="T">The item type.</typeparam>
[DebuggerDisplay("producer '{_name,nq}' outcome={_outcome} consumer={_consumer}")]
internal sealed class ProducerSession<T> : IAsyncEnumerator<T>
{
    /// <summary>Outcome: the producer task is running (or has not started).</summary>
    private const int Running = 0;

    /// <summary>Outcome: the producer task returned (or its own scope absorbed its cancellation).</summary>
    private const int Completed = 1;

    /// <summary>Outcome: the producer task failed; <see cref="_error"/> holds the exception.</summary>
    private const int Faulted = 2;

    /// <summary>Outcome: the producer task ended with the cancellation of its group; <see cref="_error"/> holds it.</summary>
    private const int Cancelled = 3;

    /// <summary>Consumer: enumerating; <see cref="DisposeAsync"/> has not been called.</summary>
    private const int Reading = 0;

    /// <summary>Consumer: <see cref="DisposeAsync"/> is cancelling the producer's scope; writers do not see the consumer gone yet.</summary>
    private const int Leaving = 1;

    /// <summary>Consumer: gone, and the producer's scope (if it opened) was cancelled before this became visible (race case 9).</summary>
    private const int Gone = 2;

    /// <summary>The producer's code.</summary>
    private readonly Func<ChannelWriter<T>, CancellationToken, Task> _producer;

    /// <summary>The producer task's name, also its scope's name.</summary>
    private readonly string _name;

    /// <summary>The token given to <c>GetAsyncEnumerator</c> (<c>WithCancellation</c>); obeyed by the consumer's waits.</summary>
    private readonly CancellationToken _enumeratorToken;

    /// <summary>The items. Unbounded, with one reader: <see cref="_flow"/> bounds the writers.</summary>
    private readonly Channel<T> _items;

    /// <summary>The reader of <see cref="_items"/>.</summary>
    private readonly ChannelReader<T> _reader;

    /// <summary>The slots: capacity N, or one demand posted by a waiting consumer for a rendezvous.</summary>
    private readonly ProducerFlow _flow;

    /// <summary>The writer handed to the producer.</summary>
    private readonly ProducerWriter<T> _writer;

    /// <summary>The producer's own scope, once it opened; cancelled by <see cref="DisposeAsync"/>.</summary>
    private CancelScope? _producerScope;

    /// <summary>The scope the producer task runs in (its group's); decides whether an exception is a failure or the cancellation.</summary>
    private CancelScope? _groupScope;

    /// <summary>How the producer task ended: <see cref="Running"/>, <see cref="Completed"/>, <see cref="Faulted"/>, <see cref="Cancelled"/>.</summary>
    /// <remarks>INVARIANT: written once, after <see cref="_error"/>.</remarks>
    private volatile int _outcome;

    /// <summary>The exception the producer ended with, for <see cref="Faulted"/> and <see cref="Cancelled"/>.</summary>
    private Exception? _error;

    /// <summary>Completes (never faults) once the producer task has ended and the channel is completed.</summary>
    private Task _producerDone = Task.CompletedTask;

    /// <summary><see cref="Reading"/>, <see cref="Leaving"/> or <see cref="Gone"/>; moves forward only.</summary>
    /// <remarks>INVARIANT: <see cref="Gone"/> is written only after the producer's scope, if published, was cancelled (race case 9).</remarks>
    private int _consumer;

    /// <summary>Consumer side: the stream ended or its error was delivered; later MoveNextAsync calls return false.</summary>
    private bool _finished;

    /// <summary>The error delivered to the consumer, so that the own group does not report it a second time.</summary>
    private Exception? _delivered;

    /// <summary>Own-group mode: completed by <see cref="DisposeAsync"/>; the group's body waits for it.</summary>
    private TaskCompletionSource? _consumerDone;

    /// <summary>Own-group mode: the group's task.</summary>
    private Task? _ownGroup;

    /// <summary>The last item read.</summary>
    private T _current = default!;

    private ProducerSession(Func<ChannelWriter<T>, CancellationToken, Task> producer, int capacity, string name, CancellationToken enumeratorToken)
    {
        _producer = producer;
        _name = name;
        _enumeratorToken = enumeratorToken;
        _items = Channel.CreateUnbounded<T>(new UnboundedChannelOptions { SingleReader = true });
        _reader = _items.Reader;
        _flow = new ProducerFlow(capacity);
        _writer = new ProducerWriter<T>(this, _items.Writer, _flow);
    }

    /// <inheritdoc/>
    public T Current => _current;

    /// <summary>Gets the producer's name.</summary>
    internal string Name => _name;

    /// <summary>Gets a value indicating whether the consumer has disposed the enumerator and the producer's scope is cancelled.</summary>
    internal bool ConsumerGone => Volatile.Read(ref _consumer) == Gone;

    /// <summary>Starts an enumeration whose producer is a child of <paramref name="group"/>, or of a group of its own when null.</summary>
    internal static ProducerSession<T> Start(
        TaskGroup? group, Func<ChannelWriter<T>, CancellationToken, Task> producer, int capacity, string name, CancellationToken enumeratorToken)
    {
        var session = new ProducerSession<T>(producer, capacity, name, enumeratorToken);
        if (group is not null)
        {
            session.StartProducer(group);
        }
        else
        {
            session._consumerDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            session._ownGroup = TaskGroup.RunAsync(
                g =>
                {
                    session.StartProducer(g);
                    return session._consumerDone.Task;
                },
                new TaskGroupOptions { Name = name });
        }

        return session;
    }

    /// <inheritdoc/>
    public ValueTask<bool> MoveNextAsync()
    {
        if (_finished || Volatile.Read(ref _consumer) != Reading)
        {
            return new ValueTask<bool>(false);
        }

        // A failed producer's exception comes first: it is why everything else is being cancelled (race case 2).
        if (_outcome == Faulted)
        {
            return DeliverErrorAsync();
        }

        var scope = CancelScope.Current;
        if (ScopeWait.Checkpoint(scope, _enumeratorToken) is { } cancelled)
        {
            return ValueTask.FromException<bool>(cancelled);
        }

        if (_outcome == Cancelled)
        {
            return DeliverErrorAsync();
        }

        // The fast path: no lock, no state machine, a completed ValueTask.
        if (_reader.TryRead(out var item))
        {
            _current = item;
            _flow.OnConsumed();
            return new ValueTask<bool>(true);
        }

        return WaitAsync(scope);
    }

    /// <summary>
    /// Ends the enumeration: cancels the producer (with a reason), waits until its task has ended, and in own-group mode
    /// reports any failure the consumer has not seen.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.CompareExchange(ref _consumer, Leaving, Reading) != Reading)
        {
            return;
        }

        _current = default!;

        // Race case 3: Leaving is published (full fence) before _producerScope is read. Race case 9: the scope is cancelled
        // (its whole subtree refreshed) before any writer can see the consumer gone.
        Volatile.Read(ref _producerScope)?.Cancel(StoppedReading);
        Interlocked.Exchange(ref _consumer, Gone);

        // A producer that ignores the cancellation (a shielded write) must not wait forever for a consumer that is gone:
        // writes fail on the completed channel, and a writer waiting for room wakes, sees ConsumerGone and fails (case 7).
        _items.Writer.TryComplete();
        _flow.WakeWriters();
        await _producerDone.ConfigureAwait(false);

        if (_consumerDone is not null)
        {
            _consumerDone.TrySetResult();
            await EndOwnGroupAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The reason the producer's scope is cancelled with when the consumer leaves.</summary>
    private string StoppedReading => $"the consumer of '{_name}' stopped reading";

    /// <summary>Maps a ChannelClosedException a write met to what the producer should see.</summary>
    internal Exception ConsumerGoneException() =>
        new ChannelClosedException($"The consumer of producer '{_name}' stopped reading.");

    private void StartProducer(TaskGroup group)
    {
        var task = group.Start<bool>(_ => RunProducerAsync(), _name);
        _producerDone = ObserveAsync(task);
    }

    /// <summary>The producer task: the producer's code in its own scope, its outcome recorded before it leaves.</summary>
    private async Task<bool> RunProducerAsync()
    {
        _groupScope = CancelScope.Current;
        try
        {
            await CancelScope.RunAsync(RunInScopeAsync, new CancelScopeOptions { Name = _name }).ConfigureAwait(false);
            _outcome = Completed;
            return true;
        }
        catch (Exception e)
        {
            // Case 1 and 2: the outcome is visible before the group records the failure and cancels.
            _error = e;
            // The same question the group asks of this exception when the task finishes (Decider.IsCancellationOf), asked
            // first, so the outcome is visible before the group acts on its answer.
            _outcome = _groupScope is not null && Decider.IsCancellationOf(_groupScope, e) ? Cancelled : Faulted;
            throw;
        }
    }

    private Task RunInScopeAsync(CancelScope scope)
    {
        // Race case 3: publish the scope (full fence), then look for a consumer that is leaving or left meanwhile.
        Interlocked.Exchange(ref _producerScope, scope);
        if (Volatile.Read(ref _consumer) != Reading)
        {
            scope.Cancel(StoppedReading);
        }

        _flow.WatchCancellation(scope.Token);
        return _producer(_writer, scope.Token);
    }

    /// <summary>Completes the channel once the producer task has ended (after the group recorded a failure: case 1).</summary>
    private async Task ObserveAsync(Task producerTask)
    {
        await producerTask.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Debug.Assert(_outcome != Running, "the producer task records its outcome before it ends");
        _items.Writer.TryComplete();
        _flow.StopWatching();
        _flow.WakeWriters();
    }

    // Pooled: a consumer that outpaces its producer waits once per burst of items; its state machine is reused.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WaitAsync(CancelScope? scope)
    {
        var token = ScopeWait.Token(scope, _enumeratorToken, out var linked);
        try
        {
            while (true)
            {
                // Rendezvous: post the demand that lets one write through. Any capacity: wake a writer waiting for room.
                _flow.OnConsumerWaiting();
                bool more;
                try
                {
                    more = await _reader.WaitToReadAsync(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException e) when (token.IsCancellationRequested)
                {
                    if (_outcome == Faulted)
                    {
                        // Race case 5: an item written before the failure is this call's, even when the failure's
                        // cancellation ended the wait first (it can, when it came before the wait was registered).
                        if (_reader.TryRead(out var written))
                        {
                            _current = written;
                            _flow.OnConsumed();
                            return true;
                        }

                        return await DeliverErrorAsync().ConfigureAwait(false);
                    }

                    throw ScopeWait.Translate(scope, e);
                }
                catch (Exception)
                {
                    // The producer completed its writer with an exception itself: it goes to the consumer, once.
                    _finished = true;
                    throw;
                }

                // An item that arrived while this call waited was written before anything the producer did next: it is this
                // call's, even if the producer has failed since (case 5).
                if (_reader.TryRead(out var item))
                {
                    _current = item;
                    _flow.OnConsumed();
                    return true;
                }

                if (_outcome == Faulted)
                {
                    return await DeliverErrorAsync().ConfigureAwait(false);
                }

                if (_outcome == Cancelled)
                {
                    // The stream was cut, not finished: never let a truncated stream look complete. The consumer's own
                    // cancellation, if any, comes first.
                    if (ScopeWait.Checkpoint(scope, _enumeratorToken) is { } cancelled)
                    {
                        throw cancelled;
                    }

                    return await DeliverErrorAsync().ConfigureAwait(false);
                }

                if (!more)
                {
                    _finished = true;
                    return false;
                }
            }
        }
        finally
        {
            linked?.Dispose();
        }
    }

    /// <summary>Throws the producer's error, once, after the group has recorded it (case 1).</summary>
    private async ValueTask<bool> DeliverErrorAsync()
    {
        await _producerDone.ConfigureAwait(false);
        _finished = true;
        _current = default!;
        var error = _error!;
        _delivered = error;
        ExceptionDispatchInfo.Throw(error);
        return false;
    }

    /// <summary>Own-group mode: waits for the group and throws what the consumer has not seen.</summary>
    private async Task EndOwnGroupAsync()
    {
        try
        {
            await _ownGroup!.ConfigureAwait(false);
        }
        catch (TaskGroupException e)
        {
            var unseen = new List<TaskFailure>();
            foreach (var failure in e.Failures)
            {
                if (!ReferenceEquals(failure.Exception, _delivered))
                {
                    unseen.Add(failure);
                }
            }

            if (unseen.Count == e.Failures.Count)
            {
                throw;
            }

            if (unseen.Count > 0)
            {
                throw new TaskGroupException(e.GroupName, unseen);
            }
        }
        catch (OperationCanceledException)
        {
            // The consumer's scope (or one above it) was cancelled and nothing failed: the consumer's own next checkpoint
            // raises it. Throwing it from DisposeAsync would replace whatever the consumer is unwinding with.
        }
    }
}
