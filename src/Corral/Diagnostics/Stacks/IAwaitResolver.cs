namespace Corral.Diagnostics.Stacks;

/// <summary>
/// Lets the caller of <see cref="AsyncStackWalker"/> name the awaited things it knows better than the runtime does: Corral's
/// own groups, scopes, sleeps and tasks, which are nodes of the tree or have no shape the runtime can tell apart.
/// </summary>
internal interface IAwaitResolver
{
    /// <summary>Describes <paramref name="awaited"/> if the resolver knows it (the walk then stops), or says where to walk on.</summary>
    /// <param name="awaited">The object the current frame awaits: a task, a value-task source, or a state machine box.</param>
    /// <param name="call">The method whose result the innermost shown frame awaits, when known (<c>CancelScope.SleepAsync</c>).</param>
    /// <param name="continueWith">Set when the walk should go on from another object instead (a scope's task: its body).</param>
    /// <returns>The description to stop at, or null.</returns>
    TaskTreeAwait? Resolve(object awaited, string? call, out object? continueWith);
}
