using System;

namespace Corral.Grpc;

/// <summary>
/// Ends a scope by its deadline now, instead of when its clock's deadline timer runs: what the client interceptor does when
/// grpc-dotnet's DEADLINE_EXCEEDED arrives first (ClientCall) and the server interceptor when grpc-dotnet's own deadline fires
/// (CorralServerInterceptor). The scope is cancelled with its own "deadline exceeded", as if its timer had run.
/// </summary>
internal static class DeadlineExpiry
{
    /// <summary>
    /// Cancels <paramref name="scope"/> by its deadline if that deadline is due at <paramref name="now"/> by its own clock: setting
    /// a scope's deadline to the instant it already has, once that instant has passed, cancels it at once (the timer, on a busy
    /// machine, may run much later). The deadline itself does not move. A scope that has ended or is already cancelled ignores it.
    /// </summary>
    /// <param name="scope">The scope.</param>
    /// <param name="now">Now on the scope's clock.</param>
    /// <returns>Whether the scope's deadline is due.</returns>
    public static bool ExpireIfDue(CancelScope scope, DateTimeOffset now)
    {
        if (scope.Deadline is { } due && due <= now)
        {
            scope.Deadline = due;
            return true;
        }

        return false;
    }
}
