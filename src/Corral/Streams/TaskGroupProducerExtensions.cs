using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace Corral;

/// <summary>
/// Safe async producers that run as children of an existing <see cref="TaskGroup"/>: the producer's failure is the group's
/// failure.
/// </summary>
/// <remarks>
/// <code>
/// await TaskGroup.RunAsync(async group =&gt;
/// {
///     await foreach (var page in group.ProduceAsync&lt;Page&gt;(async (writer, ct) =&gt;
///     {
///         for (var url = first; url is not null; url = page.Next)
///         {
///             var page = await FetchAsync(url, ct);
///             await writer.WriteAsync(page, ct);
///         }
///     }, new SafeProducerOptions { Capacity = 4, Name = "pages" }))
///     {
///         await StoreAsync(page);
///     }
/// });
/// </code>
/// </remarks>
public static class TaskGroupProducerExtensions
{
    /// <summary>
    /// Returns a stream whose every enumeration starts <paramref name="producer"/> as a child of <paramref name="group"/>, writing
    /// into a bounded channel the consumer reads.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="group">The group the producer runs in: usually the one whose body consumes the stream.</param>
    /// <param name="producer">The producer. It receives the writer and its own scope's token; it completes the stream by
    /// returning.</param>
    /// <param name="options">Capacity (default 0: rendezvous) and name (default <c>"producer"</c>, the child's name).</param>
    /// <returns>A cold stream: each enumeration starts one producer child.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="group"/> or <paramref name="producer"/> is null.</exception>
    /// <exception cref="InvalidOperationException">The group has closed when an enumeration starts (thrown by
    /// <c>GetAsyncEnumerator</c>).</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item><b>Structure.</b> The producer is a child of <paramref name="group"/>, in a scope of its own nested in the group's.
    /// The group does not close while it runs; cancelling the group stops it.</item>
    /// <item><b>Early exit.</b> Leaving the loop cancels the producer's own scope (not the group) with the reason
    /// <c>"the consumer of 'NAME' stopped reading"</c> and waits until it has ended. The scope absorbs that cancellation: it is not
    /// a failure of the group.</item>
    /// <item><b>Failure.</b> The producer's exception is a failure of the group, recorded under the producer's name before the
    /// consumer sees it; it cancels the group; and the consumer's next <c>MoveNextAsync</c> throws that same exception object.
    /// If the consumer lets it propagate out of the group's body, the group still reports it once (it recognizes the object),
    /// in its <see cref="TaskGroupException"/>. If the consumer catches it, the group reports it all the same.</item>
    /// <item><b>Cancellation.</b> Every <c>MoveNextAsync</c> is a checkpoint of the consumer's ambient scope; every wait of the
    /// writer is a checkpoint of the producer's. Cancelling the consumer's scope stops the consumer, whose loop exit stops the
    /// producer; cancelling the group stops both. A producer cut off by the group's cancellation makes the next
    /// <c>MoveNextAsync</c> throw it: a truncated stream never looks complete.</item>
    /// <item><b>Disposal.</b> Disposing at any point cancels and awaits the producer and never throws. Items still buffered are
    /// dropped.</item>
    /// </list>
    /// </remarks>
    public static IAsyncEnumerable<T> ProduceAsync<T>(
        this TaskGroup group, Func<ChannelWriter<T>, CancellationToken, Task> producer, SafeProducerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(producer);
        return new ProducerStream<T>(group, producer, options);
    }

    /// <summary>
    /// Returns a safe stream over an async iterator that runs inside a producer child of <paramref name="group"/>.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="group">The group the producer runs in.</param>
    /// <param name="source">Creates the iterator; it receives the producer scope's token.</param>
    /// <param name="options">Capacity (default 0: rendezvous) and name.</param>
    /// <returns>A cold stream, as <see cref="ProduceAsync{T}(TaskGroup, Func{ChannelWriter{T}, CancellationToken, Task}, SafeProducerOptions?)"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="group"/> or <paramref name="source"/> is null.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Every guarantee of the writer form holds.</item>
    /// <item>The iterator is advanced only when its item can be handed over, and disposed inside the producer task.</item>
    /// </list>
    /// </remarks>
    public static IAsyncEnumerable<T> ProduceAsync<T>(
        this TaskGroup group, Func<CancellationToken, IAsyncEnumerable<T>> source, SafeProducerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentNullException.ThrowIfNull(source);
        return new ProducerStream<T>(group, ProducerStream<T>.FromIterator(source), options);
    }
}
