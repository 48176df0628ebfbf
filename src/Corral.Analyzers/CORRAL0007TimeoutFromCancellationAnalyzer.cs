using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
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
/// Flagged when a catch of cancellation guards a try block that uses the token of a local
/// <c>CancellationTokenSource</c> with a timeout (constructor argument or <c>CancelAfter</c>) and that source
/// is linked to another token, or the try block also uses the caller's token; and the catch has no filter, or a filter
/// that still admits the caller's cancellation by what it tests: <c>when (timeoutCts.IsCancellationRequested)</c> or
/// <c>when (timeoutCts.Token.IsCancellationRequested)</c> on the linked source itself (cancelled with the caller's
/// token), <c>when (e is TaskCanceledException)</c>. A filter such as <c>when (!ct.IsCancellationRequested)</c> tells the
/// two apart and is not flagged; nor is a source with a timeout and no other token in play.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0007TimeoutFromCancellationAnalyzer : DiagnosticAnalyzer
{
    /// <summary>
    /// The key of the diagnostic property that names the caller's tokens the fix filters on, separated by
    /// <see cref="CallerTokenSeparator"/> (each one a chain of names that reads the same token at the catch). Absent
    /// when some caller's token cannot be named there: then no fix is offered.
    /// </summary>
    internal const string CallerTokensProperty = "CallerTokens";

    /// <summary>Separates the tokens in <see cref="CallerTokensProperty"/>; a chain of names never contains it.</summary>
    internal const string CallerTokenSeparator = ",";

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
        var source = TimeoutFacts.AmbiguousTimeoutSource(catchClause, context.SemanticModel, types, context.CancellationToken, out var callerTokens);
        if (source is null)
        {
            return;
        }

        var tokens = NameAtCatch(callerTokens, catchClause, context.SemanticModel, types, context.CancellationToken);
        var properties = tokens is null
            ? ImmutableDictionary<string, string?>.Empty
            : ImmutableDictionary<string, string?>.Empty.Add(CallerTokensProperty, tokens);
        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.TimeoutFromCancellation,
            Location.Create(catchClause.SyntaxTree, CatchFacts.CatchHeaderSpan(catchClause)),
            properties,
            catchClause.Declaration!.Type.ToString(),
            source.Name));
    }

    /// <summary>
    /// The caller's tokens as a filter on <paramref name="catchClause"/> can name them, each once, joined by
    /// <see cref="CallerTokenSeparator"/>; null when there are none or one of them cannot be named there (a call,
    /// an array of tokens, a name that something closer hides at the catch), since a filter on only some of them
    /// would still read the others' cancellation as a timeout.
    /// </summary>
    private static string? NameAtCatch(ImmutableArray<ExpressionSyntax> callerTokens, CatchClauseSyntax catchClause, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        // Names are bound just inside the catch block, where the exception variable is in scope as it is in the
        // filter. The block's own locals are in scope there too, and not in the filter: a local that hides the
        // token's name there only withholds the fix, it never yields a filter that reads something else.
        var position = catchClause.Block.OpenBraceToken.Span.End;
        var names = new List<string>();
        foreach (var token in callerTokens)
        {
            var name = types.IsCancellationToken(model.GetTypeInfo(token, cancellationToken).Type)
                ? CodeFacts.NameAt(token, position, model, cancellationToken)
                : null;
            if (name is null)
            {
                return null;
            }

            if (!names.Contains(name))
            {
                names.Add(name);
            }
        }

        return names.Count == 0 ? null : string.Join(CallerTokenSeparator, names);
    }
}
