namespace Corral.Grpc;

/// <summary>The reasons Corral gives to a server call's scope, and the status details it answers with.</summary>
internal static class GrpcCallReasons
{
    /// <summary>The reason given to a call's scope when the client cancelled the call (the call ends with <c>Cancelled</c>).</summary>
    public const string ClientCancelled = "the client cancelled the call";

    /// <summary>
    /// The reason given to a call's scope when the client cancelled the call within
    /// <see cref="CorralGrpcServerOptions.CallerDeadlineMargin"/> of the deadline its <c>grpc-timeout</c> announced: the caller's
    /// deadline passed (the call ends with <c>DeadlineExceeded</c>).
    /// </summary>
    public const string CallerDeadlinePassed = "the caller's deadline passed";

    /// <summary>The status detail of a call that ended because its deadline passed, as grpc-dotnet writes it.</summary>
    public const string DeadlineExceededDetail = "Deadline Exceeded";
}
