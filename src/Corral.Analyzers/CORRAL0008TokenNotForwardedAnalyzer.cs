using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers;

/// <summary>
/// CORRAL0008: a call inside a Corral body that can take a <c>CancellationToken</c> (an optional parameter, or an
/// overload with one more, trailing, token parameter) and is given none, while the scope's token is in reach.
/// </summary>
/// <remarks>
/// The companion of CORRAL0005, which reports an explicit <c>CancellationToken.None</c>. Not flagged: calls
/// that already pass a token, Corral's own methods (they observe the ambient scope), <c>GetAsyncEnumerator</c>
/// (an iterator's token binds through <c>[EnumeratorCancellation]</c>), calls inside a lambda nested in the body
/// (<c>Task.Run(() =&gt; …)</c>, a LINQ selector: their own context), the scheduling token of
/// <c>Task.Run</c>, <c>TaskFactory.StartNew</c> and <c>ContinueWith</c>, synchronous waits (<c>SemaphoreSlim.Wait</c>,
/// <c>Task.Wait</c>: CORRAL0009 reports them, and awaits instead of blocking with a token), calls in <c>finally</c> and
/// <c>catch</c> blocks, and bodies that discard their token (<c>_ =&gt; …</c>).
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0008TokenNotForwardedAnalyzer : DiagnosticAnalyzer
{
    /// <summary>The key of the diagnostic property naming the token parameter when the fix must pass it by name.</summary>
    internal const string ParameterProperty = "Parameter";

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.TokenNotForwarded);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.Create(start.Compilation);
            if (!types.HasCorral || types.CancellationToken is null)
            {
                return;
            }

            start.RegisterSyntaxNodeAction(c => Analyze(c, types), SyntaxKind.InvocationExpression);
        });
    }

    private static void Analyze(SyntaxNodeAnalysisContext context, KnownTypes types)
    {
        var invocation = (InvocationExpressionSyntax)context.Node;
        var model = context.SemanticModel;
        if (!LeavesTokenOut(invocation, model, types, out var parameterName, context.CancellationToken))
        {
            return;
        }

        for (var current = invocation.Parent; current is not null && !CodeFacts.IsNestedFunction(current); current = current.Parent)
        {
            if (current is FinallyClauseSyntax or CatchClauseSyntax)
            {
                return;
            }
        }

        // Only calls made by the body itself: a nested lambda (Task.Run, Select, a thread body) is its own context.
        if (!BodyFacts.IsInBody(invocation, model, types, context.CancellationToken))
        {
            return;
        }

        var token = BodyFacts.ScopeTokenInReach(invocation, model, types, context.CancellationToken);
        if (token is null)
        {
            return;
        }

        var properties = ImmutableDictionary<string, string?>.Empty.Add(CodeFacts.TokenProperty, token);
        if (parameterName is not null)
        {
            properties = properties.Add(ParameterProperty, parameterName);
        }

        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.TokenNotForwarded,
            invocation.GetLocation(),
            properties,
            invocation.Expression.ToString(),
            token));
    }

    /// <summary>
    /// Whether <paramref name="invocation"/> calls a method that can take a <c>CancellationToken</c> (an optional token
    /// parameter, or an overload with one more, trailing, token parameter) and passes none. Corral's own methods,
    /// <c>GetAsyncEnumerator</c> and the scheduling token of <c>Task.Run</c>, <c>StartNew</c> and <c>ContinueWith</c> do
    /// not count. <paramref name="parameterName"/> names the token parameter when a fix must pass it by name.
    /// </summary>
    internal static bool LeavesTokenOut(InvocationExpressionSyntax invocation, SemanticModel model, KnownTypes types, out string? parameterName, CancellationToken cancellationToken)
    {
        parameterName = null;
        if (model.GetSymbolInfo(invocation, cancellationToken).Symbol is not IMethodSymbol method
            || KnownTypes.IsInCorralNamespace(method.ContainingType)
            || method.Name == "GetAsyncEnumerator"
            || CORRAL0009BlockingWaitInBodyAnalyzer.IsBlockingWaitWithTokenOverload(method, types)
            || (method.Name is "Run" or "StartNew" or "ContinueWith" && method.ContainingType.ContainingNamespace?.ToDisplayString() == "System.Threading.Tasks"))
        {
            return false;
        }

        if (invocation.ArgumentList.Arguments.Any(a => types.IsCancellationToken(model.GetTypeInfo(a.Expression, cancellationToken).ConvertedType)))
        {
            return false;
        }

        var optional = method.Parameters.FirstOrDefault(p => types.IsCancellationToken(p.Type));
        if (optional is not null)
        {
            // The token parameter exists and was left to its default.
            if (!optional.IsOptional)
            {
                return false;
            }

            // Positional only when it lands on the token parameter; otherwise the fix names it.
            var positional = optional.Ordinal == invocation.ArgumentList.Arguments.Count
                && invocation.ArgumentList.Arguments.All(a => a.NameColon is null);
            parameterName = positional ? null : optional.Name;
            return true;
        }

        return HasTokenOverload(method, types);
    }

    /// <summary>Whether the method has an overload taking the same parameters and then a <c>CancellationToken</c>.</summary>
    private static bool HasTokenOverload(IMethodSymbol method, KnownTypes types)
    {
        var definition = (method.ReducedFrom ?? method).OriginalDefinition;
        if (definition.Parameters.Any(p => p.IsParams))
        {
            return false;
        }

        foreach (var candidate in definition.ContainingType.GetMembers(definition.Name).OfType<IMethodSymbol>())
        {
            if (candidate.Parameters.Length != definition.Parameters.Length + 1
                || candidate.IsStatic != definition.IsStatic
                || candidate.TypeParameters.Length != definition.TypeParameters.Length
                || !types.IsCancellationToken(candidate.Parameters[candidate.Parameters.Length - 1].Type))
            {
                continue;
            }

            var same = true;
            for (var i = 0; i < definition.Parameters.Length && same; i++)
            {
                same = definition.Parameters[i].Type.ToDisplayString() == candidate.Parameters[i].Type.ToDisplayString()
                    && definition.Parameters[i].RefKind == candidate.Parameters[i].RefKind;
            }

            if (same)
            {
                return true;
            }
        }

        return false;
    }
}
