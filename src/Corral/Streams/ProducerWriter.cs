// The writer a safe producer writes to. It adds four things to the channel's own writer:
//   * every write and every wait is a checkpoint of the ambient scope (the producer's scope, or one nested in it), and a
//     cancelled wait throws the scope's cancellation with its reason;
//   * the bound: a write takes a slot from ProducerFlow (capacity N, or one demand of a waiting consumer for a rendezvous)
//     before it writes, and a write that finds no slot waits until the consumer has made room (half the buffer: hysteresis);
//   * once the consumer is gone, a write fails at once instead of waiting forever (a shielded producer, say);
//   * the fast path is synchronous: a checkpoint (one AsyncLocal read), one
//     CAS for the slot and the channel's TryWrite, returning a completed ValueTask; the async machinery runs only for a wait.
using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral;

/// <summary>The <see cref="ChannelWriter{T}"/> handed to a safe producer.</summary>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class ProducerWriter<T> : ChannelWriter<T>
{
    /// <summary>The enumeration this writer feeds.</summary>
    private readonly ProducerSession<T> _session;

    /// <summary>The channel's writer (unbounded: <see cref="_flow"/> is the bound).</summary>
    private readonly ChannelWriter<T> _items;

    /// <summary>The slots.</summary>
    private readonly ProducerFlow _flow;

    internal ProducerWriter(ProducerSession<T> session, ChannelWriter<T> items, ProducerFlow flow)
    {
        _session = session;
        _items = items;
        _flow = flow;
    }

    /// <inheritdoc/>
    public override bool TryWrite(T item) =>
        !_session.ConsumerGone && _flow.TryReserve() && _items.TryWrite(item);

    /// <inheritdoc/>
    public override ValueTask WriteAsync(T item, CancellationToken cancellationToken = default)
    {
        var scope = CancelScope.Current;
        if (ScopeWait.Checkpoint(scope, cancellationToken) is { } cancelled)
        {
            return ValueTask.FromException(cancelled);
        }

        // After DisposeAsync the channel is completed, so TryWrite fails and the slow path reports the consumer gone.
        if (_flow.TryReserve())
        {
            return _items.TryWrite(item) ? default : WriteClosedAsync(item, scope);
        }

        return WriteSlowAsync(item, scope, cancellationToken);
    }

    /// <inheritdoc/>
    public override ValueTask<bool> WaitToWriteAsync(CancellationToken cancellationToken = default)
    {
        var scope = CancelScope.Current;
        if (ScopeWait.Checkpoint(scope, cancellationToken) is { } cancelled)
        {
            return ValueTask.FromException<bool>(cancelled);
        }

        if (_session.ConsumerGone)
        {
            return new ValueTask<bool>(false);
        }

        // The unbounded channel answers at once: true, or false (an exception) once the producer completed the writer.
        return _flow.HasRoom ? _items.WaitToWriteAsync(CancellationToken.None) : WaitToWriteSlowAsync(scope, cancellationToken);
    }

    /// <inheritdoc/>
    public override bool TryComplete(Exception? error = null) => _items.TryComplete(error);

    // Pooled: a producer that outpaces its consumer waits once per half buffer; its state machines are reused.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteSlowAsync(T item, CancelScope? scope, CancellationToken cancellationToken)
    {
        var token = ScopeWait.Token(scope, cancellationToken, out var linked);
        try
        {
            if (!await WaitForRoomAsync(reserve: true, token).ConfigureAwait(false))
            {
                throw Gone(scope);
            }
        }
        catch (OperationCanceledException e) when (token.IsCancellationRequested)
        {
            throw ScopeWait.Translate(scope, e);
        }
        finally
        {
            linked?.Dispose();
        }

        if (!_items.TryWrite(item))
        {
            await WriteClosedAsync(item, scope).ConfigureAwait(false);
        }
    }

    private async ValueTask<bool> WaitToWriteSlowAsync(CancelScope? scope, CancellationToken cancellationToken)
    {
        var token = ScopeWait.Token(scope, cancellationToken, out var linked);
        try
        {
            return await WaitForRoomAsync(reserve: false, token).ConfigureAwait(false) &&
                await _items.WaitToWriteAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (token.IsCancellationRequested)
        {
            throw ScopeWait.Translate(scope, e);
        }
        finally
        {
            linked?.Dispose();
        }
    }

    /// <summary>
    /// Waits until this writer holds a slot (<paramref name="reserve"/>) or until a slot is free; false once the consumer is
    /// gone.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> WaitForRoomAsync(bool reserve, CancellationToken token)
    {
        while (true)
        {
            token.ThrowIfCancellationRequested();
            if (_session.ConsumerGone)
            {
                return false;
            }

            if (reserve ? _flow.TryReserve() : _flow.HasRoom)
            {
                return true;
            }

            // Race cases 6 and 7: register, then look again. Whatever the consumer did before it could see the registration is
            // visible now; whatever it does after, it does knowing a writer waits. The same for a cancellation (case 8).
            var signal = _flow.RegisterWaiter();
            if (_flow.RoomAfterRegistering || _session.ConsumerGone || token.IsCancellationRequested)
            {
                continue;
            }

            // The producer scope's cancellation wakes every waiting writer (one registration per enumeration); any other token
            // (a nested scope's, a linked one) is watched by this wait alone.
            await (_flow.WakesOnCancellationOf(token) ? signal : signal.WaitAsync(token)).ConfigureAwait(false);
        }
    }

    /// <summary>A slot was taken but the channel is completed: the consumer left, or the producer completed the writer itself.</summary>
    private async ValueTask WriteClosedAsync(T item, CancelScope? scope)
    {
        if (_session.ConsumerGone)
        {
            throw Gone(scope);
        }

        // The channel's own exception (ChannelClosedException, with the error the writer was completed with).
        await _items.WriteAsync(item, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>
    /// What a write meets once the consumer is gone: the cancellation of the producer's scope (the usual case: DisposeAsync
    /// cancelled it), or, when the writing code is shielded from it, a <see cref="ChannelClosedException"/>.
    /// </summary>
    private Exception Gone(CancelScope? scope) =>
        ScopeWait.Checkpoint(scope) ?? _session.ConsumerGoneException();
}
