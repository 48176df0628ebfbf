using System;
using System.Globalization;

namespace Corral.AspNetCore;

/// <summary>Reads and writes the value of the <see cref="CorralHttpHeaders.Timeout"/> header.</summary>
internal static class CorralTimeoutHeader
{
    /// <summary>The most digits a value may have.</summary>
    private const int MaxDigits = 8;

    /// <summary>
    /// The value to send for the time that <paramref name="remaining"/>: whole milliseconds rounded up (so the next hop's
    /// deadline is never before ours; src/Shared/TimeLeft.cs), <c>0</c> when the deadline has passed, at most
    /// <see cref="CorralHttpHeaders.MaxTimeoutMilliseconds"/>.
    /// </summary>
    /// <param name="remaining">The time until the deadline; negative when it has passed.</param>
    /// <returns>The header value.</returns>
    public static string Format(TimeSpan remaining)
    {
        long milliseconds = TimeLeft.CeilingMilliseconds(remaining);
        return Math.Min(milliseconds, CorralHttpHeaders.MaxTimeoutMilliseconds).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Parses one header value: one to eight ASCII digits, nothing else (no sign, no spaces, no unit).</summary>
    /// <param name="value">The raw value.</param>
    /// <param name="timeout">The timeout it carries, when it is well formed.</param>
    /// <returns><see langword="true"/> when the value is well formed.</returns>
    public static bool TryParse(ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.IsEmpty || value.Length > MaxDigits)
        {
            return false;
        }

        long milliseconds = 0;
        foreach (char c in value)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            milliseconds = (milliseconds * 10) + (c - '0');
        }

        timeout = TimeSpan.FromTicks(milliseconds * TimeSpan.TicksPerMillisecond);
        return true;
    }
}
