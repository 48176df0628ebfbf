namespace Corral.AspNetCore;

/// <summary>The HTTP headers Corral reads and writes (ADR 0013).</summary>
public static class CorralHttpHeaders
{
    /// <summary>
    /// The name of the header that carries a deadline across a process boundary: <c>Corral-Timeout</c>.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>The value is the time that remains until the caller's deadline, in whole milliseconds, as one to eight ASCII
    /// digits (<c>0</c> to <see cref="MaxTimeoutMilliseconds"/>): relative, like gRPC's <c>grpc-timeout</c>, so that the
    /// clocks of the two machines need not agree.</item>
    /// <item><see cref="CorralDeadlineHandler"/> writes it; the middleware of
    /// <c>UseCorralRequestScopes</c> reads it. Any other value is ignored (and logged at debug level).</item>
    /// </list>
    /// </remarks>
    public const string Timeout = "Corral-Timeout";

    /// <summary>
    /// The largest value of <see cref="Timeout"/>: 99,999,999 milliseconds (about 27.8 hours), the most eight digits hold.
    /// A client whose deadline is further away sends this value.
    /// </summary>
    public const long MaxTimeoutMilliseconds = 99_999_999;
}
