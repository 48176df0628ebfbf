using System;
using System.Collections.Generic;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Corral.Diagnostics.Stacks;

/// <summary>
/// What a snapshot needs to know about one compiler-generated state machine type: its name as written, its state field, its
/// awaiter fields, and for each state the await's site (awaiter field, file, line, awaited call). Built once per type, on
/// first use at snapshot time (IL scan plus PDB), then shared. Immutable once built; thread-safe.
/// </summary>
internal sealed class StateMachineLayout
{
    /// <summary>Corral's own shipping assemblies: their frames are never shown (the walk passes through them).</summary>
    private static readonly HashSet<string> s_corralAssemblies = new(StringComparer.Ordinal) { "Corral", "Corral.Hosting", "Corral.AspNetCore", "Corral.Testing" };

    private readonly Dictionary<int, AwaitSite> _sites;

    /// <summary>The frame of a state machine of this type that is running (or whose await was not found): no line.</summary>
    private TaskTreeFrame? _runningFrame;

    private StateMachineLayout(Type type, FieldInfo? state, FieldInfo[] awaiters, Dictionary<int, AwaitSite> sites, string? lineProblem)
    {
        Type = type;
        State = state;
        Awaiters = awaiters;
        _sites = sites;
        LineProblem = lineProblem;
        MethodNames.Describe(type, out var method, out var kind, out var typeFullName);
        Method = method;
        Kind = kind;
        TypeFullName = typeFullName;
        var assembly = type.Assembly.GetName().Name ?? string.Empty;
        IsCorral = s_corralAssemblies.Contains(assembly);
        IsFramework = type.Assembly == typeof(object).Assembly
            || assembly is "System" or "mscorlib" or "netstandard"
            || assembly.StartsWith("System.", StringComparison.Ordinal)
            || assembly.StartsWith("Microsoft.", StringComparison.Ordinal);
    }

    /// <summary>Gets the state machine type.</summary>
    internal Type Type { get; }

    /// <summary>Gets the <c>&lt;&gt;1__state</c> field, or null when the type does not have the compiler's shape.</summary>
    internal FieldInfo? State { get; }

    /// <summary>Gets every <c>&lt;&gt;u__N</c> awaiter field.</summary>
    internal FieldInfo[] Awaiters { get; }

    /// <summary>Gets the method as written (see <see cref="TaskTreeFrame.Method"/>).</summary>
    internal string Method { get; }

    /// <summary>Gets whether the method is a method, a lambda or a local function.</summary>
    internal TaskTreeFrameKind Kind { get; }

    /// <summary>Gets the declaring type with its namespace.</summary>
    internal string? TypeFullName { get; }

    /// <summary>Gets a value indicating whether the method is Corral's own (its frame is not shown).</summary>
    internal bool IsCorral { get; }

    /// <summary>Gets a value indicating whether the method is the framework's (System.*, Microsoft.*): its lines are usually unknown, and not worth a note.</summary>
    internal bool IsFramework { get; }

    /// <summary>Gets why lines are unknown for this method (no PDB, …), or null.</summary>
    internal string? LineProblem { get; }

    /// <summary>The site of state <paramref name="state"/>, or <see cref="AwaitSite.Unknown"/>.</summary>
    internal AwaitSite Site(int state) => _sites.TryGetValue(state, out var site) ? site : AwaitSite.Unknown;

    /// <summary>The frame for a state machine of this type suspended at <paramref name="site"/> (or running: <see cref="AwaitSite.Unknown"/>).</summary>
    /// <remarks>Frames are immutable: each site's is built once and shared (a snapshot of 100,000 tasks allocates no frame).</remarks>
    internal TaskTreeFrame Frame(AwaitSite site) => ReferenceEquals(site, AwaitSite.Unknown)
        ? _runningFrame ??= new(Method, Kind, TypeFullName, null, null, null)
        : site.Frame ??= new(Method, Kind, TypeFullName, site.File, site.Line, site.Column);

