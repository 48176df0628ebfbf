using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace Shop.Infrastructure;

public interface ILog
{
    void Info(string message);
    void Warn(string message, Exception? exception = null);
    void Error(string message, Exception? exception = null);
}

public sealed record Order(Guid Id, string Customer, decimal Total);

public sealed record QueueMessage(string Id, string Body, int DeliveryCount);

public interface IMessageQueue
{
    Task<QueueMessage?> ReceiveAsync(CancellationToken cancellationToken);
    Task CompleteAsync(QueueMessage message, CancellationToken cancellationToken);
    Task AbandonAsync(QueueMessage message, CancellationToken cancellationToken);
}

public interface IOrderStore
{
    Task SaveAsync(Order order, CancellationToken cancellationToken);
    Task<Order?> FindAsync(Guid id, CancellationToken cancellationToken);
    IAsyncEnumerable<Order> ScanAsync(DateTimeOffset since, CancellationToken cancellationToken);
}

public interface IMetrics
{
    void Increment(string name);
    Task FlushAsync(CancellationToken cancellationToken);
}

public sealed class TransientException : Exception
{
    public TransientException(string message) : base(message)
    {
    }
}
