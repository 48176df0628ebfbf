using System;
using System.Globalization;

namespace Corral.AspNetCore;

/// <summary>Reads and writes the value of each <see cref="DeadlineHeader"/>.</summary>
internal static class DeadlineHeaderFormat
{
    /// <summary>The most digits of a millisecond value of Connect-Timeout-Ms and x-envoy-expected-rq-timeout-ms.</summary>
    private const int MaxLongDigits = 10;

    /// <summary>The largest value of ten digits.</summary>
    private const long MaxLongValue = 9_999_999_999;

    /// <summary>Whether <paramref name="header"/> is one of the defined values.</summary>
    public static bool IsDefined(DeadlineHeader header) => header is >= DeadlineHeader.Corral and <= DeadlineHeader.Envoy;

    /// <summary>The header's name.</summary>
    public static string Name(DeadlineHeader header) => header switch
    {
        DeadlineHeader.Corral => CorralHttpHeaders.Timeout,
        DeadlineHeader.Grpc => CorralHttpHeaders.GrpcTimeout,
        DeadlineHeader.Connect => CorralHttpHeaders.ConnectTimeout,
        _ => CorralHttpHeaders.EnvoyExpectedTimeout,
    };

    /// <summary>What a well-formed value looks like, for the log.</summary>
    public static string Expected(DeadlineHeader header) => header switch
    {
        DeadlineHeader.Corral => "one to eight ASCII digits (milliseconds)",
        DeadlineHeader.Grpc => "one to eight ASCII digits and a unit (H, M, S, m, u, n)",
        _ => "one to ten ASCII digits (milliseconds)",
    };

    /// <summary>Parses one value of <paramref name="header"/>.</summary>
    /// <param name="header">Which header the value came from.</param>
    /// <param name="value">The raw value.</param>
    /// <param name="timeout">The timeout it carries, at most <see cref="GrpcTimeout.MaxTimeout"/>, when well formed.</param>
    /// <returns><see langword="true"/> when the value is well formed.</returns>
    public static bool TryParse(DeadlineHeader header, ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        switch (header)
        {
            case DeadlineHeader.Corral:
                return CorralTimeoutHeader.TryParse(value, out timeout);
            case DeadlineHeader.Grpc:
                return GrpcTimeout.TryParse(value, out timeout);
            default:
                timeout = default;
                if (value.IsEmpty || value.Length > MaxLongDigits)
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

                timeout = TimeSpan.FromTicks(Math.Min(milliseconds * TimeSpan.TicksPerMillisecond, GrpcTimeout.MaxTimeout.Ticks));
                return true;
        }
    }

    /// <summary>
    /// The value of <paramref name="header"/> for the time that <paramref name="remaining"/>, rounded up to the header's unit:
    /// the next hop's deadline is then never before ours (the invariant in src/Shared/TimeLeft.cs).
    /// </summary>
    /// <param name="header">The header to send.</param>
    /// <param name="remaining">The time until the deadline; negative when it has passed.</param>
    /// <returns>The header value.</returns>
    public static string Format(DeadlineHeader header, TimeSpan remaining)
    {
        switch (header)
        {
            case DeadlineHeader.Corral:
                return CorralTimeoutHeader.Format(remaining);
            case DeadlineHeader.Grpc:
                return GrpcTimeout.Format(remaining);
            default:
                long milliseconds = Math.Min(TimeLeft.CeilingMilliseconds(remaining), MaxLongValue);
                if (header == DeadlineHeader.Connect && milliseconds == 0)
                {
                    milliseconds = 1; // Connect asks for a positive value
                }

                return milliseconds.ToString(CultureInfo.InvariantCulture);
        }
    }
}
