using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Analyzers;

/// <summary>
/// Classifies tokens, token sources and Corral scopes by where their cancellation comes from (<see cref="TokenOrigin"/>),
/// from what one method shows: its parameters, and the initializers of its locals.
/// </summary>
/// <remarks>
/// Only what is certain is classified. A local that is assigned again, a field, a property of a type that is not
/// Corral's, the result of a call: all <see cref="TokenOrigin.Unknown"/>, which the rules treat as "trust the code".
/// </remarks>
internal static class TokenFacts
{
    /// <summary>How far a chain of locals (<c>var t = cts.Token; var u = t;</c>) is followed.</summary>
    private const int MaxDepth = 4;

    /// <summary>
    /// The origin of <paramref name="expression"/>, which is a <c>CancellationToken</c>, a <c>CancellationTokenSource</c>,
    /// a <c>CancelScope</c> or a <c>TaskGroup</c>.
    /// </summary>
    public static TokenOrigin Classify(ExpressionSyntax expression, SemanticModel model, KnownTypes types, CancellationToken cancellationToken) =>
        Classify(expression, model, types, 0, cancellationToken);

    private static TokenOrigin Classify(ExpressionSyntax expression, SemanticModel model, KnownTypes types, int depth, CancellationToken cancellationToken)
    {
        while (expression is ParenthesizedExpressionSyntax parenthesized)
        {
            expression = parenthesized.Expression;
        }

        if (depth > MaxDepth)
        {
            return TokenOrigin.Unknown;
        }

        var symbol = model.GetSymbolInfo(expression, cancellationToken).Symbol;
        switch (symbol)
        {
            case IPropertySymbol property when types.IsCorralEntryType(property.ContainingType):
                // scope.Token, group.Scope, CancelScope.Current, CancelScope.CurrentToken: the scope's own cancellation.
                return property.Name is "Token" or "CurrentToken" or "Current" or "Scope"
                    && (property.IsStatic || expression is not MemberAccessExpressionSyntax member
                        || Classify(member.Expression, model, types, depth + 1, cancellationToken) == TokenOrigin.Caller)
                    ? TokenOrigin.Caller
                    : TokenOrigin.Unknown;
            case IPropertySymbol { Name: "Token" } property when types.IsCancellationTokenSource(property.ContainingType):
                return expression is MemberAccessExpressionSyntax source
                    ? Classify(source.Expression, model, types, depth + 1, cancellationToken)
                    : TokenOrigin.Unknown;
            case IParameterSymbol parameter:
                return types.IsCancellationToken(parameter.Type) || types.IsCorralEntryType(parameter.Type)
                    ? TokenOrigin.Caller
                    : TokenOrigin.Unknown;
            case ILocalSymbol local:
                return ClassifyLocal(local, model, types, depth, cancellationToken);
            default:
                return TokenOrigin.Unknown;
        }
    }

    private static TokenOrigin ClassifyLocal(ILocalSymbol local, SemanticModel model, KnownTypes types, int depth, CancellationToken cancellationToken)
    {
        var declarator = local.DeclaringSyntaxReferences
            .Select(r => r.GetSyntax(cancellationToken))
            .OfType<VariableDeclaratorSyntax>()
            .FirstOrDefault();
        var initializer = declarator?.Initializer?.Value;
        if (initializer is null
            || declarator!.SyntaxTree != model.SyntaxTree
            || CodeFacts.IsReassigned(local, model, cancellationToken))
        {
            return TokenOrigin.Unknown;
        }

        if (!types.IsCancellationTokenSource(local.Type))
        {
            // A token, scope or group kept in a local: where its value came from.
            return types.IsCancellationToken(local.Type) || types.IsCorralEntryType(local.Type)
                ? Classify(initializer, model, types, depth + 1, cancellationToken)
                : TokenOrigin.Unknown;
        }

        switch (initializer)
        {
            case InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "CreateLinkedTokenSource" } }:
                return HasCancelAfter(local, declarator, model, cancellationToken) ? TokenOrigin.LinkedTimeout : TokenOrigin.Linked;
            case BaseObjectCreationExpressionSyntax creation
                when types.IsCancellationTokenSource(model.GetTypeInfo(creation, cancellationToken).Type):
                return TokenOrigin.Own;
            default:
                return TokenOrigin.Unknown;
        }
    }

    /// <summary>Whether the function that declares <paramref name="source"/> calls <c>source.CancelAfter(…)</c>.</summary>
    public static bool HasCancelAfter(ILocalSymbol source, SyntaxNode declaration, SemanticModel model, CancellationToken cancellationToken)
    {
        var function = CodeFacts.EnclosingFunction(declaration);
        return function is not null
            && function.DescendantNodes().OfType<InvocationExpressionSyntax>().Any(i =>
                i.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "CancelAfter" } cancelAfter
                && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(cancelAfter.Expression, cancellationToken).Symbol, source));
    }

    /// <summary>
    /// Whether <paramref name="expression"/> is <c>source.Token</c> of a local source linked to other tokens
    /// (<see cref="TokenOrigin.Linked"/> or <see cref="TokenOrigin.LinkedTimeout"/>): the caller's cancellation reaches
    /// code that uses it.
    /// </summary>
    public static bool IsLinkedSourceToken(ExpressionSyntax expression, SemanticModel model, KnownTypes types, CancellationToken cancellationToken) =>
        expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Token" } member
        && types.IsCancellationTokenSource(model.GetTypeInfo(member.Expression, cancellationToken).Type)
        && Classify(member.Expression, model, types, cancellationToken) is TokenOrigin.Linked or TokenOrigin.LinkedTimeout;

    /// <summary>Whether the expression is a <c>CancellationToken</c>, a source, or a Corral scope or group: something whose origin matters.</summary>
    public static bool IsCancellationCarrier(ITypeSymbol? type, KnownTypes types) =>
        types.IsCancellationToken(type) || types.IsCancellationTokenSource(type) || types.IsCorralEntryType(type);

    /// <summary>Whether the token expression is <c>CancellationToken.None</c> or <c>default</c>.</summary>
    public static bool IsNone(ExpressionSyntax expression) =>
        expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "None" }
        || expression.IsKind(SyntaxKind.DefaultLiteralExpression)
        || expression is DefaultExpressionSyntax;
}
