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

namespace Corral.Analyzers;

/// <summary>
/// Fixes CORRAL0006 where Corral is referenced: <c>await x.FlushAsync(ct);</c> becomes
/// <c>await CancelScope.ShieldAsync(t =&gt; x.FlushAsync(t), TimeSpan.FromSeconds(5));</c>. Offered only for an
/// awaited call whose result is not used, so the shape of the code does not change; the five seconds are a
/// starting point to adjust.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CORRAL0006CleanupWithCancelledTokenCodeFix))]
[Shared]
public sealed class CORRAL0006CleanupWithCancelledTokenCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.CleanupWithCancelledToken.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model?.Compilation.GetTypeByMetadataName("Corral.CancelScope") is null)
        {
            return;
        }

        foreach (var diagnostic in context.Diagnostics)
        {
            var token = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) as ExpressionSyntax;
            var statement = token?.FirstAncestorOrSelf<ExpressionStatementSyntax>();
            if (token is null || statement?.Expression is not AwaitExpressionSyntax awaitExpression)
            {
                continue;
            }

            var call = Unwrap(awaitExpression.Expression);
            if (call is not InvocationExpressionSyntax invocation || !invocation.ArgumentList.Arguments.Any(a => a.Expression == token))
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create(
                    "Run the cleanup in CancelScope.ShieldAsync with a timeout",
                    c => ShieldAsync(context.Document, statement, invocation, token, c),
                    equivalenceKey: "CORRAL0006.Shield"),
                diagnostic);
        }
    }

    // await x.FlushAsync(ct).ConfigureAwait(false) shields the call itself; the ConfigureAwait moves outside.
    private static ExpressionSyntax Unwrap(ExpressionSyntax awaited) =>
        awaited is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "ConfigureAwait", Expression: var inner } }
            ? inner
            : awaited;

    private static async Task<Document> ShieldAsync(Document document, ExpressionStatementSyntax statement, InvocationExpressionSyntax invocation, ExpressionSyntax token, CancellationToken cancellationToken)
    {
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var position = statement.SpanStart;
        var name = FixFacts.FreeName(model!, position, "t", "shieldToken", "cleanupToken");
        var scope = model!.LookupNamespacesAndTypes(position, name: "CancelScope").IsEmpty ? "Corral.CancelScope" : "CancelScope";
        var timeSpan = FixFacts.SystemTypeName(model, position, "TimeSpan");
        var body = invocation.ReplaceNode(token, SyntaxFactory.IdentifierName(name).WithTriviaFrom(token)).WithoutTrivia();
        var awaitExpression = (AwaitExpressionSyntax)statement.Expression;
        var configure = awaitExpression.Expression != invocation && awaitExpression.Expression is InvocationExpressionSyntax configured
            ? configured.ArgumentList.ToString()
            : null;
        var shielded = $"await {scope}.ShieldAsync({name} => {body}, {timeSpan}.FromSeconds(5))"
            + (configure is null ? string.Empty : ".ConfigureAwait" + configure);
        var newStatement = statement.WithExpression(SyntaxFactory.ParseExpression(shielded).WithTriviaFrom(statement.Expression));
        return await FixFacts.ReplaceAsync(document, statement, newStatement, cancellationToken).ConfigureAwait(false);
    }
}
