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
/// CORRAL0010: a timeout scope whose body nothing can cut: it never reads the scope's token and reaches no checkpoint, so
/// the deadline cannot fire into it (<c>MoveOnAfterAsync(5s, _ =&gt; SyncWork())</c>).
/// </summary>
/// <remarks>
/// <para>Inspected: the lambda given as the body of <c>MoveOnAfterAsync</c>, <c>MoveOnAtAsync</c>, <c>FailAfterAsync</c>,
/// <c>FailAtAsync</c>, <c>ShieldAsync</c> with a timeout, and <c>CancelScope.RunAsync</c> with options that set
/// <c>Timeout</c> or <c>Deadline</c> in place.</para>
/// <para>The body can be cut, and is not flagged, when anything in it (nested lambdas included, since the ambient scope
/// flows into them) reads its token or scope parameter, reads <c>CancelScope.Current</c> or <c>CurrentToken</c>, calls
/// anything of Corral's (every Corral <c>…Async</c> method is a checkpoint), or calls something that might: a method of
/// an assembly that references Corral, a delegate, an interface or virtual method declared in source, a method declared
/// in another file. Methods in this file are read in turn, three calls deep. A body that calls nothing (returns
/// <c>Task.CompletedTask</c>) has nothing to cut and is not flagged either.</para>
/// <para>Left to other rules: a body with a named token that passes <c>None</c> (CORRAL0005) or leaves out a token a call
/// could take (CORRAL0008); their fixes cut it.</para>
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class CORRAL0010UncuttableTimeoutBodyAnalyzer : DiagnosticAnalyzer
{
    /// <summary>How many calls deep the methods of this file are read.</summary>
    private const int MaxDepth = 3;

    /// <inheritdoc/>
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(Descriptors.UncuttableTimeoutBody);

    /// <inheritdoc/>
    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = KnownTypes.Create(start.Compilation);
            if (types.CancelScope is null || types.CancellationToken is null)
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
        var cancellationToken = context.CancellationToken;
        if (invocation.Expression is not MemberAccessExpressionSyntax { Name.Identifier.ValueText: "MoveOnAfterAsync" or "MoveOnAtAsync" or "FailAfterAsync" or "FailAtAsync" or "ShieldAsync" or "RunAsync" }
            || model.GetSymbolInfo(invocation, cancellationToken).Symbol is not IMethodSymbol method
            || !types.IsCancelScope(method.ContainingType)
            || !HasDeadline(invocation, method, model, cancellationToken))
        {
            return;
        }

        var body = invocation.ArgumentList.Arguments.Select(a => a.Expression).OfType<AnonymousFunctionExpressionSyntax>().FirstOrDefault();
        if (body is null || model.GetSymbolInfo(body, cancellationToken).Symbol is not IMethodSymbol lambda)
        {
            return;
        }

        var scopeParameters = lambda.Parameters.Where(p => TokenFacts.IsCancellationCarrier(p.Type, types)).ToList();
        var walker = new Walker(model, types, scopeParameters, cancellationToken);
        if (!walker.DoesWork(body) || walker.CanBeCut(body, 0))
        {
            return;
        }

        // A named token that the body does not pass on: CORRAL0005 and CORRAL0008 point at the call to give it to.
        if (BodyFacts.ScopeTokenInReach(body.Body, model, types, cancellationToken) is not null
            && CodeFacts.DescendantsInSameFunction(body).OfType<InvocationExpressionSyntax>().Any(call =>
                CORRAL0008TokenNotForwardedAnalyzer.LeavesTokenOut(call, model, types, out _, cancellationToken)
                || call.ArgumentList.Arguments.Any(a => TokenFacts.IsNone(a.Expression)
                    && types.IsCancellationToken(model.GetTypeInfo(a.Expression, cancellationToken).ConvertedType))))
        {
            return;
        }

        var name = ((MemberAccessExpressionSyntax)invocation.Expression).Name.Identifier.ValueText;
        // The body's head (`async _ =>`, `delegate (CancellationToken t)`): the part that says what the body receives.
        var headEnd = body switch
        {
            LambdaExpressionSyntax arrow => arrow.ArrowToken.Span.End,
            AnonymousMethodExpressionSyntax anonymous => anonymous.ParameterList?.Span.End ?? anonymous.DelegateKeyword.Span.End,
            _ => body.Body.SpanStart,
        };
        var location = Location.Create(invocation.SyntaxTree, Microsoft.CodeAnalysis.Text.TextSpan.FromBounds(body.SpanStart, headEnd));
        context.ReportDiagnostic(Diagnostic.Create(Descriptors.UncuttableTimeoutBody, location, name));
    }

    /// <summary>Whether the call gives its scope a deadline: the timeout methods always; ShieldAsync with a timeout; RunAsync with options that set one in place.</summary>
    private static bool HasDeadline(InvocationExpressionSyntax invocation, IMethodSymbol method, SemanticModel model, CancellationToken cancellationToken)
    {
        switch (method.Name)
        {
            case "MoveOnAfterAsync" or "MoveOnAtAsync" or "FailAfterAsync" or "FailAtAsync":
                return true;
            case "ShieldAsync":
                var timeout = Argument(invocation, method, "timeout", model, cancellationToken);
                return timeout is not null && !timeout.IsKind(SyntaxKind.NullLiteralExpression) && !timeout.IsKind(SyntaxKind.DefaultLiteralExpression);
            case "RunAsync":
                return Argument(invocation, method, "options", model, cancellationToken) is BaseObjectCreationExpressionSyntax { Initializer: { } initializer }
                    && initializer.Expressions.OfType<AssignmentExpressionSyntax>().Any(a =>
                        a.Left is IdentifierNameSyntax { Identifier.ValueText: "Timeout" or "Deadline" } && !a.Right.IsKind(SyntaxKind.NullLiteralExpression));
            default:
                return false;
        }
    }

    private static ExpressionSyntax? Argument(InvocationExpressionSyntax invocation, IMethodSymbol method, string name, SemanticModel model, CancellationToken cancellationToken)
    {
        var parameter = method.Parameters.FirstOrDefault(p => p.Name == name);
        if (parameter is null)
        {
            return null;
        }

        var arguments = invocation.ArgumentList.Arguments;
        var named = arguments.FirstOrDefault(a => a.NameColon?.Name.Identifier.ValueText == name);
        if (named is not null)
        {
            return named.Expression;
        }

        return parameter.Ordinal < arguments.Count && arguments.Take(parameter.Ordinal + 1).All(a => a.NameColon is null)
            ? arguments[parameter.Ordinal].Expression
            : null;
    }

    /// <summary>Reads a body, and the methods of this file it calls, for anything that could observe the scope.</summary>
    private sealed class Walker
    {
        private readonly SemanticModel _model;
        private readonly KnownTypes _types;
        private readonly List<IParameterSymbol> _scopeParameters;
        private readonly CancellationToken _cancellationToken;
        private readonly HashSet<IMethodSymbol> _visited = new(SymbolEqualityComparer.Default);

        public Walker(SemanticModel model, KnownTypes types, List<IParameterSymbol> scopeParameters, CancellationToken cancellationToken)
        {
            _model = model;
            _types = types;
            _scopeParameters = scopeParameters;
            _cancellationToken = cancellationToken;
        }

        /// <summary>Whether the body does anything that takes time: an await, or a call other than making a completed task.</summary>
        public bool DoesWork(SyntaxNode body) =>
            body.DescendantNodes().Any(n => n switch
            {
                AwaitExpressionSyntax { Expression: var awaited } => !IsTrivial(awaited),
                InvocationExpressionSyntax call => !IsTrivial(call),
                _ => false,
            });

        private bool IsTrivial(ExpressionSyntax expression) =>
            expression is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "FromResult" or "Yield" or "FromException" or "FromCanceled" } }
            || expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "CompletedTask" }
            || (expression is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "ConfigureAwait" } configure }
                && IsTrivial(configure.Expression));

        /// <summary>Whether anything under <paramref name="node"/> can observe the scope.</summary>
        public bool CanBeCut(SyntaxNode node, int depth)
        {
            foreach (var descendant in node.DescendantNodes())
            {
                switch (descendant)
                {
                    case IdentifierNameSyntax identifier:
                        var symbol = _model.GetSymbolInfo(identifier, _cancellationToken).Symbol;
                        if (symbol is IParameterSymbol parameter && _scopeParameters.Contains(parameter, SymbolEqualityComparer.Default))
                        {
                            return true;
                        }

                        if (symbol is IMethodSymbol or IPropertySymbol or IFieldSymbol or IEventSymbol && KnownTypes.IsInCorralNamespace(symbol.ContainingType))
                        {
                            return true;
                        }

                        break;
                    case InvocationExpressionSyntax call when MayObserve(call, depth):
                        return true;
                }
            }

            return false;
        }

        private bool MayObserve(InvocationExpressionSyntax call, int depth)
        {
            var info = _model.GetSymbolInfo(call, _cancellationToken);
            if (info.Symbol is not IMethodSymbol method)
            {
                // Unresolved, dynamic, or ambiguous: it could be anything.
                return true;
            }

            if (method.MethodKind == MethodKind.DelegateInvoke || KnownTypes.IsInCorralNamespace(method.ContainingType))
            {
                return true;
            }

            method = method.ReducedFrom ?? method;
            if (!method.Locations.Any(l => l.IsInSource))
            {
                // Compiled code: the BCL knows nothing of Corral's ambient scope; a library built on Corral might.
                return method.ContainingAssembly?.Modules.Any(m => m.ReferencedAssemblies.Any(a => a.Name == "Corral")) == true;
            }

            if (method.IsVirtual || method.IsAbstract || method.IsOverride || method.ContainingType?.TypeKind == TypeKind.Interface
                || method.IsPartialDefinition || method.DeclaringSyntaxReferences.Length != 1)
            {
                return true;
            }

            var declaration = method.DeclaringSyntaxReferences[0].GetSyntax(_cancellationToken);
            if (declaration.SyntaxTree != _model.SyntaxTree || depth >= MaxDepth)
            {
                return true;
            }

            if (!_visited.Add(method))
            {
                return false;
            }

            // A method that takes a token or a scope, or reads one, decides itself whether it can be cut.
            return method.Parameters.Any(p => TokenFacts.IsCancellationCarrier(p.Type, _types))
                || CanBeCut(declaration, depth + 1)
                || declaration.DescendantNodes().Any(n => n is IdentifierNameSyntax or MemberAccessExpressionSyntax
                    && _types.IsCancellationToken(_model.GetTypeInfo(n, _cancellationToken).Type));
        }
    }
}
