using System;

namespace Corral.Diagnostics;

/// <summary>What the innermost frame of a task awaits, as far as Corral can tell. Immutable.</summary>
public sealed class TaskTreeAwait
{
    /// <summary>Creates a description of an awaited thing (snapshots and the JSON reader create them; tests and tools may too).</summary>
    /// <param name="kind">What it is.</param>
    /// <param name="description">The line a person reads: <c>Task.Delay (1.2s left, without a token)</c>, <c>task 'loader'</c>.</param>
    /// <param name="timeLeft">For a sleep or delay, how long it still waits; null when unknown or infinite.</param>
    /// <param name="targetId">For a task, group or scope of the tree, the <see cref="TaskTreeNode.Id"/> of its node; else null.</param>
    /// <param name="call">The method whose result the frame awaits (<c>Task.Delay</c>, <c>HttpClient.GetAsync</c>), when the
    /// <c>await</c> applies directly to a call; else null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="description"/> is null.</exception>
    public TaskTreeAwait(TaskTreeAwaitKind kind, string description, TimeSpan? timeLeft, long? targetId, string? call)
    {
        ArgumentNullException.ThrowIfNull(description);
        Kind = kind;
        Description = description;
        TimeLeft = timeLeft;
        TargetId = targetId;
        Call = call;
    }

    /// <summary>Gets what is awaited.</summary>
    public TaskTreeAwaitKind Kind { get; }

    /// <summary>Gets the description a person reads, such as <c>Task.Delay (1.2s left, without a token)</c> or <c>task 'loader'</c>.</summary>
    public string Description { get; }

    /// <summary>Gets, for a sleep or a delay, how long it still waits when the snapshot was taken; null when unknown or infinite.</summary>
    public TimeSpan? TimeLeft { get; }

    /// <summary>Gets, when a task, group or scope of the same snapshot is awaited, the id of its node; else null.</summary>
    public long? TargetId { get; }

    /// <summary>Gets the method whose result is awaited (<c>Task.Delay</c>), when the <c>await</c> applies directly to a call.</summary>
    public string? Call { get; }

    /// <inheritdoc/>
    public override string ToString() => "awaiting " + Description;
}
