// The ambient context of Corral: one AsyncLocal for everything, so entering a scope or starting a child costs one
// ExecutionContext change, not two.
//
// The value is either a CancelScope (code running directly in a scope) or a TaskRecord (code running as a child of a
// TaskGroup: the record names the task and points at the scope it runs in). Reading the current scope is a type test.
using System.Runtime.CompilerServices;
using System.Threading;

namespace Corral.Core;

/// <summary>The ambient Corral context that flows with the ExecutionContext.</summary>
internal static class Ambient
{
    /// <summary>A <see cref="CancelScope"/>, a <see cref="TaskRecord"/>, or null outside Corral.</summary>
    private static readonly AsyncLocal<object?> s_value = new();

    /// <summary>Gets the scope the calling code runs in, or null.</summary>
    internal static CancelScope? Scope
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => s_value.Value switch
        {
            CancelScope scope => scope,
            TaskRecord task => task.Scope,
            _ => null,
        };
    }

    /// <summary>Gets the group child the calling code runs as, when it runs directly in it (not in a scope nested inside it).</summary>
    internal static TaskRecord? Task => s_value.Value as TaskRecord;

    /// <summary>Makes <paramref name="scope"/> ambient until the calling async method returns.</summary>
    internal static void Enter(CancelScope scope) => s_value.Value = scope;

    /// <summary>
    /// Makes <paramref name="task"/> (and its scope) ambient until the calling async method returns. A task that is not
    /// tracked (task tracking was off when it started, <see cref="LifecycleObserver.TracksTasks"/>) makes only its scope
    /// ambient: children of a group then share one ambient value with the body, and setting an
    /// <see cref="AsyncLocal{T}"/> to the value it already has costs nothing, where a new value costs an ExecutionContext.
    /// </summary>
    /// <remarks>INVARIANT: a tracked record is its task's ambient value (its continuation finds it there:
    /// <c>TaskGroup.ObserveChild</c>).</remarks>
    internal static void Enter(TaskRecord task) => s_value.Value = task.Tracked ? task : task.Scope;
}
