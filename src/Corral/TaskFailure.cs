using System;
using System.Diagnostics;

namespace Corral;

/// <summary>One failure recorded by a <see cref="TaskGroup"/>: which task failed, and with what.</summary>
/// <remarks>Immutable. The exception is the one the task threw, unchanged and unwrapped.</remarks>
[DebuggerDisplay("{TaskName,nq}: {Exception.GetType().Name,nq}")]
public sealed class TaskFailure
{
    /// <summary>Creates a failure record.</summary>
    /// <param name="taskName">The name of the task that failed (the group body is named <c>body</c>).</param>
    /// <param name="exception">What it threw.</param>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public TaskFailure(string taskName, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(taskName);
        ArgumentNullException.ThrowIfNull(exception);
        TaskName = taskName;
        Exception = exception;
    }

    /// <summary>Gets the name of the task that failed: the name given to <c>Start</c>, or a generated one such as <c>task #3</c>.</summary>
    public string TaskName { get; }

    /// <summary>Gets the exception the task threw.</summary>
    public Exception Exception { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{TaskName}: {TaskGroupException.Describe(Exception)}";
}
