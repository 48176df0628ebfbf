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

    /// <summary>
    /// Gets or sets a callback run the moment a task of the group fails, before the group cancels the rest (for a log that shows
    /// a failure when it happens, not when the group ends: Corral.Hosting). Internal until it has a second user. Default: none.
    /// </summary>
    /// <remarks>Runs on the failing task's thread, outside every lock. An exception it throws becomes a failure of the group
    /// (task name <c>failure callback</c>); it is not called for that one.</remarks>
    internal System.Action<TaskFailure>? OnTaskFailed { get; set; }
}
