using System;
using System.Collections.Generic;
using System.Diagnostics;

namespace Corral.Diagnostics;

/// <summary>One scope, group or task in a <see cref="TaskTreeSnapshot"/>. Immutable.</summary>
[DebuggerDisplay("{Kind} '{Name,nq}' {State}")]
public sealed class TaskTreeNode
{
    /// <summary>Creates a node (snapshots and the JSON reader create them; tests and tools may too).</summary>
    /// <param name="id">A process-wide identifier, stable for the node's life.</param>
    /// <param name="kind">What the node is.</param>
    /// <param name="name">Its name, or null.</param>
    /// <param name="site">Where it was started (<c>file:line</c>), or null.</param>
    /// <param name="state">Its state when the snapshot was taken.</param>
    /// <param name="age">How long it had run.</param>
    /// <param name="deadline">Its own deadline, or null.</param>
    /// <param name="shield">Whether it is a shielded scope.</param>
    /// <param name="cancelCalled">Whether its own cancel was called (or its deadline passed).</param>
    /// <param name="cancelReason">Why it is cancelled, or null.</param>
    /// <param name="cancelledFor">For a cancelled node, how long it has run since the cancellation reached it.</param>
    /// <param name="children">Its children, oldest first.</param>
    /// <param name="stack">For a task or scope, where it is right now (its async call stack), or null when not captured.</param>
    /// <exception cref="ArgumentNullException"><paramref name="children"/> is null.</exception>
    public TaskTreeNode(
        long id,
        TaskTreeNodeKind kind,
        string? name,
        string? site,
        TaskTreeNodeState state,
        TimeSpan age,
        DateTimeOffset? deadline,
        bool shield,
        bool cancelCalled,
        string? cancelReason,
        TimeSpan? cancelledFor,
        IReadOnlyList<TaskTreeNode> children,
        TaskTreeStackTrace? stack = null)
    {
        ArgumentNullException.ThrowIfNull(children);
        Id = id;
        Kind = kind;
        Name = name;
        Site = site;
        State = state;
        Age = age;
        Deadline = deadline;
        Shield = shield;
        CancelCalled = cancelCalled;
        CancelReason = cancelReason;
        CancelledFor = cancelledFor;
        Children = children;
        Stack = stack;
    }

    /// <summary>Gets a process-wide identifier, stable for the node's life.</summary>
    public long Id { get; }

    /// <summary>Gets what the node is.</summary>
    public TaskTreeNodeKind Kind { get; }

    /// <summary>Gets the node's name: given, the delegate's expression, <c>task #N</c> or <c>body</c>; null for an unnamed scope.</summary>
    public string? Name { get; }

    /// <summary>Gets where the node was started, as <c>file:line</c>, when known.</summary>
    public string? Site { get; }

    /// <summary>Gets the node's state when the snapshot was taken.</summary>
    public TaskTreeNodeState State { get; }

    /// <summary>Gets how long the node had run when the snapshot was taken (on its scope's clock).</summary>
    public TimeSpan Age { get; }

    /// <summary>Gets the node's own deadline, if it has one.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>Gets a value indicating whether the node is a shielded scope.</summary>
    public bool Shield { get; }

    /// <summary>Gets a value indicating whether the node's own cancel was called (or its deadline passed).</summary>
    public bool CancelCalled { get; }

    /// <summary>Gets why the node is cancelled (its own reason or an ancestor's), or null.</summary>
    public string? CancelReason { get; }

    /// <summary>Gets, for a cancelled node, how long it has kept running since the cancellation reached it.</summary>
    public TimeSpan? CancelledFor { get; }

    /// <summary>Gets the node's children, oldest first.</summary>
    public IReadOnlyList<TaskTreeNode> Children { get; }

    /// <summary>
    /// Gets, for a task or a scope running a body, where it is right now: its async call stack, innermost frame first, and
    /// what that frame awaits. Null for groups, and when the snapshot was taken without stacks.
    /// </summary>
    public TaskTreeStackTrace? Stack { get; }

    /// <inheritdoc/>
    public override string ToString() => TaskTreeText.DescribeNode(this);
}
