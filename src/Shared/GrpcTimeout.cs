// The grpc-timeout header (gRPC over HTTP/2, gRPC-Web, and ASP.NET Core's JSON transcoding): "TimeoutValue TimeoutUnit", the
// value one to eight ASCII digits, the unit H (hours), M (minutes), S (seconds), m (milliseconds), u (microseconds) or
// n (nanoseconds). Compiled into Corral.AspNetCore (request scopes read it) and Corral.Grpc (the server interceptor reads it),
// so both read one header one way.
//
// Two choices differ from grpc-dotnet, on purpose (ADR 0017):
// - A zero value ("0m") is read as "no time left", as grpc-go reads it; grpc-dotnet's server ignores it (no deadline at all),
//   which would turn "the caller has nothing left" into "the caller waits forever".
// - Formatting rounds up, to whole milliseconds (whole seconds beyond eight digits of them), so the server's deadline is never
//   before its caller's (the invariant in TimeLeft.cs; gRPC's C core rounds up too, grpc-dotnet's client to three significant
//   figures after rounding down to whole milliseconds); a deadline that has passed is sent as "1n", as grpc-dotnet does, because
//   its server would read "0m" as no deadline.
using System;
using System.Globalization;

namespace Corral;

/// <summary>Reads and writes values of the <c>grpc-timeout</c> header.</summary>
internal static class GrpcTimeout
{
    /// <summary>The header's name.</summary>
    public const string HeaderName = "grpc-timeout";

    /// <summary>The most digits a value may have.</summary>
    private const int MaxDigits = 8;

    /// <summary>The largest value gRPC encodes: 99,999,999 in a unit.</summary>
    private const long MaxValue = 99_999_999;

    /// <summary>The longest timeout read or written: 99,999,999 seconds (about 3.2 years), gRPC's own limit.</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromSeconds(MaxValue);

    /// <summary>Parses one value: one to eight ASCII digits, then exactly one unit letter; nothing else.</summary>
    /// <param name="value">The raw value.</param>
    /// <param name="timeout">The timeout it carries (at most <see cref="MaxTimeout"/>), when it is well formed.</param>
    /// <returns><see langword="true"/> when the value is well formed.</returns>
    public static bool TryParse(ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length < 2 || value.Length > MaxDigits + 1)
        {
            return false;
        }

        long amount = 0;
        foreach (char c in value[..^1])
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            amount = (amount * 10) + (c - '0');
        }

        // Ticks are 100 ns: nanoseconds round up to the next tick, so a non-zero value never becomes zero. No product overflows:
        // 99,999,999 hours is 3.6e18 ticks, below long.MaxValue (9.2e18).
        long ticks;
        switch (value[^1])
        {
            case 'H':
                ticks = amount * TimeSpan.TicksPerHour;
                break;
            case 'M':
                ticks = amount * TimeSpan.TicksPerMinute;
                break;
            case 'S':
                ticks = amount * TimeSpan.TicksPerSecond;
                break;
            case 'm':
                ticks = amount * TimeSpan.TicksPerMillisecond;
                break;
            case 'u':
                ticks = amount * (TimeSpan.TicksPerMillisecond / 1000);
                break;
            case 'n':
                ticks = (amount + 99) / 100;
                break;
            default:
                return false;
        }

        timeout = TimeSpan.FromTicks(Math.Min(ticks, MaxTimeout.Ticks));
        return true;
    }

    /// <summary>
    /// The value to send for the time that <paramref name="remaining"/>: whole milliseconds rounded up while they fit in
    /// eight digits, else whole seconds rounded up (at most <see cref="MaxValue"/>); <c>1n</c> when the deadline has passed.
    /// Never less than <paramref name="remaining"/> (below the cap): the invariant in TimeLeft.cs.
    /// </summary>
    /// <param name="remaining">The time until the deadline; negative when it has passed.</param>
    /// <returns>The header value.</returns>
    public static string Format(TimeSpan remaining)
    {
        long milliseconds = TimeLeft.CeilingMilliseconds(remaining);
        if (milliseconds == 0)
        {
            return "1n";
        }

        if (milliseconds <= MaxValue)
        {
            return milliseconds.ToString(CultureInfo.InvariantCulture) + "m";
        }

        long seconds = Math.Min(((milliseconds - 1) / 1000) + 1, MaxValue);
        return seconds.ToString(CultureInfo.InvariantCulture) + "S";
    }
}
