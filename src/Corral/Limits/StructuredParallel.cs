using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace Corral;

/// <summary>
/// Structured parallel loops: the items are processed by worker tasks of a <see cref="TaskGroup"/>, so the first failure cancels
/// the rest and every failure is reported.
/// </summary>
/// <remarks>
/// <para><c>Parallel.ForEachAsync</c> also stops at the first failure, but it throws only the exceptions it happened to collect,
/// hides whether it was cancelled or failed, and knows nothing of the caller's scope. These loops run in a task group nested in
/// the ambient scope:</para>
/// <code>
/// await StructuredParallel.ForEachAsync(urls, async (url, ct) =&gt;
/// {
///     var page = await http.GetStringAsync(url, ct);
///     await StoreAsync(url, page, ct);
/// }, new ParallelForEachOptions { MaxDegreeOfParallelism = 8 });
/// </code>
/// </remarks>
public static class StructuredParallel
{
    /// <summary>Runs <paramref name="body"/> for every item of <paramref name="source"/>, at most N at once, in a task group.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="source">The items; enumerated by one worker at a time, and disposed inside the group when the last worker
    /// ends.</param>
    /// <param name="body">Processes one item; it receives the group's token.</param>
    /// <param name="options">Degree of parallelism (default <see cref="Environment.ProcessorCount"/>), a shared limiter, a name.</param>
    /// <returns>A task that completes when every item was processed, or the loop was cut off, and every worker has ended.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="body"/> is null.</exception>
    /// <exception cref="TaskGroupException">A body, the enumeration or the source's disposal failed (in the returned task). The
    /// first failure cancels the loop; every failure, including those of bodies that failed while being cancelled, is in it,
    /// in the order they happened.</exception>
    /// <exception cref="OperationCanceledException">The ambient scope was cancelled and nothing failed (in the returned
    /// task).</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Never more than <see cref="ParallelForEachOptions.MaxDegreeOfParallelism"/> bodies run at once (and never more than
    /// the limiter allows, if one is given).</item>
    /// <item>Workers start on the thread pool, like <c>Parallel.ForEachAsync</c>: synchronous parts of the bodies run in
    /// parallel.</item>
    /// <item>After the first failure or cancellation, no new item is taken; bodies already running see their token cancelled.</item>
    /// <item>The loop never returns while a body runs.</item>
    /// </list>
    /// </remarks>
    public static Task ForEachAsync<T>(IEnumerable<T> source, Func<T, CancellationToken, Task> body, ParallelForEachOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(body);
        var workers = options?.MaxDegreeOfParallelism ?? Environment.ProcessorCount;
        if (source.TryGetNonEnumeratedCount(out var count))
        {
            workers = Math.Min(workers, Math.Max(count, 1));
        }

        return ForEachRun<T>.RunAsync(new ForEachRun<T>.SyncSource(source), body, options, workers);
    }

    /// <summary>Runs <paramref name="body"/> for every item of an async <paramref name="source"/>, at most N at once, in a task group.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="source">The items; enumerated by one worker at a time with the group's token, and disposed inside the group
    /// when the last worker ends.</param>
    /// <param name="body">Processes one item; it receives the group's token.</param>
    /// <param name="options">Degree of parallelism, a shared limiter, a name.</param>
    /// <returns>A task that completes when every item was processed, or the loop was cut off, and every worker has ended.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="source"/> or <paramref name="body"/> is null.</exception>
    /// <exception cref="TaskGroupException">A body, the enumeration or the source's disposal failed (in the returned task); every
    /// failure is in it.</exception>
    /// <exception cref="OperationCanceledException">The ambient scope was cancelled and nothing failed (in the returned
    /// task).</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>As the <see cref="IEnumerable{T}"/> overload. The source's <c>MoveNextAsync</c> calls never overlap.</item>
    /// </list>
    /// </remarks>
    public static Task ForEachAsync<T>(IAsyncEnumerable<T> source, Func<T, CancellationToken, Task> body, ParallelForEachOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(body);
        return ForEachRun<T>.RunAsync(
            new ForEachRun<T>.AsyncSource(source), body, options, options?.MaxDegreeOfParallelism ?? Environment.ProcessorCount);
    }
}
