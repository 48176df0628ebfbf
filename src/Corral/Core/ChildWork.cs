using System;
using System.Threading.Tasks;

namespace Corral.Core;

/// <summary>
/// What a group child that is more than a delegate does at its start and at its finish: a <c>Start&lt;T&gt;</c> child
/// (<see cref="ValueChild{T}"/>) or a <c>StartAsync</c> child (<see cref="StartingChild{T}"/>). The group runs it through
/// the same route as every child (TaskGroup.Children.cs) and calls these hooks from <c>FinishChild</c>.
/// </summary>
internal abstract class ChildWork
{
    /// <summary>The child's task while it runs (read by its completion callback); null before and after.</summary>
    internal Task? Task;

    /// <summary>The task handed to whoever started the child and may await it (a <c>Start&lt;T&gt;</c> child's value), or null.
    /// Read by snapshots, to name the child a task awaits (Diagnostics/Stacks).</summary>
    internal virtual Task? HandedOut => null;

    /// <summary>Calls the child's delegate (its ambient value is already set).</summary>
    /// <param name="groupScope">The scope of the group the child belongs to.</param>
    internal abstract Task Invoke(CancelScope groupScope);

    /// <summary>
    /// First step of the finish: given how the child's task ended, returns the exception the group must classify (null for
    /// none), and in <paramref name="more"/> any further ones. By default the task's own exception, as for a plain child.
    /// </summary>
    internal virtual Exception? Finish(Exception? error, out Exception[]? more)
    {
        more = null;
        return error;
    }

    /// <summary>Last step before the child's count is released: hands the outcome to whoever awaits the child.</summary>
    /// <param name="task">The child's task, or null when its delegate threw or returned null.</param>
    /// <param name="error">How it ended (null: it completed).</param>
    internal virtual void Publish(Task? task, Exception? error)
    {
    }
}
