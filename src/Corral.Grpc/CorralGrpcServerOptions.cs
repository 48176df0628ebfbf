using System;

namespace Corral.Grpc;

/// <summary>Settings of the scopes <see cref="CorralServerInterceptor"/> opens for server calls.</summary>
/// <remarks>
/// <list type="bullet">
/// <item>All settings are optional; the defaults give each call a scope whose deadline is the call's <c>grpc-timeout</c>, on
/// <see cref="System.TimeProvider.System"/>.</item>
/// <item>The interceptor copies the settings when it is created: changing them later does not affect it.</item>
/// <item>Setters reject values out of range with <see cref="ArgumentOutOfRangeException"/>, at once.</item>
/// </list>
/// </remarks>
public sealed class CorralGrpcServerOptions
{
    /// <summary>The default of <see cref="CallerDeadlineMargin"/>: 250 milliseconds.</summary>
    public static readonly TimeSpan DefaultCallerDeadlineMargin = TimeSpan.FromMilliseconds(250);

    /// <summary>The backing field of <see cref="CallerDeadlineMargin"/>.</summary>
    private TimeSpan _callerDeadlineMargin = DefaultCallerDeadlineMargin;

    /// <summary>
    /// Gets or sets the clock of the call scopes' deadlines. Default: <see langword="null"/>, meaning
    /// <see cref="System.TimeProvider.System"/>. Tests set a fake clock here (and on the callers' scopes).
    /// </summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>
    /// Gets or sets how close to the call's deadline a cancellation from the client counts as the caller's deadline passing
    /// rather than the client giving up: a caller whose deadline passes cancels its call, and that cancellation reaches the
    /// server slightly before the server's own deadline (the server started counting later, by the time the request took to
    /// arrive). Such a call ends with <c>DeadlineExceeded</c>, and its scope's reason is <c>the caller's deadline passed</c>.
    /// Default: <see cref="DefaultCallerDeadlineMargin"/> (250 ms).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or longer than a minute.</exception>
    public TimeSpan CallerDeadlineMargin
    {
        get => _callerDeadlineMargin;
        set
        {
            if (value < TimeSpan.Zero || value > TimeSpan.FromMinutes(1))
            {
                throw new ArgumentOutOfRangeException(
                    nameof(CallerDeadlineMargin), value, "CallerDeadlineMargin must be between zero and one minute.");
            }

            _callerDeadlineMargin = value;
        }
    }

    /// <summary>Creates a copy, so that later changes to this instance do not reach a running interceptor.</summary>
    /// <returns>The copy.</returns>
    internal CorralGrpcServerOptions Clone() => new() { TimeProvider = TimeProvider, _callerDeadlineMargin = _callerDeadlineMargin };
}
