using System.Collections.Generic;
using System.Collections.Immutable;
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
    /// caller's token). The catch clause must catch cancellation, and have no filter or one that still admits the
    /// caller's cancellation by what it tests (<see cref="CallerFilterReading.AdmitsByCancellationTest"/>:
    /// <c>when (timeoutCts.IsCancellationRequested)</c> on the linked source itself).
    /// </summary>
    public static ILocalSymbol? AmbiguousTimeoutSource(CatchClauseSyntax catchClause, SemanticModel model, KnownTypes types, CancellationToken cancellationToken) =>
        AmbiguousTimeoutSource(catchClause, model, types, cancellationToken, out _);

    /// <summary>
    /// The timeout source as <see cref="AmbiguousTimeoutSource(CatchClauseSyntax, SemanticModel, KnownTypes, CancellationToken)"/>
    /// finds it, and the caller's tokens whose cancellation the catch mistakes for the timeout: every argument of
    /// the <c>CreateLinkedTokenSource</c> call that made the source, then every caller's token the try block uses
    /// itself (a <c>CancellationToken</c> parameter declared outside it, a Corral scope's <c>Token</c>,
    /// <c>CancelScope.CurrentToken</c>), in source order; the same token may come more than once. Empty when the
    /// source is not linked and the try block reaches the caller only through a Corral checkpoint, which names no
    /// token.
    /// </summary>
    public static ILocalSymbol? AmbiguousTimeoutSource(CatchClauseSyntax catchClause, SemanticModel model, KnownTypes types, CancellationToken cancellationToken, out ImmutableArray<ExpressionSyntax> callerTokens)
    {
        callerTokens = ImmutableArray<ExpressionSyntax>.Empty;
        if (catchClause.Block.DescendantNodes().OfType<ThrowStatementSyntax>().Any(t => t.Expression is null)
            || catchClause.Parent is not TryStatementSyntax tryStatement
            || !types.IsCancellationException(CatchFacts.CaughtType(catchClause, model, cancellationToken)))
        {
            return null;
        }

        // A filter that tells the two apart (on the caller's token) is the fix; one that tests the timeout's own linked
        // source, or the exception's type, still lets the caller's cancellation in and reads it as the timeout.
        if (catchClause.Filter is not null
            && !CallerFilterFacts.Read(catchClause, model, types, cancellationToken).AdmitsByCancellationTest)
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
            var timedByCancelAfter = TokenFacts.HasCancelAfter(source, function, model, cancellationToken);

            if (!timedByConstructor && !timedByCancelAfter)
            {
                continue;
            }

            if (linked || TokenFacts.UsesCallerToken(tryStatement.Block, model, types, cancellationToken, out _))
            {
                var tokens = ImmutableArray.CreateBuilder<ExpressionSyntax>();
                if (linked)
                {
                    tokens.AddRange(((InvocationExpressionSyntax)initializer!).ArgumentList.Arguments.Select(a => a.Expression));
                }

                tokens.AddRange(CallerTokensUsed(tryStatement.Block, model, types, cancellationToken));
                callerTokens = tokens.ToImmutable();
                return source;
            }
        }

        return null;
    }

    /// <summary>Whether the first name of <paramref name="member"/> (<c>s</c> in <c>s.Token</c>) is declared inside <paramref name="block"/>: a scope of the block's own making.</summary>
    private static bool DeclaredInside(MemberAccessExpressionSyntax member, BlockSyntax block, SemanticModel model, CancellationToken cancellationToken)
    {
        ExpressionSyntax first = member;
        while (first is MemberAccessExpressionSyntax access)
        {
            first = access.Expression;
        }

        return model.GetSymbolInfo(first, cancellationToken).Symbol is { Kind: SymbolKind.Parameter or SymbolKind.Local } symbol
            && symbol.DeclaringSyntaxReferences.Any(r => block.Span.Contains(r.Span));
    }

    /// <summary>
    /// The expressions in <paramref name="block"/> that give a caller's token, by the test of
    /// <see cref="TokenFacts.UsesCallerToken"/>: a <c>CancellationToken</c> parameter declared outside the block, or
    /// a Corral property of type <c>CancellationToken</c> (<c>scope.Token</c>, <c>CancelScope.CurrentToken</c>).
    /// </summary>
    private static IEnumerable<ExpressionSyntax> CallerTokensUsed(BlockSyntax block, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        foreach (var descendant in block.DescendantNodes())
        {
            switch (descendant)
            {
                case IdentifierNameSyntax identifier
                    when TokenFacts.CallerTokenParameter(identifier, block, model, types, cancellationToken) is not null:
                    yield return identifier;
                    break;
                case MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Token" or "CurrentToken" } member when types.HasCorral:
                    if (model.GetSymbolInfo(member, cancellationToken).Symbol is IPropertySymbol property
                        && types.IsCorralEntryType(property.ContainingType)
                        && types.IsCancellationToken(property.Type)
                        && !DeclaredInside(member, block, model, cancellationToken))
                    {
                        yield return member;
                    }

                    break;
            }
        }
    }
}
