using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers;

/// <summary>
/// CORRAL0003: <c>yield return</c> inside a cancellation scope entered in an async iterator (PEP 789 in C#).
/// </summary>
/// <remarks>
/// A scope is a <c>using</c> or <c>await using</c> (statement or declaration) of a
/// <c>CancellationTokenSource</c> (linked ones too) or of any disposable type from the <c>Corral</c>
/// namespace. Only async iterators (<c>async</c> methods and local functions returning
/// <c>IAsyncEnumerable&lt;T&gt;</c> or <c>IAsyncEnumerator&lt;T&gt;</c>) are inspected. Not flagged: a <c>yield return</c>
/// after the scope has ended, a <c>using</c> of any other disposable (streams, readers), synchronous iterators.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0003YieldInsideScopeAnalyzer : DiagnosticAnalyzer
{
    /// <summary>The key of the diagnostic property present when the iterator has the simple shape the code fix rewrites.</summary>
    internal const string SimpleShapeProperty = "SimpleShape";

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.YieldInsideScope);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.Create(start.Compilation);
            if (types.AsyncEnumerableOfT is null)
            {
                return;
            }

            start.RegisterSyntaxNodeAction(c => Analyze(c, types), SyntaxKind.YieldReturnStatement);
        });
    }

    private static void Analyze(SyntaxNodeAnalysisContext context, KnownTypes types)
    {
        var yield = (YieldStatementSyntax)context.Node;
        var function = CodeFacts.EnclosingFunction(yield);
        if (!CodeFacts.IsAsync(function)
            || context.SemanticModel.GetDeclaredSymbol(function!, context.CancellationToken) is not IMethodSymbol method
            || !types.IsAsyncIteratorType(method.ReturnType))
        {
            return;
        }

        SyntaxNode child = yield;
        for (var current = yield.Parent; current is not null && current != function; child = current, current = current.Parent)
        {
            string? scope = current switch
            {
                UsingStatementSyntax @using when child != @using.Declaration && child != @using.Expression => ScopeOf(@using, context.SemanticModel, types, context.CancellationToken),
                BlockSyntax block => ScopeDeclaredBefore(block.Statements, child, context.SemanticModel, types, context.CancellationToken),
                SwitchSectionSyntax section => ScopeDeclaredBefore(section.Statements, child, context.SemanticModel, types, context.CancellationToken),
                _ => null,
            };

            if (scope is not null)
            {
                var properties = HasSimpleShape(function!, method, context.SemanticModel.Compilation, types)
                    ? ImmutableDictionary<string, string?>.Empty.Add(SimpleShapeProperty, "true")
                    : ImmutableDictionary<string, string?>.Empty;
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.YieldInsideScope, yield.GetLocation(), properties, scope));
                return;
            }
        }
    }

    /// <summary>
    /// Whether the iterator can be turned into <c>SafeProducer.ProduceAsync</c> mechanically: a method (not a local
    /// function) with a block body returning <c>IAsyncEnumerable&lt;T&gt;</c>, at most one <c>CancellationToken</c>
    /// parameter and that one marked <c>[EnumeratorCancellation]</c>, in a compilation that has Corral's
    /// <c>SafeProducer</c>.
    /// </summary>
    private static bool HasSimpleShape(SyntaxNode function, IMethodSymbol method, Compilation compilation, KnownTypes types)
    {
        if (function is not MethodDeclarationSyntax { Body: not null }
            || !SymbolEqualityComparer.Default.Equals(method.ReturnType.OriginalDefinition, types.AsyncEnumerableOfT)
            || compilation.GetTypeByMetadataName("Corral.SafeProducer") is not { } safeProducer
            || safeProducer.GetMembers("ProduceAsync").IsEmpty)
        {
            return false;
        }

        var tokens = method.Parameters.Where(p => types.IsCancellationToken(p.Type)).ToList();
        return tokens.Count == 0
            || (tokens.Count == 1 && tokens[0].GetAttributes().Any(a => a.AttributeClass?.Name == "EnumeratorCancellationAttribute"));
    }

    private static string? ScopeOf(UsingStatementSyntax @using, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        if (@using.Declaration is not null)
        {
            return IsScopeLike(model.GetTypeInfo(@using.Declaration.Type, cancellationToken).Type, types)
                ? @using.Declaration.Variables.First().Identifier.ValueText
                : null;
        }

        return @using.Expression is not null && IsScopeLike(model.GetTypeInfo(@using.Expression, cancellationToken).Type, types)
            ? @using.Expression.ToString()
            : null;
    }

    private static string? ScopeDeclaredBefore(SyntaxList<StatementSyntax> statements, SyntaxNode child, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        foreach (var statement in statements)
        {
            if (statement == child)
            {
                break;
            }

            if (statement is LocalDeclarationStatementSyntax { UsingKeyword.RawKind: (int)SyntaxKind.UsingKeyword } declaration
                && IsScopeLike(model.GetTypeInfo(declaration.Declaration.Type, cancellationToken).Type, types))
            {
                return declaration.Declaration.Variables.First().Identifier.ValueText;
            }
        }

        return null;
    }

    private static bool IsScopeLike(ITypeSymbol? type, KnownTypes types) =>
        types.IsCancellationTokenSource(type)
        || (type?.ContainingNamespace is { Name: "Corral", ContainingNamespace.IsGlobalNamespace: true }
            && type.AllInterfaces.Any(i => i.Name is "IDisposable" or "IAsyncDisposable"));
}
