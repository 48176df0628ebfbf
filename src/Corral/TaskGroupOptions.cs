namespace Corral;

/// <summary>Settings for <see cref="TaskGroup.RunAsync(System.Func{TaskGroup, System.Threading.Tasks.Task}, TaskGroupOptions?, string?, int)"/>.</summary>
/// <remarks>All settings are optional and read once, when the group opens.</remarks>
public sealed class TaskGroupOptions
{
    /// <summary>Gets or sets the group's name, shown in reasons, exceptions and diagnostics. Default: none.</summary>
    public string? Name { get; set; }

    /// <summary>Gets or sets where <see cref="TaskGroup.Start(System.Func{System.Threading.CancellationToken, System.Threading.Tasks.Task}, string?, string?, string?, int)"/>
    /// runs a child first. Default: <see cref="ChildStartMode.Inline"/>.</summary>
    public ChildStartMode StartMode { get; set; }

    /// <summary>
    /// Gets or sets the clock of the group's scope, inherited by the scopes and children inside it (their deadlines, the
    /// watchdog's times). Default: <see langword="null"/>, the enclosing scope's clock, or
    /// <see cref="System.TimeProvider.System"/> at the root; as <see cref="CancelScopeOptions.TimeProvider"/> for a scope.
    /// </summary>
    public System.TimeProvider? TimeProvider { get; set; }
}
