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
/// Fixes CORRAL0004: start the dropped task as a child of the task group in reach
/// (<c>group.Start(ct =&gt; …)</c>), or await it where the body is async.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CORRAL0004FireAndForgetInScopeCodeFix))]
[Shared]
public sealed class CORRAL0004FireAndForgetInScopeCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.FireAndForgetInScope.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            var statement = root?.FindNode(diagnostic.Location.SourceSpan).FirstAncestorOrSelf<ExpressionStatementSyntax>();
            if (statement is null)
            {
                continue;
            }

            var task = statement.Expression is AssignmentExpressionSyntax assignment ? assignment.Right : statement.Expression;
            if (diagnostic.Properties.TryGetValue(CodeFacts.GroupProperty, out var group) && group is not null)
            {
                context.RegisterCodeFix(
                    CodeAction.Create(
                        $"Start it in the task group '{group}'",
                        c => StartInGroupAsync(context.Document, statement, task, group, c),
                        equivalenceKey: "CORRAL0004.Start"),
                    diagnostic);
            }

            if (CodeFacts.IsAsync(CodeFacts.EnclosingFunction(statement)))
            {
                var awaited = statement.WithExpression(SyntaxFactory.AwaitExpression(task.WithoutTrivia()).WithTriviaFrom(statement.Expression));
                context.RegisterCodeFix(
                    CodeAction.Create(
                        "Await it",
                        c => FixFacts.ReplaceAsync(context.Document, statement, awaited.WithAdditionalAnnotations(Formatter.Annotation), c),
                        equivalenceKey: "CORRAL0004.Await"),
                    diagnostic);
            }
        }
    }

    private static async Task<Document> StartInGroupAsync(Document document, ExpressionStatementSyntax statement, ExpressionSyntax task, string group, CancellationToken cancellationToken)
    {
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var token = FixFacts.FreeName(model!, statement.SpanStart, "ct", "token", "childToken");
        var type = model!.GetTypeInfo(task, cancellationToken).Type;
        var isPlainTask = type is { Name: "Task", ContainingNamespace.Name: "Tasks" } && type is INamedTypeSymbol { IsGenericType: false };
        var lambda = isPlainTask
            ? $"{token} => {task.WithoutTrivia()}"
            : $"async {token} => {{ await {task.WithoutTrivia()}; }}";
        var start = SyntaxFactory.ParseExpression($"{group}.Start({lambda})").WithTriviaFrom(statement.Expression);
        return await FixFacts.ReplaceAsync(document, statement, statement.WithExpression(start).WithAdditionalAnnotations(Formatter.Annotation), cancellationToken).ConfigureAwait(false);
    }
}
