namespace Corral.AspNetCore;

/// <summary>
/// A header that carries a deadline as the time a caller has left: the ones Corral reads (<see cref="CorralRequestScopeOptions.DeadlineHeaders"/>)
/// and the one its client handler sends (<see cref="CorralDeadlineHandler.Header"/>). ADR 0017.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Each value is parsed strictly to its protocol's grammar; anything else is malformed (ignored and logged at debug level).
/// Zero always means "no time left", never "no deadline".</item>
/// <item>Every value is sent rounded up to its unit, so the next hop's deadline is never before the sender's: a failure its
/// deadline causes reaches the sender when the sender's own deadline has passed too (ADR 0017).</item>
/// <item>Timeouts longer than 99,999,999 seconds (gRPC's limit, about 3.2 years) are read as that limit.</item>
/// </list>
/// </remarks>
public enum DeadlineHeader
{
    /// <summary>
    /// <c>Corral-Timeout</c> (<see cref="CorralHttpHeaders.Timeout"/>): milliseconds, one to eight ASCII digits (ADR 0013). Sent
    /// rounded up, <c>0</c> when the deadline has passed.
    /// </summary>
    Corral = 0,

    /// <summary>
    /// <c>grpc-timeout</c> (<see cref="CorralHttpHeaders.GrpcTimeout"/>), as gRPC, gRPC-Web and JSON transcoding clients send it:
    /// one to eight ASCII digits and a unit, <c>H</c>, <c>M</c>, <c>S</c>, <c>m</c>, <c>u</c> or <c>n</c>. Sent as milliseconds
    /// rounded up (seconds beyond eight digits of them), <c>1n</c> when the deadline has passed (grpc-dotnet's server reads
    /// <c>0m</c> as no deadline).
    /// </summary>
    Grpc = 1,

    /// <summary>
    /// <c>Connect-Timeout-Ms</c> (<see cref="CorralHttpHeaders.ConnectTimeout"/>), the Connect protocol's: milliseconds, one to ten
    /// ASCII digits. Sent rounded up, at least <c>1</c> (the protocol asks for a positive value).
    /// </summary>
    Connect = 2,

    /// <summary>
    /// <c>x-envoy-expected-rq-timeout-ms</c> (<see cref="CorralHttpHeaders.EnvoyExpectedTimeout"/>), which Envoy sets on the request
    /// it forwards to say how long it will wait for the answer: milliseconds, one to ten ASCII digits. Sent rounded up, <c>0</c>
    /// when the deadline has passed. Not read by default (see
    /// <see cref="CorralRequestScopeOptions.DeadlineHeaders"/>).
    /// </summary>
    Envoy = 3,
}
