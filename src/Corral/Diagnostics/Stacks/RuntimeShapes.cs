// ---------------------------------------------------------------------------------------------
// RUNTIME SHAPES: the one place where Corral reads the private state of the runtime and of compiler-generated code,
// to tell where a suspended task is. Nothing else in Corral touches a private field of a type it does not own.
//
// THE PROBLEM. .NET keeps no async call stack. A suspended async method exists only as heap objects: the task it
// returned, which (once the method first suspends) is the runtime's "state machine box" holding the compiler's state
// machine; the state machine holds its state number and the awaiter of the await it is suspended at; the awaiter holds
// the task (or value-task source) it waits for, which may be the box of the next method down. Debuggers walk this
// (SOS's dumpasync, Visual Studio's parallel stacks) from a memory dump. Corral walks the same chain live, downward
// from the task a child's delegate returned, at the moment a snapshot asks, and nowhere else.
//
// THE SHAPES RELIED ON (checked by RuntimeShapesTests, which fail loudly, naming the shape, when a runtime changes one):
//   1. The box. An async Task/Task<T>/ValueTask method that suspended returns (or wraps in its ValueTask) an
//      AsyncTaskMethodBuilder<T>.AsyncStateMachineBox<TStateMachine> (a Task<T>; DebugFinalizable… derives from it);
//      a [AsyncMethodBuilder(PoolingAsyncValueTaskMethodBuilder)] method uses PoolingAsyncValueTaskMethodBuilder<T>.
//      StateMachineBox<TStateMachine> (an IValueTaskSource). Both are in System.Private.CoreLib and keep the state
//      machine in a field named StateMachine, whose type implements IAsyncStateMachine. An async iterator's enumerator
//      is its own state machine and its own value-task source: the walker meets the object itself.
//   2. The state machine (compiler, not runtime: Roslyn's GeneratedNames, unchanged since C# 5). <>1__state holds
//      -1 while running, -2 when finished, N >= 0 while suspended at the await numbered N (an async iterator uses -3 and
//      below for its yield returns); <>u__K fields park awaiters (Release builds share one field per awaiter type).
//      Which field and which line belong to state N is read from MoveNext's IL and the PDB (MoveNextScanner,
//      ModuleSymbols). In Debug builds the state machine is a class; in Release a struct inside the box.
//   3. The awaiters. TaskAwaiter, TaskAwaiter<T> and ConfiguredTaskAwaitable(<T>).ConfiguredTaskAwaiter keep their task
//      in m_task; ValueTaskAwaiter(<T>) and ConfiguredValueTaskAwaitable(<T>).ConfiguredValueTaskAwaiter keep their
//      ValueTask(<T>) in _value, which keeps a Task or an IValueTaskSource in _obj (null once completed synchronously).
//      YieldAwaitable.YieldAwaiter holds nothing. Any other awaiter is searched (one level) for a field of type Task.
//   4. The leaves, for "awaiting what" (optional: a missing one only makes the description vaguer):
//      Task+DelayPromise (Task.Delay without a token) and Task+DelayPromiseWithCancellation keep their timer in _timer; a
//      TimerQueueTimer's _startTicks + _dueTime (ms, Environment.TickCount64 clock) give the time left;
//      SemaphoreSlim+TaskNode is SemaphoreSlim.WaitAsync; Task+CancellationPromise<T> (Task.WaitAsync) wraps the awaited
//      task in _task and is walked through; Task+WhenAllPromise*, WhenAnyPromise and TwoTaskWhenAnyPromise are
//      WhenAll/WhenAny; the System.Threading.Channels async operations are channel reads and writes; a Task whose
//      m_action is set is a delegate run on the pool; an exact Task or Task<T> with none is a TaskCompletionSource's.
//
// HOW IT DEGRADES, NEVER THROWING.
//   * An essential shape (1 or 3) missing on this runtime: every stack is "frames unavailable", with the missing shape
//     and the runtime version in the note (RuntimeShapes.Problem). Nothing is guessed.
//   * A state machine without <>1__state (another compiler): its frame is shown, the stack stops there, unavailable.
//   * No PDB, a stale PDB, or a Windows PDB: frames keep their names and say "line unknown".
//   * An await the IL scan did not recognise: "line unknown" for that frame; its awaiter is then the one non-default
//     <>u__ field, if exactly one is.
//   * A task that moves while it is read: the state is read before and after the awaiter; on a mismatch the read is
//     retried, then given up ("running"). So a frame's line is always one of its own awaits, and the next frame always
//     comes from that frame's own awaiter: never a frame of another task.
//   * Anything unforeseen (an exception from reflection): "frames unavailable" with the exception's type in the note.
//   * NativeAOT and trimming: reflection over private fields may find nothing; the same degradation applies.
//   * .NET 10's opt-in runtime-async methods have no state machine object: they show as "a task of type …".
//
// COST. Nothing at all until a snapshot asks for stacks: no capture at spawn or at await. Per snapshot, per frame, a
// few reflection reads (two copies of a struct state machine, to check the state did not move). Per type, one IL scan
// and one PDB read, cached for the type's life.
// ---------------------------------------------------------------------------------------------
using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using System.Threading.Tasks.Sources;

