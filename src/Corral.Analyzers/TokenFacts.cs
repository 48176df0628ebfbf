using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Analyzers;

/// <summary>
/// Questions about tokens that several rules ask: where the cancellation of a token, a token source or a Corral scope
/// comes from (<see cref="TokenOrigin"/>), from what one method shows (its parameters, and the initializers of its
/// locals); whether code uses a caller's token, or any token that cancellation can come through.
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
                return HasCancelAfter(local, CodeFacts.EnclosingFunction(declarator), model, cancellationToken) ? TokenOrigin.LinkedTimeout : TokenOrigin.Linked;
            case BaseObjectCreationExpressionSyntax creation
                when types.IsCancellationTokenSource(model.GetTypeInfo(creation, cancellationToken).Type):
                return TokenOrigin.Own;
            default:
                return TokenOrigin.Unknown;
        }
    }

    /// <summary>Whether <paramref name="function"/> (nested functions included) calls <c>source.CancelAfter(…)</c>.</summary>
    public static bool HasCancelAfter(ILocalSymbol source, SyntaxNode? function, SemanticModel model, CancellationToken cancellationToken) =>
        function is not null
            && function.DescendantNodes().OfType<InvocationExpressionSyntax>().Any(i =>
                i.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "CancelAfter" } cancelAfter
                && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(cancelAfter.Expression, cancellationToken).Symbol, source));

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

    /// <summary>
    /// Whether cancellation can reach <paramref name="node"/> from someone's token: it uses an expression of type
    /// <c>CancellationToken</c> (other than <c>CancellationToken.None</c>) or calls into Corral (every Corral
    /// <c>…Async</c> method is a checkpoint of the ambient scope).
    /// </summary>
    public static bool InvolvesCancellation(SyntaxNode node, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        foreach (var descendant in node.DescendantNodes())
        {
            switch (descendant)
            {
                case ArgumentSyntax argument:
                    if (argument.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "None" }
                        || argument.Expression.IsKind(SyntaxKind.DefaultLiteralExpression))
                    {
                        break;
                    }

                    if (types.IsCancellationToken(model.GetTypeInfo(argument.Expression, cancellationToken).Type)
                        && !IsOwnedSourceToken(argument.Expression, model, types, cancellationToken))
                    {
                        return true;
                    }

                    break;
                case InvocationExpressionSyntax invocation when types.HasCorral:
                    if (model.GetSymbolInfo(invocation, cancellationToken).Symbol is IMethodSymbol method
                        && types.IsCorralEntryType(method.ContainingType))
                    {
                        return true;
                    }

                    break;
                case MemberAccessExpressionSyntax { Name.Identifier.ValueText: "ThrowIfCancellationRequested" }:
                    return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether <paramref name="node"/> uses a token that belongs to a caller or to a Corral scope: a
    /// <c>CancellationToken</c> parameter, <c>scope.Token</c>, <c>CancelScope.CurrentToken</c>, the token of a local source
    /// linked to other tokens, or a Corral checkpoint. Those are the cancellations a catch must not swallow. Returns the parameter's name when
    /// the token is a plain parameter.
    /// </summary>
    public static bool UsesCallerToken(SyntaxNode node, SemanticModel model, KnownTypes types, CancellationToken cancellationToken, out string? parameterName)
    {
        parameterName = null;
        var found = false;
        foreach (var descendant in node.DescendantNodes())
        {
            switch (descendant)
            {
                case IdentifierNameSyntax identifier:
                    if (CallerTokenParameter(identifier, node, model, types, cancellationToken) is { } parameter)
                    {
                        parameterName ??= parameter.Name;
                        return true;
                    }

                    break;
                case MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Token" } linked
                    when IsLinkedSourceToken(linked, model, types, cancellationToken):
                    // A local source linked to other tokens: the caller's cancellation reaches through it.
                    found = true;
                    break;
                case MemberAccessExpressionSyntax member when types.HasCorral:
                    var name = member.Name.Identifier.ValueText;
                    if (name is "Token" or "CurrentToken" or "CheckpointAsync" or "SleepAsync" or "ThrowIfCancelled")
                    {
                        var symbol = model.GetSymbolInfo(member, cancellationToken).Symbol;
                        if (symbol is not null && types.IsCorralEntryType(symbol.ContainingType))
                        {
                            found = true;
                        }
                    }

                    break;
            }
        }

        return found;
    }

    /// <summary>
    /// The parameter <paramref name="identifier"/> names when it is a <c>CancellationToken</c> parameter declared outside
    /// <paramref name="node"/> (a caller's token, as <paramref name="node"/> sees it); otherwise null.
    /// </summary>
    public static IParameterSymbol? CallerTokenParameter(IdentifierNameSyntax identifier, SyntaxNode node, SemanticModel model, KnownTypes types, CancellationToken cancellationToken) =>
        model.GetSymbolInfo(identifier, cancellationToken).Symbol is IParameterSymbol parameter
            && types.IsCancellationToken(parameter.Type)
            && !parameter.DeclaringSyntaxReferences.Any(r => node.Span.Contains(r.Span))
            ? parameter
            : null;

    /// <summary>
    /// Whether <paramref name="expression"/> is <c>source.Token</c> of a local <c>CancellationTokenSource</c> that the
    /// method created itself with <c>new</c> (not linked): its cancellation is the method's own to absorb.
    /// </summary>
    public static bool IsOwnedSourceToken(ExpressionSyntax expression, SemanticModel model, KnownTypes types, CancellationToken cancellationToken) =>
        expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Token" } member
        && model.GetSymbolInfo(member.Expression, cancellationToken).Symbol is ILocalSymbol source
        && types.IsCancellationTokenSource(source.Type)
        && source.DeclaringSyntaxReferences
            .Select(r => r.GetSyntax(cancellationToken))
            .OfType<VariableDeclaratorSyntax>()
            .Any(d => d.Initializer?.Value is BaseObjectCreationExpressionSyntax);
}
