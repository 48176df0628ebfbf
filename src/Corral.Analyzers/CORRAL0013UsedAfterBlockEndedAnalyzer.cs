using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers;

/// <summary>
/// CORRAL0013: a <c>CancelScope</c> or <c>TaskGroup</c> that a body stored in a variable of the enclosing method, used
/// after the awaited call that ran the body has returned, when its block has ended.
/// </summary>
/// <remarks>
/// <para>Recognised: <c>await X(…, scope =&gt; { saved = scope; … })</c> (any Corral method given a lambda), where the lambda
/// assigns its <c>CancelScope</c> or <c>TaskGroup</c> parameter, the group's <c>Scope</c>, or <c>CancelScope.Current</c> to a
/// local of the enclosing method; then a use of that local after the statement of the <c>await</c>.</para>
/// <para>Flagged uses, the ones that act as if the block were still running: <c>Start</c>, <c>Start&lt;T&gt;</c>,
/// <c>StartAsync</c>, <c>ProduceAsync</c>, <c>StartSender</c> on a group (they throw on a closed group); <c>Token</c>
/// of a scope or of <c>group.Scope</c> handed to work, as an argument or kept in a variable (an exited scope is
/// unlinked: its ancestors and its deadline no longer cancel that token; reading its state is fine); setting
/// <c>Deadline</c> or <c>Shield</c> (no effect). Not flagged: reading the outcome
/// (<c>CancelledCaught</c>, <c>CancelCalled</c>, <c>CancelReason</c>, <c>IsCancellationRequested</c>), which is what such
/// a variable is for, and <c>Cancel</c>, which is allowed after the block. A local assigned again after the call is
/// left alone.</para>
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0013UsedAfterBlockEndedAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.UsedAfterBlockEnded);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.Create(start.Compilation);
            if (!types.HasCorral)
            {
                return;
            }

            start.RegisterSyntaxNodeAction(c => Analyze(c, types), SyntaxKind.AwaitExpression);
        });
    }

    private static void Analyze(SyntaxNodeAnalysisContext context, KnownTypes types)
    {
        var await = (AwaitExpressionSyntax)context.Node;
        var model = context.SemanticModel;
        var cancellationToken = context.CancellationToken;
        var operand = await.Expression;
        if (operand is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "ConfigureAwait" } configure })
        {
            operand = configure.Expression;
        }

        if (operand is not InvocationExpressionSyntax call
            || CodeFacts.EnclosingFunction(await) is not { } function
            || await.FirstAncestorOrSelf<StatementSyntax>() is not { } statement)
        {
            return;
        }

        foreach (var body in call.ArgumentList.Arguments.Select(a => a.Expression).OfType<AnonymousFunctionExpressionSyntax>())
        {
            var method = BodyFacts.CorralMethodReceiving(body, model, types, cancellationToken);
            if (method is null || model.GetSymbolInfo(body, cancellationToken).Symbol is not IMethodSymbol lambda)
            {
                continue;
            }

            foreach (var (saved, isGroup) in SavedLocals(body, lambda, function, model, types, cancellationToken))
            {
                ReportUsesAfter(context, saved, isGroup, statement, function, $"{method.ContainingType.Name}.{method.Name}");
            }
        }
    }

    /// <summary>The locals of <paramref name="function"/> that the body assigns its scope or group to, and whether each holds a group.</summary>
    private static IEnumerable<(ILocalSymbol Local, bool IsGroup)> SavedLocals(
        AnonymousFunctionExpressionSyntax body, IMethodSymbol lambda, SyntaxNode function, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        var seen = new HashSet<ILocalSymbol>(SymbolEqualityComparer.Default);
        foreach (var assignment in body.Body.DescendantNodesAndSelf().OfType<AssignmentExpressionSyntax>())
        {
            if (!assignment.IsKind(SyntaxKind.SimpleAssignmentExpression)
                || model.GetSymbolInfo(assignment.Left, cancellationToken).Symbol is not ILocalSymbol local
                || !local.DeclaringSyntaxReferences.Any(r => function.Span.Contains(r.Span) && !body.Span.Contains(r.Span))
                || CodeFacts.EnclosingFunction(local.DeclaringSyntaxReferences[0].GetSyntax(cancellationToken)) != function)
            {
                continue;
            }

            var value = assignment.Right;
            while (value is ParenthesizedExpressionSyntax or CastExpressionSyntax or PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.SuppressNullableWarningExpression })
            {
                value = value switch
                {
                    ParenthesizedExpressionSyntax p => p.Expression,
                    CastExpressionSyntax c => c.Expression,
                    PostfixUnaryExpressionSyntax u => u.Operand,
                    _ => value,
                };
            }

            var symbol = model.GetSymbolInfo(value, cancellationToken).Symbol;
            var ofBody = symbol switch
            {
                // The body's own scope or group parameter.
                IParameterSymbol parameter => lambda.Parameters.Contains(parameter, SymbolEqualityComparer.Default),
                // group.Scope of the body's group.
                IPropertySymbol { Name: "Scope" } when value is MemberAccessExpressionSyntax scope =>
                    model.GetSymbolInfo(scope.Expression, cancellationToken).Symbol is IParameterSymbol owner
                    && lambda.Parameters.Contains(owner, SymbolEqualityComparer.Default),
                // CancelScope.Current read by the body itself: the body's scope.
                IPropertySymbol { Name: "Current", IsStatic: true } current => types.IsCancelScope(current.ContainingType)
                    && CodeFacts.EnclosingFunction(assignment) == body,
                _ => false,
            };

            var type = model.GetTypeInfo(value, cancellationToken).Type;
            if (ofBody && (types.IsCancelScope(type) || types.IsTaskGroup(type)) && seen.Add(local))
            {
                yield return (local, types.IsTaskGroup(type));
            }
        }
    }

    private static void ReportUsesAfter(SyntaxNodeAnalysisContext context, ILocalSymbol saved, bool isGroup, StatementSyntax statement, SyntaxNode function, string block)
    {
        var model = context.SemanticModel;
        var uses = function.DescendantNodes().OfType<IdentifierNameSyntax>()
            .Where(i => i.SpanStart > statement.Span.End
                && i.Identifier.ValueText == saved.Name
                && SymbolEqualityComparer.Default.Equals(model.GetSymbolInfo(i, context.CancellationToken).Symbol, saved))
            .ToList();

        // Assigned again after the block: what it holds then is someone else's.
        if (uses.Any(u => u.Parent is AssignmentExpressionSyntax assignment && assignment.Left == u))
        {
            return;
        }

        foreach (var use in uses)
        {
            ExpressionSyntax read = use;
            while (read.Parent is ParenthesizedExpressionSyntax || read.Parent is PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.SuppressNullableWarningExpression })
            {
                read = (ExpressionSyntax)read.Parent;
            }

            var (member, name) = Member(read);
            var scopeOfGroup = false;
            if (isGroup && name == "Scope" && member is not null)
            {
                (member, name) = Member(member!);
                scopeOfGroup = true;
            }

            string? consequence = (name, isGroup && !scopeOfGroup) switch
            {
                (_, true) when name is not null && KnownTypes.GroupStartMethods.Contains(name) =>
                    "the group is closed, and starting a child there throws InvalidOperationException",
                ("Token", false) when HandsOn(member!) =>
                    "the scope has exited, so its ancestors and its deadline no longer cancel this token",
                ("Deadline" or "Shield", false) when member?.Parent is AssignmentExpressionSyntax assignment && assignment.Left == member =>
                    $"setting {name} on an exited scope has no effect",
                _ => null,
            };

            if (consequence is not null)
            {
                // `saved.Token`, `workers?.Start`: from the variable to the member's name.
                var span = Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(use.SpanStart, NameEnd(member!));
                var text = member!.SyntaxTree.GetText(context.CancellationToken).ToString(span);
                context.ReportDiagnostic(Diagnostic.Create(Descriptors.UsedAfterBlockEnded, Location.Create(member.SyntaxTree, span), text, block, consequence));
            }
        }
    }

    /// <summary>
    /// Whether the token read by <paramref name="token"/> is handed to work: passed as an argument or kept
    /// (<c>var t = saved.Token</c>, <c>x = saved.Token</c>). Reading its state (<c>saved.Token.IsCancellationRequested</c>)
    /// is not.
    /// </summary>
    private static bool HandsOn(ExpressionSyntax token)
    {
        var outer = token;
        while (outer.Parent is ParenthesizedExpressionSyntax or CastExpressionSyntax)
        {
            outer = (ExpressionSyntax)outer.Parent;
        }

        return outer.Parent switch
        {
            ArgumentSyntax => true,
            EqualsValueClauseSyntax => true,
            AssignmentExpressionSyntax assignment => assignment.Right == outer,
            _ => false,
        };
    }

    /// <summary>Where the member's name ends in a member access or conditional access.</summary>
    private static int NameEnd(ExpressionSyntax member) => member switch
    {
        MemberAccessExpressionSyntax access => access.Name.Span.End,
        ConditionalAccessExpressionSyntax { WhenNotNull: MemberBindingExpressionSyntax binding } => binding.Name.Span.End,
        ConditionalAccessExpressionSyntax { WhenNotNull: InvocationExpressionSyntax { Expression: MemberBindingExpressionSyntax binding } } => binding.Name.Span.End,
        _ => member.Span.End,
    };

    /// <summary>The member access or conditional access made on <paramref name="read"/>, and the member's name.</summary>
    private static (ExpressionSyntax? Member, string? Name) Member(ExpressionSyntax read) => read.Parent switch
    {
        MemberAccessExpressionSyntax access when access.Expression == read => (access, access.Name.Identifier.ValueText),
        ConditionalAccessExpressionSyntax { WhenNotNull: MemberBindingExpressionSyntax binding } conditional when conditional.Expression == read =>
            (conditional, binding.Name.Identifier.ValueText),
        ConditionalAccessExpressionSyntax { WhenNotNull: InvocationExpressionSyntax { Expression: MemberBindingExpressionSyntax binding } } conditional
            when conditional.Expression == read => (conditional, binding.Name.Identifier.ValueText),
        _ => (null, null),
    };
}
