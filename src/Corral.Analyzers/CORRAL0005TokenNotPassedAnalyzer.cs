using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers;

/// <summary>
/// CORRAL0005: <c>CancellationToken.None</c> or <c>default</c> passed inside a Corral body whose token is in reach.
/// </summary>
/// <remarks>
/// Flagged: an argument for a <c>CancellationToken</c> parameter written as <c>CancellationToken.None</c>,
/// <c>default</c>, <c>default(CancellationToken)</c> or <c>new CancellationToken()</c>, inside a lambda passed
/// to a member of <c>TaskGroup</c> or <c>CancelScope</c> (or a lambda nested in one) that receives a
/// token, a <c>CancelScope</c> or a <c>TaskGroup</c>. Not flagged inside <c>finally</c> and <c>catch</c>
/// blocks, where passing no token to cleanup is a deliberate choice (CORRAL0006 covers those), nor as the
/// scheduling token of <c>Task.Run</c>, <c>TaskFactory.StartNew</c> or <c>ContinueWith</c>.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0005TokenNotPassedAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.TokenNotPassed);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.Create(start.Compilation);
            if (!types.HasCorral || types.CancellationToken is null)
            {
                return;
            }

            start.RegisterSyntaxNodeAction(c => Analyze(c, types), SyntaxKind.Argument);
        });
    }

    private static void Analyze(SyntaxNodeAnalysisContext context, KnownTypes types)
    {
        var argument = (ArgumentSyntax)context.Node;
        var model = context.SemanticModel;
        if (!IsNoToken(argument.Expression, model, types, context))
        {
            return;
        }

        // Task.Run, TaskFactory.StartNew and ContinueWith use the token only to decide whether to start the
        // delegate; the work inside cannot observe it. Passing None there is a choice, not a lost token.
        if (argument.Parent?.Parent is InvocationExpressionSyntax invocation
            && model.GetSymbolInfo(invocation, context.CancellationToken).Symbol is IMethodSymbol { Name: "Run" or "StartNew" or "ContinueWith" } scheduler
            && scheduler.ContainingType.ContainingNamespace?.ToDisplayString() == "System.Threading.Tasks")
        {
            return;
        }

        for (var current = argument.Parent; current is not null && !CodeFacts.IsNestedFunction(current); current = current.Parent)
        {
            if (current is FinallyClauseSyntax or CatchClauseSyntax)
            {
                return;
            }
        }

        var token = BodyFacts.ScopeTokenInReach(argument, model, types, context.CancellationToken);
        if (token is null)
        {
            return;
        }

        context.ReportDiagnostic(Diagnostic.Create(
            Descriptors.TokenNotPassed,
            argument.Expression.GetLocation(),
            ImmutableDictionary<string, string?>.Empty.Add(CodeFacts.TokenProperty, token),
            argument.Expression.ToString(),
            token));
    }

    private static bool IsNoToken(ExpressionSyntax expression, SemanticModel model, KnownTypes types, SyntaxNodeAnalysisContext context)
    {
        switch (expression)
        {
            case MemberAccessExpressionSyntax { Name.Identifier.ValueText: "None" } member:
                return types.IsCancellationToken(model.GetTypeInfo(member.Expression, context.CancellationToken).Type)
                    || (model.GetSymbolInfo(member, context.CancellationToken).Symbol is IPropertySymbol property && types.IsCancellationToken(property.ContainingType));
            case LiteralExpressionSyntax { RawKind: (int)SyntaxKind.DefaultLiteralExpression }:
            case DefaultExpressionSyntax:
                return types.IsCancellationToken(model.GetTypeInfo(expression, context.CancellationToken).ConvertedType);
            case BaseObjectCreationExpressionSyntax creation:
                return types.IsCancellationToken(model.GetTypeInfo(creation, context.CancellationToken).Type)
                    && (creation.ArgumentList is null || creation.ArgumentList.Arguments.Count == 0
                        || creation.ArgumentList.Arguments[0].Expression.IsKind(SyntaxKind.FalseLiteralExpression));
            default:
                return false;
        }
    }
}
