using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers;

/// <summary>
/// CORRAL0006: cleanup in a <c>finally</c> block, or in a catch of cancellation, that awaits with the
/// token whose cancellation brought it there.
/// </summary>
/// <remarks>
/// Flagged: an argument of an awaited call in such a block that is a <c>CancellationToken</c> parameter of
/// an enclosing function, a <c>CancelScope</c>'s <c>Token</c>, or <c>CancelScope.CurrentToken</c>. Not
/// flagged: an await guarded by an <c>if</c> that tests <c>IsCancellationRequested</c>; an await inside a
/// nested try that catches the failure; a catch whose filter says the token is not cancelled; a catch of
/// anything but cancellation (the token is not known to be cancelled there).
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0006CleanupWithCancelledTokenAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.CleanupWithCancelledToken);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.Create(start.Compilation);
            if (types.CancellationToken is null || types.OperationCanceledException is null)
            {
                return;
            }

            start.RegisterSyntaxNodeAction(c => AnalyzeFinally(c, types), SyntaxKind.FinallyClause);
            start.RegisterSyntaxNodeAction(c => AnalyzeCatch(c, types), SyntaxKind.CatchClause);
        });
    }

    private static void AnalyzeFinally(SyntaxNodeAnalysisContext context, KnownTypes types)
    {
        var @finally = (FinallyClauseSyntax)context.Node;
        AnalyzeBlock(context, types, @finally.Block, "finally");
    }

    private static void AnalyzeCatch(SyntaxNodeAnalysisContext context, KnownTypes types)
    {
        var catchClause = (CatchClauseSyntax)context.Node;
        if (!types.IsCancellationException(CatchFacts.CaughtType(catchClause, context.SemanticModel, context.CancellationToken)))
        {
            return;
        }

        if (catchClause.Filter is not null)
        {
            var verdict = FilterFacts.Evaluate(
                catchClause.Filter.FilterExpression,
                FilterFacts.ExceptionVariable(catchClause, context.SemanticModel, context.CancellationToken),
                context.SemanticModel,
                types,
                context.CancellationToken);
            if (verdict != FilterVerdict.OnlyCancellation && verdict != FilterVerdict.Independent)
            {
                return;
            }
        }

        AnalyzeBlock(context, types, catchClause.Block, CatchFacts.CatchHeaderText(catchClause));
    }

    private static void AnalyzeBlock(SyntaxNodeAnalysisContext context, KnownTypes types, BlockSyntax block, string where)
    {
        var model = context.SemanticModel;
        foreach (var await in CodeFacts.DescendantsInSameFunction(block).OfType<AwaitExpressionSyntax>())
        {
            if (IsGuarded(await, block))
            {
                continue;
            }

            foreach (var argument in CodeFacts.DescendantsInSameFunction(await.Expression).OfType<ArgumentSyntax>())
            {
                if (IsCancelledToken(argument.Expression, block, model, types, context.CancellationToken))
                {
                    context.ReportDiagnostic(Diagnostic.Create(
                        Descriptors.CleanupWithCancelledToken,
                        argument.Expression.GetLocation(),
                        where,
                        argument.Expression.ToString()));
                }
            }
        }
    }

    private static bool IsGuarded(SyntaxNode node, BlockSyntax block)
    {
        for (var current = node.Parent; current is not null && current != block; current = current.Parent)
        {
            switch (current)
            {
                case IfStatementSyntax @if when @if.Condition.DescendantNodesAndSelf().OfType<IdentifierNameSyntax>().Any(i => i.Identifier.ValueText == "IsCancellationRequested"):
                    return true;
                case TryStatementSyntax @try when @try.Catches.Count > 0 && @try.Block.Span.Contains(node.Span):
                    return true;
            }
        }

        return false;
    }

    private static bool IsCancelledToken(ExpressionSyntax expression, BlockSyntax block, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        var symbol = model.GetSymbolInfo(expression, cancellationToken).Symbol;
        switch (symbol)
        {
            case IParameterSymbol parameter when types.IsCancellationToken(parameter.Type):
                // A parameter of a lambda written inside the cleanup block (ShieldAsync(ct => …)) is a fresh token.
                return !parameter.DeclaringSyntaxReferences.Any(r => block.Span.Contains(r.Span));
            case IPropertySymbol { Name: "Token" or "CurrentToken" } property when types.IsCancelScope(property.ContainingType):
                return true;
            default:
                return false;
        }
    }
}
