using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers;

/// <summary>
/// CORRAL0002: <c>catch (Exception)</c> or a bare <c>catch</c> in async code that swallows cancellation.
/// </summary>
/// <remarks>
/// Flagged only when all of these hold:
/// <list type="bullet">
/// <item>the clause catches <c>Exception</c>, <c>SystemException</c> or everything (any type <c>OperationCanceledException</c> derives from);</item>
/// <item>the enclosing function is <c>async</c>, the try block awaits, and cancellation can reach it: it passes a
/// <c>CancellationToken</c> (not <c>None</c>) or calls into Corral;</item>
/// <item>the block neither throws nor keeps the exception for later (see <see cref="CatchFacts.HandsExceptionOn"/>);</item>
/// <item>no earlier clause of the same try catches <c>OperationCanceledException</c>;</item>
/// <item>the filter, if any, admits the caller's cancellation: read with the caller's token cancelled and nothing else
/// (see <see cref="CallerFilterFacts"/>), it is true or may be true (<c>e is not ArgumentException</c>, <c>attempt &lt; 3</c>,
/// <c>e is OperationCanceledException or TimeoutException</c>, <c>e is TaskCanceledException</c>). A filter that is false
/// then (<c>e is not OperationCanceledException</c>), that reads the caller's own token (<c>!ct.IsCancellationRequested</c>),
/// or that the analyzer cannot read is not flagged;</item>
/// <item>it is not inside a <c>finally</c> block.</item>
/// </list>
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0002CatchAllSwallowsCancellationAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.CatchAllSwallowsCancellation);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.Create(start.Compilation);
            if (types.OperationCanceledException is null)
            {
                return;
            }

            start.RegisterSyntaxNodeAction(c => Analyze(c, types), SyntaxKind.CatchClause);
        });
    }

    private static void Analyze(SyntaxNodeAnalysisContext context, KnownTypes types)
    {
        var catchClause = (CatchClauseSyntax)context.Node;
        var model = context.SemanticModel;
        var cancellationToken = context.CancellationToken;
        if (catchClause.Parent is not TryStatementSyntax tryStatement)
        {
            return;
        }

        var caught = CatchFacts.CaughtType(catchClause, model, cancellationToken);
        // A catch of OperationCanceledException itself is CORRAL0001's business; here only its base types.
        if (catchClause.Declaration is not null && (!types.CatchesCancellation(caught) || types.IsCancellationException(caught)))
        {
            return;
        }

        var function = CodeFacts.EnclosingFunction(catchClause);
        if (!CodeFacts.IsAsync(function)
            || !CodeFacts.ContainsAwait(tryStatement.Block)
            || !TokenFacts.InvolvesCancellation(tryStatement.Block, model, types, cancellationToken)
            || CatchFacts.HandsExceptionOn(catchClause, context.SemanticModel, context.CancellationToken)
            || CodeFacts.IsInsideFinally(catchClause, function)
            || FilterFacts.EarlierClauseCatchesCancellation(catchClause, model, types, cancellationToken))
        {
            return;
        }

        if (catchClause.Filter is not null
            && CallerFilterFacts.Read(catchClause, model, types, cancellationToken).Verdict != CallerFilterVerdict.Admits)
        {
            return;
        }

        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.CatchAllSwallowsCancellation,
            Location.Create(catchClause.SyntaxTree, CatchFacts.CatchHeaderSpan(catchClause)),
            CatchFacts.CatchHeaderText(catchClause)));
    }
}
