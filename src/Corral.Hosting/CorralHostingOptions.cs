using System;
using Corral.Diagnostics;

namespace Corral.Hosting;

/// <summary>Settings of <see cref="Microsoft.Extensions.DependencyInjection.CorralServiceCollectionExtensions.AddCorral"/>: how the host configures the Corral
/// <see cref="Watchdog"/>.</summary>
/// <remarks>Read once, when the host starts. Invalid values make the host's start throw (from
/// <see cref="Watchdog.Configure"/>).</remarks>
public sealed class CorralHostingOptions
{
    /// <summary>Gets or sets a value indicating whether the watchdog runs. Default: <see langword="true"/>.</summary>
    public bool WatchdogEnabled { get; set; } = true;

    /// <summary>Gets or sets how long a task may run after its cancellation before the watchdog names it. Default: 5 seconds.
    /// Keep it shorter than <c>HostOptions.ShutdownTimeout</c> (30 seconds by default), so a stuck task is named before the
    /// host gives up on it.</summary>
    public TimeSpan WatchdogGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the longest wait between two reports of the same task. Default: 5 minutes.</summary>
    public TimeSpan WatchdogMaxReportInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets the clock the watchdog checks on. Default: <see langword="null"/>, for
    /// <see cref="System.TimeProvider.System"/>. Tests set a fake clock.</summary>
    public TimeProvider? TimeProvider { get; set; }
}
