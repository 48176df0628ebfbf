using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace Corral.Analyzers;

/// <summary>
/// The types the rules reason about, resolved once per compilation by metadata name, so that the rules
/// work against the real Corral assembly and against a source stub alike.
/// </summary>
internal sealed class KnownTypes
{
    /// <summary>
    /// The <c>TaskGroup</c> methods that start a child (<c>Start</c>, <c>StartAsync</c>, <c>ProduceAsync</c>,
    /// <c>StartSender</c>): each throws <c>InvalidOperationException</c> on a closed group.
    /// </summary>
    public static readonly ImmutableHashSet<string> GroupStartMethods = ImmutableHashSet.Create("Start", "StartAsync", "ProduceAsync", "StartSender");

    private KnownTypes(Compilation compilation)
    {
        OperationCanceledException = compilation.GetTypeByMetadataName("System.OperationCanceledException");
        Exception = compilation.GetTypeByMetadataName("System.Exception");
        CancellationToken = compilation.GetTypeByMetadataName("System.Threading.CancellationToken");
        CancellationTokenSource = compilation.GetTypeByMetadataName("System.Threading.CancellationTokenSource");
        Task = compilation.GetTypeByMetadataName("System.Threading.Tasks.Task");
        TaskOfT = compilation.GetTypeByMetadataName("System.Threading.Tasks.Task`1");
        ValueTask = compilation.GetTypeByMetadataName("System.Threading.Tasks.ValueTask");
        ValueTaskOfT = compilation.GetTypeByMetadataName("System.Threading.Tasks.ValueTask`1");
        AsyncEnumerableOfT = compilation.GetTypeByMetadataName("System.Collections.Generic.IAsyncEnumerable`1");
        AsyncEnumeratorOfT = compilation.GetTypeByMetadataName("System.Collections.Generic.IAsyncEnumerator`1");
        TaskGroup = compilation.GetTypeByMetadataName("Corral.TaskGroup");
        CancelScope = compilation.GetTypeByMetadataName("Corral.CancelScope");
    }

    /// <summary><c>System.OperationCanceledException</c>.</summary>
    public INamedTypeSymbol? OperationCanceledException { get; }

    /// <summary><c>System.Exception</c>.</summary>
    public INamedTypeSymbol? Exception { get; }

    /// <summary><c>System.Threading.CancellationToken</c>.</summary>
    public INamedTypeSymbol? CancellationToken { get; }

    /// <summary><c>System.Threading.CancellationTokenSource</c>.</summary>
    public INamedTypeSymbol? CancellationTokenSource { get; }

    /// <summary><c>System.Threading.Tasks.Task</c>.</summary>
    public INamedTypeSymbol? Task { get; }

    /// <summary><c>System.Threading.Tasks.Task&lt;T&gt;</c>.</summary>
    public INamedTypeSymbol? TaskOfT { get; }

    /// <summary><c>System.Threading.Tasks.ValueTask</c>.</summary>
    public INamedTypeSymbol? ValueTask { get; }

    /// <summary><c>System.Threading.Tasks.ValueTask&lt;T&gt;</c>.</summary>
    public INamedTypeSymbol? ValueTaskOfT { get; }

    /// <summary><c>System.Collections.Generic.IAsyncEnumerable&lt;T&gt;</c>.</summary>
    public INamedTypeSymbol? AsyncEnumerableOfT { get; }

    /// <summary><c>System.Collections.Generic.IAsyncEnumerator&lt;T&gt;</c>.</summary>
    public INamedTypeSymbol? AsyncEnumeratorOfT { get; }

    /// <summary><c>Corral.TaskGroup</c>, or null when the compilation does not reference Corral.</summary>
    public INamedTypeSymbol? TaskGroup { get; }

    /// <summary><c>Corral.CancelScope</c>, or null when the compilation does not reference Corral.</summary>
    public INamedTypeSymbol? CancelScope { get; }

    /// <summary>Whether the compilation references Corral at all.</summary>
    public bool HasCorral => TaskGroup is not null || CancelScope is not null;

    public static KnownTypes Create(Compilation compilation) => new(compilation);

    /// <summary>Whether <paramref name="type"/> is <c>OperationCanceledException</c> or derives from it.</summary>
    public bool IsCancellationException(ITypeSymbol? type) => DerivesFrom(type, OperationCanceledException);

    /// <summary>Whether an exception of <paramref name="type"/> would also catch <c>OperationCanceledException</c>.</summary>
    public bool CatchesCancellation(ITypeSymbol? type) =>
        type is not null && OperationCanceledException is not null && DerivesFrom(OperationCanceledException, type);

    public bool IsCancellationToken(ITypeSymbol? type) => SymbolEqualityComparer.Default.Equals(type, CancellationToken);

    public bool IsCancellationTokenSource(ITypeSymbol? type) => DerivesFrom(type, CancellationTokenSource);

    public bool IsTaskGroup(ITypeSymbol? type) => TaskGroup is not null && SymbolEqualityComparer.Default.Equals(type?.OriginalDefinition, TaskGroup);

    public bool IsCancelScope(ITypeSymbol? type) => CancelScope is not null && SymbolEqualityComparer.Default.Equals(type?.OriginalDefinition, CancelScope);

    /// <summary>Whether <paramref name="type"/> is one of the two Corral entry types.</summary>
    public bool IsCorralEntryType(ITypeSymbol? type) => IsTaskGroup(type) || IsCancelScope(type);

    /// <summary>Whether <paramref name="type"/> is <c>Task</c>, <c>Task&lt;T&gt;</c>, <c>ValueTask</c> or <c>ValueTask&lt;T&gt;</c>.</summary>
    public bool IsTaskLike(ITypeSymbol? type)
    {
        if (type is null)
        {
            return false;
        }

        var definition = type.OriginalDefinition;
        return DerivesFrom(type, Task)
            || SymbolEqualityComparer.Default.Equals(definition, ValueTask)
            || SymbolEqualityComparer.Default.Equals(definition, ValueTaskOfT);
    }

    /// <summary>Whether <paramref name="type"/> is <c>IAsyncEnumerable&lt;T&gt;</c> or <c>IAsyncEnumerator&lt;T&gt;</c>.</summary>
    public bool IsAsyncIteratorType(ITypeSymbol? type)
    {
        var definition = type?.OriginalDefinition;
        return definition is not null
            && (SymbolEqualityComparer.Default.Equals(definition, AsyncEnumerableOfT)
                || SymbolEqualityComparer.Default.Equals(definition, AsyncEnumeratorOfT));
    }

    /// <summary>
    /// Whether <paramref name="type"/> is declared in the <c>Corral</c> namespace or one under it (<c>Corral.Hosting</c>, …):
    /// Corral's own API, whose <c>…Async</c> methods observe the ambient scope.
    /// </summary>
    public static bool IsInCorralNamespace(ITypeSymbol? type)
    {
        var ns = type?.ContainingNamespace;
        while (ns is not null && !ns.IsGlobalNamespace && !ns.ContainingNamespace.IsGlobalNamespace)
        {
            ns = ns.ContainingNamespace;
        }

        return ns is { Name: "Corral" };
    }

    public static bool DerivesFrom(ITypeSymbol? type, ITypeSymbol? baseType)
    {
        if (baseType is null)
        {
            return false;
        }

        for (var current = type; current is not null; current = current.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(current.OriginalDefinition, baseType))
            {
                return true;
            }
        }

        return false;
    }
}
