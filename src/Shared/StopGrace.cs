// The default grace of a graceful stop, one rule for the two places a host's stop reaches Corral: a
// CorralBackgroundService's group (Corral.Hosting) and the requests in flight (Corral.AspNetCore's request scopes).
// Compiled into both (docs/adr/0020-graceful-stop-ask-first-cancel-after-a-grace.md).
using System;
using System.Threading;

namespace Corral;

/// <summary>The default grace period of a host's stop: half of the host's shutdown timeout.</summary>
internal static class StopGrace
{
    /// <summary>The host's default <c>HostOptions.ShutdownTimeout</c>: 30 seconds.</summary>
    public static readonly TimeSpan DefaultShutdownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Half of <paramref name="shutdownTimeout"/> (of <see cref="DefaultShutdownTimeout"/> when unknown): the other half is
    /// for the cancelled work to end (shielded cleanup included) before the host stops waiting.
    /// </summary>
    /// <param name="shutdownTimeout">The host's <c>HostOptions.ShutdownTimeout</c>, or <see langword="null"/> without a host.</param>
    /// <returns>The grace: infinite for an infinite timeout, <see cref="TimeSpan.Zero"/> for a zero or negative one.</returns>
    public static TimeSpan Default(TimeSpan? shutdownTimeout)
    {
        var timeout = shutdownTimeout ?? DefaultShutdownTimeout;
        return timeout == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan
            : timeout <= TimeSpan.Zero ? TimeSpan.Zero
            : timeout / 2;
    }
}
