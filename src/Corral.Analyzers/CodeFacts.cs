using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Analyzers;

/// <summary>
/// Syntax and semantic questions about functions that several rules ask: which function a node belongs to, whether it is
/// async or awaits, whether it sits in a <c>finally</c>, and whether an expression can be named again elsewhere. The
/// questions about catch clauses are in <see cref="CatchFacts"/>, about Corral bodies in <see cref="BodyFacts"/>, about
/// tokens in <see cref="TokenFacts"/>.
/// </summary>
internal static class CodeFacts
{
    /// <summary>The key of the diagnostic property that names the token a code fix should use.</summary>
    public const string TokenProperty = "Token";

    /// <summary>The key of the diagnostic property that names the task group a code fix should use.</summary>
    public const string GroupProperty = "Group";

    /// <summary>Whether <paramref name="node"/> starts a function of its own (lambda, anonymous method, local function).</summary>
    public static bool IsNestedFunction(SyntaxNode node) =>
        node is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax;

    /// <summary>The innermost function (method, accessor, lambda, local function) whose body holds <paramref name="node"/>.</summary>
    public static SyntaxNode? EnclosingFunction(SyntaxNode node)
    {
        for (var current = node.Parent; current is not null; current = current.Parent)
        {
            switch (current)
            {
                case AnonymousFunctionExpressionSyntax:
                case LocalFunctionStatementSyntax:
                case BaseMethodDeclarationSyntax:
                case AccessorDeclarationSyntax:
                case BasePropertyDeclarationSyntax:
                case CompilationUnitSyntax:
                    return current;
            }
        }

        return null;
    }

    /// <summary>The descendants of <paramref name="root"/> that run as part of the same function (nested lambdas and local functions are skipped).</summary>
    public static IEnumerable<SyntaxNode> DescendantsInSameFunction(SyntaxNode root) =>
        root.DescendantNodes(n => n == root || !IsNestedFunction(n)).Where(n => !IsNestedFunction(n));

