using System;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace Shop.Infrastructure;

/// <summary>Pulls order messages from the queue and stores them, until the host stops.</summary>
public sealed class OrderQueueWorker
{
    private readonly IMessageQueue _queue;
    private readonly IOrderStore _store;
    private readonly ILog _log;
    private readonly IMetrics _metrics;

    public OrderQueueWorker(IMessageQueue queue, IOrderStore store, ILog log, IMetrics metrics)
    {
        _queue = queue;
        _store = store;
        _log = log;
        _metrics = metrics;
    }

    // The idiomatic hosted-service loop: cancellation ends the loop and is absorbed at the top.
    public async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _log.Info("order worker starting");
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await ProcessOneAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _log.Info("order worker stopping");
        }
        finally
        {
            await _metrics.FlushAsync(CancellationToken.None);
        }
    }

    private async Task ProcessOneAsync(CancellationToken cancellationToken)
    {
        var message = await _queue.ReceiveAsync(cancellationToken);
        if (message is null)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            return;
        }

        try
        {
            var order = JsonSerializer.Deserialize<Order>(message.Body)
                ?? throw new FormatException($"message {message.Id} is not an order");
            await _store.SaveAsync(order, cancellationToken);
            await _queue.CompleteAsync(message, cancellationToken);
            _metrics.Increment("orders.saved");
        }
        catch (JsonException ex)
        {
            _log.Warn($"dead-lettering malformed message {message.Id}", ex);
            await _queue.CompleteAsync(message, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _log.Error($"failed to process message {message.Id}", ex);
            await _queue.AbandonAsync(message, cancellationToken);
        }
    }

    // A second, older loop kept for the legacy queue: logs everything and carries on.
    public async Task RunLegacyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await ProcessOneAsync(cancellationToken);
            }
            catch (Exception ex) // expect: CORRAL0002
            {
                _log.Error("legacy loop failure", ex);
                await Task.Delay(1000);
            }
        }
    }

    // Poll with a back-off; a cancelled delay is treated as "poll again".
    public async Task PollAsync(CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            var message = await _queue.ReceiveAsync(cancellationToken);
            if (message is not null)
            {
                await _queue.CompleteAsync(message, cancellationToken);
                delay = TimeSpan.FromMilliseconds(100);
                continue;
            }

            try
            {
                await Task.Delay(delay, cancellationToken);
            }
            catch (TaskCanceledException) // expect: CORRAL0001
            {
                _log.Info("poll delay interrupted");
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
    }

    // Retry transient failures a few times; cancellation and everything else go to the caller.
    public async Task SaveWithRetryAsync(Order order, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _store.SaveAsync(order, cancellationToken);
                return;
            }
            catch (TransientException ex) when (attempt < 3)
            {
                _log.Warn($"attempt {attempt} failed, retrying", ex);
                await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), cancellationToken);
            }
        }
    }

    // Best-effort: a failing store must not fail the checkout, but a cancelled request must stop.
    public async Task<bool> TrySaveAsync(Order order, CancellationToken cancellationToken)
    {
        try
        {
            await _store.SaveAsync(order, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception ex)
        {
            _log.Warn("best-effort save failed", ex);
            return false;
        }
    }

    // Returns false on any failure, cancellation included.
    public async Task<bool> TryCompleteAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.CompleteAsync(message, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is not ObjectDisposedException) // expect: CORRAL0002
        {
            _log.Warn("complete failed", ex);
            return false;
        }
    }

    // Clean up and return: the caller never learns it was cancelled.
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            QueueMessage? message;
            try
            {
                message = await _queue.ReceiveAsync(cancellationToken);
            }
            catch (OperationCanceledException) // expect: CORRAL0001
            {
                await _metrics.FlushAsync(CancellationToken.None);
                return;
            }

            if (message is null)
            {
                return;
            }

            await _queue.AbandonAsync(message, cancellationToken);
        }
    }

    // Synchronous shutdown hook: exceptions are swallowed by design, nothing is awaited.
    public void Dispose()
    {
        try
        {
            _metrics.FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            _log.Warn("flush on dispose failed", ex);
        }
    }
}
