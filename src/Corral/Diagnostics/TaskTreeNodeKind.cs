namespace Corral.Diagnostics;

/// <summary>What a node of the task tree is.</summary>
public enum TaskTreeNodeKind
{
    /// <summary>A cancel scope (<c>CancelScope.RunAsync</c>, <c>MoveOn…</c>, <c>Fail…</c>).</summary>
    Scope = 0,

    /// <summary>A shield opened by <c>CancelScope.ShieldAsync</c>.</summary>
    Shield = 1,

    /// <summary>A task group.</summary>
    TaskGroup = 2,

    /// <summary>A task of a group: a child, or the group's body.</summary>
    Task = 3,
}
