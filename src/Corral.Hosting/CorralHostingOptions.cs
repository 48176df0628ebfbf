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

    /// <summary>The backing field of <see cref="FailureExitCode"/>.</summary>
    private int? _failureExitCode;

    /// <summary>
    /// Gets or sets the process exit code to leave when a <see cref="CorralBackgroundService"/> fails (a task of its group throws),
    /// so a supervisor (systemd, Kubernetes, a CI job) sees the failure. Default: <see langword="null"/>, which leaves
    /// <see cref="System.Environment.ExitCode"/> alone: the process then exits with 0 after a failure, as it does after a
    /// <see cref="Microsoft.Extensions.Hosting.BackgroundService"/>'s failure on .NET 8 to 10.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Set at the first failure (while running or during the stop), unless <see cref="System.Environment.ExitCode"/> is already
    /// non-zero. A <c>Main</c> that returns an <see langword="int"/> overrides it; a <c>Main</c> that returns <c>void</c> or
    /// <c>Task</c> exits with it.</item>
    /// <item>Process-wide, like the watchdog: with two hosts in one process, the one that started last decides.</item>
    /// </list>
    /// </remarks>
    /// <exception cref="System.ArgumentOutOfRangeException">The value is 0 (use <see langword="null"/> for none).</exception>
    public int? FailureExitCode
    {
        get => _failureExitCode;
        set
        {
            if (value == 0)
            {
                throw new System.ArgumentOutOfRangeException(nameof(FailureExitCode), value, "A failure exit code must not be 0; use null to leave the exit code alone.");
            }

            _failureExitCode = value;
        }
    }
}
