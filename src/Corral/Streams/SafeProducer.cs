using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace Corral;

/// <summary>
/// Safe async producers: write a producer as ordinary async code, consume it with <c>await foreach</c>, and keep structured
/// concurrency intact (trio's <c>as_safe_channel</c>, the answer to PEP 789).
/// </summary>
/// <remarks>
/// <para>The methods here give each enumeration a task group of its own, nested in the consumer's scope. To run the producer
/// as a child of a group you already have, use <see cref="TaskGroupProducerExtensions"/>. See docs/concepts/streams.md.</para>
/// <code>
/// await foreach (var line in SafeProducer.ProduceAsync&lt;string&gt;(async (writer, ct) =&gt;
/// {
///     await using var file = OpenLog();
///     while (await file.ReadLineAsync(ct) is { } line)
///     {
///         await writer.WriteAsync(line, ct);
///     }
/// }))
/// {
///     if (line.Contains("ERROR")) break; // cancels the producer, waits for it, closes the file
/// }
/// </code>
/// </remarks>
public static class SafeProducer
{
    /// <summary>
    /// Returns a stream whose every enumeration runs <paramref name="producer"/> as the task of a new task group, nested in the
    /// consumer's scope, writing into a bounded channel the consumer reads.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="producer">The producer. It receives the writer and its own scope's token; it completes the stream by
    /// returning.</param>
    /// <param name="options">Capacity (default 0: rendezvous) and name (default <c>"producer"</c>).</param>
    /// <returns>A cold stream: nothing runs until it is enumerated, and each enumeration runs the producer afresh.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="producer"/> is null.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item><b>Structure.</b> The producer runs in its own scope, inside a group nested in the scope that calls
    /// <c>GetAsyncEnumerator</c> (where <c>await foreach</c> starts). Its ambient scope, and any scope or group it opens,
    /// stay intact while the consumer runs.</item>
    /// <item><b>Early exit.</b> Leaving the loop (<c>break</c>, <c>return</c>, an exception) disposes the enumerator, which
    /// cancels the producer's scope with the reason <c>"the consumer of 'NAME' stopped reading"</c> and waits until the producer
    /// has ended. Nothing outlives the loop.</item>
    /// <item><b>Failure.</b> The producer's exception is thrown by the consumer's next <c>MoveNextAsync</c>, before any items still
    /// buffered. Thrown there, it is not thrown again on disposal. A failure the consumer never saw (the producer failed while
    /// cleaning up after a <c>break</c>) is thrown by <c>DisposeAsync</c> in a <see cref="TaskGroupException"/>. Never lost,
    /// never twice.</item>
    /// <item><b>Cancellation.</b> Cancelling the consumer's scope cancels the producer's group too. Every <c>MoveNextAsync</c> is a
    /// checkpoint of the consumer's ambient scope and of the token given to <c>WithCancellation</c>. Every wait of the writer is
    /// a checkpoint of the producer's ambient scope. A producer cut off by cancellation makes the next <c>MoveNextAsync</c>
    /// throw it: a truncated stream never looks complete.</item>
    /// <item><b>Disposal.</b> Disposing at any point (before the first item, between items, after the end, twice) cancels and
    /// awaits the producer and never throws a cancellation. Items still buffered are dropped.</item>
    /// <item><b>Capacity.</b> 0 is a rendezvous: the producer's write waits for a consumer waiting in <c>MoveNextAsync</c>.
    /// N &gt; 0 lets the producer run up to N items ahead; a write that finds the buffer full resumes once the consumer has
    /// taken half of it (see <see cref="SafeProducerOptions.Capacity"/>).</item>
    /// </list>
    /// </remarks>
    public static IAsyncEnumerable<T> ProduceAsync<T>(Func<ChannelWriter<T>, CancellationToken, Task> producer, SafeProducerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(producer);
        return new ProducerStream<T>(group: null, producer, options);
    }

    /// <summary>
    /// Returns a safe stream over an async iterator: the iterator runs inside a producer task (trio's
    /// <c>as_safe_channel</c> decorator), so its body keeps one ambient context from start to end.
    /// </summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="source">Creates the iterator; it receives the producer scope's token (also passed to
    /// <c>GetAsyncEnumerator</c>, for <c>[EnumeratorCancellation]</c>).</param>
    /// <param name="options">Capacity (default 0: rendezvous) and name.</param>
    /// <returns>A cold stream, as <see cref="ProduceAsync{T}(Func{ChannelWriter{T}, CancellationToken, Task}, SafeProducerOptions?)"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is null.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Every guarantee of the writer form holds.</item>
    /// <item>The iterator is advanced only when its item can be handed over: with capacity 0, only when the consumer asks, so a
    /// <c>break</c> never makes it compute an item nobody reads.</item>
    /// <item>The iterator is disposed inside the producer task, before the consumer's <c>DisposeAsync</c> returns.</item>
    /// </list>
    /// </remarks>
    public static IAsyncEnumerable<T> ProduceAsync<T>(Func<CancellationToken, IAsyncEnumerable<T>> source, SafeProducerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        return new ProducerStream<T>(group: null, ProducerStream<T>.FromIterator(source), options);
    }
}
