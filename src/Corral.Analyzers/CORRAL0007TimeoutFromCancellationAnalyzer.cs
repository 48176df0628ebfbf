using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers;

/// <summary>
/// CORRAL0007: a timeout detected by catching <c>OperationCanceledException</c> around a token source
/// given a timeout, when that catch cannot tell the timeout from the caller's cancellation.
/// </summary>
/// <remarks>
/// Flagged when an unfiltered catch of cancellation guards a try block that uses the token of a local
/// <c>CancellationTokenSource</c> with a timeout (constructor argument or <c>CancelAfter</c>) and that source
/// is linked to another token, or the try block also uses the caller's token. A filter such as
/// <c>when (!ct.IsCancellationRequested)</c> tells the two apart and is not flagged; nor is a source with a
/// timeout and no other token in play.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0007TimeoutFromCancellationAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.TimeoutFromCancellation);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.Create(start.Compilation);
            if (types.OperationCanceledException is null || types.CancellationTokenSource is null)
            {
                return;
            }

            start.RegisterSyntaxNodeAction(c => Analyze(c, types), SyntaxKind.CatchClause);
        });
    }

    private static void Analyze(SyntaxNodeAnalysisContext context, KnownTypes types)
    {
        var catchClause = (CatchClauseSyntax)context.Node;
        var source = TimeoutFacts.AmbiguousTimeoutSource(catchClause, context.SemanticModel, types, context.CancellationToken);
        if (source is null)
        {
            return;
        }

        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.TimeoutFromCancellation,
            Location.Create(catchClause.SyntaxTree, CodeFacts.CatchHeaderSpan(catchClause)),
            catchClause.Declaration!.Type.ToString(),
            source.Name));
    }
}
