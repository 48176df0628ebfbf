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
/// Fixes CORRAL0007: filter the catch on the caller's token, so that only the timeout is read as a timeout and
/// the caller's cancellation passes through: <c>catch (OperationCanceledException)</c> becomes
/// <c>catch (OperationCanceledException) when (!ct.IsCancellationRequested)</c>, and a filter that tested the linked
/// source itself keeps its test and gains this one (<c>when (cts.IsCancellationRequested &amp;&amp; !ct.IsCancellationRequested)</c>).
/// </summary>
/// <remarks>
/// The tokens come from the analyzer (<see cref="CORRAL0007TimeoutFromCancellationAnalyzer.CallerTokensProperty"/>):
/// every token the timeout source is linked to and every caller's token the try block uses, joined with
/// <c>&amp;&amp;</c>. The analyzer leaves the property out, and no fix is offered, when one of them cannot be named
/// at the catch (a call, a parameter of another function, a name shadowed there), because a filter on only some
/// of them would still read the others' cancellation as a timeout. The rest of the catch is kept as written:
/// exception variable, comments, layout. <c>CancelScope.FailAfterAsync</c> remains the better rewrite where Corral
/// is referenced; it changes the shape of the code, so it is not done here.
/// </remarks>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CORRAL0007TimeoutFromCancellationCodeFix))]
[Shared]
public sealed class CORRAL0007TimeoutFromCancellationCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.TimeoutFromCancellation.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        // Exception filters are C# 6.
        if (context.Document.Project.ParseOptions is CSharpParseOptions { LanguageVersion: < LanguageVersion.CSharp6 })
        {
            return;
        }

        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(CORRAL0007TimeoutFromCancellationAnalyzer.CallerTokensProperty, out var property)
                || string.IsNullOrEmpty(property))
            {
                continue;
            }

            var catchClause = root?.FindToken(diagnostic.Location.SourceSpan.Start).Parent?.FirstAncestorOrSelf<CatchClauseSyntax>();
            if (catchClause?.Declaration is null)
            {
                continue;
            }

            var tokens = property!.Split(CORRAL0007TimeoutFromCancellationAnalyzer.CallerTokenSeparator.ToCharArray());
            var title = tokens.Length == 1
                ? $"Filter the catch on the caller's token '{tokens[0]}'"
                : $"Filter the catch on the caller's tokens {string.Join(", ", tokens.Select(t => $"'{t}'"))}";
            context.RegisterCodeFix(
                CodeAction.Create(
                    title,
                    c => FilterAsync(context.Document, catchClause, tokens, c),
                    equivalenceKey: "CORRAL0007.Filter"),
                diagnostic);
        }
    }

    private static Task<Document> FilterAsync(Document document, CatchClauseSyntax catchClause, string[] tokens, CancellationToken cancellationToken)
    {
        var test = string.Join(" && ", tokens.Select(t => "!" + t + ".IsCancellationRequested"));
        var filtered = FixFacts.AndFilter(catchClause, test);

        // Only the new clause is laid out ("when (…)"); the formatter is kept off the catch so its block stays as written.
        var filter = filtered.Filter!;
        filtered = filtered.WithFilter(filter.WithWhenKeyword(filter.WhenKeyword.WithTrailingTrivia(SyntaxFactory.Space)));
        return FixFacts.ReplaceAsync(document, catchClause, filtered, cancellationToken);
    }
}
