using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers;

/// <summary>
/// CORRAL0012: the task that <c>TaskGroup.StartAsync</c> returns is dropped. Until the child calls <c>Started</c> it runs
/// under the caller's scope, and an exception before then faults that task, not the group: dropped, the child may
/// outlive the scope it runs in, and the exception is lost.
/// </summary>
/// <remarks>
/// Flagged: <c>group.StartAsync(…)</c> (either form) as a statement, discarded (<c>_ = group.StartAsync(…)</c>), or kept
/// in a local that nothing reads. Not flagged: awaited, returned, passed on (<c>Task.WhenAll</c>), or kept in a local that
/// is read. <c>Start</c> and <c>Start&lt;T&gt;</c> are the group's own children and need no await (CORRAL0004 leaves them
/// alone for the same reason).
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0012StartAsyncNotAwaitedAnalyzer : DiagnosticAnalyzer
{
    /// <summary>The key of the diagnostic property present when the fix can put <c>await</c> in front.</summary>
    internal const string CanAwaitProperty = "CanAwait";

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.StartAsyncNotAwaited);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.Create(start.Compilation);
            if (types.TaskGroup is null)
            {
                return;
            }

            start.RegisterSyntaxNodeAction(c => Analyze(c, types), SyntaxKind.InvocationExpression);
        });
    }

    private static void Analyze(SyntaxNodeAnalysisContext context, KnownTypes types)
    {
        var invocation = (InvocationExpressionSyntax)context.Node;
        var model = context.SemanticModel;
        if (invocation.Expression is not MemberAccessExpressionSyntax { Name.Identifier.ValueText: "StartAsync" }
            || model.GetSymbolInfo(invocation, context.CancellationToken).Symbol is not IMethodSymbol method
            || !types.IsTaskGroup(method.ContainingType))
        {
            return;
        }

        ExpressionSyntax value = invocation;
        while (value.Parent is ParenthesizedExpressionSyntax parenthesized)
        {
            value = parenthesized;
        }

        var statementForm = false;
        switch (value.Parent)
        {
            case ExpressionStatementSyntax:
                statementForm = true;
                break;
            case AssignmentExpressionSyntax { Parent: ExpressionStatementSyntax } discard when discard.Right == value
                && CodeFacts.IsDiscard(discard.Left, model, context.CancellationToken):
                statementForm = true;
                break;
            case EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator }:
                if (model.GetDeclaredSymbol(declarator, context.CancellationToken) is not ILocalSymbol local
                    || IsRead(local, declarator, model, context))
                {
                    return;
                }

                break;
            default:
                return;
        }

        var properties = statementForm && CodeFacts.IsAsync(CodeFacts.EnclosingFunction(invocation))
            ? ImmutableDictionary<string, string?>.Empty.Add(CanAwaitProperty, "true")
            : ImmutableDictionary<string, string?>.Empty;
        context.ReportDiagnostic(Diagnostic.Create(Descriptors.StartAsyncNotAwaited, invocation.GetLocation(), properties, invocation.Expression.ToString()));
    }

    private static bool IsRead(ILocalSymbol local, VariableDeclaratorSyntax declarator, SemanticModel model, SyntaxNodeAnalysisContext context)
    {
        var function = CodeFacts.EnclosingFunction(declarator);
        return function is null
            || CodeFacts.ReferencesTo(function, local, model, context.CancellationToken).Any();
    }
}
