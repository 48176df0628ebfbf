using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Analyzers;

/// <summary>
/// Questions about catch clauses that several rules ask: what a clause catches, whether its block lets the exception out
/// or hands it on, and where a diagnostic on it goes.
/// </summary>
internal static class CatchFacts
{
    /// <summary>
    /// Whether the catch block lets the exception out or hands it on, so that cancellation is not lost:
    /// <list type="bullet">
    /// <item>it throws (a rethrow, <c>throw e</c>, or a translation), or rethrows through <c>ExceptionDispatchInfo</c>;</item>
    /// <item>it hands the exception to a <c>TaskCompletionSource</c> (<c>SetException</c>, <c>TrySetCanceled</c>, …);</item>
    /// <item>it keeps the exception for later: assigns it, returns it, adds it to a collection, or passes it to a
    /// method of its own type (the bookkeeping of a scheduler or a group). Passing it to another type's method,
    /// a logger say, is not handing it on.</item>
    /// </list>
    /// </summary>
    public static bool HandsExceptionOn(CatchClauseSyntax catchClause, SemanticModel model, CancellationToken cancellationToken)
    {
        ISymbol? variable = catchClause.Declaration is { Identifier.RawKind: (int)SyntaxKind.IdentifierToken } declaration
            ? model.GetDeclaredSymbol(declaration, cancellationToken)
            : null;
        foreach (var node in CodeFacts.DescendantsInSameFunction(catchClause.Block))
        {
            switch (node)
            {
                case ThrowStatementSyntax:
                case ThrowExpressionSyntax:
                    return true;
                case InvocationExpressionSyntax invocation when invocation.Expression is MemberAccessExpressionSyntax member:
                    var name = member.Name.Identifier.ValueText;
                    if (name is "SetException" or "TrySetException" or "SetCanceled" or "TrySetCanceled")
                    {
                        return true;
                    }

                    if (name == "Throw" && member.Expression.ToString().Contains("ExceptionDispatchInfo"))
                    {
                        return true;
                    }

                    break;
                case IdentifierNameSyntax identifier when variable is not null
                    && identifier.Identifier.ValueText == variable.Name
                    && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(identifier, cancellationToken).Symbol, variable):
                    if (IsKeptForLater(identifier, catchClause, model, cancellationToken))
                    {
                        return true;
                    }

                    break;
            }
        }

        return false;
    }

    private static bool IsKeptForLater(IdentifierNameSyntax use, CatchClauseSyntax catchClause, SemanticModel model, CancellationToken cancellationToken)
    {
        switch (use.Parent)
        {
            case AssignmentExpressionSyntax assignment when assignment.Right == use:
            case ReturnStatementSyntax:
            case ArrowExpressionClauseSyntax:
                return true;
            case ArgumentSyntax { Parent: ArgumentListSyntax { Parent: InvocationExpressionSyntax invocation } }:
                if (model.GetSymbolInfo(invocation, cancellationToken).Symbol is not IMethodSymbol method)
                {
                    return false;
                }

                if (method.Name is "Add" or "Enqueue" or "Push" or "TryAdd" or "Post" or "TryWrite" or "Capture")
                {
                    return true;
                }

                var enclosingType = model.GetEnclosingSymbol(catchClause.SpanStart, cancellationToken)?.ContainingType;
                return enclosingType is not null && SymbolEqualityComparer.Default.Equals(method.ContainingType, enclosingType)
                    && method.ContainingType.Name.IndexOf("Log", System.StringComparison.Ordinal) < 0;
            default:
                return false;
        }
    }

    /// <summary>The span a catch-clause diagnostic covers: from <c>catch</c> to the end of its declaration.</summary>
    public static Microsoft.CodeAnalysis.Text.TextSpan CatchHeaderSpan(CatchClauseSyntax catchClause) =>
        Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(
            catchClause.CatchKeyword.SpanStart,
            catchClause.Declaration?.Span.End ?? catchClause.CatchKeyword.Span.End);

    /// <summary>The text a catch-clause diagnostic names: <c>catch (T)</c> or <c>catch</c>.</summary>
    public static string CatchHeaderText(CatchClauseSyntax catchClause) =>
        catchClause.Declaration is null ? "catch" : "catch " + catchClause.Declaration.WithoutTrivia().ToString();

    /// <summary>The type a catch clause catches, or null for a bare <c>catch</c>.</summary>
    public static ITypeSymbol? CaughtType(CatchClauseSyntax catchClause, SemanticModel model, CancellationToken cancellationToken) =>
        catchClause.Declaration is null ? null : model.GetTypeInfo(catchClause.Declaration.Type, cancellationToken).Type;
}
