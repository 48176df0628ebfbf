using System;

namespace Corral.Dashboard;

/// <summary>Settings for the dashboard mapped by <c>MapCorralDashboard</c>: who may see it, what it may do, how often it updates.</summary>
/// <remarks>
/// <list type="bullet">
/// <item>The defaults are the safe ones: read-only, and answered only for requests from this machine (loopback address
/// and a loopback <c>Host</c> header); every other request gets 403.</item>
/// <item><see cref="AllowRemoteRequests"/> and <see cref="EnableCancel"/> each require an
/// <see cref="AuthorizationPolicy"/>; <c>MapCorralDashboard</c> throws <see cref="InvalidOperationException"/> without one.</item>
/// <item>The settings are copied when the dashboard is mapped: later changes do not apply.</item>
/// <item>Setters reject values out of range with <see cref="ArgumentOutOfRangeException"/>, at once.</item>
/// </list>
/// </remarks>
public sealed class CorralDashboardOptions
{
    /// <summary>The shortest update interval: pushes are at most four a second.</summary>
    public static readonly TimeSpan MinUpdateInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest update interval.</summary>
    public static readonly TimeSpan MaxUpdateInterval = TimeSpan.FromMinutes(1);

    /// <summary>The backing field of <see cref="UpdateInterval"/>.</summary>
    private TimeSpan _updateInterval = TimeSpan.FromSeconds(1);

    /// <summary>The backing field of <see cref="ChartWindow"/>.</summary>
    private TimeSpan _chartWindow = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Gets or sets a value indicating whether requests from other machines are answered. Default: false (loopback only).
    /// When true, <see cref="AuthorizationPolicy"/> must name a policy, and every request must satisfy it.
    /// </summary>
    public bool AllowRemoteRequests { get; set; }

    /// <summary>
    /// Gets or sets the name of the authorization policy every dashboard request must satisfy (as with
    /// <c>RequireAuthorization(policy)</c>). Default: none. Required by <see cref="AllowRemoteRequests"/> and
    /// <see cref="EnableCancel"/>; when set without them, it applies to loopback requests too.
    /// </summary>
    public string? AuthorizationPolicy { get; set; }

    /// <summary>
    /// Gets or sets a value indicating whether the page offers "cancel this scope with a reason". Default: false (the
    /// endpoint does not exist). When true, <see cref="AuthorizationPolicy"/> must name a policy, the app must register
    /// antiforgery (<c>services.AddAntiforgery()</c>), every cancel request must carry a valid antiforgery token, and each
    /// cancel is logged (category <c>Corral.Dashboard</c>, warning) with the user, the address, the node and the reason.
    /// </summary>
    public bool EnableCancel { get; set; }

    /// <summary>
    /// Gets or sets how often a new tree is pushed to open pages. Default: 1 second; between
    /// <see cref="MinUpdateInterval"/> and <see cref="MaxUpdateInterval"/>. Nothing is captured while no page is open.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside that range.</exception>
    public TimeSpan UpdateInterval
    {
        get => _updateInterval;
        set => _updateInterval = value >= MinUpdateInterval && value <= MaxUpdateInterval
            ? value
            : throw new ArgumentOutOfRangeException(nameof(UpdateInterval), value, $"The update interval must be between {MinUpdateInterval.TotalMilliseconds} ms and {MaxUpdateInterval.TotalSeconds} s.");
    }

    /// <summary>
    /// Gets or sets how much history the running-tasks chart keeps. Default: 5 minutes; between 10 seconds and one hour.
    /// The chart starts when the first page opens and is dropped when the last one closes.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is outside that range.</exception>
    public TimeSpan ChartWindow
    {
        get => _chartWindow;
        set => _chartWindow = value >= TimeSpan.FromSeconds(10) && value <= TimeSpan.FromHours(1)
            ? value
            : throw new ArgumentOutOfRangeException(nameof(ChartWindow), value, "The chart window must be between 10 seconds and one hour.");
    }

    /// <summary>Copies the settings.</summary>
    /// <returns>A copy.</returns>
    internal CorralDashboardOptions Clone() => (CorralDashboardOptions)MemberwiseClone();

    /// <summary>Checks the combination of settings.</summary>
    /// <exception cref="InvalidOperationException">Remote access or cancel without an authorization policy.</exception>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(AuthorizationPolicy))
        {
            if (AllowRemoteRequests)
            {
                throw new InvalidOperationException(
                    "The Corral dashboard answers requests from other machines only behind an authorization policy: set CorralDashboardOptions.AuthorizationPolicy to the name of one the app registered (services.AddAuthorization(o => o.AddPolicy(...))).");
            }

            if (EnableCancel)
            {
                throw new InvalidOperationException(
                    "The Corral dashboard's cancel action requires an authorization policy: set CorralDashboardOptions.AuthorizationPolicy to the name of one the app registered.");
            }
        }
    }
}
