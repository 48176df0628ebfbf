using System;
using System.Globalization;
using System.Threading.Tasks;

namespace Corral.Diagnostics.Stacks;

/// <summary>Describes an awaited leaf (not an async method) for a person: "awaiting what".</summary>
internal static class AwaitClassifier
{
    /// <summary>Describes <paramref name="leaf"/>, awaited by a frame whose await applies to <paramref name="call"/> (if known).</summary>
    internal static TaskTreeAwait Classify(RuntimeShapes shapes, object leaf, string? call)
    {
        var type = leaf.GetType();
        var shape = shapes.Leaf(type);
        switch (shape.Kind)
        {
            case LeafKind.Delay:
            case LeafKind.DelayWithToken:
                // The time left changes: described anew each time.
                var left = shapes.DelayTimeLeft(shape, leaf);
                var token = shape.Kind == LeafKind.Delay ? "without a token" : "with a token";
                return new TaskTreeAwait(TaskTreeAwaitKind.Delay, $"Task.Delay ({Left(left)}, {token})", left, null, call);
            case LeafKind.PlainTask when shape.Field?.GetValue(leaf) is Delegate:
                return new TaskTreeAwait(TaskTreeAwaitKind.ThreadPoolWork, $"a delegate on the thread pool ({Status((Task)leaf)})", null, null, call);
            default:
                // Depends on the type and the call only: one immutable description per pair, shared by every snapshot.
                return shape.Descriptions.GetOrAdd(call ?? string.Empty, static (c, state) => Describe(state.Shape, state.Type, c.Length == 0 ? null : c), (Shape: shape, Type: type));
        }
    }

    /// <summary>The description of a leaf that depends only on its type (<paramref name="shape"/>) and the awaited call.</summary>
    private static TaskTreeAwait Describe(LeafShape shape, Type type, string? call)
    {
        switch (shape.Kind)
        {
            case LeafKind.Semaphore:
                return new TaskTreeAwait(TaskTreeAwaitKind.Semaphore, "SemaphoreSlim.WaitAsync", null, null, call);
            case LeafKind.WhenAll:
                return new TaskTreeAwait(TaskTreeAwaitKind.WhenAll, "Task.WhenAll", null, null, call);
            case LeafKind.WhenAny:
                return new TaskTreeAwait(TaskTreeAwaitKind.WhenAny, "Task.WhenAny", null, null, call);
            case LeafKind.ChannelRead:
                return new TaskTreeAwait(TaskTreeAwaitKind.ChannelRead, call is null ? "a channel read" : $"a channel read ({call})", null, null, call);
            case LeafKind.ChannelWrite:
                return new TaskTreeAwait(TaskTreeAwaitKind.ChannelWrite, call is null ? "a channel write" : $"a channel write ({call})", null, null, call);
            case LeafKind.Channel:
                var write = call?.Contains("Write", StringComparison.Ordinal) == true;
                return new TaskTreeAwait(write ? TaskTreeAwaitKind.ChannelWrite : TaskTreeAwaitKind.ChannelRead, $"a channel {(write ? "write" : "read")}{(call is null ? string.Empty : $" ({call})")}", null, null, call);
            case LeafKind.PlainTask:
                return new TaskTreeAwait(TaskTreeAwaitKind.TaskCompletionSource, $"the task of a TaskCompletionSource ({TypeName(type)})", null, null, call);
            case LeafKind.Unwrap:
                return new TaskTreeAwait(TaskTreeAwaitKind.Other, call is null ? "an unwrapped task (Task.Run of an async delegate)" : $"an unwrapped task ({call})", null, null, call);
            default:
                var what = typeof(Task).IsAssignableFrom(type) ? "a task" : "a value-task source";
                return new TaskTreeAwait(TaskTreeAwaitKind.Other, call is null ? $"{what} of type {TypeName(type)}" : $"{call} ({what} of type {TypeName(type)})", null, null, call);
        }
    }

    /// <summary>Describes an awaiter that holds no task the walker can follow.</summary>
    internal static TaskTreeAwait UnknownAwaiter(Type awaiterType, string? call) =>
        new(TaskTreeAwaitKind.Other, call is null ? $"an awaiter of type {TypeName(awaiterType)}" : $"{call} (an awaiter of type {TypeName(awaiterType)})", null, null, call);

    /// <summary>The description of <c>await Task.Yield()</c>.</summary>
    internal static TaskTreeAwait Yield(string? call) => new(TaskTreeAwaitKind.Yield, "Task.Yield (queued to resume)", null, null, call);

    /// <summary><c>1.2s left</c>, or <c>no end</c> when unknown.</summary>
    internal static string Left(TimeSpan? left) => left is { } t ? $"{Duration(t)} left" : "time left unknown";

    /// <summary>A duration as the tree prints it: <c>1.5s</c> or <c>250ms</c>.</summary>
    internal static string Duration(TimeSpan t) =>
        t.TotalSeconds >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.0}s")
            : string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:0}ms");

    /// <summary>A closed type as C# writes it, without namespaces: <c>Task&lt;Int32&gt;</c>, <c>SemaphoreSlim.TaskNode</c>.</summary>
    internal static string TypeName(Type type)
    {
        var name = type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        var own = tick < 0 ? name : name[..tick];
        var outer = type.DeclaringType is { } d && !type.IsGenericParameter ? TypeName(d) + "." : string.Empty;
        if (!type.IsGenericType || tick < 0)
        {
            return outer + own;
        }

        var args = type.GetGenericArguments();
        var count = int.Parse(name.AsSpan(tick + 1), NumberStyles.None, CultureInfo.InvariantCulture);
        var mine = args.AsSpan(args.Length - Math.Min(count, args.Length));
        var parts = new string[mine.Length];
        for (var i = 0; i < mine.Length; i++)
        {
            parts[i] = TypeName(mine[i]);
        }

        return $"{outer}{own}<{string.Join(", ", parts)}>";
    }

    private static string Status(Task task) => task.Status == TaskStatus.Running ? "running" : "waiting to run";
}
