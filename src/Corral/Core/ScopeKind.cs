namespace Corral.Core;

/// <summary>What kind of block a <see cref="CancelScope"/> belongs to; shown by diagnostics.</summary>
internal enum ScopeKind
{
    /// <summary>A plain scope: <c>CancelScope.RunAsync</c>, <c>MoveOn…</c>, <c>FailAt…</c>.</summary>
    Scope = 0,

    /// <summary>A shield opened by <c>CancelScope.ShieldAsync</c>.</summary>
    Shield = 1,

    /// <summary>The scope of a <see cref="TaskGroup"/>.</summary>
    TaskGroup = 2,

    /// <summary>The scope of a <see cref="TaskGroup.StartAsync{T}"/> child, which moves into its group when it signals.</summary>
    StartingTask = 3,
}
