using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers;

/// <summary>
/// CORRAL0004: a task started and dropped inside the body of a task group or a cancel scope.
/// </summary>
/// <remarks>
/// Inspected: the statements of a lambda or anonymous method passed straight to a member of
/// <c>Corral.TaskGroup</c> or <c>Corral.CancelScope</c> (<c>TaskGroup.RunAsync</c>, <c>group.Start</c>,
/// <c>CancelScope.RunAsync</c>, <c>MoveOnAfterAsync</c>, <c>ShieldAsync</c>, …). Flagged: an expression
/// statement, or a discard assignment <c>_ = …</c>, whose value is a <c>Task</c> or <c>ValueTask</c> from a
/// call or an object creation (<c>Task.Run</c>, <c>Task.Factory.StartNew</c>, <c>SendAsync(…)</c>). Not flagged:
/// the group's own <c>Start</c> methods (the group owns those children), and already-completed tasks
/// (<c>Task.FromResult</c>, <c>Task.CompletedTask</c>, …).
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0004FireAndForgetInScopeAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.FireAndForgetInScope);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.Create(start.Compilation);
            if (!types.HasCorral || types.Task is null)
            {
                return;
            }

            start.RegisterSyntaxNodeAction(c => Analyze(c, types), SyntaxKind.ExpressionStatement);
        });
    }

    private static void Analyze(SyntaxNodeAnalysisContext context, KnownTypes types)
    {
        var statement = (ExpressionStatementSyntax)context.Node;
        var model = context.SemanticModel;
        var expression = statement.Expression;
        var task = expression;
        if (expression is AssignmentExpressionSyntax { RawKind: (int)SyntaxKind.SimpleAssignmentExpression } assignment)
        {
            if (!CodeFacts.IsDiscard(assignment.Left, model, context.CancellationToken))
            {
                return;
            }

            task = assignment.Right;
        }

        if (task is not (InvocationExpressionSyntax or BaseObjectCreationExpressionSyntax)
            || !types.IsTaskLike(model.GetTypeInfo(task, context.CancellationToken).Type))
        {
            return;
        }

        if (model.GetSymbolInfo(task, context.CancellationToken).Symbol is IMethodSymbol method)
        {
            if (types.IsTaskGroup(method.ContainingType))
            {
                return;
            }

            if (types.IsTaskLike(method.ContainingType) && method.Name is "FromResult" or "FromException" or "FromCanceled")
            {
                return;
            }
        }

        var function = CodeFacts.EnclosingFunction(statement);
        if (BodyFacts.CorralMethodReceiving(function, model, types, context.CancellationToken) is null)
        {
            return;
        }

        var properties = ImmutableDictionary<string, string?>.Empty;
        var group = BodyFacts.GroupInReach(statement, model, types, context.CancellationToken);
        if (group is not null)
        {
            properties = properties.Add(CodeFacts.GroupProperty, group);
        }

        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.FireAndForgetInScope,
            expression.GetLocation(),
            properties,
            Describe(task)));
    }

    private static string Describe(ExpressionSyntax task) => task switch
    {
        InvocationExpressionSyntax invocation => invocation.Expression.ToString(),
        BaseObjectCreationExpressionSyntax creation => creation.ToString(),
        _ => task.ToString(),
    };
}