namespace Corral.Diagnostics.Stacks;

/// <summary>
/// Reads the runtime's and the compiler's private shapes of suspended async methods (see the essay at the top of the file).
/// </summary>
/// <remarks>Thread-safe: caches are <see cref="ConditionalWeakTable{TKey, TValue}"/>s of immutable entries.</remarks>
internal sealed class RuntimeShapes
{
    /// <summary>The compiler's name of the state field.</summary>
    internal const string StateFieldName = "<>1__state";

    private const BindingFlags AnyInstance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    /// <summary>Shape names this instance pretends not to find (tests simulate a changed runtime with them).</summary>
    private readonly HashSet<string> _hidden;

    private readonly ConditionalWeakTable<Type, FieldBox> _boxes = new();
    private readonly ConditionalWeakTable<Type, StateMachineLayout> _layouts = new();
    private readonly ConditionalWeakTable<Type, AwaiterShape> _awaiters = new();
    private readonly ConditionalWeakTable<Type, FieldBox> _valueTaskObj = new();
    private readonly ConditionalWeakTable<Type, LeafShape> _leaves = new();

    /// <summary>Creates the shapes for this runtime, pretending that the shapes named in <paramref name="hidden"/> are missing.</summary>
    internal RuntimeShapes(IEnumerable<string>? hidden = null)
    {
        _hidden = new HashSet<string>(hidden ?? [], StringComparer.Ordinal);
        Problem = Probe();
    }

    /// <summary>Gets the shapes of the running runtime.</summary>
    internal static RuntimeShapes Default { get; } = new();

    /// <summary>Gets why stacks cannot be read on this runtime (an essential shape is missing), or null when they can.</summary>
    internal string? Problem { get; }

    /// <summary>
    /// Finds the state machine behind <paramref name="awaited"/>: the one in a state machine box, or the object itself when
    /// it is one (an async iterator). <paramref name="field"/> says where to re-read it (a struct
    /// state machine is copied out of its box on every read).
    /// </summary>
    /// <returns>False when <paramref name="awaited"/> is not an async method's (it is a leaf).</returns>
    internal bool TryGetStateMachine(object awaited, out object? stateMachine, out FieldInfo? field)
    {
        if (awaited is IAsyncStateMachine itself)
        {
            stateMachine = itself;
            field = null;
            return true;
        }

        field = _boxes.GetValue(awaited.GetType(), FindBoxField).Field;
        stateMachine = field?.GetValue(awaited);
        return field is not null;
    }

    /// <summary>The layout of a state machine type (built on first use).</summary>
    internal StateMachineLayout Layout(Type stateMachineType) =>
        _layouts.GetValue(stateMachineType, t => StateMachineLayout.Build(t, _hidden.Contains("StateMachine.<>1__state") ? "(hidden)" : StateFieldName));

    /// <summary>
    /// Reads what an awaiter waits for: a task or value-task source to walk into (<paramref name="next"/>), or a yield.
    /// </summary>
    /// <returns>False when the awaiter's type is not known and holds no task: <paramref name="next"/> is then null.</returns>
    internal bool TryUnwrapAwaiter(object awaiter, out object? next, out bool isYield)
    {
        var shape = _awaiters.GetValue(awaiter.GetType(), BuildAwaiterShape);
        isYield = shape.IsYield;
        next = null;
        if (shape.Task is { } taskField)
        {
            next = taskField.GetValue(awaiter);
            return true;
        }

        if (shape.ValueTask is { } valueField)
        {
            var valueTask = valueField.GetValue(awaiter);
            next = valueTask is null ? null : _valueTaskObj.GetValue(valueTask.GetType(), t => new FieldBox(Field(t, "_obj", "ValueTask._obj"))).Field?.GetValue(valueTask);
            return true;
        }

        return isYield;
    }

    /// <summary>What the runtime lets Corral tell about a leaf (an awaited object that is not an async method).</summary>
    internal LeafShape Leaf(Type type) => _leaves.GetValue(type, BuildLeafShape);

