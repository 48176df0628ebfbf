using System.Collections.Immutable;
using System.Composition;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Formatting;

namespace Corral.Analyzers;

/// <summary>
/// Fixes CORRAL0001: rethrow the cancellation (a trailing <c>return</c>, <c>continue</c> or <c>break</c>
/// becomes <c>throw;</c>), or narrow the catch to cancellations that are not the caller's token's (a filter the catch
/// already had is kept, and the test joins it with <c>&amp;&amp;</c>).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CORRAL0001CancellationSwallowedCodeFix))]
[Shared]
public sealed class CORRAL0001CancellationSwallowedCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.CancellationSwallowed.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            var catchClause = root?.FindToken(diagnostic.Location.SourceSpan.Start).Parent?.FirstAncestorOrSelf<CatchClauseSyntax>();
            if (catchClause is null)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create(
                    "Rethrow the cancellation",
                    c => FixFacts.ReplaceAsync(context.Document, catchClause, Rethrow(catchClause).WithAdditionalAnnotations(Formatter.Annotation), c),
                    equivalenceKey: "CORRAL0001.Rethrow"),
                diagnostic);

            if (diagnostic.Properties.TryGetValue(CodeFacts.TokenProperty, out var token) && token is not null)
            {
                var test = "!" + token + ".IsCancellationRequested";
                context.RegisterCodeFix(
                    CodeAction.Create(
                        $"Handle only cancellations that do not come from '{token}'",
                        c => FixFacts.ReplaceAsync(context.Document, catchClause, FixFacts.AndFilter(catchClause, test).WithAdditionalAnnotations(Formatter.Annotation), c),
                        equivalenceKey: "CORRAL0001.Filter"),
                    diagnostic);
            }
        }
    }

    private static CatchClauseSyntax Rethrow(CatchClauseSyntax catchClause)
    {
        var block = catchClause.Block;
        var last = block.Statements.LastOrDefault();
        var rethrow = SyntaxFactory.ThrowStatement();
        var newBlock = last is ReturnStatementSyntax or ContinueStatementSyntax or BreakStatementSyntax
            ? block.ReplaceNode(last, rethrow.WithTriviaFrom(last))
            : block.AddStatements(rethrow);
        return catchClause.WithBlock(newBlock.WithAdditionalAnnotations(Formatter.Annotation));
    }
}
