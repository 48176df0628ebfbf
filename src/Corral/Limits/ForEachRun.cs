// ForEachRun: the worker pool behind StructuredParallel.ForEachAsync.
//
// N workers, children of one task group, each take the next item from the shared source (one at a time) and run the body.
// A worker stops when the source is exhausted or when the group is cancelled (the first failure does that); the last worker to
// stop starts one more child that disposes the source, so the disposal's exception is a failure of the group like any other.
// Why workers and not one child per item: a child per item costs a task start per item; a pool costs one per worker, which is
// what Parallel.ForEachAsync does (the benchmark's baseline).
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;

namespace Corral;

/// <summary>One run of a structured parallel loop.</summary>
/// <typeparam name="T">The item type.</typeparam>
internal sealed class ForEachRun<T>
{
    /// <summary>Where the items come from.</summary>
    private readonly Source _source;

    /// <summary>The loop's body.</summary>
    private readonly Func<T, CancellationToken, Task> _body;

    /// <summary>The shared limiter, if any.</summary>
    private readonly CapacityLimiter? _limiter;

    /// <summary>The loop's group.</summary>
    private readonly TaskGroup _group;

    /// <summary>Workers still running; the one that takes it to 0 starts the source's disposal.</summary>
    private int _active;

    private ForEachRun(Source source, Func<T, CancellationToken, Task> body, CapacityLimiter? limiter, TaskGroup group, int workers)
    {
        _source = source;
        _body = body;
        _limiter = limiter;
        _group = group;
        _active = workers;
    }

    internal static Task RunAsync(Source source, Func<T, CancellationToken, Task> body, ParallelForEachOptions? options, int workers)
    {
        var groupOptions = new TaskGroupOptions
        {
            Name = options?.Name ?? "ForEachAsync",
            StartMode = ChildStartMode.ThreadPool,
        };
        var limiter = options?.Limiter;
        return TaskGroup.RunAsync(
            group =>
            {
                source.Open(group.Scope.Token);
                var run = new ForEachRun<T>(source, body, limiter, group, workers);
                for (var i = 1; i <= workers; i++)
                {
                    group.Start(run.WorkAsync, string.Create(CultureInfo.InvariantCulture, $"worker #{i}"));
                }

                return Task.CompletedTask;
            },
            groupOptions);
    }

    private async Task WorkAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                CancelScope.ThrowIfCancelled();
                var (has, item) = await _source.NextAsync(cancellationToken).ConfigureAwait(false);
                if (!has)
                {
                    return;
                }

                if (_limiter is null)
                {
                    await _body(item, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    using (await _limiter.AcquireAsync().ConfigureAwait(false))
                    {
                        await _body(item, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
        finally
        {
            if (Interlocked.Decrement(ref _active) == 0)
            {
                // Nobody touches the source any more. The group is still open: this worker still counts.
                _group.Start(_ => _source.DisposeAsync(), "source disposal");
            }
        }
    }

    /// <summary>A source shared by the workers: one <see cref="NextAsync"/> at a time.</summary>
    internal abstract class Source
    {
        /// <summary>Creates the enumerator (inside the group, so an exception is the group's).</summary>
        internal abstract void Open(CancellationToken cancellationToken);

        /// <summary>Takes the next item, or reports the end.</summary>
        internal abstract ValueTask<(bool Has, T Item)> NextAsync(CancellationToken cancellationToken);

        /// <summary>Disposes the enumerator.</summary>
        internal abstract Task DisposeAsync();
    }

    /// <summary>An <see cref="IEnumerable{T}"/> under a lock.</summary>
    internal sealed class SyncSource : Source
    {
        /// <summary>The items.</summary>
        private readonly IEnumerable<T> _items;

        /// <summary>Guards <see cref="_enumerator"/> and <see cref="_done"/>.</summary>
        private readonly object _gate = new();

        /// <summary>The enumerator; null until opened.</summary>
        private IEnumerator<T>? _enumerator;

        /// <summary>Set once the enumerator is exhausted or threw: nobody calls it again.</summary>
        private bool _done;

        internal SyncSource(IEnumerable<T> items) => _items = items;

        internal override void Open(CancellationToken cancellationToken) => _enumerator = _items.GetEnumerator();

        internal override ValueTask<(bool Has, T Item)> NextAsync(CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                if (_done)
                {
                    return default;
                }

                try
                {
                    if (_enumerator!.MoveNext())
                    {
                        return new ValueTask<(bool, T)>((true, _enumerator.Current));
                    }
                }
                catch
                {
                    _done = true;
                    throw;
                }

                _done = true;
                return default;
            }
        }

        internal override Task DisposeAsync()
        {
            _enumerator?.Dispose();
            return Task.CompletedTask;
        }
    }

    /// <summary>An <see cref="IAsyncEnumerable{T}"/> behind an async lock.</summary>
    [SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "The loop disposes the source through DisposeAsync, inside its group.")]
    internal sealed class AsyncSource : Source
    {
        /// <summary>The items.</summary>
        private readonly IAsyncEnumerable<T> _items;

        /// <summary>One MoveNextAsync at a time.</summary>
        /// <remarks>Disposed with the source; a SemaphoreSlim whose wait handle is never read holds nothing unmanaged anyway.</remarks>
        private readonly SemaphoreSlim _gate = new(1, 1);

        /// <summary>The enumerator; null until opened.</summary>
        private IAsyncEnumerator<T>? _enumerator;

        /// <summary>Set once the enumerator is exhausted or threw. Guarded by <see cref="_gate"/>.</summary>
        private bool _done;

        internal AsyncSource(IAsyncEnumerable<T> items) => _items = items;

        internal override void Open(CancellationToken cancellationToken) => _enumerator = _items.GetAsyncEnumerator(cancellationToken);

        internal override async ValueTask<(bool Has, T Item)> NextAsync(CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_done)
                {
                    return default;
                }

                try
                {
                    if (await _enumerator!.MoveNextAsync().ConfigureAwait(false))
                    {
                        return (true, _enumerator.Current);
                    }
                }
                catch
                {
                    _done = true;
                    throw;
                }

                _done = true;
                return default;
            }
            finally
            {
                _gate.Release();
            }
        }

        internal override async Task DisposeAsync()
        {
            if (_enumerator is not null)
            {
                await _enumerator.DisposeAsync().ConfigureAwait(false);
            }

            _gate.Dispose();
        }
    }
}
