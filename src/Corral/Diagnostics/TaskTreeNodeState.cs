namespace Corral.Diagnostics;

/// <summary>Where a node of the task tree is in its life.</summary>
public enum TaskTreeNodeState
{
    /// <summary>Running, not cancelled.</summary>
    Running = 0,

    /// <summary>Cancelled (itself or through an ancestor) and still running: it should be winding down.</summary>
    Cancelling = 1,

    /// <summary>Finished; seen only in the instant between a task's end and its removal from the tree.</summary>
    Finished = 2,
}
