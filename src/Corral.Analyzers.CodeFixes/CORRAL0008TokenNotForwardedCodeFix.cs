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
/// Fixes CORRAL0008: forward the scope's token, as the last argument (the overload case) or by name (an
/// optional parameter, which other omitted optional parameters may precede).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CORRAL0008TokenNotForwardedCodeFix))]
[Shared]
public sealed class CORRAL0008TokenNotForwardedCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.TokenNotForwarded.Id);

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

            var invocation = root?.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).FirstAncestorOrSelf<InvocationExpressionSyntax>();
            if (invocation is null)
            {
                continue;
            }

            diagnostic.Properties.TryGetValue(CORRAL0008TokenNotForwardedAnalyzer.ParameterProperty, out var parameter);
            context.RegisterCodeFix(
                CodeAction.Create(
                    $"Forward '{token}'",
                    c => ForwardAsync(context.Document, invocation, token, parameter, c),
                    equivalenceKey: "CORRAL0008.Forward"),
                diagnostic);
        }
    }

    private static Task<Document> ForwardAsync(Document document, InvocationExpressionSyntax invocation, string token, string? parameter, CancellationToken cancellationToken)
    {
        var argument = SyntaxFactory.Argument(SyntaxFactory.ParseExpression(token));
        var arguments = invocation.ArgumentList.Arguments;
        if (parameter is not null)
        {
            argument = argument.WithNameColon(SyntaxFactory.NameColon(parameter));
        }

        var newInvocation = invocation.WithArgumentList(invocation.ArgumentList.WithArguments(arguments.Add(argument)));
        return FixFacts.ReplaceAsync(document, invocation, newInvocation, cancellationToken);
    }
}
