using System;

namespace Corral;

/// <summary>
/// Settings for a scope opened by <see cref="CancelScope.RunAsync(Func{CancelScope, System.Threading.Tasks.Task}, CancelScopeOptions?)"/>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>All settings are optional; the defaults give a plain scope with no deadline, not shielded, on the parent's clock.</item>
/// <item>The options are read once, when the scope opens: changing them later does not affect a running scope
/// (use <see cref="CancelScope.Deadline"/> and <see cref="CancelScope.Shield"/> for that).</item>
/// <item>Setting both <see cref="Deadline"/> and <see cref="Timeout"/> is an error
/// (<see cref="ArgumentException"/> when the scope opens).</item>
/// </list>
/// </remarks>
public sealed class CancelScopeOptions
{
    /// <summary>Gets or sets a name shown in reasons, exceptions and diagnostics. Default: none.</summary>
    public string? Name { get; set; }

    /// <summary>Gets or sets the instant at which the scope cancels itself. Default: none.</summary>
    public DateTimeOffset? Deadline { get; set; }

    /// <summary>
    /// Gets or sets a relative deadline measured from when the scope opens on its <see cref="TimeProvider"/>.
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> means no deadline. Default: none.
    /// </summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Gets or sets a value indicating whether the scope starts shielded from its ancestors' cancellation. Default: <see langword="false"/>.</summary>
    public bool Shield { get; set; }

    /// <summary>
    /// Gets or sets the clock for the scope's deadline. Default: the parent scope's clock, or
    /// <see cref="System.TimeProvider.System"/> at the root. Child scopes inherit it.
    /// </summary>
    public TimeProvider? TimeProvider { get; set; }
}
