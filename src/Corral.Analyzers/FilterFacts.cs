using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Analyzers;

/// <summary>What a <c>when</c> filter does to an <c>OperationCanceledException</c>.</summary>
internal enum FilterVerdict
{
    /// <summary>The filter cannot tell: it calls a method on the exception, say. Not flagged.</summary>
    Unknown,

    /// <summary>False for every cancellation: cancellation passes through (<c>e is not OperationCanceledException</c>).</summary>
    Excludes,

    /// <summary>True for every cancellation (<c>e is not ArgumentException</c>).</summary>
    AdmitsAll,

    /// <summary>Does not look at the exception at all (<c>attempt &lt; 3</c>): cancellation is caught whenever it holds.</summary>
    Independent,

    /// <summary>True only for cancellation (<c>e is OperationCanceledException</c>, <c>ct.IsCancellationRequested</c>): a deliberate cancellation handler.</summary>
    OnlyCancellation,
}

/// <summary>
/// A small abstract interpreter for exception filters: it answers whether a filter lets an
/// <c>OperationCanceledException</c> into the catch block. Anything it does not understand is
/// <see cref="FilterVerdict.Unknown"/>, which the rules treat as "not a bug" (precision before recall).
/// </summary>
internal static class FilterFacts
{
    public static FilterVerdict Evaluate(ExpressionSyntax filter, ISymbol? exceptionVariable, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        switch (filter)
        {
            case ParenthesizedExpressionSyntax parenthesized:
                return Evaluate(parenthesized.Expression, exceptionVariable, model, types, cancellationToken);
            case PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.LogicalNotExpression } not:
                return Negate(Evaluate(not.Operand, exceptionVariable, model, types, cancellationToken));
            case BinaryExpressionSyntax { RawKind: (int)SyntaxKind.LogicalAndExpression } and:
                return And(
                    Evaluate(and.Left, exceptionVariable, model, types, cancellationToken),
                    Evaluate(and.Right, exceptionVariable, model, types, cancellationToken));
            case BinaryExpressionSyntax { RawKind: (int)SyntaxKind.LogicalOrExpression } or:
                return Or(
                    Evaluate(or.Left, exceptionVariable, model, types, cancellationToken),
                    Evaluate(or.Right, exceptionVariable, model, types, cancellationToken));
            case BinaryExpressionSyntax { RawKind: (int)SyntaxKind.IsExpression } isType:
                return RefersTo(isType.Left, exceptionVariable, model, cancellationToken)
                    ? TypeTest(model.GetTypeInfo(isType.Right, cancellationToken).Type, types)
                    : FilterVerdict.Unknown;
            case IsPatternExpressionSyntax isPattern:
                return RefersTo(isPattern.Expression, exceptionVariable, model, cancellationToken)
                    ? Pattern(isPattern.Pattern, model, types, cancellationToken)
                    : FilterVerdict.Unknown;
            case MemberAccessExpressionSyntax { Name.Identifier.ValueText: "IsCancellationRequested" } member:
                var owner = model.GetTypeInfo(member.Expression, cancellationToken).Type;
                return types.IsCancellationToken(owner) || types.IsCancellationTokenSource(owner) || types.IsCorralEntryType(owner)
                    ? FilterVerdict.OnlyCancellation
                    : FilterVerdict.Unknown;
            case LiteralExpressionSyntax { RawKind: (int)SyntaxKind.FalseLiteralExpression }:
                return FilterVerdict.Excludes;
        }

