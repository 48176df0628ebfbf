using System.Collections.Immutable;
using System.Composition;
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
/// Fixes CORRAL0002: add <c>when (e is not OperationCanceledException)</c> to the catch-all (naming the
/// exception if it has no name, and keeping any filter it had), or insert a clause that catches and
/// rethrows <c>OperationCanceledException</c> before it.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CORRAL0002CatchAllSwallowsCancellationCodeFix))]
[Shared]
public sealed class CORRAL0002CatchAllSwallowsCancellationCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.CatchAllSwallowsCancellation.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            var catchClause = root?.FindToken(diagnostic.Location.SourceSpan.Start).Parent?.FirstAncestorOrSelf<CatchClauseSyntax>();
            if (catchClause?.Parent is not TryStatementSyntax)
            {
                continue;
            }

            context.RegisterCodeFix(
                CodeAction.Create(
                    "Let cancellation through with a 'when' filter",
                    c => AddFilterAsync(context.Document, catchClause, c),
                    equivalenceKey: "CORRAL0002.Filter"),
                diagnostic);
            context.RegisterCodeFix(
                CodeAction.Create(
                    "Catch and rethrow OperationCanceledException first",
                    c => RethrowFirstAsync(context.Document, catchClause, c),
                    equivalenceKey: "CORRAL0002.RethrowFirst"),
                diagnostic);
        }
    }

    private static async Task<Document> AddFilterAsync(Document document, CatchClauseSyntax catchClause, CancellationToken cancellationToken)
    {
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var root = await document.GetSyntaxRootAsync(cancellationToken).ConfigureAwait(false);
        var position = catchClause.Block.SpanStart;
        var oce = FixFacts.SystemTypeName(model!, position, "OperationCanceledException");

        var declaration = catchClause.Declaration;
        string name;
        if (declaration is null)
        {
            name = FixFacts.FreeName(model!, position, "ex", "exception");
            var exception = FixFacts.SystemTypeName(model!, position, "Exception");
            declaration = SyntaxFactory.CatchDeclaration(SyntaxFactory.ParseTypeName(exception), SyntaxFactory.Identifier(name))
                .WithLeadingTrivia(SyntaxFactory.Space)
                .WithTrailingTrivia(catchClause.CatchKeyword.TrailingTrivia);
            catchClause = catchClause.WithCatchKeyword(catchClause.CatchKeyword.WithTrailingTrivia()).WithDeclaration(declaration);
        }
        else if (declaration.Identifier.IsKind(SyntaxKind.None))
        {
            name = FixFacts.FreeName(model!, position, "ex", "exception");
            catchClause = catchClause.WithDeclaration(declaration.WithIdentifier(SyntaxFactory.Identifier(name)));
        }
        else
        {
            name = declaration.Identifier.ValueText;
        }

        var test = FixFacts.HasNotPatterns(catchClause.SyntaxTree)
            ? $"{name} is not {oce}"
            : $"!({name} is {oce})";
        if (catchClause.Filter is not null)
        {
            test = $"{test} && ({catchClause.Filter.FilterExpression})";
            catchClause = catchClause.WithFilter(null);
        }

        var newCatch = FixFacts.WithFilter(catchClause, SyntaxFactory.ParseExpression(test));
        var original = root!.FindToken(position).Parent!.FirstAncestorOrSelf<CatchClauseSyntax>()!;
        return document.WithSyntaxRoot(root.ReplaceNode(original, newCatch.WithAdditionalAnnotations(Formatter.Annotation)));
    }

    private static async Task<Document> RethrowFirstAsync(Document document, CatchClauseSyntax catchClause, CancellationToken cancellationToken)
    {
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var oce = FixFacts.SystemTypeName(model!, catchClause.Block.SpanStart, "OperationCanceledException");
        var rethrowClause = SyntaxFactory.CatchClause(
                SyntaxFactory.CatchDeclaration(SyntaxFactory.ParseTypeName(oce)),
                null,
                SyntaxFactory.Block(SyntaxFactory.ThrowStatement()))
            .WithAdditionalAnnotations(Formatter.Annotation);
        var tryStatement = (TryStatementSyntax)catchClause.Parent!;
        var index = tryStatement.Catches.IndexOf(catchClause);
        var newTry = tryStatement.WithCatches(tryStatement.Catches.Insert(index, rethrowClause));
        return await FixFacts.ReplaceAsync(document, tryStatement, newTry.WithAdditionalAnnotations(Formatter.Annotation), cancellationToken).ConfigureAwait(false);
    }
}
