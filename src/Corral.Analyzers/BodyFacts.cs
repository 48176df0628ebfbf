using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Analyzers;

/// <summary>
/// Questions about Corral bodies (the lambdas given to <c>TaskGroup</c>, <c>CancelScope</c> and the other methods of the
/// <c>Corral</c> namespace) that several rules ask: whether code belongs to one, and which token or group it has in reach.
/// </summary>
internal static class BodyFacts
{
    /// <summary>
    /// The Corral method that receives <paramref name="function"/> as an argument, when the function is a
    /// lambda or anonymous method passed straight to a member of <c>TaskGroup</c> or <c>CancelScope</c>, or to another
    /// method of the <c>Corral</c> namespace (<c>SafeProducer.ProduceAsync</c>, <c>StructuredParallel.ForEachAsync</c>,
    /// <c>group.ProduceAsync</c>, …) that hands the lambda a scope's token, a <c>CancelScope</c> or a <c>TaskGroup</c>.
    /// </summary>
    public static IMethodSymbol? CorralMethodReceiving(SyntaxNode? function, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        if (!types.HasCorral
            || function is not AnonymousFunctionExpressionSyntax
            || function.Parent is not ArgumentSyntax { Parent: ArgumentListSyntax { Parent: InvocationExpressionSyntax invocation } })
        {
            return null;
        }

        var info = model.GetSymbolInfo(invocation, cancellationToken);
        var method = info.Symbol as IMethodSymbol ?? info.CandidateSymbols.OfType<IMethodSymbol>().FirstOrDefault();
        if (method is null)
        {
            return null;
        }

        if (types.IsCorralEntryType(method.ContainingType))
        {
            return method;
        }

        return method.ContainingType?.ContainingNamespace is { Name: "Corral", ContainingNamespace.IsGlobalNamespace: true }
            && model.GetSymbolInfo(function, cancellationToken).Symbol is IMethodSymbol lambda
            && lambda.Parameters.Any(p => types.IsCancellationToken(p.Type) || types.IsCorralEntryType(p.Type))
            ? method
            : null;
    }

    /// <summary>Whether <paramref name="node"/> is code of a Corral body itself (not of a lambda or local function nested in it).</summary>
    public static bool IsInBody(SyntaxNode node, SemanticModel model, KnownTypes types, CancellationToken cancellationToken) =>
        CorralMethodReceiving(CodeFacts.EnclosingFunction(node), model, types, cancellationToken) is not null;

    /// <summary>
    /// The expression that gives the scope's token inside the innermost enclosing Corral body, found by
    /// walking out through enclosing lambdas: a <c>CancellationToken</c> parameter (<c>ct</c>), a
    /// <c>CancelScope</c> parameter (<c>scope.Token</c>) or a <c>TaskGroup</c> parameter (<c>group.Scope.Token</c>).
    /// </summary>
    public static string? ScopeTokenInReach(SyntaxNode node, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        for (var function = CodeFacts.EnclosingFunction(node); function is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax; function = CodeFacts.EnclosingFunction(function))
        {
            if (CorralMethodReceiving(function, model, types, cancellationToken) is null)
            {
                continue;
            }

            if (model.GetSymbolInfo(function, cancellationToken).Symbol is not IMethodSymbol lambda)
            {
                continue;
            }

            foreach (var parameter in lambda.Parameters)
            {
                var providesToken = types.IsCancellationToken(parameter.Type) || types.IsCancelScope(parameter.Type) || types.IsTaskGroup(parameter.Type);
                if (providesToken && (parameter.Name == "_" || parameter.Name.Length == 0))
                {
                    // The body discarded its token on purpose: an outer token is not the one to suggest.
                    return null;
                }

                if (types.IsCancellationToken(parameter.Type))
                {
                    return parameter.Name;
                }

                if (types.IsCancelScope(parameter.Type))
                {
                    return parameter.Name + ".Token";
                }

                if (types.IsTaskGroup(parameter.Type))
                {
                    return parameter.Name + ".Scope.Token";
                }
            }
        }

        return null;
    }

    /// <summary>The name of a <c>TaskGroup</c> parameter of an enclosing lambda, if any.</summary>
    public static string? GroupInReach(SyntaxNode node, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        for (var function = CodeFacts.EnclosingFunction(node); function is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax; function = CodeFacts.EnclosingFunction(function))
        {
            var symbol = model.GetSymbolInfo(function, cancellationToken).Symbol as IMethodSymbol
                ?? model.GetDeclaredSymbol(function, cancellationToken) as IMethodSymbol;
            if (symbol is null)
            {
                continue;
            }

            foreach (var parameter in symbol.Parameters)
            {
                if (types.IsTaskGroup(parameter.Type) && parameter.Name != "_")
                {
                    return parameter.Name;
                }
            }
        }

        return null;
    }

}
