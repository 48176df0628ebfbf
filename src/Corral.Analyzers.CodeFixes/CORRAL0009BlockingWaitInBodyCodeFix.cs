using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Analyzers;

/// <summary>
/// Fixes CORRAL0009 by awaiting the asynchronous form with the scope's token, where the body is already async:
/// <list type="bullet">
/// <item><c>Thread.Sleep(x);</c> becomes <c>await Task.Delay(x, ct);</c> (real time, as before), or
/// <c>await CancelScope.SleepAsync(…);</c> (the scope's clock: virtual time in tests);</item>
/// <item><c>task.Wait();</c>, <c>task.Result</c> and <c>task.GetAwaiter().GetResult()</c> become
/// <c>await task.WaitAsync(ct)</c>;</item>
/// <item><c>semaphore.Wait(…)</c> becomes <c>await semaphore.WaitAsync(…, ct)</c>.</item>
/// </list>
/// Nothing is offered for waits with no asynchronous twin (<c>ManualResetEventSlim.Wait</c>, <c>WaitHandle.WaitOne</c>),
/// for timed <c>Task.Wait</c> (its <c>false</c> would become a <c>TimeoutException</c>), or in a body that is not async.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(CORRAL0009BlockingWaitInBodyCodeFix))]
[Shared]
public sealed class CORRAL0009BlockingWaitInBodyCodeFix : CodeFixProvider
{
    /// <inheritdoc/>
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(Descriptors.BlockingWaitInBody.Id);

    /// <inheritdoc/>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    /// <inheritdoc/>
    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(CORRAL0009BlockingWaitInBodyAnalyzer.FixProperty, out var fix) || fix is null)
            {
                continue;
            }

            diagnostic.Properties.TryGetValue(CodeFacts.TokenProperty, out var token);
            var wait = root?.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true) as ExpressionSyntax;
            if (wait is null)
            {
                continue;
            }

            switch (fix)
            {
                case CORRAL0009BlockingWaitInBodyAnalyzer.FixSleep when wait is InvocationExpressionSyntax sleep:
                    if (token is not null)
                    {
                        context.RegisterCodeFix(
                            CodeAction.Create(
                                $"Await Task.Delay with '{token}'",
                                c => DelayAsync(context.Document, sleep, token, c),
                                equivalenceKey: "CORRAL0009.Delay"),
                            diagnostic);
                    }

                    context.RegisterCodeFix(
                        CodeAction.Create(
                            "Await CancelScope.SleepAsync",
                            c => SleepAsync(context.Document, sleep, c),
                            equivalenceKey: "CORRAL0009.SleepAsync"),
                        diagnostic);
                    break;
                case CORRAL0009BlockingWaitInBodyAnalyzer.FixWaitAsync when token is not null && Awaited(wait) is { } task:
                    context.RegisterCodeFix(
                        CodeAction.Create(
                            $"Await WaitAsync with '{token}'",
                            c => ReplaceWithAwaitAsync(context.Document, wait, Await($"{Receiver(task)}.WaitAsync({token})"), c),
                            equivalenceKey: "CORRAL0009.WaitAsync"),
                        diagnostic);
                    break;
                case CORRAL0009BlockingWaitInBodyAnalyzer.FixSemaphore when token is not null
                    && wait is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax semaphore } call:
                    var arguments = call.ArgumentList.Arguments.Count == 0 ? token : Arguments(call) + ", " + token;
                    context.RegisterCodeFix(
                        CodeAction.Create(
                            $"Await WaitAsync with '{token}'",
                            c => ReplaceWithAwaitAsync(context.Document, wait, Await($"{Receiver(semaphore.Expression)}.WaitAsync({arguments})"), c),
                            equivalenceKey: "CORRAL0009.WaitAsync"),
                        diagnostic);
                    break;
            }
        }
    }

    /// <summary>The task a <c>Wait()</c>, <c>.Result</c> or <c>GetAwaiter().GetResult()</c> waits for.</summary>
    private static ExpressionSyntax? Awaited(ExpressionSyntax wait) => wait switch
    {
        MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Result" } result => result.Expression,
        InvocationExpressionSyntax
        {
            Expression: MemberAccessExpressionSyntax
            {
                Name.Identifier.ValueText: "GetResult",
                Expression: InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "GetAwaiter" } getAwaiter },
            },
        } => getAwaiter.Expression,
        InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Wait" } waitCall } => waitCall.Expression,
        _ => null,
    };

    /// <summary>The receiver's text, parenthesized when a member access would otherwise bind to part of it.</summary>
    private static string Receiver(ExpressionSyntax receiver) =>
        receiver is IdentifierNameSyntax or MemberAccessExpressionSyntax or InvocationExpressionSyntax or ElementAccessExpressionSyntax
            or ParenthesizedExpressionSyntax or ThisExpressionSyntax
            ? receiver.WithoutTrivia().ToString()
            : "(" + receiver.WithoutTrivia() + ")";

    private static string Arguments(InvocationExpressionSyntax call) =>
        string.Join(", ", call.ArgumentList.Arguments.Select(a => a.WithoutTrivia().ToString()));

    private static ExpressionSyntax Await(string operand) =>
        SyntaxFactory.ParseExpression("await " + operand);

    private static async Task<Document> DelayAsync(Document document, InvocationExpressionSyntax sleep, string token, CancellationToken cancellationToken)
    {
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var task = FixFacts.TypeName(model!, sleep.SpanStart, "System.Threading.Tasks.Task");
        return await ReplaceWithAwaitAsync(document, sleep, Await($"{task}.Delay({Arguments(sleep)}, {token})"), cancellationToken).ConfigureAwait(false);
    }

    private static async Task<Document> SleepAsync(Document document, InvocationExpressionSyntax sleep, CancellationToken cancellationToken)
    {
        var model = await document.GetSemanticModelAsync(cancellationToken).ConfigureAwait(false);
        var argument = sleep.ArgumentList.Arguments[0].Expression;
        var semantic = model!;
        var type = semantic.GetTypeInfo(argument, cancellationToken).ConvertedType;
        var delay = type?.SpecialType == SpecialType.System_Int32
            ? $"{FixFacts.TypeName(semantic, sleep.SpanStart, "System.TimeSpan")}.FromMilliseconds({argument.WithoutTrivia()})"
            : argument.WithoutTrivia().ToString();
        var cancelScope = FixFacts.TypeName(semantic, sleep.SpanStart, "Corral.CancelScope");
        return await ReplaceWithAwaitAsync(document, sleep, Await($"{cancelScope}.SleepAsync({delay})"), cancellationToken).ConfigureAwait(false);
    }

    private static Task<Document> ReplaceWithAwaitAsync(Document document, ExpressionSyntax wait, ExpressionSyntax awaited, CancellationToken cancellationToken)
    {
        // await binds looser than member access: `(await t.WaitAsync(ct)).Length`.
        ExpressionSyntax replacement = wait.Parent is MemberAccessExpressionSyntax or ElementAccessExpressionSyntax or ConditionalAccessExpressionSyntax
            or InvocationExpressionSyntax or PostfixUnaryExpressionSyntax
            ? SyntaxFactory.ParenthesizedExpression(awaited)
            : awaited;
        return FixFacts.ReplaceAsync(document, wait, replacement.WithTriviaFrom(wait), cancellationToken);
    }
}
