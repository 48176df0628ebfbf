using System;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Testing.Core;

/// <summary>A timer of a <see cref="VirtualClock"/>; its state lives in the clock's heap, guarded by the clock's lock.</summary>
internal sealed class VirtualTimer : ITimer
{
    /// <summary>The longest due time or period a <see cref="Timer"/> accepts, in milliseconds.</summary>
    private const double MaxMilliseconds = 0xfffffffe;

    private static readonly ContextCallback s_invoke = static s => ((VirtualTimer)s!).Invoke();

    private readonly VirtualClock _clock;
    private readonly TimerCallback _callback;
    private readonly object? _state;

    /// <summary>The context the timer was created in, or null when flow was suppressed (the clock's default is used).</summary>
    private readonly ExecutionContext? _context;

    internal VirtualTimer(VirtualClock clock, TimerCallback callback, object? state, ExecutionContext? context)
    {
        _clock = clock;
        _callback = callback;
        _state = state;
        _context = context;
    }

    /// <summary>Gets or sets the instant it fires next, in UTC ticks; meaningful while armed. Guarded by the clock's lock.</summary>
    internal long DueTicks { get; set; }

    /// <summary>Gets or sets the period in ticks, or 0 for a one-shot timer. Guarded by the clock's lock.</summary>
    internal long PeriodTicks { get; set; }

    /// <summary>Gets or sets the arming sequence: the tie-breaker between timers due at the same instant.</summary>
    internal long Sequence { get; set; }

    /// <summary>Gets or sets the slot in the clock's heap, or -1 while disarmed. Guarded by the clock's lock.</summary>
    internal int HeapIndex { get; set; } = -1;

    /// <summary>Gets or sets a value indicating whether the timer was disposed. Guarded by the clock's lock.</summary>
    internal bool IsDisposed { get; set; }

    /// <summary>Whether this timer fires before <paramref name="other"/>: earlier due time, or armed earlier at the same one.</summary>
    internal bool FiresBefore(VirtualTimer other) =>
        DueTicks < other.DueTicks || (DueTicks == other.DueTicks && Sequence < other.Sequence);

    /// <summary>Validates a due time or period as <see cref="Timer.Change(TimeSpan, TimeSpan)"/> does.</summary>
    internal static void Validate(TimeSpan value, string paramName)
    {
        if (value != Timeout.InfiniteTimeSpan && (value < TimeSpan.Zero || value.TotalMilliseconds > MaxMilliseconds))
        {
            throw new ArgumentOutOfRangeException(
                paramName, value, "A timer's due time and period must be Timeout.InfiniteTimeSpan or between zero and 4294967294 ms.");
        }
    }

    /// <inheritdoc />
    public bool Change(TimeSpan dueTime, TimeSpan period)
    {
        Validate(dueTime, nameof(dueTime));
        Validate(period, nameof(period));
        var dueTicks = dueTime == Timeout.InfiniteTimeSpan ? -1 : dueTime.Ticks;
        var periodTicks = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
        return _clock.Change(this, dueTicks, periodTicks);
    }

    /// <inheritdoc />
    public void Dispose() => _clock.Dispose(this);

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return default;
    }

    /// <summary>Invokes the callback in the timer's context (or <paramref name="fallback"/>), on the calling thread.</summary>
    internal void Fire(ExecutionContext? fallback)
    {
        var context = _context ?? fallback;
        if (context is null)
        {
            Invoke();
        }
        else
        {
            ExecutionContext.Run(context, s_invoke, this);
        }
    }

    private void Invoke() => _callback(_state);
}