    /// <summary>Time left of a <c>Task.Delay</c> on the system clock, from its timer; null when not known or infinite.</summary>
    internal TimeSpan? DelayTimeLeft(LeafShape shape, object delay)
    {
        if (shape.Timer?.GetValue(delay) is not { } timer)
        {
            return null;
        }

        // TimeProvider.System's timers wrap the runtime's TimerQueueTimer a few levels down (a Timer, its TimerHolder).
        var queueTimer = FindQueueTimer(timer, depth: 0);
        if (queueTimer is null)
        {
            return null;
        }

        var startField = Field(queueTimer.GetType(), "_startTicks", "TimerQueueTimer._startTicks");
        var dueField = Field(queueTimer.GetType(), "_dueTime", "TimerQueueTimer._dueTime");
        if (startField?.GetValue(queueTimer) is not long start || dueField?.GetValue(queueTimer) is not uint due || due == uint.MaxValue)
        {
            return null;
        }

        var left = start + due - Environment.TickCount64;
        return TimeSpan.FromMilliseconds(Math.Max(0, left));
    }

    /// <summary>The runtime's TimerQueueTimer inside a timer object, searched through its own fields (three levels at most).</summary>
    private static object? FindQueueTimer(object timer, int depth)
    {
        if (string.Equals(timer.GetType().FullName, "System.Threading.TimerQueueTimer", StringComparison.Ordinal))
        {
            return timer;
        }

        if (depth >= 3 || timer.GetType().Assembly != typeof(object).Assembly)
        {
            return null;
        }

        foreach (var field in InstanceFields(timer.GetType()))
        {
            if (!field.FieldType.IsValueType && field.GetValue(timer) is { } inner && FindQueueTimer(inner, depth + 1) is { } found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>Every instance field of <paramref name="type"/> and its base types.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Best effort at snapshot time; see the essay.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Best effort at snapshot time; see the essay.")]
    internal static IEnumerable<FieldInfo> InstanceFields(Type type)
    {
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var field in t.GetFields(AnyInstance))
            {
                yield return field;
            }
        }
    }

    /// <summary>A field by name anywhere in the hierarchy, unless the shape is hidden (tests).</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Best effort at snapshot time; see the essay.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Best effort at snapshot time; see the essay.")]
    internal FieldInfo? Field(Type type, string name, string shape)
    {
        if (_hidden.Contains(shape))
        {
            return null;
        }

        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            if (t.GetField(name, AnyInstance) is { } field)
            {
                return field;
            }
        }

        return null;
    }

    /// <summary>Checks the essential shapes (1 and 3 of the essay); returns what is missing, or null.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Best effort; a trimmed runtime reports the shapes missing.")]
    private string? Probe()
    {
        var missing = new List<string>();
        var box = typeof(AsyncTaskMethodBuilder<>).GetNestedType("AsyncStateMachineBox`1", BindingFlags.NonPublic | BindingFlags.Public);
        if (box is null || Field(box, "StateMachine", "AsyncStateMachineBox.StateMachine") is null)
        {
            missing.Add("AsyncStateMachineBox.StateMachine");
        }

        Check(typeof(TaskAwaiter), "m_task", "TaskAwaiter.m_task");
        Check(typeof(TaskAwaiter<>), "m_task", "TaskAwaiter.m_task");
        Check(typeof(ConfiguredTaskAwaitable.ConfiguredTaskAwaiter), "m_task", "ConfiguredTaskAwaiter.m_task");
        Check(typeof(ConfiguredTaskAwaitable<>.ConfiguredTaskAwaiter), "m_task", "ConfiguredTaskAwaiter.m_task");
        Check(typeof(ValueTaskAwaiter), "_value", "ValueTaskAwaiter._value");
        Check(typeof(ValueTaskAwaiter<>), "_value", "ValueTaskAwaiter._value");
        Check(typeof(ConfiguredValueTaskAwaitable.ConfiguredValueTaskAwaiter), "_value", "ConfiguredValueTaskAwaiter._value");
        Check(typeof(ConfiguredValueTaskAwaitable<>.ConfiguredValueTaskAwaiter), "_value", "ConfiguredValueTaskAwaiter._value");
        Check(typeof(ValueTask), "_obj", "ValueTask._obj");
        Check(typeof(ValueTask<>), "_obj", "ValueTask._obj");
        return missing.Count == 0
            ? null
            : $"this runtime's async internals were not recognised (.NET {Environment.Version}; missing {string.Join(", ", missing)})";

        void Check(Type type, string name, string shape)
        {
            if (Field(type, name, shape) is null && !missing.Contains(shape))
            {
                missing.Add(shape);
            }
        }
    }

    /// <summary>The field of a state machine box that holds the state machine (shape 1), or none for any other type.</summary>
    private FieldBox FindBoxField(Type type)
    {
        if (type.Assembly != typeof(object).Assembly || _hidden.Contains("AsyncStateMachineBox.StateMachine"))
        {
            return FieldBox.None;
        }

        foreach (var field in InstanceFields(type))
        {
            if (field.Name == "StateMachine" && typeof(IAsyncStateMachine).IsAssignableFrom(field.FieldType))
            {
                return new FieldBox(field);
            }
        }

        return FieldBox.None;
    }

