namespace Corral.AspNetCore;

/// <summary>The HTTP headers Corral reads and writes (ADR 0013, ADR 0017).</summary>
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

    /// <summary>The name of gRPC's deadline header, <c>grpc-timeout</c> (<see cref="DeadlineHeader.Grpc"/>).</summary>
    public const string GrpcTimeout = "grpc-timeout";

    /// <summary>The name of the Connect protocol's deadline header, <c>Connect-Timeout-Ms</c> (<see cref="DeadlineHeader.Connect"/>).</summary>
    public const string ConnectTimeout = "Connect-Timeout-Ms";

    /// <summary>
    /// The name of the header Envoy sets on the requests it forwards, <c>x-envoy-expected-rq-timeout-ms</c>
    /// (<see cref="DeadlineHeader.Envoy"/>).
    /// </summary>
    public const string EnvoyExpectedTimeout = "x-envoy-expected-rq-timeout-ms";
}
