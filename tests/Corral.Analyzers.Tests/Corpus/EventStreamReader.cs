using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace Shop.Infrastructure;

/// <summary>Reads server-sent events and order change feeds as async streams.</summary>
public sealed class EventStreamReader
{
    private readonly Func<CancellationToken, Task<Stream>> _open;
    private readonly IOrderStore _store;
    private readonly ILog _log;

    public EventStreamReader(Func<CancellationToken, Task<Stream>> open, IOrderStore store, ILog log)
    {
        _open = open;
        _store = store;
        _log = log;
    }

    public async IAsyncEnumerable<string> ReadEventsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var stream = await _open(cancellationToken);
        using var reader = new StreamReader(stream);
        while (true)
        {
            var line = await reader.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                yield break;
            }

            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                yield return line.Substring(6);
            }
        }
    }

    // The timeout covers the consumer's work too.
    public async IAsyncEnumerable<Order> ChangesAsync(DateTimeOffset since, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        await foreach (var order in _store.ScanAsync(since, timeout.Token))
        {
            yield return order; // expect: CORRAL0003
        }
    }

    // Each page gets its own timeout, ended before the page is handed out.
    public async IAsyncEnumerable<IReadOnlyList<Order>> PagesAsync(IReadOnlyList<Guid> ids, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var start = 0; start < ids.Count; start += 50)
        {
            var page = new List<Order>();
            using (var pageTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                pageTimeout.CancelAfter(TimeSpan.FromSeconds(5));
                for (var i = start; i < Math.Min(start + 50, ids.Count); i++)
                {
                    var order = await _store.FindAsync(ids[i], pageTimeout.Token);
                    if (order is not null)
                    {
                        page.Add(order);
                    }
                }
            }

            yield return page;
        }
    }

    public async Task<int> CountEventsAsync(CancellationToken cancellationToken)
    {
        var count = 0;
        try
        {
            await foreach (var _ in ReadEventsAsync(cancellationToken))
            {
                count++;
            }
        }
        catch (IOException ex)
        {
            _log.Warn("event stream broke", ex);
        }

        return count;
    }

    // A consumer that stops quietly when the caller cancels: it reports a partial count as complete.
    public async Task<int> CountUntilCancelledAsync(CancellationToken cancellationToken)
    {
        var count = 0;
        try
        {
            await foreach (var _ in ReadEventsAsync(cancellationToken))
            {
                count++;
            }
        }
        catch (OperationCanceledException) // expect: CORRAL0001
        {
        }

        return count;
    }

    // Forwards the outcome to a TaskCompletionSource: nothing is swallowed.
    public async Task PipeToAsync(TaskCompletionSource<int> completion, CancellationToken cancellationToken)
    {
        try
        {
            completion.TrySetResult(await CountEventsAsync(cancellationToken));
        }
        catch (OperationCanceledException ex)
        {
            completion.TrySetCanceled(ex.CancellationToken);
        }
        catch (Exception ex)
        {
            completion.TrySetException(ex);
        }
    }
}
