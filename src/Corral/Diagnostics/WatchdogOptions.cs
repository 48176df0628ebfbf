using System;
using Microsoft.Extensions.Logging;

namespace Corral.Diagnostics;

/// <summary>Settings of the <see cref="Watchdog"/>.</summary>
/// <remarks>Read when passed to <see cref="Watchdog.Configure"/>; change them by configuring again.</remarks>
public sealed class WatchdogOptions
{
    /// <summary>Gets or sets a value indicating whether the watchdog runs. Default: <see langword="true"/>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Gets or sets how long a task may keep running after its scope was cancelled before it is reported. Default: 5 seconds.
    /// Later reports come at growing intervals: 2×, 4×, 8× … the grace period, capped by <see cref="MaxReportInterval"/>.
    /// </summary>
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Gets or sets the longest wait between two reports of the same task. Default: 5 minutes.</summary>
    public TimeSpan MaxReportInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Gets or sets a logger for reports (a warning per report, information when a reported task ends). Default: none.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>
    /// Gets or sets the clock the watchdog checks on. Default: <see cref="System.TimeProvider.System"/>. Tests use a fake clock
    /// shared with the scopes they watch.
    /// </summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
