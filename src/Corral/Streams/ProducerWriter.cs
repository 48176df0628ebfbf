// The writer a safe producer writes to. It adds three things to the bounded channel's own writer:
//   * every wait is a checkpoint of the ambient scope (the producer's scope, or one nested in it), and a cancelled wait
//     throws the scope's cancellation with its reason;
//   * rendezvous (capacity 0): a write first takes one demand posted by a waiting consumer, so the producer never runs ahead;
//   * once the consumer is gone, a write fails at once instead of waiting forever (a shielded producer, say).
using System;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace Corral;

/// <summary>The <see cref="ChannelWriter{T}"/> handed to a safe producer.</summary>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class ProducerWriter<T> : ChannelWriter<T>
{
    /// <summary>The enumeration this writer feeds.</summary>
    private readonly ProducerSession<T> _session;

    /// <summary>The bounded channel's writer.</summary>
    private readonly ChannelWriter<T> _items;

    /// <summary>Rendezvous only: the demands posted by a waiting consumer.</summary>
    private readonly Channel<bool>? _demand;

    internal ProducerWriter(ProducerSession<T> session, ChannelWriter<T> items, Channel<bool>? demand)
    {
        _session = session;
        _items = items;
        _demand = demand;
    }

    /// <inheritdoc/>
    public override bool TryWrite(T item)
    {
        if (_session.ConsumerGone)
        {
            return false;
        }

        if (_demand is null)
        {
            return _items.TryWrite(item);
        }

        if (!_demand.Reader.TryRead(out _))
        {
            return false;
        }

        if (_items.TryWrite(item))
        {
            return true;
        }

        _demand.Writer.TryWrite(true); // give the demand back: the item did not go out.
        return false;
    }

    /// <inheritdoc/>
    public override ValueTask WriteAsync(T item, CancellationToken cancellationToken = default)
    {
        var scope = CancelScope.Current;
        if (ScopeWait.Checkpoint(scope, cancellationToken) is { } cancelled)
        {
            return ValueTask.FromException(cancelled);
        }

        if (_demand is null && !_session.ConsumerGone && _items.TryWrite(item))
        {
            return default;
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

        return WaitToWriteSlowAsync(scope, cancellationToken);
    }

    /// <inheritdoc/>
    public override bool TryComplete(Exception? error = null) => _items.TryComplete(error);

    private async ValueTask WriteSlowAsync(T item, CancelScope? scope, CancellationToken cancellationToken)
    {
        var token = ScopeWait.Token(scope, cancellationToken, out var linked);
        try
        {
            if (_demand is not null)
            {
                while (!_demand.Reader.TryRead(out _))
                {
                    if (!await _demand.Reader.WaitToReadAsync(token).ConfigureAwait(false))
                    {
                        throw Gone(scope);
                    }
                }
            }

            if (_session.ConsumerGone)
            {
                throw Gone(scope);
            }

            await _items.WriteAsync(item, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (token.IsCancellationRequested)
        {
            throw ScopeWait.Translate(scope, e);
        }
        catch (ChannelClosedException) when (_session.ConsumerGone)
        {
            throw Gone(scope);
        }
        finally
        {
            linked?.Dispose();
        }
    }

    private async ValueTask<bool> WaitToWriteSlowAsync(CancelScope? scope, CancellationToken cancellationToken)
    {
        var token = ScopeWait.Token(scope, cancellationToken, out var linked);
        try
        {
            if (_demand is not null && !await _demand.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                return false;
            }

            return !_session.ConsumerGone && await _items.WaitToWriteAsync(token).ConfigureAwait(false);
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
    /// What a write meets once the consumer is gone: the cancellation of the producer's scope (the usual case: DisposeAsync
    /// cancelled it), or, when the writing code is shielded from it, a <see cref="ChannelClosedException"/>.
    /// </summary>
    private Exception Gone(CancelScope? scope) =>
        ScopeWait.Checkpoint(scope) ?? _session.ConsumerGoneException();
}
