// The --sizes mode: how big are the objects a child, a scope and a group are made of? Allocates 10,000 uninitialised
// instances of each type and divides the allocated bytes, which is exact (object header and padding included). The
// async state machines are measured as the heap box the runtime puts them in when a method first awaits something
// incomplete. Written to results/sizes.txt as a Markdown table for docs/benchmarks.md.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Benchmarks;

internal static class Sizes
{
    private const int Count = 10_000;

    private const BindingFlags AnyMember = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance;

    public static int Run(string artifactsPath)
    {
        var corral = typeof(CancelScope).Assembly;
        var core = typeof(object).Assembly;
        var rows = new List<(string What, string Type, long Bytes)>();

        void Add(string what, Type? type)
        {
            if (type is null)
            {
                rows.Add((what, "(not found)", -1));
                return;
            }

            rows.Add((what, Display(type), SizeOf(type)));
        }

        Type? Box(Type declaring, string method, Type? resultType, params Type[] methodTypeArguments)
        {
            var m = declaring.GetMethods(AnyMember).FirstOrDefault(x => x.Name == method);
            var machine = m?.GetCustomAttribute<AsyncStateMachineAttribute>()?.StateMachineType;
            if (machine is null)
            {
                return null;
            }

            if (machine.IsGenericTypeDefinition)
            {
                machine = machine.MakeGenericType(methodTypeArguments);
            }

            var box = core.GetType("System.Runtime.CompilerServices.AsyncTaskMethodBuilder`1+AsyncStateMachineBox`1");
            resultType ??= core.GetType("System.Threading.Tasks.VoidTaskResult");
            return box?.MakeGenericType(resultType!, machine);
        }

        Add("Corral: a scope (`CancelScope`)", typeof(CancelScope));
        Add("Corral: a group (`TaskGroup`)", typeof(TaskGroup));
        Add("Corral: per child, its record (`TaskRecord`)", corral.GetType("Corral.Core.TaskRecord"));
        Add("Corral: per tracked child that suspends, the runtime's continuation for the shared callback that reports its end (`AwaitTaskContinuation`: the callback and the child's context)", core.GetType("System.Threading.Tasks.AwaitTaskContinuation"));
        Add("Corral: … untracked, or in a test run, the callback bound to the child's record instead (`Action`)", typeof(Action));
        Add("Corral: per child on the thread-pool path, the queued work item (`QueueUserWorkItemCallback<TaskRecord>`)", core.GetType("System.Threading.QueueUserWorkItemCallback`1")?.MakeGenericType(corral.GetType("Corral.Core.TaskRecord")!));
        Add("Corral: per group whose body suspends, the body runner (`RunBodyAsync` box)", Box(typeof(TaskGroup), "RunBodyAsync", typeof(object), typeof(object)));
        Add("Corral: per scope whose body suspends, its run (`ScopeRun`; its task is one more `Task<bool>`)", corral.GetType("Corral.CancelScope+ScopeRun`2")?.MakeGenericType(typeof(bool), typeof(bool)));
        Add("raw: the child's own state machine (`Work.YieldAsync` box)", Box(typeof(Work), "YieldAsync", null));
        Add("raw: `CancellationTokenSource`", typeof(CancellationTokenSource));
        Add("raw: linked token source (one parent)", core.GetType("System.Threading.CancellationTokenSource+Linked1CancellationTokenSource"));
        Add("raw: a token registration node", core.GetType("System.Threading.CancellationTokenSource+CallbackNode"));
        Add("raw: a token source's registration table", core.GetType("System.Threading.CancellationTokenSource+Registrations"));
        Add("raw: `TaskCompletionSource` (its `Task` is one more)", typeof(TaskCompletionSource));
        Add("raw: `Task`", typeof(Task));
        Add("raw: `ExecutionContext` (each `AsyncLocal` change makes one)", typeof(ExecutionContext));
        Add("raw: one-entry `AsyncLocal` map", core.GetType("System.Threading.AsyncLocalValueMap+OneElementAsyncLocalValueMap"));
        Add("raw: `TimerQueueTimer` (one per `CancelAfter`)", core.GetType("System.Threading.TimerQueueTimer"));
        Add("raw: `TaskCanceledException`", typeof(TaskCanceledException));
        Add("Corral: `ScopeCancelledException`", typeof(ScopeCancelledException));
        Add("Corral: `CancelReason`", typeof(CancelReason));

        var text = new StringBuilder();
        text.AppendLine("| object | type | bytes |");
        text.AppendLine("|---|---|---:|");
        foreach (var (what, type, bytes) in rows)
        {
            text.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"| {what} | `{type}` | {(bytes < 0 ? "—" : bytes.ToString(System.Globalization.CultureInfo.InvariantCulture))} |");
        }

        Console.Write(text);
        var dir = Path.Combine(artifactsPath, "results");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "sizes.txt"), text.ToString());
        return 0;
    }

    private static long SizeOf(Type type)
    {
        if (type == typeof(Action))
        {
            return SizeOfAction();
        }

        var keep = new object[Count];
        keep[0] = RuntimeHelpers.GetUninitializedObject(type); // warm the allocator's type cache
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Count; i++)
        {
            keep[i] = RuntimeHelpers.GetUninitializedObject(type);
        }

        var after = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(keep);
        return (after - before) / Count;
    }

    /// <summary>Delegates cannot be created uninitialised: measure an instance-method <see cref="Action"/> as the library makes one.</summary>
    private static long SizeOfAction()
    {
        var target = new ActionTarget();
        var keep = new Action[Count];
        keep[0] = target.Run;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Count; i++)
        {
            keep[i] = target.Run;
        }

        var after = GC.GetAllocatedBytesForCurrentThread();
        GC.KeepAlive(keep);
        return (after - before) / Count;
    }

    private sealed class ActionTarget
    {
        public void Run()
        {
        }
    }

    private static string Display(Type type)
    {
        var name = type.Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        if (tick >= 0)
        {
            name = name[..tick];
        }

        if (type.IsGenericType)
        {
            name += "<" + string.Join(", ", type.GetGenericArguments().Select(Display)) + ">";
        }

        return type.DeclaringType is { } outer && !type.IsGenericParameter ? Display(outer).Split('<')[0] + "." + name : name;
    }
}
