using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;

namespace Corral.Analyzers;

/// <summary>
/// Fixes CORRAL0003 for an iterator of the simple shape (see the analyzer): the method becomes a producer run by
/// <c>SafeProducer.ProduceAsync</c>, so its scopes stay inside the producer task and the consumer reads outside them.
/// </summary>
/// <remarks>
/// <code>
/// async IAsyncEnumerable&lt;T&gt; M(…, [EnumeratorCancellation] CancellationToken ct = default) { … yield return x; … }
/// </code>
/// becomes
/// <code>
/// IAsyncEnumerable&lt;T&gt; M(…, CancellationToken ct = default) =&gt; SafeProducer.ProduceAsync&lt;T&gt;(async (writer, producerToken) =&gt;
/// {
///     using var tokens = CancellationTokenSource.CreateLinkedTokenSource(ct, producerToken);
///     … await writer.WriteAsync(x, tokens.Token); …
/// });
/// </code>
/// Each <c>yield return x;</c> becomes a write with the producer's token and each <c>yield break;</c> a <c>return;</c>.
/// A token given straight to the method is still honoured: the body's uses of it read a source linked to it and to the
/// producer's token (leaving the loop, or cancelling the consumer's scope, cancels the producer). When the body does not
/// use the token, no link is made. The method's signature is otherwise unchanged, so callers compile as before.
/// Other shapes (local functions, <c>IAsyncEnumerator&lt;T&gt;</c>, several tokens) get no fix.
/// </remarks>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CORRAL0003YieldInsideScopeCodeFix))]
[Shared]
public sealed class CORRAL0003YieldInsideScopeCodeFix : CodeFixProvider
{
    private const string Title = "Produce the items with SafeProducer.ProduceAsync";

    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.YieldInsideScope.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => FixAllProvider.Create(async (context, document, diagnostics) =>
    {
        // Several yields of one iterator share one rewrite: rewrite each method once.
        var root = await document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var methods = diagnostics
            .Where(d => d.Properties.ContainsKey(CORRAL0003YieldInsideScopeAnalyzer.SimpleShapeProperty))
            .Select(d => root?.FindNode(d.Location.SourceSpan).FirstAncestorOrSelf<MethodDeclarationSyntax>())
            .OfType<MethodDeclarationSyntax>()
            .Distinct()
            .ToList();
        return methods.Count == 0 ? document : await RewriteAsync(document, methods, context.CancellationToken).ConfigureAwait(false);
    });

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.ContainsKey(CORRAL0003YieldInsideScopeAnalyzer.SimpleShapeProperty)
                || root?.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<MethodDeclarationSyntax>() is not { } method)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create(Title, c => RewriteAsync(context.Document, new[] { method }, c), equivalenceKey: "CORRAL0003.Produce"),
                diagnostic);
        }
    }

    private static async Task<Document> RewriteAsync(Document document, IReadOnlyCollection<MethodDeclarationSyntax> methods, CancellationToken cancellationToken)
    {
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var rewritten = root!.ReplaceNodes(methods, (original, _) => Rewrite(original, model!, cancellationToken) ?? original);
        return await Formatter.FormatAsync(document.WithSyntaxRoot(rewritten), Formatter.Annotation, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private static MethodDeclarationSyntax? Rewrite(MethodDeclarationSyntax method, SemanticModel model, CancellationToken cancellationToken)
    {
        if (method.Body is null
            || model.GetDeclaredSymbol(method, cancellationToken) is not IMethodSymbol symbol
            || symbol.ReturnType is not INamedTypeSymbol { TypeArguments.Length: 1 } returnType)
        {
            return null;
        }

        var token = symbol.Parameters.FirstOrDefault(p => p.Type.ToDisplayString() == "System.Threading.CancellationToken");
        var tokenUses = token is null
            ? new List<IdentifierNameSyntax>()
            : CodeFacts.ReferencesTo(method.Body, token, model, cancellationToken).ToList();

        var position = method.Body.SpanStart;
        var writer = FixFacts.FreeName(model, position, "writer", "itemWriter");
        var producerToken = FixFacts.FreeName(model, position, "producerToken", "producerCancellation");
        var tokens = FixFacts.FreeName(model, position, "tokens", "linkedTokens");
        var writeToken = tokenUses.Count > 0 ? tokens + ".Token" : producerToken;

        // The body, with each yield a write or a return and each use of the method's token the linked one.
        var yields = method.Body.DescendantNodes().OfType<YieldStatementSyntax>();
        var body = method.Body.ReplaceNodes(
            yields.Cast<SyntaxNode>().Concat(tokenUses),
            (original, _) => original switch
            {
                YieldStatementSyntax { RawKind: (int)SyntaxKind.YieldReturnStatement } yieldReturn =>
                    SyntaxFactory.ParseStatement($"await {writer}.WriteAsync({yieldReturn.Expression!.WithoutTrivia()}, {writeToken});").WithTriviaFrom(yieldReturn),
                YieldStatementSyntax yieldBreak => SyntaxFactory.ReturnStatement().WithTriviaFrom(yieldBreak),
                IdentifierNameSyntax use => SyntaxFactory.ParseExpression(tokens + ".Token").WithTriviaFrom(use),
                _ => original,
            });

        if (tokenUses.Count > 0)
        {
            var source = FixFacts.TypeName(model, position, "System.Threading.CancellationTokenSource");
            var newLine = method.Body.OpenBraceToken.TrailingTrivia.Where(t => t.IsKind(SyntaxKind.EndOfLineTrivia)).Take(1);
            var link = SyntaxFactory.ParseStatement($"using var {tokens} = {source}.CreateLinkedTokenSource({token!.Name}, {producerToken});")
                .WithLeadingTrivia(body.Statements.FirstOrDefault()?.GetLeadingTrivia() ?? default)
                .WithTrailingTrivia(newLine);
            body = body.WithStatements(body.Statements.Insert(0, link));
        }

        // The block closes the lambda now: `});`, not a line break before `)`.
        body = body.WithCloseBraceToken(body.CloseBraceToken.WithTrailingTrivia());

        var itemType = returnType.TypeArguments[0].ToMinimalDisplayString(model, method.SpanStart);
        var safeProducer = SyntaxFactory.ParseName(FixFacts.TypeName(model, position, "Corral.SafeProducer"));
        var lambda = SyntaxFactory.ParseExpression($"async ({writer}, {producerToken}) => {{ }}") is ParenthesizedLambdaExpressionSyntax parsed
            ? parsed.WithBlock(body)
            : null;
        if (lambda is null)
        {
            return null;
        }

        var produce = SyntaxFactory.InvocationExpression(
            SyntaxFactory.MemberAccessExpression(
                SyntaxKind.SimpleMemberAccessExpression,
                safeProducer,
                SyntaxFactory.GenericName(SyntaxFactory.Identifier("ProduceAsync"))
                    .WithTypeArgumentList(SyntaxFactory.TypeArgumentList(SyntaxFactory.SingletonSeparatedList(SyntaxFactory.ParseTypeName(itemType))))),
            SyntaxFactory.ArgumentList(SyntaxFactory.SingletonSeparatedList(SyntaxFactory.Argument(lambda))));

        var modifiers = SyntaxFactory.TokenList(method.Modifiers.Where(m => !m.IsKind(SyntaxKind.AsyncKeyword)));
        if (method.Modifiers.Count > 0 && method.Modifiers[0].IsKind(SyntaxKind.AsyncKeyword))
        {
            // The async keyword led the declaration: keep its leading trivia (indentation, comments) on what now leads.
            modifiers = modifiers.Count > 0
                ? modifiers.Replace(modifiers[0], modifiers[0].WithLeadingTrivia(method.Modifiers[0].LeadingTrivia))
                : modifiers;
        }

        var result = method
            .WithModifiers(modifiers)
            .WithParameterList(WithoutEnumeratorCancellation(method.ParameterList, model, cancellationToken))
            .WithBody(null)
            .WithExpressionBody(SyntaxFactory.ArrowExpressionClause(produce))
            .WithSemicolonToken(SyntaxFactory.Token(SyntaxKind.SemicolonToken))
            .WithTrailingTrivia(method.GetTrailingTrivia());
        if (modifiers.Count == 0 && method.Modifiers.Count > 0)
        {
            result = result.WithReturnType(result.ReturnType.WithLeadingTrivia(method.Modifiers[0].LeadingTrivia));
        }

        return result.WithAdditionalAnnotations(Formatter.Annotation);
    }

    private static ParameterListSyntax WithoutEnumeratorCancellation(ParameterListSyntax parameters, SemanticModel model, CancellationToken cancellationToken)
    {
        return parameters.ReplaceNodes(parameters.Parameters, (parameter, _) =>
        {
            var kept = new List<AttributeListSyntax>();
            foreach (var list in parameter.AttributeLists)
            {
                var attributes = list.Attributes.Where(a =>
                    model.GetSymbolInfo(a, cancellationToken).Symbol?.ContainingType?.Name != "EnumeratorCancellationAttribute");
                var remaining = SyntaxFactory.SeparatedList(attributes);
                if (remaining.Count > 0)
                {
                    kept.Add(list.WithAttributes(remaining));
                }
            }

            if (kept.Count == parameter.AttributeLists.Count)
            {
                return parameter;
            }

            var leading = parameter.GetLeadingTrivia();
            return parameter.WithAttributeLists(SyntaxFactory.List(kept)).WithLeadingTrivia(leading);
        });
    }
}