    /// <summary>
    /// The identifiers under <paramref name="root"/> (itself included) that bind to <paramref name="symbol"/>, in text order.
    /// Names are compared before symbols, so only identifiers spelled like the symbol are bound.
    /// </summary>
    public static IEnumerable<IdentifierNameSyntax> ReferencesTo(SyntaxNode root, ISymbol symbol, SemanticModel model, CancellationToken cancellationToken) =>
        root.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Where(i =>
            i.Identifier.ValueText == symbol.Name
            && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(i, cancellationToken).Symbol, symbol));

    /// <summary>
    /// Whether <paramref name="left"/>, the target of an assignment, is the discard <c>_</c> (<c>_ = …</c>), and not a
    /// variable named <c>_</c>.
    /// </summary>
    public static bool IsDiscard(ExpressionSyntax left, SemanticModel model, CancellationToken cancellationToken)
    {
        var symbol = model.GetSymbolInfo(left, cancellationToken).Symbol;
        return symbol is IDiscardSymbol || (symbol is null && left is IdentifierNameSyntax { Identifier.ValueText: "_" });
    }

    /// <summary>Whether the function is declared <c>async</c>.</summary>
    public static bool IsAsync(SyntaxNode? function) => function switch
    {
        AnonymousFunctionExpressionSyntax lambda => lambda.AsyncKeyword.IsKind(SyntaxKind.AsyncKeyword),
        LocalFunctionStatementSyntax local => local.Modifiers.Any(SyntaxKind.AsyncKeyword),
        MethodDeclarationSyntax method => method.Modifiers.Any(SyntaxKind.AsyncKeyword),
        CompilationUnitSyntax => true,
        _ => false,
    };

    /// <summary>Whether <paramref name="node"/> awaits anything in its own function.</summary>
    public static bool ContainsAwait(SyntaxNode node) =>
        DescendantsInSameFunction(node).Any(n => n switch
        {
            AwaitExpressionSyntax => true,
            CommonForEachStatementSyntax forEach => forEach.AwaitKeyword.IsKind(SyntaxKind.AwaitKeyword),
            UsingStatementSyntax @using => @using.AwaitKeyword.IsKind(SyntaxKind.AwaitKeyword),
            LocalDeclarationStatementSyntax local => local.AwaitKeyword.IsKind(SyntaxKind.AwaitKeyword),
            _ => false,
        });

    /// <summary>Whether <paramref name="node"/> sits in the <c>finally</c> block of some try statement.</summary>
    public static bool IsInsideFinally(SyntaxNode node, SyntaxNode? stopAt)
    {
        for (var current = node.Parent; current is not null && current != stopAt; current = current.Parent)
        {
            if (current is FinallyClauseSyntax)
            {
                return true;
            }

            if (IsNestedFunction(current))
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>
    /// The text that reads the value of <paramref name="expression"/> again when written at
    /// <paramref name="position"/>, or null when there is no such text. Only a chain of names qualifies
    /// (<c>ct</c>, <c>_stopping</c>, <c>this.options.Token</c>, <c>scope.Token</c>, <c>CancelScope.CurrentToken</c>):
    /// <list type="bullet">
    /// <item>every name is a parameter, local, field, property without parameters, type or namespace, after an
    /// optional <c>this.</c>; a call, an indexer, an operator or a literal is not re-evaluated;</item>
    /// <item>the first name binds to the same symbol at <paramref name="position"/> (it is in scope there and
    /// nothing closer shadows it);</item>
    /// <item>when the first name is a local or a parameter, its function never assigns it (nor passes it by
    /// <c>ref</c> or <c>out</c>), so it still holds the value the expression read.</item>
    /// </list>
    /// </summary>
    public static string? NameAt(ExpressionSyntax expression, int position, SemanticModel model, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        if (!TryNameChain(expression, names, model, cancellationToken, out var first, out var firstSymbol))
        {
            return null;
        }

        if (first is IdentifierNameSyntax firstName)
        {
            var option = firstSymbol is INamespaceOrTypeSymbol ? SpeculativeBindingOption.BindAsTypeOrNamespace : SpeculativeBindingOption.BindAsExpression;
            var there = model.GetSpeculativeSymbolInfo(position, SyntaxFactory.IdentifierName(firstName.Identifier.Text), option).Symbol;
            if (!SymbolEqualityComparer.Default.Equals(there, firstSymbol)
                || (firstSymbol is ILocalSymbol or IParameterSymbol && IsReassigned(firstSymbol, model, cancellationToken)))
            {
                return null;
            }
        }

        return string.Join(".", names);
    }

    private static bool TryNameChain(ExpressionSyntax expression, List<string> names, SemanticModel model, CancellationToken cancellationToken, out ExpressionSyntax first, out ISymbol? firstSymbol)
    {
        switch (expression)
        {
            case ParenthesizedExpressionSyntax parenthesized:
                return TryNameChain(parenthesized.Expression, names, model, cancellationToken, out first, out firstSymbol);
            case ThisExpressionSyntax:
                names.Add("this");
                first = expression;
                firstSymbol = null;
                return true;
            case IdentifierNameSyntax identifier:
                names.Add(identifier.Identifier.Text);
                first = identifier;
                firstSymbol = model.GetSymbolInfo(identifier, cancellationToken).Symbol;
                return firstSymbol is IParameterSymbol or ILocalSymbol or INamespaceOrTypeSymbol || IsPlainMember(firstSymbol);
            case MemberAccessExpressionSyntax { RawKind: (int)SyntaxKind.SimpleMemberAccessExpression, Name: IdentifierNameSyntax name } member:
                if (!TryNameChain(member.Expression, names, model, cancellationToken, out first, out firstSymbol))
                {
                    return false;
                }

                names.Add(name.Identifier.Text);
                var symbol = model.GetSymbolInfo(member, cancellationToken).Symbol;
                return symbol is INamespaceOrTypeSymbol || IsPlainMember(symbol);
            default:
                first = expression;
                firstSymbol = null;
                return false;
        }
    }

    private static bool IsPlainMember(ISymbol? symbol) =>
        symbol is IFieldSymbol || symbol is IPropertySymbol { Parameters.IsEmpty: true };

    /// <summary>Whether the function that declares the local or parameter <paramref name="symbol"/> assigns it, or passes it by <c>ref</c> or <c>out</c>.</summary>
    public static bool IsReassigned(ISymbol symbol, SemanticModel model, CancellationToken cancellationToken)
    {
        var declaration = symbol.DeclaringSyntaxReferences.FirstOrDefault()?.GetSyntax(cancellationToken);
        var function = declaration is null ? null : EnclosingFunction(declaration);
        if (function is null)
        {
            return true;
        }

        foreach (var identifier in function.DescendantNodes().OfType<IdentifierNameSyntax>())
        {
            if (identifier.Identifier.ValueText != symbol.Name)
            {
                continue;
            }

            var written = identifier.Ancestors().TakeWhile(a => a is ExpressionSyntax or ArgumentSyntax).Any(a => a switch
            {
                AssignmentExpressionSyntax assignment => assignment.Left.Span.Contains(identifier.Span),
                ArgumentSyntax argument => !argument.RefKindKeyword.IsKind(SyntaxKind.None) && !argument.RefKindKeyword.IsKind(SyntaxKind.InKeyword),
                RefExpressionSyntax => true,
                _ => false,
            });
            if (written && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(identifier, cancellationToken).Symbol, symbol))
            {
                return true;
            }
        }

        return false;
    }
}
