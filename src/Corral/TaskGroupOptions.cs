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
}
