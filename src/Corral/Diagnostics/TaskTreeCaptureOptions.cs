namespace Corral.Diagnostics;

/// <summary>What <see cref="TaskTree.Capture(TaskTreeCaptureOptions?)"/> puts in a snapshot.</summary>
public sealed class TaskTreeCaptureOptions
{
    /// <summary>
    /// Gets or sets a value indicating whether each task's async call stack is read (<see cref="TaskTreeNode.Stack"/>).
    /// Default: true. Reading stacks costs a few microseconds per task, at capture time only (docs/benchmarks.md); leave them
    /// out for a quick count of a very large tree.
    /// </summary>
    public bool IncludeStacks { get; set; } = true;
}
