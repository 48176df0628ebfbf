using Corral.Diagnostics;

namespace Corral.Hosting;

/// <summary>Settings of <see cref="Microsoft.Extensions.DependencyInjection.CorralServiceCollectionExtensions.AddCorral"/>: how the host configures the Corral
/// <see cref="Corral.Diagnostics.Watchdog"/>.</summary>
/// <remarks>Read once, when the host starts. Invalid values make the host's start throw (from
/// <see cref="Corral.Diagnostics.Watchdog.Configure"/>).</remarks>
public sealed class CorralHostingOptions
{
    /// <summary>
    /// Gets the watchdog's settings for this host, with the watchdog's own defaults (on, a 5-second grace period). When the host
    /// starts, the watchdog is configured with a copy of them whose <see cref="WatchdogOptions.Logger"/> is the host's logger
    /// of category <c>Corral.Watchdog</c>, unless a logger was set here. Keep <see cref="WatchdogOptions.GracePeriod"/>
    /// shorter than <c>HostOptions.ShutdownTimeout</c> (30 seconds by default), so a stuck task is named before the host gives
    /// up on it.
    /// </summary>
    public WatchdogOptions Watchdog { get; } = new();
}
