using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers;

/// <summary>
/// CORRAL0001: <c>OperationCanceledException</c> (or a type derived from it) caught and not rethrown,
/// around code that observes the caller's token.
/// </summary>
/// <remarks>
/// Flagged only when all of these hold, so that correct code stays quiet:
/// <list type="bullet">
/// <item>the clause catches <c>OperationCanceledException</c> or a type derived from it;</item>
/// <item>it has no <c>when</c> filter, or one that tests the cancellation and still admits the caller's: read with the caller's
/// token cancelled and nothing else (see <see cref="CallerFilterFacts"/>), it is true or may be true because of what it
/// says about the exception's type or token or a token source of known origin (<c>when (!timeout.IsCancellationRequested)</c>
/// on a source the method made and linked to nothing, <c>when (e is TaskCanceledException)</c>). A filter that reads the
/// caller's own token, or only other conditions, or that the analyzer cannot read, is a deliberate decision;</item>
/// <item>its block neither throws nor keeps the exception for later (see <see cref="CatchFacts.HandsExceptionOn"/>);</item>
/// <item>the try block uses a caller's token: a <c>CancellationToken</c> parameter, a scope's token, the token of a local
/// source linked to other tokens, or a Corral checkpoint;</item>
/// <item>it is not inside a <c>finally</c> block (swallowing there cannot stop an exception already in flight);</item>
/// <item>it is not the hand-made timeout that CORRAL0007 reports.</item>
/// </list>
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0001CancellationSwallowedAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.CancellationSwallowed);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.Create(start.Compilation);
            if (types.OperationCanceledException is null || types.CancellationToken is null)
            {
                return;
            }

            start.RegisterSyntaxNodeAction(c => Analyze(c, types), SyntaxKind.CatchClause);
        });
    }

    private static void Analyze(SyntaxNodeAnalysisContext context, KnownTypes types)
    {
        var catchClause = (CatchClauseSyntax)context.Node;
        if (catchClause.Parent is not TryStatementSyntax tryStatement
            || !types.IsCancellationException(CatchFacts.CaughtType(catchClause, context.SemanticModel, context.CancellationToken))
            || CatchFacts.HandsExceptionOn(catchClause, context.SemanticModel, context.CancellationToken)
            || CodeFacts.IsInsideFinally(catchClause, CodeFacts.EnclosingFunction(catchClause)))
        {
            return;
        }

        if (!TokenFacts.UsesCallerToken(tryStatement.Block, context.SemanticModel, types, context.CancellationToken, out var tokenName))
        {
            return;
        }

        // A filter is a decision about whose cancellation this is; it is wrong only when it claims to tell cancellations
        // apart (by the exception's type or token, or by a token source of known origin) and still lets the caller's in.
        if (catchClause.Filter is not null
            && !CallerFilterFacts.Read(catchClause, context.SemanticModel, types, context.CancellationToken).AdmitsByCancellationTest)
        {
            return;
        }

        if (TimeoutFacts.AmbiguousTimeoutSource(catchClause, context.SemanticModel, types, context.CancellationToken) is not null)
        {
            return;
        }

        var properties = tokenName is null
            ? ImmutableDictionary<string, string?>.Empty
            : ImmutableDictionary<string, string?>.Empty.Add(CodeFacts.TokenProperty, tokenName);
        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.CancellationSwallowed,
            Location.Create(catchClause.SyntaxTree, CatchFacts.CatchHeaderSpan(catchClause)),
            properties,
            catchClause.Declaration!.Type.ToString()));
    }
}
