// Walks a task's async call stack downward, from the task its delegate returned to what the innermost frame awaits.
// The shapes it reads, and how it degrades, are in RuntimeShapes.cs; this file is the walk itself.
//
// THE WALK. Start with the root object (a task). Repeat: let the resolver name it if it is one of Corral's own things
// (a group, a scope, a sleep, another task of the tree); else, if it is an async method's, read its state machine:
// state -1 is a frame running now (stop), N >= 0 a frame suspended at await N: add the frame (unless it is Corral's own),
// read its awaiter, and go on with what the awaiter waits for. Anything else is the leaf: describe it and stop.
//
// RACES, CASE BY CASE. The walk reads objects that other threads are changing.
//   1. A frame resumes between the reads of its state and its awaiter: the state is read again after the awaiter; the two
//      reads must agree, else the frame is read again (three tries), else the stack ends there as "running". The awaiter
//      read between two equal states is one this frame parked at that state (Roslyn stores the state, then the awaiter,
//      and clears the awaiter on resuming), or the default, never another frame's.
//   2. A struct state machine is copied out of its box: the copy may be torn, but only fields of this state machine are in
//      it, and case 1 guards the state.
//   3. The awaited task completed and its frame finished (state -2) while we walked down: the stack stops there, "running":
//      the task is moving on.
//   4. A cycle cannot happen in a real chain of awaits; a bound of 64 frames stops a torn read that would loop.
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace Corral.Diagnostics.Stacks;

/// <summary>Reads a task's async call stack at snapshot time (see the essays of this file and of RuntimeShapes.cs).</summary>
/// <remarks>Thread-safe; never throws (an unforeseen failure is a stack with status <see cref="TaskTreeStackStatus.Unavailable"/>).</remarks>
internal sealed class AsyncStackWalker
{
    /// <summary>The most frames a stack holds; deeper ones are cut, and the note says so.</summary>
    internal const int MaxFrames = 64;

    /// <summary>How many times a frame that moved while being read is read again.</summary>
    private const int Tries = 3;

    private readonly RuntimeShapes _shapes;
    private readonly IAwaitResolver? _resolver;

    /// <summary>Creates a walker over <paramref name="shapes"/>, naming Corral's own awaited things through <paramref name="resolver"/>.</summary>
    internal AsyncStackWalker(RuntimeShapes shapes, IAwaitResolver? resolver)
    {
        _shapes = shapes;
        _resolver = resolver;
    }

