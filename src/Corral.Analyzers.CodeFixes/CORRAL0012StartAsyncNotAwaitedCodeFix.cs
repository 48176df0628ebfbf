using System.Collections.Immutable;
using System.Composition;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Analyzers;

/// <summary>
/// Fixes CORRAL0012 by awaiting the task: <c>group.StartAsync(…);</c> and <c>_ = group.StartAsync(…);</c> become
/// <c>await group.StartAsync(…);</c>. Offered only in an async function (the analyzer says so).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CORRAL0012StartAsyncNotAwaitedCodeFix))]
[Shared]
public sealed class CORRAL0012StartAsyncNotAwaitedCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.StartAsyncNotAwaited.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.ContainsKey(CORRAL0012StartAsyncNotAwaitedAnalyzer.CanAwaitProperty))
            {
                continue;
            }

            var invocation = root?.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).FirstAncestorOrSelf<InvocationExpressionSyntax>();
            var statement = invocation?.FirstAncestorOrSelf<ExpressionStatementSyntax>();
            if (invocation is null || statement is null)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create(
                    "Await the task from StartAsync",
                    c => AwaitAsync(context.Document, statement, invocation, c),
                    equivalenceKey: "CORRAL0012.Await"),
                diagnostic);
        }
    }

    private static Task<Document> AwaitAsync(Document document, ExpressionStatementSyntax statement, InvocationExpressionSyntax invocation, CancellationToken cancellationToken)
    {
        var awaited = SyntaxFactory.AwaitExpression(invocation.WithoutTrivia())
            .WithAwaitKeyword(SyntaxFactory.Token(SyntaxKind.AwaitKeyword).WithTrailingTrivia(SyntaxFactory.Space))
            .WithTriviaFrom(statement.Expression);
        return FixFacts.ReplaceAsync(document, statement, statement.WithExpression(awaited), cancellationToken);
    }
}