    /// <summary>Builds the layout of <paramref name="type"/>; <paramref name="stateFieldName"/> is the compiler's name, replaceable in tests.</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "State machine fields and MoveNext are read at snapshot time, best effort; missing metadata degrades the frame.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "As above.")]
    internal static StateMachineLayout Build(Type type, string stateFieldName)
    {
        const BindingFlags Instance = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;
        var state = type.GetField(stateFieldName, Instance);
        var awaiters = new List<FieldInfo>();
        foreach (var field in type.GetFields(Instance))
        {
            if (field.Name.StartsWith("<>u__", StringComparison.Ordinal))
            {
                awaiters.Add(field);
            }
        }

        var sites = new Dictionary<int, AwaitSite>();
        string? lineProblem = null;
        var moveNext = type.GetMethod("MoveNext", Instance, Type.EmptyTypes) ?? FindMoveNext(type);
        if (moveNext is not null)
        {
            var scanned = MoveNextScanner.Scan(moveNext, type);
            var symbols = ModuleSymbols.For(type.Module);
            SequencePointInfo[] points = [];
            int[] yields = [];
            if (!symbols.HasPdb)
            {
                lineProblem = symbols.Problem;
            }
            else if (!symbols.TryGetMethod(moveNext.MetadataToken, out points, out yields))
            {
                lineProblem = "the PDB has no lines for " + type.Name;
            }

            for (var i = 0; i < scanned.Count; i++)
            {
                var await = scanned[i];
                var awaiter = await.AwaiterField is { } name ? type.GetField(name, Instance) : null;
                var next = i + 1 < scanned.Count ? scanned[i + 1].StateStoreOffset : int.MaxValue;
                var offset = LineOffset(await.StateStoreOffset, next, yields);
                var point = offset is { } at ? PointAt(points, at) : null;
                sites[await.State] = new AwaitSite(awaiter, point?.Document, point?.Line, point?.Column, CallName(await.Call));
            }
        }

        return new StateMachineLayout(type, state, [.. awaiters], sites, lineProblem);
    }

    /// <summary>
    /// The IL offset whose line is the await's: the PDB's yield offset for this await (the first after the state store and
    /// before the next await's), or the state store itself when the PDB lists no yield offsets at all. Null when the PDB lists
    /// yield offsets but none for this await: then the line is unknown rather than guessed.
    /// </summary>
    private static int? LineOffset(int stateStore, int nextStateStore, int[] yields)
    {
        if (yields.Length == 0)
        {
            return stateStore;
        }

        foreach (var yield in yields)
        {
            if (yield > stateStore && yield < nextStateStore)
            {
                return yield;
            }
        }

        return null;
    }

    /// <summary>The last visible sequence point at or before <paramref name="offset"/>.</summary>
    private static SequencePointInfo? PointAt(SequencePointInfo[] points, int offset)
    {
        SequencePointInfo? found = null;
        foreach (var point in points)
        {
            if (point.Offset > offset)
            {
                break;
            }

            if (point.Document is not null)
            {
                found = point;
            }
        }

        return found;
    }

    /// <summary>A call as written: <c>Task.Delay</c>, <c>ChannelReader&lt;T&gt;.ReadAsync</c>; null for delegate invocations (the next frame names them).</summary>
    private static string? CallName(MethodBase? call)
    {
        if (call is null || call.DeclaringType is not { } type || call.Name == "Invoke" && typeof(Delegate).IsAssignableFrom(type))
        {
            return null;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{MethodNames.TypeName(type, withNamespace: false)}.{call.Name}");
    }

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Best effort at snapshot time.")]
    private static MethodInfo? FindMoveNext(Type type)
    {
        if (!typeof(IAsyncStateMachine).IsAssignableFrom(type) || type.IsInterface)
        {
            return null;
        }

        var map = type.GetInterfaceMap(typeof(IAsyncStateMachine));
        for (var i = 0; i < map.InterfaceMethods.Length; i++)
        {
            if (map.InterfaceMethods[i].Name == nameof(IAsyncStateMachine.MoveNext))
            {
                return map.TargetMethods[i];
            }
        }

        return null;
    }
}