    /// <summary>Reads the stack that starts at <paramref name="root"/> (the task a child's delegate returned, or a scope's body).</summary>
    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "Diagnostics must never throw: an unforeseen failure is reported as 'frames unavailable'.")]
    internal TaskTreeStackTrace Walk(object root)
    {
        if (_shapes.Problem is { } problem)
        {
            return new TaskTreeStackTrace(TaskTreeStackStatus.Unavailable, [], null, "frames unavailable: " + problem);
        }

        // Frames are found outermost first, walking down; the stack lists them innermost first. The list is reversed once
        // the stack that holds it is built, before anyone else can see it.
        var frames = new List<TaskTreeFrame>();
        TaskTreeStackTrace stack;
        try
        {
            stack = WalkCore(root, frames);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stack = new TaskTreeStackTrace(TaskTreeStackStatus.Unavailable, frames, null, $"frames unavailable: {e.GetType().Name} while reading the stack");
        }

        frames.Reverse();
        return stack;
    }

    private TaskTreeStackTrace WalkCore(object root, List<TaskTreeFrame> frames)
    {
        var current = root;
        string? call = null;
        string? lineNote = null;
        for (var hop = 0; ; hop++)
        {
            if (hop >= MaxFrames)
            {
                return new TaskTreeStackTrace(TaskTreeStackStatus.Suspended, frames, null, $"cut after {MaxFrames} frames");
            }

            object? through = null;
            if (_resolver?.Resolve(current, call, out through) is { } named)
            {
                return new TaskTreeStackTrace(TaskTreeStackStatus.Suspended, frames, named, lineNote);
            }

            if (through is not null)
            {
                current = through; // a scope's task: the walk goes on in its body
                continue;
            }

            if (!_shapes.TryGetStateMachine(current, out var stateMachine, out var boxField))
            {
                var shape = _shapes.Leaf(current.GetType());
                if (shape.Kind == LeafKind.WaitAsync && shape.Field?.GetValue(current) is { } wrapped)
                {
                    current = wrapped; // Task.WaitAsync: what it waits for is the wrapped task
                    continue;
                }

                return new TaskTreeStackTrace(TaskTreeStackStatus.Suspended, frames, AwaitClassifier.Classify(_shapes, current, call), lineNote);
            }

            if (stateMachine is null)
            {
                // A box whose state machine is not stored yet: the method is suspending for the first time, right now.
                return new TaskTreeStackTrace(TaskTreeStackStatus.Running, frames, null, lineNote);
            }

            var layout = _shapes.Layout(stateMachine.GetType());
            if (layout.State is null)
            {
                frames.Add(layout.Frame(AwaitSite.Unknown));
                return new TaskTreeStackTrace(TaskTreeStackStatus.Unavailable, frames, null, $"frames unavailable below {layout.Method}: its state machine has no {RuntimeShapes.StateFieldName} field");
            }

            if (!TryRead(current, boxField, stateMachine, layout, out var state, out var awaiter))
            {
                // Case 1 or 3: the frame is moving.
                if (!layout.IsCorral)
                {
                    frames.Add(layout.Frame(AwaitSite.Unknown));
                }

                return new TaskTreeStackTrace(TaskTreeStackStatus.Running, frames, null, lineNote);
            }

            if (state < 0)
            {
                if (!layout.IsCorral)
                {
                    frames.Add(layout.Frame(AwaitSite.Unknown));
                }

                // -1: running now. -2 (finished) or an async iterator's yield return: reached through an await that is completing.
                return new TaskTreeStackTrace(TaskTreeStackStatus.Running, frames, null, lineNote);
            }

            var site = layout.Site(state);
            if (!layout.IsCorral)
            {
                frames.Add(layout.Frame(site));
                call = site.Call;
                if (site.Line is null && lineNote is null && layout.LineProblem is not null && !layout.IsFramework)
                {
                    lineNote = "line unknown: " + layout.LineProblem;
                }
            }

            if (awaiter is null)
            {
                return new TaskTreeStackTrace(TaskTreeStackStatus.Suspended, frames, null, lineNote ?? "the awaiter could not be read");
            }

            if (!_shapes.TryUnwrapAwaiter(awaiter, out var next, out var isYield))
            {
                return new TaskTreeStackTrace(TaskTreeStackStatus.Suspended, frames, AwaitClassifier.UnknownAwaiter(awaiter.GetType(), call), lineNote);
            }

            if (isYield)
            {
                return new TaskTreeStackTrace(TaskTreeStackStatus.Suspended, frames, AwaitClassifier.Yield(call), lineNote);
            }

            if (next is null)
            {
                // The awaited value task completed (or its task is not set yet): the frame is about to resume.
                return new TaskTreeStackTrace(TaskTreeStackStatus.Running, frames, null, lineNote);
            }

            current = next;
        }
    }

    /// <summary>
    /// Reads the state and, when suspended, the awaiter of one frame, with the state read again after the awaiter (race
    /// cases 1 and 2). False when the reads never agreed.
    /// </summary>
    private static bool TryRead(object holder, FieldInfo? boxField, object stateMachine, StateMachineLayout layout, out int state, out object? awaiter)
    {
        var isCopy = boxField is not null && layout.Type.IsValueType;
        var copy = stateMachine;
        for (var attempt = 0; attempt < Tries; attempt++)
        {
            if (attempt > 0 && isCopy)
            {
                copy = boxField!.GetValue(holder)!;
            }

            state = (int)layout.State!.GetValue(copy)!;
            awaiter = null;
            if (state >= 0)
            {
                awaiter = ReadAwaiter(layout, state, copy);
            }

            var again = (int)layout.State.GetValue(isCopy ? boxField!.GetValue(holder)! : copy)!;
            if (again == state)
            {
                return true;
            }
        }

        state = 0;
        awaiter = null;
        return false;
    }

    /// <summary>
    /// The awaiter parked for <paramref name="state"/>: the field the IL names (a cleared one reads as a default awaiter, which
    /// holds no task: the frame is resuming), else the only awaiter field that is not default.
    /// </summary>
    private static object? ReadAwaiter(StateMachineLayout layout, int state, object stateMachine)
    {
        if (layout.Site(state).Awaiter is { } field)
        {
            return field.GetValue(stateMachine);
        }

        object? only = null;
        foreach (var candidate in layout.Awaiters)
        {
            var value = candidate.GetValue(stateMachine);
            if (IsDefault(value, depth: 0))
            {
                continue;
            }

            if (only is not null)
            {
                return null; // two parked awaiters: which one is this state's is not known
            }

            only = value;
        }

        return only;
    }

    /// <summary>Whether a boxed awaiter is its type's default (every field null or zero): nothing parked.</summary>
    private static bool IsDefault(object? value, int depth)
    {
        if (value is null)
        {
            return true;
        }

        var type = value.GetType();
        if (!type.IsValueType)
        {
            return false;
        }

        if (type.IsPrimitive || type.IsEnum)
        {
            return value switch
            {
                nint n => n == 0,
                nuint u => u == 0,
                IConvertible c => c.ToDouble(System.Globalization.CultureInfo.InvariantCulture) == 0,
                _ => false,
            };
        }

        if (depth > 4)
        {
            return false;
        }

        foreach (var field in RuntimeShapes.InstanceFields(type))
        {
            if (!IsDefault(field.GetValue(value), depth + 1))
            {
                return false;
            }
        }

        return true;
    }
}
