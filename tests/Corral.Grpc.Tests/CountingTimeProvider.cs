using System;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Grpc.Tests;

/// <summary>The system clock, counting the timers created on it and those not yet disposed.</summary>
internal sealed class CountingTimeProvider : TimeProvider
{
    private long _created;
    private long _live;

    public long Created => Volatile.Read(ref _created);

    public long Live => Volatile.Read(ref _live);

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow();

    public override long GetTimestamp() => System.GetTimestamp();

    public override TimeZoneInfo LocalTimeZone => System.LocalTimeZone;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        Interlocked.Increment(ref _created);
        Interlocked.Increment(ref _live);
        return new CountedTimer(this, System.CreateTimer(callback, state, dueTime, period));
    }

    private sealed class CountedTimer(CountingTimeProvider owner, ITimer inner) : ITimer
    {
        private int _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period) => inner.Change(dueTime, period);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref owner._live);
            }

            inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
