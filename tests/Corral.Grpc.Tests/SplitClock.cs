using System;
using System.Threading;
using Microsoft.Extensions.Time.Testing;

namespace Corral.Grpc.Tests;

/// <summary>
/// A clock whose reading (<see cref="Now"/>) moves apart from its timers (<see cref="Timers"/>): a deadline can be past by the
/// clock while its timer has not run, as on a busy machine.
/// </summary>
internal sealed class SplitClock : TimeProvider
{
    public FakeTimeProvider Timers { get; } = new();

    public DateTimeOffset Now { get; set; } = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public override DateTimeOffset GetUtcNow() => Now;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        Timers.CreateTimer(callback, state, dueTime, period);
}
