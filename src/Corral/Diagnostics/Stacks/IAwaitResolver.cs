namespace Corral.Diagnostics.Stacks;

/// <summary>
/// Lets the caller of <see cref="AsyncStackWalker"/> name the awaited things it knows better than the runtime does: Corral's
/// own groups, scopes, sleeps and tasks, which are nodes of the tree or have no shape the runtime can tell apart.
/// </summary>
internal interface IAwaitResolver
{
    /// <summary>Describes <paramref name="awaited"/> if the resolver knows it; the walk then stops there.</summary>
    /// <param name="awaited">The object the current frame awaits: a task, a value-task source, or a state machine box.</param>
    /// <param name="call">The method whose result the innermost shown frame awaits, when known (<c>CancelScope.SleepAsync</c>).</param>
    /// <returns>The description, or null to let the walker go on.</returns>
    TaskTreeAwait? Resolve(object awaited, string? call);
}
