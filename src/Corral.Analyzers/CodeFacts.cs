using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Analyzers;

/// <summary>
/// Syntax and semantic questions that several rules ask: which function a node belongs to, whether a
/// block lets an exception out, which Corral body a lambda is, which token is in reach.
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
        foreach (var node in DescendantsInSameFunction(catchClause.Block))
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

    /// <summary>
    /// The expression that gives the scope's token inside the innermost enclosing Corral body, found by
    /// walking out through enclosing lambdas: a <c>CancellationToken</c> parameter (<c>ct</c>), a
    /// <c>CancelScope</c> parameter (<c>scope.Token</c>) or a <c>TaskGroup</c> parameter (<c>group.Scope.Token</c>).
    /// </summary>
    public static string? ScopeTokenInReach(SyntaxNode node, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        for (var function = EnclosingFunction(node); function is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax; function = EnclosingFunction(function))
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
        for (var function = EnclosingFunction(node); function is AnonymousFunctionExpressionSyntax or LocalFunctionStatementSyntax; function = EnclosingFunction(function))
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
                    when TokenFacts.IsLinkedSourceToken(linked, model, types, cancellationToken):
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
