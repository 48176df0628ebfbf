using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral;

/// <summary>
/// Receiving from a <see cref="ChannelReader{T}"/> as a checkpoint of the ambient scope.
/// </summary>
/// <remarks>
/// <para>The BCL's <c>ReadAsync(token)</c> and <c>ReadAllAsync(token)</c> hand out buffered items even when the token is cancelled, and
/// throw a bare <see cref="OperationCanceledException"/>. These methods are level-triggered: in a cancelled scope they throw, every
/// time, with the scope's reason.</para>
/// </remarks>
public static class ChannelReaderExtensions
{
    /// <summary>Receives the next item, waiting for one if needed; a checkpoint of the ambient scope.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="reader">The reader.</param>
    /// <returns>The item.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="reader"/> is null.</exception>
    /// <exception cref="ScopeCancelledException">The ambient scope is or becomes cancelled (in the returned task); no item was
    /// taken.</exception>
    /// <exception cref="ChannelClosedException">The channel was completed and is empty (in the returned task). If it was completed
    /// with an exception, that exception is thrown instead.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Completes synchronously, allocating nothing, when an item is buffered.</item>
    /// <item>Several tasks may receive from one reader concurrently (if the channel allows several readers): each item goes to
    /// exactly one of them.</item>
    /// </list>
    /// </remarks>
    public static ValueTask<T> ReceiveAsync<T>(this ChannelReader<T> reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var scope = CancelScope.Current;
        if (ScopeWait.Checkpoint(scope) is { } cancelled)
        {
            return ValueTask.FromException<T>(cancelled);
        }

        if (reader.TryRead(out var item))
        {
            return new ValueTask<T>(item);
        }

        return ReceiveSlowAsync(reader, scope);
    }

    /// <summary>Receives every item until the channel completes; each step is a checkpoint of the consumer's ambient scope.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="reader">The reader.</param>
    /// <returns>The items, in channel order, as they arrive.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="reader"/> is null.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Ends normally when the channel is completed without an exception; throws the exception it was completed with
    /// otherwise (a failed or cancelled sender, see <see cref="ChannelSender{T}"/>).</item>
    /// <item>Each <c>MoveNextAsync</c> throws <see cref="ScopeCancelledException"/> when the ambient scope of its caller is
    /// cancelled, even with items buffered; the token given to <c>WithCancellation</c> is obeyed too.</item>
    /// <item>Several consumers may enumerate one reader concurrently: each item goes to exactly one of them.</item>
    /// </list>
    /// </remarks>
    public static IAsyncEnumerable<T> ReceiveAllAsync<T>(this ChannelReader<T> reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        return ReceiveAllCoreAsync(reader);
    }

    private static async IAsyncEnumerable<T> ReceiveAllCoreAsync<T>(ChannelReader<T> reader, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (true)
        {
            // The iterator's body runs in the context of each MoveNextAsync call: Current is the consumer's scope now.
            var scope = CancelScope.Current;
            if (ScopeWait.Checkpoint(scope, cancellationToken) is { } cancelled)
            {
                throw cancelled;
            }

            if (reader.TryRead(out var item))
            {
                yield return item;
                continue;
            }

            var token = ScopeWait.Token(scope, cancellationToken, out var linked);
            bool more;
            try
            {
                more = await reader.WaitToReadAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (token.IsCancellationRequested)
            {
                throw ScopeWait.Translate(scope, e);
            }
            finally
            {
                linked?.Dispose();
            }

            if (!more)
            {
                yield break;
            }
        }
    }

    private static async ValueTask<T> ReceiveSlowAsync<T>(ChannelReader<T> reader, CancelScope? scope)
    {
        var token = scope?.Token ?? CancellationToken.None;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                if (reader.TryRead(out var item))
                {
                    return item;
                }
            }
        }
        catch (OperationCanceledException e) when (token.IsCancellationRequested)
        {
            throw ScopeWait.Translate(scope, e);
        }

        throw new ChannelClosedException();
    }
}
