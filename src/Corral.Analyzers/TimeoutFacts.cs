using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Analyzers;

/// <summary>
/// Recognises the hand-made timeout: a local <c>CancellationTokenSource</c> given a timeout (by its
/// constructor or <c>CancelAfter</c>) whose token is used in a try block whose catch of
/// <c>OperationCanceledException</c> reads as "timed out". Shared by CORRAL0007, which reports it, and
/// CORRAL0001, which leaves it to CORRAL0007.
/// </summary>
internal static class TimeoutFacts
{
    /// <summary>
    /// The timeout source whose cancellation the catch clause cannot tell from the caller's: the try block
    /// uses its token, it has a timeout, and it is linked to another token (or the try block also uses the
    /// caller's token). The catch clause must be unfiltered and catch cancellation.
    /// </summary>
    public static ILocalSymbol? AmbiguousTimeoutSource(CatchClauseSyntax catchClause, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        if (catchClause.Filter is not null
            || catchClause.Block.DescendantNodes().OfType<ThrowStatementSyntax>().Any(t => t.Expression is null)
            || catchClause.Parent is not TryStatementSyntax tryStatement
            || !types.IsCancellationException(CodeFacts.CaughtType(catchClause, model, cancellationToken)))
        {
            return null;
        }

        var function = CodeFacts.EnclosingFunction(catchClause);
        if (function is null)
        {
            return null;
        }

        foreach (var member in tryStatement.Block.DescendantNodes().OfType<MemberAccessExpressionSyntax>())
        {
            if (member.Name.Identifier.ValueText != "Token"
                || model.GetSymbolInfo(member.Expression, cancellationToken).Symbol is not ILocalSymbol source
                || !types.IsCancellationTokenSource(source.Type))
            {
                continue;
            }

            var initializer = source.DeclaringSyntaxReferences
                .Select(r => r.GetSyntax(cancellationToken))
                .OfType<VariableDeclaratorSyntax>()
                .Select(d => d.Initializer?.Value)
                .FirstOrDefault();

            var linked = initializer is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "CreateLinkedTokenSource" } };
            var timedByConstructor = initializer is BaseObjectCreationExpressionSyntax { ArgumentList.Arguments.Count: 1 };
            var timedByCancelAfter = function.DescendantNodes().OfType<InvocationExpressionSyntax>().Any(i =>
                i.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "CancelAfter" } cancelAfter
                && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(cancelAfter.Expression, cancellationToken).Symbol, source));

            if (!timedByConstructor && !timedByCancelAfter)
            {
                continue;
            }

            if (linked || CodeFacts.UsesCallerToken(tryStatement.Block, model, types, cancellationToken, out _))
            {
                return source;
            }
        }

        return null;
    }
}