    /// <summary>Where an awaiter type keeps what it waits for (shape 3).</summary>
    private AwaiterShape BuildAwaiterShape(Type type)
    {
        var definition = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        if (definition == typeof(TaskAwaiter) || definition == typeof(TaskAwaiter<>))
        {
            return new AwaiterShape(Field(type, "m_task", "TaskAwaiter.m_task"), null, false);
        }

        if (definition == typeof(ConfiguredTaskAwaitable.ConfiguredTaskAwaiter) || definition == typeof(ConfiguredTaskAwaitable<>.ConfiguredTaskAwaiter))
        {
            return new AwaiterShape(Field(type, "m_task", "ConfiguredTaskAwaiter.m_task"), null, false);
        }

        if (definition == typeof(ValueTaskAwaiter) || definition == typeof(ValueTaskAwaiter<>))
        {
            return new AwaiterShape(null, Field(type, "_value", "ValueTaskAwaiter._value"), false);
        }

        if (definition == typeof(ConfiguredValueTaskAwaitable.ConfiguredValueTaskAwaiter) || definition == typeof(ConfiguredValueTaskAwaitable<>.ConfiguredValueTaskAwaiter))
        {
            return new AwaiterShape(null, Field(type, "_value", "ConfiguredValueTaskAwaiter._value"), false);
        }

        if (definition == typeof(YieldAwaitable.YieldAwaiter))
        {
            return new AwaiterShape(null, null, true);
        }

        // Someone's own awaiter: one level deep, a field holding a task.
        foreach (var field in InstanceFields(type))
        {
            if (typeof(Task).IsAssignableFrom(field.FieldType))
            {
                return new AwaiterShape(field, null, false);
            }
        }

        return new AwaiterShape(null, null, false);
    }

    /// <summary>What a leaf type is (shape 4).</summary>
    private LeafShape BuildLeafShape(Type type)
    {
        var name = type.FullName ?? type.Name;
        var generic = type.IsGenericType ? type.GetGenericTypeDefinition().FullName ?? name : name;
        if (type.Assembly == typeof(object).Assembly)
        {
            switch (generic)
            {
                case "System.Threading.Tasks.Task+DelayPromise":
                    return new LeafShape(LeafKind.Delay, Field(type, "_timer", "DelayPromise._timer"));
                case "System.Threading.Tasks.Task+DelayPromiseWithCancellation":
                    return new LeafShape(LeafKind.DelayWithToken, Field(type, "_timer", "DelayPromise._timer"));
                case "System.Threading.SemaphoreSlim+TaskNode":
                    return new LeafShape(LeafKind.Semaphore, null);
                case "System.Threading.Tasks.Task+CancellationPromise`1":
                    return new LeafShape(LeafKind.WaitAsync, Field(type, "_task", "CancellationPromise._task"));
                case "System.Threading.Tasks.Task+WhenAnyPromise`1":
                case "System.Threading.Tasks.Task+TwoTaskWhenAnyPromise`1":
                    return new LeafShape(LeafKind.WhenAny, null);
                case "System.Threading.Tasks.UnwrapPromise`1":
                    return new LeafShape(LeafKind.Unwrap, null);
            }

            if (generic.StartsWith("System.Threading.Tasks.Task+WhenAllPromise", StringComparison.Ordinal))
            {
                return new LeafShape(LeafKind.WhenAll, null);
            }

            if (type == typeof(Task) || type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Task<>))
            {
                return new LeafShape(LeafKind.PlainTask, Field(typeof(Task), "m_action", "Task.m_action"));
            }
        }

        if (type.Namespace == "System.Threading.Channels" && typeof(IValueTaskSource).IsAssignableFrom(type) || type.Namespace == "System.Threading.Channels" && ImplementsGenericSource(type))
        {
            return new LeafShape(
                name.Contains("Write", StringComparison.Ordinal) ? LeafKind.ChannelWrite : name.Contains("Read", StringComparison.Ordinal) ? LeafKind.ChannelRead : LeafKind.Channel,
                null);
        }

        return new LeafShape(LeafKind.Other, null);
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Best effort at snapshot time.")]
    private static bool ImplementsGenericSource(Type type)
    {
        foreach (var i in type.GetInterfaces())
        {
            if (i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IValueTaskSource<>))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A field, or none, as a cache entry.</summary>
    private sealed record FieldBox(FieldInfo? Field)
    {
        internal static readonly FieldBox None = new((FieldInfo?)null);
    }

    /// <summary>Where an awaiter keeps what it waits for: a task field, a value-task field, or nothing (a yield).</summary>
    private sealed record AwaiterShape(FieldInfo? Task, FieldInfo? ValueTask, bool IsYield);
}
