using System;
using System.Globalization;
using System.Threading;

namespace Corral.Core;

/// <summary>Validation and conversion of the timeouts every API accepts, so all of them reject bad input alike.</summary>
internal static class Timeouts
{
    /// <summary>"No clock reading at hand": the callee reads the clock itself.</summary>
    internal const long UnknownNow = long.MinValue;

    /// <summary>The longest single wait a timer accepts (0xfffffffe ms, about 49.7 days); longer waits are taken in pieces.</summary>
    internal static readonly TimeSpan MaxSingleWait = TimeSpan.FromMilliseconds(uint.MaxValue - 1.0);

    /// <summary>
    /// Turns a relative timeout into an absolute deadline in UTC ticks on <paramref name="timeProvider"/>.
    /// </summary>
    /// <returns><see cref="CancelScope.NoDeadline"/> for <see cref="Timeout.InfiniteTimeSpan"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The timeout is negative (other than infinite), is
    /// <see cref="TimeSpan.MaxValue"/>, or puts the deadline past <see cref="DateTimeOffset.MaxValue"/>.</exception>
    internal static long ToDeadlineTicks(TimeSpan timeout, TimeProvider timeProvider, string paramName) =>
        ToDeadlineTicks(timeout, timeProvider, paramName, out _);

    /// <summary>As <see cref="ToDeadlineTicks(TimeSpan, TimeProvider, string)"/>, and gives the clock reading the deadline was
    /// computed from (<see cref="UnknownNow"/> for an infinite timeout), so the caller need not read the clock again.</summary>
    internal static long ToDeadlineTicks(TimeSpan timeout, TimeProvider timeProvider, string paramName, out long now)
    {
        now = UnknownNow;
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            return CancelScope.NoDeadline;
        }

        if (timeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                paramName,
                timeout,
                "The timeout must not be negative. Use TimeSpan.Zero to cancel at the first checkpoint, or Timeout.InfiniteTimeSpan for no deadline.");
        }

        if (timeout == TimeSpan.MaxValue)
        {
            throw new ArgumentOutOfRangeException(
                paramName,
                timeout,
                "TimeSpan.MaxValue is not a timeout. Use Timeout.InfiniteTimeSpan (or a scope without a deadline) for no deadline.");
        }

        now = timeProvider.GetUtcNow().UtcTicks;
        if (timeout.Ticks > DateTimeOffset.MaxValue.UtcTicks - now)
        {
            throw new ArgumentOutOfRangeException(
                paramName,
                timeout,
                string.Create(CultureInfo.InvariantCulture, $"The timeout {timeout} puts the deadline past DateTimeOffset.MaxValue. Use Timeout.InfiniteTimeSpan for no deadline."));
        }

        return now + timeout.Ticks;
    }

    /// <summary>Validates a delay for <c>SleepAsync</c>: as for timeouts.</summary>
    internal static void ValidateDelay(TimeSpan delay, string paramName)
    {
        if (delay == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        if (delay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(paramName, delay, "The delay must not be negative. Use Timeout.InfiniteTimeSpan to sleep until cancelled.");
        }

        if (delay == TimeSpan.MaxValue)
        {
            throw new ArgumentOutOfRangeException(paramName, delay, "TimeSpan.MaxValue is not a delay. Use Timeout.InfiniteTimeSpan to sleep until cancelled.");
        }
    }
}
