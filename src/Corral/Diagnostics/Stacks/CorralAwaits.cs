// What a task awaits when it awaits Corral itself: the one place where the stack walker learns Corral's own shapes.
//
//   * A group it opened (TaskGroup.RunAsync returns RunBodyAsync's task): the stack stops, "awaiting group 'drain'"; the
//     group's tasks are its children in the tree, each with its own stack.
//   * A task of the tree (the task Start<T> handed out, ChildWork.HandedOut): "awaiting task 'loader'".
//   * A scope it opened (the scope core's task, CancelScope.Run.cs): not a stop. The walk goes on in the scope's body, so
//     the task's stack runs through its scopes like a call stack (the scope's run is found through CancelScope.SuspendedRun).
//   * A CapacityLimiter with no capacity left (its WaitAsync): "awaiting CapacityLimiter.AcquireAsync".
//   * CancelScope.SleepAsync: the sleeper is its builder's state machine (CancelScope.Api.cs), so its box leads to it and to
//     the time left, on the scope's own clock.
// Corral's other frames (wrappers, channel helpers) are passed through: the walker hides every frame of Corral's assemblies.
// The group's run is recognised by its state machine and read through <>4__this (Corral's own code): Corral's tests pin it
// (CaptureStacksTests), so a change in Corral that moves them fails there, not in a user's snapshot.
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral.Diagnostics.Stacks;

/// <summary>Names Corral's own awaited things for the stack walker (see the file's comment). One instance per capture; not thread-safe.</summary>
internal sealed class CorralAwaits : IAwaitResolver
{
    private static readonly Type? s_groupRun = StateMachineOf(typeof(TaskGroup), "RunBodyAsync");
    private static readonly Type? s_limiterWait = StateMachineOf(typeof(CapacityLimiter), "WaitAsync");

    private readonly RuntimeShapes _shapes;

    /// <summary>The task of every suspended scope run met so far, to the task of its body.</summary>
    private readonly Dictionary<Task, Task> _scopeRuns = new(ReferenceEqualityComparer.Instance);

    /// <summary>Gets or sets the task whose stack is being walked: its own Start&lt;T&gt; wrapper is walked through, not named.</summary>
    internal TaskRecord? Self { get; set; }

    /// <summary>Creates a resolver reading through <paramref name="shapes"/>.</summary>
    internal CorralAwaits(RuntimeShapes shapes) => _shapes = shapes;

    /// <summary>The task <c>Start&lt;T&gt;</c> handed out, to its child.</summary>
    private readonly Dictionary<Task, TaskRecord> _valueTasks = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// Registers <paramref name="scope"/> and everything under it: each suspended scope run (walked through into its body)
    /// and each <c>Start&lt;T&gt;</c> task (named after its child). Done before any walk: a task may await a node the walk of
    /// the tree meets later.
    /// </summary>
    internal void Register(CancelScope scope)
    {
        var toVisit = new Stack<CancelScope>();
        toVisit.Push(scope);
        while (toVisit.TryPop(out var next))
        {
            if (next.SuspendedRun is { } run)
            {
                _scopeRuns[run.RunTask] = run.Body;
            }

            if (next.Group is { } group)
            {
                foreach (var task in group.LiveTasks())
                {
                    if (Volatile.Read(ref task.Work) is ChildWork { HandedOut: { } handed })
                    {
                        _valueTasks[handed] = task;
                    }
                }
            }

            foreach (var child in next.LiveChildren())
            {
                toVisit.Push(child);
            }
        }
    }

    /// <inheritdoc/>
    public TaskTreeAwait? Resolve(object awaited, string? call, out object? continueWith)
    {
        continueWith = null;
        if (awaited is Task task)
        {
            if (_scopeRuns.TryGetValue(task, out var body))
            {
                continueWith = body;
                return null;
            }

            if (_valueTasks.TryGetValue(task, out var record) && record != Self)
            {
                return new TaskTreeAwait(TaskTreeAwaitKind.CorralTask, $"task '{record.Name}'", null, record.Id, call);
            }
        }

        if (_shapes.TryGetStateMachine(awaited, out var stateMachine, out _) && stateMachine is not null)
        {
            if (stateMachine is ISleep sleep)
            {
                var left = sleep.TimeLeft;
                return new TaskTreeAwait(TaskTreeAwaitKind.Sleep, $"CancelScope.SleepAsync ({(left is null ? "until cancelled" : AwaitClassifier.Left(left))})", left, null, call);
            }

            var type = stateMachine.GetType();
            var definition = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
            if (definition == s_groupRun && Read(stateMachine, "<>4__this") is TaskGroup group)
            {
                return new TaskTreeAwait(TaskTreeAwaitKind.TaskGroup, group.Name is { } name ? $"group '{name}'" : "a group", null, group.Scope.Id, call);
            }

            if (definition == s_limiterWait)
            {
                return new TaskTreeAwait(TaskTreeAwaitKind.CapacityLimiter, "CapacityLimiter.AcquireAsync (no capacity left)", null, null, call);
            }

            return null;
        }

        return null;
    }

    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Corral's own state machines, read at snapshot time; a missing field only loses the name.")]
    private static object? Read(object stateMachine, string field) =>
        stateMachine.GetType().GetField(field, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)?.GetValue(stateMachine);

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Corral's own methods, named here; tests pin them.")]
    private static Type? StateMachineOf(Type type, string method) =>
        type.GetMethod(method, BindingFlags.Instance | BindingFlags.NonPublic)?.GetCustomAttribute<AsyncStateMachineAttribute>()?.StateMachineType;
}
