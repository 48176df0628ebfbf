using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers;

/// <summary>
/// CORRAL0011: the <c>TaskGroup</c> a body receives escapes the body, to be used after the group closed, where
/// <c>Start</c> throws "Start on a closed group".
/// </summary>
/// <remarks>
/// <para>The group is the <c>TaskGroup</c> parameter of a lambda given to a Corral method (<c>TaskGroup.RunAsync(group =&gt; …)</c>).
/// Flagged, where the group is:</para>
/// <list type="bullet">
/// <item>stored in a field or property, when the type starts children through that member (calls <c>Start</c>,
/// <c>StartAsync</c>, <c>ProduceAsync</c> or <c>StartSender</c> on it, or on a local it copies it to); a member only ever
/// cancelled, read or passed to a method is not flagged, since <c>Cancel</c> after the end is allowed;</item>
/// <item>added to a collection held by a field, property or outer variable;</item>
/// <item>returned by the body (<c>RunAsync&lt;TaskGroup&gt;</c>);</item>
/// <item>used to start a child in a callback that runs later: an event handler (<c>+=</c>), a token registration
/// (<c>Register</c>), a <c>Timer</c>, <c>ThreadPool.QueueUserWorkItem</c>, a new <c>Thread</c>, <c>ContinueWith</c>, or a
/// delegate stored in a field, property or outer variable.</item>
/// </list>
/// <para>Not flagged: passing the group to a method (a helper that starts children while the body runs), a group kept in a
/// local of the enclosing method (CORRAL0013 reports its use after the block), a callback that only cancels the group,
/// and lambdas that run at once (LINQ, <c>Task.Run</c> awaited or reported by CORRAL0004).</para>
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0011GroupEscapesBodyAnalyzer : DiagnosticAnalyzer
{
    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.GroupEscapesBody);

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

            start.RegisterSyntaxNodeAction(
                c => Analyze(c, types),
                SyntaxKind.SimpleLambdaExpression,
                SyntaxKind.ParenthesizedLambdaExpression,
                SyntaxKind.AnonymousMethodExpression);
        });
    }

    private static void Analyze(SyntaxNodeAnalysisContext context, KnownTypes types)
    {
        var body = (AnonymousFunctionExpressionSyntax)context.Node;
        var model = context.SemanticModel;
        var cancellationToken = context.CancellationToken;
        if (BodyFacts.CorralMethodReceiving(body, model, types, cancellationToken) is null
            || model.GetSymbolInfo(body, cancellationToken).Symbol is not IMethodSymbol lambda)
        {
            return;
        }

        foreach (var group in lambda.Parameters.Where(p => types.IsTaskGroup(p.Type) && p.Name is not ("_" or "")))
        {
            foreach (var use in CodeFacts.ReferencesTo(body.Body, group, model, cancellationToken))
            {
                var how = Escape(use, body, model, types, cancellationToken);
                if (how is not null)
                {
                    context.ReportDiagnostic(Diagnostic.Create(Descriptors.GroupEscapesBody, use.GetLocation(), group.Name, how));
                }
            }
        }
    }

    /// <summary>How the group escapes at <paramref name="use"/>, in words for the message; null when it does not.</summary>
    private static string? Escape(IdentifierNameSyntax use, AnonymousFunctionExpressionSyntax body, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        var value = Outermost(use);
        switch (value.Parent)
        {
            case AssignmentExpressionSyntax assignment when assignment.Right == value:
                var target = model.GetSymbolInfo(assignment.Left, cancellationToken).Symbol;
                if (target is IFieldSymbol or IPropertySymbol && StartsChildrenThrough(target, model, cancellationToken))
                {
                    return $"stored in '{target.Name}'";
                }

                return null;
            case ReturnStatementSyntax when CodeFacts.EnclosingFunction(value) == body:
                return "returned by the body";
            case ArrowExpressionClauseSyntax:
                return null;
            case ArgumentSyntax { Parent: ArgumentListSyntax { Parent: InvocationExpressionSyntax call } }:
                if (call.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Add" or "Enqueue" or "Push" or "TryAdd" or "Insert" } collection
                    && IsOutside(model.GetSymbolInfo(collection.Expression, cancellationToken).Symbol, body))
                {
                    return $"added to '{collection.Expression}'";
                }

                if (call.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "FromResult" }
                    && (call.Parent is ReturnStatementSyntax || body.Body == call)
                    && CodeFacts.EnclosingFunction(call) == body)
                {
                    return "returned by the body";
                }

                return null;
        }

        if (body.Body == value)
        {
            // `group => group`: an expression body that is the group itself.
            return "returned by the body";
        }

        // A child started from a callback that runs later.
        if (value.Parent is MemberAccessExpressionSyntax { Name: var name } access
            && access.Expression == value
            && KnownTypes.GroupStartMethods.Contains(name.Identifier.ValueText)
            && DeferredCallback(use, body, model, cancellationToken) is { } callback)
        {
            return $"used to start a child in {callback}";
        }

        return null;
    }

    /// <summary>The expression that carries the group's value: the identifier, through parentheses, casts and <c>!</c>.</summary>
    private static ExpressionSyntax Outermost(ExpressionSyntax expression)
    {
        while (expression.Parent is ParenthesizedExpressionSyntax or CastExpressionSyntax
            || expression.Parent is PostfixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.SuppressNullableWarningExpression })
        {
            expression = (ExpressionSyntax)expression.Parent;
        }

        return expression;
    }

    /// <summary>
    /// Whether the type that declares the field or property <paramref name="member"/> starts children through it (in this
    /// file): calls a start method on it (<c>_group.Start(…)</c>, <c>_group?.StartAsync(…)</c>), or on a local it copied
    /// it to (<c>var group = _group; group.Start(…)</c>). A member only cancelled, read, or passed to a method is not
    /// flagged: <c>Cancel</c> after the end is allowed, and what a callee does with it is not seen here.
    /// </summary>
    private static bool StartsChildrenThrough(ISymbol member, SemanticModel model, CancellationToken cancellationToken)
    {
        foreach (var reference in member.ContainingType.DeclaringSyntaxReferences)
        {
            if (reference.SyntaxTree != model.SyntaxTree)
            {
                continue;
            }

            var declaration = reference.GetSyntax(cancellationToken);
            foreach (var identifier in CodeFacts.ReferencesTo(declaration, member, model, cancellationToken))
            {
                ExpressionSyntax read = identifier.Parent is MemberAccessExpressionSyntax { Name: var name } qualified && name == identifier ? qualified : identifier;
                read = Outermost(read);
                if (StartsThrough(read))
                {
                    return true;
                }

                // Copied to a local: the local's uses, one step.
                var copy = read.Parent switch
                {
                    AssignmentExpressionSyntax assignment when assignment.Right == read => model.GetSymbolInfo(assignment.Left, cancellationToken).Symbol as ILocalSymbol,
                    EqualsValueClauseSyntax { Parent: VariableDeclaratorSyntax declarator } => model.GetDeclaredSymbol(declarator, cancellationToken) as ILocalSymbol,
                    _ => null,
                };
                if (copy is not null && CodeFacts.EnclosingFunction(read) is { } function
                    && CodeFacts.ReferencesTo(function, copy, model, cancellationToken).Any(i => StartsThrough(Outermost(i))))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Whether a start method is called on <paramref name="read"/>.</summary>
    private static bool StartsThrough(ExpressionSyntax read) => read.Parent switch
    {
        MemberAccessExpressionSyntax { Name: var started } access => access.Expression == read && KnownTypes.GroupStartMethods.Contains(started.Identifier.ValueText),
        ConditionalAccessExpressionSyntax { WhenNotNull: InvocationExpressionSyntax { Expression: MemberBindingExpressionSyntax { Name: var bound } } } conditional =>
            conditional.Expression == read && KnownTypes.GroupStartMethods.Contains(bound.Identifier.ValueText),
        _ => false,
    };

    /// <summary>
    /// When <paramref name="use"/> sits in a lambda or local function nested in the body that runs later than the body's
    /// own code, what that callback is; otherwise null.
    /// </summary>
    private static string? DeferredCallback(SyntaxNode use, AnonymousFunctionExpressionSyntax body, SemanticModel model, CancellationToken cancellationToken)
    {
        for (var function = CodeFacts.EnclosingFunction(use); function is not null && function != body; function = CodeFacts.EnclosingFunction(function))
        {
            var callback = function is ExpressionSyntax expression ? Outermost(expression) : null;
            switch (callback?.Parent)
            {
                case AssignmentExpressionSyntax { RawKind: (int)SyntaxKind.AddAssignmentExpression } subscription
                    when model.GetSymbolInfo(subscription.Left, cancellationToken).Symbol is IEventSymbol:
                    return "an event handler";
                case AssignmentExpressionSyntax stored when stored.Right == callback
                    && IsOutside(model.GetSymbolInfo(stored.Left, cancellationToken).Symbol, body):
                    return "a delegate stored outside the body";
                case ArgumentSyntax { Parent: ArgumentListSyntax { Parent: { } call } }:
                    var target = model.GetSymbolInfo(call, cancellationToken).Symbol as IMethodSymbol;
                    var kind = target is null ? null : Deferring(target);
                    if (kind is not null)
                    {
                        return kind;
                    }

                    break;
            }
        }

        return null;
    }

    /// <summary>What kind of later-running callback a method takes, if it is one of the known schedulers.</summary>
    private static string? Deferring(IMethodSymbol method)
    {
        var type = method.ContainingType?.ToDisplayString();
        return (method.Name, type) switch
        {
            ("Register" or "UnsafeRegister", "System.Threading.CancellationToken") => "a token registration",
            (".ctor", "System.Threading.Timer") => "a timer callback",
            (".ctor", "System.Threading.Thread") => "a thread",
            ("QueueUserWorkItem" or "UnsafeQueueUserWorkItem", "System.Threading.ThreadPool") => "a thread-pool work item",
            ("ContinueWith", _) when type is not null && type.StartsWith("System.Threading.Tasks.Task", System.StringComparison.Ordinal) => "a continuation",
            _ => null,
        };
    }

    /// <summary>Whether <paramref name="symbol"/> is a field, property, or a variable declared outside <paramref name="body"/>.</summary>
    private static bool IsOutside(ISymbol? symbol, SyntaxNode body) => symbol switch
    {
        IFieldSymbol or IPropertySymbol => true,
        ILocalSymbol or IParameterSymbol => !symbol.DeclaringSyntaxReferences.Any(r => body.Span.Contains(r.Span)),
        _ => false,
    };
}
