using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;

namespace Corral.Analyzers;

/// <summary>
/// CORRAL0009: a wait that blocks the thread, made by a Corral body itself: the scope's cancellation and deadline cannot
/// cut it (flake8-async's ASYNC1xx/2xx, in Corral's terms).
/// </summary>
/// <remarks>
/// Flagged, in the code of a lambda given to a member of <c>TaskGroup</c> or <c>CancelScope</c> (or another Corral method
/// that hands it a scope's token): <c>Thread.Sleep</c> (not <c>Sleep(0)</c>), <c>Thread.Join</c>; <c>Task.Wait</c>,
/// <c>Task.WaitAll</c>, <c>Task.WaitAny</c> without a token; <c>.Result</c> of a <c>Task&lt;T&gt;</c> or
/// <c>ValueTask&lt;T&gt;</c>; <c>GetAwaiter().GetResult()</c>; the token-less <c>Wait</c> of <c>SemaphoreSlim</c>,
/// <c>ManualResetEventSlim</c>, <c>CountdownEvent</c>, <c>Barrier.SignalAndWait</c>; <c>WaitHandle.WaitOne</c>,
/// <c>WaitAll</c>, <c>WaitAny</c>. Not flagged: a wait given a token (the scope can cut it), code in a lambda nested in the
/// body (<c>Task.Run(() =&gt; …)</c> runs on a thread of its own), and <c>.Result</c>, <c>Wait</c> or <c>GetResult</c>
/// on a task that is already complete: <c>Task.FromResult</c>, a task the body awaited before, or checked with
/// <c>IsCompleted</c>, or any task once the body has awaited <c>Task.WhenAll</c> or <c>Task.WhenAny</c>.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0009BlockingWaitInBodyAnalyzer : DiagnosticAnalyzer
{
    /// <summary>The key of the diagnostic property that says which rewrite the code fix can make.</summary>
    internal const string FixProperty = "Fix";

    /// <summary><c>Thread.Sleep(x);</c> becomes <c>await Task.Delay(x, token);</c> or <c>await CancelScope.SleepAsync(…);</c>.</summary>
    internal const string FixSleep = "Sleep";

    /// <summary><c>task.Wait();</c>, <c>task.Result</c>, <c>task.GetAwaiter().GetResult()</c> become <c>await task.WaitAsync(token)</c>.</summary>
    internal const string FixWaitAsync = "WaitAsync";

    /// <summary><c>semaphore.Wait()</c> and <c>semaphore.Wait(timeout)</c> become <c>await semaphore.WaitAsync(…, token)</c>.</summary>
    internal const string FixSemaphore = "Semaphore";

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.BlockingWaitInBody);

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

            var canWaitAsync = types.Task.GetMembers("WaitAsync").OfType<IMethodSymbol>()
                .Any(m => m.Parameters.Length == 1 && types.IsCancellationToken(m.Parameters[0].Type));
            start.RegisterSyntaxNodeAction(c => AnalyzeInvocation(c, types, canWaitAsync), SyntaxKind.InvocationExpression);
            start.RegisterSyntaxNodeAction(c => AnalyzeResult(c, types, canWaitAsync), SyntaxKind.SimpleMemberAccessExpression);
        });
    }

    private static void AnalyzeInvocation(SyntaxNodeAnalysisContext context, KnownTypes types, bool canWaitAsync)
    {
        var invocation = (InvocationExpressionSyntax)context.Node;
        var model = context.SemanticModel;
        if (invocation.Expression is not MemberAccessExpressionSyntax member
            || !BodyFacts.IsInBody(invocation, model, types, context.CancellationToken)
            || model.GetSymbolInfo(invocation, context.CancellationToken).Symbol is not IMethodSymbol method)
        {
            return;
        }

        var takesToken = method.Parameters.Any(p => types.IsCancellationToken(p.Type));
        string? fix = null;
        ExpressionSyntax? awaited = null;
        var type = method.ContainingType;
        switch (method.Name)
        {
            case "Sleep" when IsSystemThreading(type, "Thread"):
                if (invocation.ArgumentList.Arguments.FirstOrDefault()?.Expression is LiteralExpressionSyntax { Token.ValueText: "0" })
                {
                    return;
                }

                fix = invocation.Parent is ExpressionStatementSyntax ? FixSleep : null;
                break;
            case "Join" when IsSystemThreading(type, "Thread"):
                break;
            case "Wait" when !method.IsStatic && types.IsTaskLike(type) && !takesToken:
                awaited = member.Expression;
                fix = canWaitAsync && method.Parameters.Length == 0 && invocation.Parent is ExpressionStatementSyntax ? FixWaitAsync : null;
                break;
            case "WaitAll" or "WaitAny" when method.IsStatic && SymbolEqualityComparer.Default.Equals(type, types.Task) && !takesToken:
                break;
            case "GetResult" when IsAwaiter(type) && member.Expression is InvocationExpressionSyntax
            {
                Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "GetAwaiter" } getAwaiter,
            }:
                awaited = getAwaiter.Expression;
                var task = model.GetTypeInfo(awaited, context.CancellationToken).Type;
                fix = canWaitAsync && KnownTypes.DerivesFrom(task, types.Task) ? FixWaitAsync : null;
                break;
            case "Wait" when IsSystemThreading(type, "SemaphoreSlim") && !takesToken:
                fix = FixSemaphore;
                break;
            case "Wait" when (IsSystemThreading(type, "ManualResetEventSlim") || IsSystemThreading(type, "CountdownEvent")) && !takesToken:
            case "SignalAndWait" when IsSystemThreading(type, "Barrier") && !takesToken:
            case "WaitOne" or "WaitAll" or "WaitAny" when KnownTypes.DerivesFrom(type, model.Compilation.GetTypeByMetadataName("System.Threading.WaitHandle")):
                break;
            default:
                return;
        }

        if (awaited is not null && IsKnownComplete(awaited, invocation, model, types, context.CancellationToken))
        {
            return;
        }

        Report(context, types, invocation, invocation.Expression.ToString(), fix);
    }

    private static void AnalyzeResult(SyntaxNodeAnalysisContext context, KnownTypes types, bool canWaitAsync)
    {
        var member = (MemberAccessExpressionSyntax)context.Node;
        if (member.Name.Identifier.ValueText != "Result")
        {
            return;
        }

        var model = context.SemanticModel;
        if (model.GetSymbolInfo(member, context.CancellationToken).Symbol is not IPropertySymbol { Name: "Result" } property
            || !types.IsTaskLike(property.ContainingType)
            || !BodyFacts.IsInBody(member, model, types, context.CancellationToken)
            || IsKnownComplete(member.Expression, member, model, types, context.CancellationToken))
        {
            return;
        }

        var fix = canWaitAsync && KnownTypes.DerivesFrom(property.ContainingType, types.Task) ? FixWaitAsync : null;
        Report(context, types, member, member.ToString(), fix);
    }

    private static void Report(SyntaxNodeAnalysisContext context, KnownTypes types, ExpressionSyntax wait, string text, string? fix)
    {
        var properties = ImmutableDictionary<string, string?>.Empty;
        var function = CodeFacts.EnclosingFunction(wait);
        var token = BodyFacts.ScopeTokenInReach(wait, context.SemanticModel, types, context.CancellationToken);

        // A rewrite to await is offered only where the body is already async, and (but for the sleep, which can use
        // CancelScope.SleepAsync) where it has a token to pass.
        if (fix is not null && CodeFacts.IsAsync(function) && (token is not null || fix == FixSleep))
        {
            properties = properties.Add(FixProperty, fix);
            if (token is not null)
            {
                properties = properties.Add(CodeFacts.TokenProperty, token);
            }
        }

        context.ReportDiagnostic(Diagnostic.Create(Descriptors.BlockingWaitInBody, wait.GetLocation(), properties, text));
    }

    /// <summary>
    /// Whether <paramref name="method"/> is a synchronous wait that has a token-taking overload (<c>SemaphoreSlim.Wait</c>,
    /// <c>Task.Wait</c>, …): CORRAL0008 leaves those to this rule, whose fix awaits instead of blocking with a token.
    /// </summary>
    internal static bool IsBlockingWaitWithTokenOverload(IMethodSymbol method, KnownTypes types)
    {
        var type = method.ContainingType;
        return method.Name switch
        {
            "Wait" => IsSystemThreading(type, "SemaphoreSlim") || IsSystemThreading(type, "ManualResetEventSlim")
                || IsSystemThreading(type, "CountdownEvent") || (types.IsTaskLike(type) && !method.IsStatic),
            "WaitAll" or "WaitAny" => method.IsStatic && SymbolEqualityComparer.Default.Equals(type, types.Task),
            "SignalAndWait" => IsSystemThreading(type, "Barrier"),
            _ => false,
        };
    }

    /// <summary>
    /// Whether the task <paramref name="task"/> is complete when <paramref name="wait"/> runs, as far as the body shows:
    /// <c>Task.FromResult(…)</c> or <c>Task.CompletedTask</c>; a task the body awaited before, or tests with
    /// <c>IsCompleted…</c>; any task once the body has awaited <c>Task.WhenAll</c> or <c>Task.WhenAny</c> (the results of a
    /// list of tasks are read that way).
    /// </summary>
    private static bool IsKnownComplete(ExpressionSyntax task, SyntaxNode wait, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        while (task is ParenthesizedExpressionSyntax parenthesized)
        {
            task = parenthesized.Expression;
        }

        if (task is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "FromResult" or "FromException" or "FromCanceled" } }
            || task is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "CompletedTask" })
        {
            return true;
        }

        var function = CodeFacts.EnclosingFunction(wait);
        if (function is null)
        {
            return false;
        }

        var symbol = task is InvocationExpressionSyntax ? null : model.GetSymbolInfo(task, cancellationToken).Symbol;
        foreach (var node in function.DescendantNodes())
        {
            switch (node)
            {
                case AwaitExpressionSyntax awaited when awaited.SpanStart < wait.SpanStart:
                    if (awaited.Expression.DescendantNodesAndSelf().OfType<InvocationExpressionSyntax>().Any(i =>
                            i.Expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "WhenAll" or "WhenAny" }))
                    {
                        return true;
                    }

                    if (symbol is not null && CodeFacts.ReferencesTo(awaited.Expression, symbol, model, cancellationToken).Any())
                    {
                        return true;
                    }

                    break;
                case MemberAccessExpressionSyntax { Name.Identifier.ValueText: "IsCompleted" or "IsCompletedSuccessfully" or "IsFaulted" or "IsCanceled" or "Status" } check
                    when symbol is not null && CodeFacts.ReferencesTo(check.Expression, symbol, model, cancellationToken).Any():
                    return true;
            }
        }

        return false;
    }

    private static bool IsSystemThreading(INamedTypeSymbol? type, string name) =>
        type is { ContainingNamespace: { Name: "Threading", ContainingNamespace: { Name: "System", ContainingNamespace.IsGlobalNamespace: true } } }
        && type.Name == name;

    private static bool IsAwaiter(INamedTypeSymbol? type)
    {
        for (var current = type; current is not null; current = current.ContainingType)
        {
            if (current.ContainingNamespace?.ToDisplayString() == "System.Runtime.CompilerServices" && current.Name.EndsWith("Awaiter", System.StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
