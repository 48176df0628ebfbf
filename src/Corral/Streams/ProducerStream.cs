using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace Corral;

/// <summary>
/// The <see cref="IAsyncEnumerable{T}"/> a safe producer returns: cold, each enumeration runs the producer afresh.
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class ProducerStream<T> : IAsyncEnumerable<T>
{
    /// <summary>The group the producer runs in, or null for a group of its own per enumeration.</summary>
    private readonly TaskGroup? _group;

    /// <summary>The producer's code.</summary>
    private readonly Func<ChannelWriter<T>, CancellationToken, Task> _producer;

    /// <summary>The channel's capacity; 0 for rendezvous.</summary>
    private readonly int _capacity;

    /// <summary>The producer task's name.</summary>
    private readonly string _name;

    internal ProducerStream(TaskGroup? group, Func<ChannelWriter<T>, CancellationToken, Task> producer, SafeProducerOptions? options)
    {
        _group = group;
        _producer = producer;
        _capacity = options?.Capacity ?? 0;
        _name = options?.Name ?? SafeProducerOptions.DefaultName;
    }

    /// <inheritdoc/>
    public IAsyncEnumerator<T> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
        ProducerSession<T>.Start(_group, _producer, _capacity, _name, cancellationToken);

    /// <summary>Adapts an async iterator to a producer: the iterator runs inside the producer task, advanced only on demand.</summary>
    internal static Func<ChannelWriter<T>, CancellationToken, Task> FromIterator(Func<CancellationToken, IAsyncEnumerable<T>> source) =>
        (writer, ct) => PumpAsync(source, writer, ct);

    private static async Task PumpAsync(Func<CancellationToken, IAsyncEnumerable<T>> source, ChannelWriter<T> writer, CancellationToken ct)
    {
        var enumerator = source(ct).GetAsyncEnumerator(ct);
        await using (enumerator.ConfigureAwait(false))
        {
            // Wait for room (for rendezvous: for a consumer asking) before advancing the iterator, like trio's as_safe_channel:
            // an item is computed only when it can be handed over.
            while (await writer.WaitToWriteAsync(ct).ConfigureAwait(false) && await enumerator.MoveNextAsync().ConfigureAwait(false))
            {
                await writer.WriteAsync(enumerator.Current, ct).ConfigureAwait(false);
            }
        }
    }
}
