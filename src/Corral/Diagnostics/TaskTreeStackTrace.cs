using System;
using System.Collections.Generic;

namespace Corral.Diagnostics;

/// <summary>Where a task is right now: its async call stack, innermost frame first, and what that frame awaits. Immutable.</summary>
/// <remarks>
/// <list type="bullet">
/// <item>Read when the snapshot is taken, from the task's own state machines: nothing is recorded while tasks run.</item>
/// <item>The stack of a task stops where the task awaits a group or a scope of its own: that node, below it in the tree,
/// carries the rest (<see cref="Awaiting"/> names it).</item>
/// <item>Frames of Corral's own methods are left out; frames of the framework's are kept (usually without lines).</item>
/// </list>
/// </remarks>
public sealed class TaskTreeStackTrace
{
    /// <summary>Creates a stack (snapshots and the JSON reader create them; tests and tools may too).</summary>
    /// <param name="status">What could be told.</param>
    /// <param name="frames">The frames, innermost first (possibly none: a task that is a plain <c>Task.Delay</c> has no frame).</param>
    /// <param name="awaiting">What the innermost frame awaits, or null.</param>
    /// <param name="note">Why the frames are unavailable or cut short, or null.</param>
    /// <exception cref="ArgumentNullException"><paramref name="frames"/> is null.</exception>
    public TaskTreeStackTrace(TaskTreeStackStatus status, IReadOnlyList<TaskTreeFrame> frames, TaskTreeAwait? awaiting, string? note)
    {
        ArgumentNullException.ThrowIfNull(frames);
        Status = status;
        Frames = frames;
        Awaiting = awaiting;
        Note = note;
    }

    /// <summary>Gets what could be told about the task.</summary>
    public TaskTreeStackStatus Status { get; }

    /// <summary>Gets the frames, innermost first.</summary>
    public IReadOnlyList<TaskTreeFrame> Frames { get; }

    /// <summary>Gets what the innermost frame awaits (null while it runs, or when unknown).</summary>
    public TaskTreeAwait? Awaiting { get; }

    /// <summary>Gets why the frames are unavailable or cut short, or null.</summary>
    public string? Note { get; }

    /// <summary>Gets the innermost frame whose line is known (the one a person fixes), else the innermost frame, else null.</summary>
    public TaskTreeFrame? InnermostKnownFrame
    {
        get
        {
            foreach (var frame in Frames)
            {
                if (frame.Line is not null)
                {
                    return frame;
                }
            }

            return Frames.Count > 0 ? Frames[0] : null;
        }
    }
}