        // Anything else: if it looks at the exception or at cancellation we cannot judge it; if it does
        // not, it holds or fails whatever the exception is.
        foreach (var node in filter.DescendantNodesAndSelf())
        {
            if (node is IdentifierNameSyntax identifier)
            {
                if (identifier.Identifier.ValueText is "IsCancellationRequested" or "CancellationToken")
                {
                    return FilterVerdict.Unknown;
                }

                if (exceptionVariable is not null
                    && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(identifier, cancellationToken).Symbol, exceptionVariable))
                {
                    return FilterVerdict.Unknown;
                }
            }
        }

        return FilterVerdict.Independent;
    }

    private static FilterVerdict Pattern(PatternSyntax pattern, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        switch (pattern)
        {
            case ParenthesizedPatternSyntax parenthesized:
                return Pattern(parenthesized.Pattern, model, types, cancellationToken);
            case UnaryPatternSyntax not:
                return Negate(Pattern(not.Pattern, model, types, cancellationToken));
            case BinaryPatternSyntax binary:
                var left = Pattern(binary.Left, model, types, cancellationToken);
                var right = Pattern(binary.Right, model, types, cancellationToken);
                return binary.IsKind(SyntaxKind.AndPattern) ? And(left, right) : Or(left, right);
            case TypePatternSyntax typePattern:
                return TypeTest(model.GetTypeInfo(typePattern.Type, cancellationToken).Type, types);
            case DeclarationPatternSyntax declaration:
                return TypeTest(model.GetTypeInfo(declaration.Type, cancellationToken).Type, types);
            case ConstantPatternSyntax constant when model.GetSymbolInfo(constant.Expression, cancellationToken).Symbol is ITypeSymbol type:
                return TypeTest(type, types);
            case RecursivePatternSyntax { Type: not null } recursive:
                var verdict = TypeTest(model.GetTypeInfo(recursive.Type, cancellationToken).Type, types);
                return verdict is FilterVerdict.Excludes or FilterVerdict.OnlyCancellation ? verdict : FilterVerdict.Unknown;
            default:
                return FilterVerdict.Unknown;
        }
    }

    private static FilterVerdict TypeTest(ITypeSymbol? type, KnownTypes types)
    {
        if (type is null)
        {
            return FilterVerdict.Unknown;
        }

        if (types.IsCancellationException(type))
        {
            return FilterVerdict.OnlyCancellation;
        }

        return types.CatchesCancellation(type) ? FilterVerdict.AdmitsAll : FilterVerdict.Excludes;
    }

    private static bool RefersTo(ExpressionSyntax expression, ISymbol? exceptionVariable, SemanticModel model, CancellationToken cancellationToken) =>
        exceptionVariable is not null
        && Unwrap(expression) is IdentifierNameSyntax identifier
        && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(identifier, cancellationToken).Symbol, exceptionVariable);

    private static ExpressionSyntax Unwrap(ExpressionSyntax expression)
    {
        while (expression is ParenthesizedExpressionSyntax parenthesized)
        {
            expression = parenthesized.Expression;
        }

        return expression;
    }

    private static FilterVerdict Negate(FilterVerdict verdict) => verdict switch
    {
        FilterVerdict.Excludes => FilterVerdict.AdmitsAll,
        FilterVerdict.AdmitsAll => FilterVerdict.Excludes,
        FilterVerdict.OnlyCancellation => FilterVerdict.Excludes,
        FilterVerdict.Independent => FilterVerdict.Independent,
        _ => FilterVerdict.Unknown,
    };

    private static FilterVerdict And(FilterVerdict left, FilterVerdict right)
    {
        if (left == FilterVerdict.Excludes || right == FilterVerdict.Excludes)
        {
            return FilterVerdict.Excludes;
        }

        if (left == FilterVerdict.Unknown || right == FilterVerdict.Unknown)
        {
            return FilterVerdict.Unknown;
        }

        if (left == FilterVerdict.OnlyCancellation || right == FilterVerdict.OnlyCancellation)
        {
            return FilterVerdict.OnlyCancellation;
        }

        return left == FilterVerdict.AdmitsAll && right == FilterVerdict.AdmitsAll ? FilterVerdict.AdmitsAll : FilterVerdict.Independent;
    }

    private static FilterVerdict Or(FilterVerdict left, FilterVerdict right)
    {
        if (left == FilterVerdict.AdmitsAll || right == FilterVerdict.AdmitsAll)
        {
            return FilterVerdict.AdmitsAll;
        }

        if (left == FilterVerdict.Independent || right == FilterVerdict.Independent)
        {
            return FilterVerdict.Independent;
        }

        if (left == right)
        {
            return left;
        }

        return FilterVerdict.Unknown;
    }

    /// <summary>The variable a catch clause declares, if any.</summary>
    public static ISymbol? ExceptionVariable(CatchClauseSyntax catchClause, SemanticModel model, CancellationToken cancellationToken) =>
        catchClause.Declaration is { Identifier.RawKind: not (int)SyntaxKind.None } declaration
            ? model.GetDeclaredSymbol(declaration, cancellationToken)
            : null;

    /// <summary>Whether an earlier clause of the same try statement already catches cancellation.</summary>
    public static bool EarlierClauseCatchesCancellation(CatchClauseSyntax catchClause, SemanticModel model, KnownTypes types, CancellationToken cancellationToken) =>
        catchClause.Parent is TryStatementSyntax tryStatement
        && tryStatement.Catches.TakeWhile(c => c != catchClause)
            .Any(c => types.IsCancellationException(CatchFacts.CaughtType(c, model, cancellationToken)));
}
