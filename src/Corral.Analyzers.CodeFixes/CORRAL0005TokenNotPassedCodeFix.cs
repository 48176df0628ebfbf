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

/// <summary>Fixes CORRAL0005: pass the scope's token instead of <c>CancellationToken.None</c> or <c>default</c>.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CORRAL0005TokenNotPassedCodeFix))]
[Shared]
public sealed class CORRAL0005TokenNotPassedCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.TokenNotPassed.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(CodeFacts.TokenProperty, out var token) || token is null)
            {
                continue;
            }

            var argument = root?.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).FirstAncestorOrSelf<ArgumentSyntax>();
            if (argument is null)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create(
                    $"Pass '{token}'",
                    c => PassTokenAsync(context.Document, argument.Expression, token, c),
                    equivalenceKey: "CORRAL0005.Pass"),
                diagnostic);
        }
    }

    private static Task<Document> PassTokenAsync(Document document, ExpressionSyntax expression, string token, CancellationToken cancellationToken) =>
        FixFacts.ReplaceAsync(document, expression, SyntaxFactory.ParseExpression(token).WithTriviaFrom(expression), cancellationToken);
}
