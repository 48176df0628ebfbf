using System.Collections.Generic;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Corral.Analyzers;

// Reading an exception filter as the caller's cancellation sees it.
//
// The problem. A `when` filter on a catch that can receive cancellation looks like a decision about whose
// cancellation this is, and the first pass of the rules trusted every one. Two kinds of real bugs passed:
//
//     using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
//     timeoutCts.CancelAfter(budget);
//     try { await SendAsync(timeoutCts.Token); }
//     catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested) { throw new TimeoutException(); }
//
// reads like "only our timeout", but a linked source is cancelled whenever the caller's token is, so a shutdown is
// reported as a timeout; and
//
//     catch (Exception e) when (e is OperationCanceledException or TimeoutException) { misses++; }
//
// admits every cancellation and counts it as a miss, in a loop that goes round again.
//
// Approaches that fail. Trusting every filter (the first pass) misses both. Flagging every filter that can be true
// for some cancellation flags the right ones too: `when (!ct.IsCancellationRequested)` is true for an HttpClient
// timeout, and that is its point. Asking a whole-program data-flow analysis which tokens are linked to which needs
// more than one method's syntax and semantic model (all these rules see), and still cannot see fields set elsewhere.
//
// The solution. Evaluate the filter once, in one imagined world: the caller's token has just been cancelled, and
// nothing else has (the rule of thumb of the issue: a filter lets the caller's cancellation through only if it is
// false whenever the caller's token is cancelled). In that world, with what one method shows (TokenFacts):
//   - the caller's token, a Corral scope, a link with no timeout: cancelled. A filter that reads one of these decides
//     about the caller's cancellation on purpose (`when (ct.IsCancellationRequested)` at the top of a worker is the
//     idiom for "we are stopping"): Deliberate, trusted;
//   - a linked source given a timeout: cancelled, and read as "timed out";
//   - a source the method made with `new`, linked to nothing: not cancelled;
//   - the exception: an OperationCanceledException, perhaps a TaskCanceledException (Task.Delay, HttpClient) or
//     another subtype; `e is TaskCanceledException` is Maybe;
//   - a condition that does not look at the exception or at cancellation (`attempt < 3`): Maybe;
//   - anything else that looks at either (a helper that is not a one-line expression in this file, a field token):
//     Unknown.
// Connectives are Kleene's: false && unknown is false, true || unknown is true. The filter admits the caller's
// cancellation when it comes out True or Maybe; lets it through when False; Unknown is trusted.
//
// Limits. The world is one world: a filter that is right only when two tokens are cancelled together is read as in
// the common case. Tokens held in fields, and helpers in other files, are Unknown, so the reading stays quiet there
// (precision before recall). A helper is followed only when it is a single expression in the same file, two calls
// deep at most.

/// <summary>
/// Reads a catch clause's <c>when</c> filter under the hypothesis "the caller's token is cancelled, nothing else is" and
/// says whether the caller's cancellation enters the catch block (see the essay at the top of this file).
/// </summary>
internal static class CallerFilterFacts
{
    /// <summary>How many helper calls deep a filter is followed.</summary>
    private const int MaxHelperDepth = 2;

    /// <summary>Kleene's three truth values plus Maybe: "depends on something that is not cancellation".</summary>
    private enum Truth
    {
        False,
        True,
        Maybe,
        Unknown,
    }

    /// <summary>Reads the filter of <paramref name="catchClause"/>, which must have one.</summary>
    public static CallerFilterReading Read(CatchClauseSyntax catchClause, SemanticModel model, KnownTypes types, CancellationToken cancellationToken)
    {
        var reader = new Reader(model, types, FilterFacts.ExceptionVariable(catchClause, model, cancellationToken), cancellationToken);
        var truth = reader.Evaluate(catchClause.Filter!.FilterExpression, 0);
        var verdict = reader.Deliberate
            ? CallerFilterVerdict.Deliberate
            : truth switch
            {
                Truth.False => CallerFilterVerdict.LetsThrough,
                Truth.True or Truth.Maybe => CallerFilterVerdict.Admits,
                _ => CallerFilterVerdict.Unknown,
            };
        return new CallerFilterReading(verdict, reader.ReadsCancellation, reader.ReadsTimeout);
    }

    /// <summary>One reading: the model, the exception variable and its aliases in helpers, and what was seen.</summary>
    private sealed class Reader
    {
        private readonly SemanticModel _model;
        private readonly KnownTypes _types;
        private readonly CancellationToken _cancellationToken;

        /// <summary>Symbols that stand for the exception: the catch's variable, and the parameters of helpers it was passed to.</summary>
        private readonly HashSet<ISymbol> _exception = new(SymbolEqualityComparer.Default);

        public Reader(SemanticModel model, KnownTypes types, ISymbol? exceptionVariable, CancellationToken cancellationToken)
        {
            _model = model;
            _types = types;
            _cancellationToken = cancellationToken;
            if (exceptionVariable is not null)
            {
                _exception.Add(exceptionVariable);
            }
        }

        /// <summary>Whether the filter read the caller's own token or scope.</summary>
        public bool Deliberate { get; private set; }

        /// <summary>See <see cref="CallerFilterReading.ReadsCancellation"/>.</summary>
        public bool ReadsCancellation { get; private set; }

        /// <summary>See <see cref="CallerFilterReading.ReadsTimeout"/>.</summary>
        public bool ReadsTimeout { get; private set; }

        public Truth Evaluate(ExpressionSyntax expression, int depth)
        {
            switch (expression)
            {
                case ParenthesizedExpressionSyntax parenthesized:
                    return Evaluate(parenthesized.Expression, depth);
                case PrefixUnaryExpressionSyntax { RawKind: (int)SyntaxKind.LogicalNotExpression } not:
                    return Not(Evaluate(not.Operand, depth));
                case BinaryExpressionSyntax { RawKind: (int)SyntaxKind.LogicalAndExpression } and:
                    return And(Evaluate(and.Left, depth), Evaluate(and.Right, depth));
                case BinaryExpressionSyntax { RawKind: (int)SyntaxKind.LogicalOrExpression } or:
                    return Or(Evaluate(or.Left, depth), Evaluate(or.Right, depth));
                case ConditionalExpressionSyntax conditional:
                    return Conditional(Evaluate(conditional.Condition, depth), Evaluate(conditional.WhenTrue, depth), Evaluate(conditional.WhenFalse, depth));
                case LiteralExpressionSyntax { RawKind: (int)SyntaxKind.TrueLiteralExpression }:
                    return Truth.True;
                case LiteralExpressionSyntax { RawKind: (int)SyntaxKind.FalseLiteralExpression }:
                    return Truth.False;
                case BinaryExpressionSyntax { RawKind: (int)SyntaxKind.IsExpression } isType:
                    return IsException(isType.Left)
                        ? TypeTest(_model.GetTypeInfo(isType.Right, _cancellationToken).Type)
                        : Opaque(expression);
                case IsPatternExpressionSyntax isPattern:
                    return IsException(isPattern.Expression) ? Pattern(isPattern.Pattern) : Opaque(expression);
                case MemberAccessExpressionSyntax { Name.Identifier.ValueText: "IsCancellationRequested" } member:
                    return TokenState(member.Expression);
                case BinaryExpressionSyntax { RawKind: (int)SyntaxKind.EqualsExpression or (int)SyntaxKind.NotEqualsExpression } comparison:
                    var equal = Equality(comparison.Left, comparison.Right);
                    return comparison.IsKind(SyntaxKind.NotEqualsExpression) ? Not(equal) : equal;
                case InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "Equals" } equals } call
                    when call.ArgumentList.Arguments.Count == 1:
                    return Equality(equals.Expression, call.ArgumentList.Arguments[0].Expression);
                case InvocationExpressionSyntax call when depth < MaxHelperDepth && Helper(call) is { } helper:
                    return Evaluate(helper, depth + 1);
            }

            return Opaque(expression);
        }

        /// <summary>
        /// An expression the reading does not take apart: Unknown if it looks at the exception or at cancellation,
        /// Maybe (a condition independent of the cancellation) otherwise.
        /// </summary>
        private Truth Opaque(ExpressionSyntax expression)
        {
            foreach (var node in expression.DescendantNodesAndSelf())
            {
                if (node is not ExpressionSyntax part)
                {
                    continue;
                }

                if (part is IdentifierNameSyntax { Identifier.ValueText: "IsCancellationRequested" or "CancellationToken" })
                {
                    return Truth.Unknown;
                }

                if (part is IdentifierNameSyntax identifier
                    && _model.GetSymbolInfo(identifier, _cancellationToken).Symbol is { } symbol
                    && _exception.Contains(symbol))
                {
                    return Truth.Unknown;
                }

                if (part is IdentifierNameSyntax or MemberAccessExpressionSyntax
                    && TokenFacts.IsCancellationCarrier(_model.GetTypeInfo(part, _cancellationToken).Type, _types))
                {
                    return Truth.Unknown;
                }
            }

            return Truth.Maybe;
        }

        /// <summary><c>x.IsCancellationRequested</c> in the imagined world.</summary>
        private Truth TokenState(ExpressionSyntax owner)
        {
            if (!TokenFacts.IsCancellationCarrier(_model.GetTypeInfo(owner, _cancellationToken).Type, _types))
            {
                return Truth.Unknown;
            }

            return Read(TokenFacts.Classify(owner, _model, _types, _cancellationToken), Truth.True);
        }

        /// <summary>
        /// What a test of a token, source or scope of <paramref name="origin"/> comes to in the imagined world, noting
        /// what it read: <paramref name="whenCancelled"/> for one the caller's cancellation reaches (the caller's own, a
        /// link: deliberate; a linked timeout: read as the timeout), false for the method's own unlinked source.
        /// </summary>
        private Truth Read(TokenOrigin origin, Truth whenCancelled)
        {
            switch (origin)
            {
                case TokenOrigin.Caller:
                case TokenOrigin.Linked:
                    Deliberate = true;
                    return whenCancelled;
                case TokenOrigin.LinkedTimeout:
                    ReadsCancellation = true;
                    ReadsTimeout = true;
                    return whenCancelled;
                case TokenOrigin.Own:
                    ReadsCancellation = true;
                    return Truth.False;
                default:
                    return Truth.Unknown;
            }
        }

        /// <summary><c>a == b</c>: the exception's token against a known one, or its runtime type against <c>typeof(T)</c>.</summary>
        private Truth Equality(ExpressionSyntax left, ExpressionSyntax right)
        {
            if (ExceptionToken(right))
            {
                (left, right) = (right, left);
            }

            if (ExceptionToken(left))
            {
                if (!_types.IsCancellationToken(_model.GetTypeInfo(right, _cancellationToken).Type))
                {
                    return Truth.Unknown;
                }

                // The exception carries the token the operation observed: a token the caller's cancellation reaches may be it.
                return Read(TokenFacts.Classify(right, _model, _types, _cancellationToken), Truth.Maybe);
            }

            if (right is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "GetType" } } && left is TypeOfExpressionSyntax)
            {
                (left, right) = (right, left);
            }

            if (left is InvocationExpressionSyntax { Expression: MemberAccessExpressionSyntax { Name.Identifier.ValueText: "GetType" } getType, ArgumentList.Arguments.Count: 0 }
                && IsException(getType.Expression)
                && right is TypeOfExpressionSyntax typeOf)
            {
                // The runtime type of a cancellation is OperationCanceledException or one of its subtypes, never a base.
                var type = _model.GetTypeInfo(typeOf.Type, _cancellationToken).Type;
                if (type is null)
                {
                    return Truth.Unknown;
                }

                ReadsCancellation |= _types.IsCancellationException(type) || _types.CatchesCancellation(type);
                return _types.IsCancellationException(type) ? Truth.Maybe : Truth.False;
            }

            return Opaque(left) == Truth.Maybe && Opaque(right) == Truth.Maybe ? Truth.Maybe : Truth.Unknown;
        }

        /// <summary><c>e is T</c> for the caller's cancellation, an <c>OperationCanceledException</c> of some subtype.</summary>
        private Truth TypeTest(ITypeSymbol? type)
        {
            if (type is null)
            {
                return Truth.Unknown;
            }

            if (SymbolEqualityComparer.Default.Equals(type, _types.OperationCanceledException) || _types.CatchesCancellation(type))
            {
                ReadsCancellation = true;
                return Truth.True;
            }

            if (_types.IsCancellationException(type))
            {
                // TaskCanceledException (Task.Delay, HttpClient), Corral's ScopeCancelledException: some cancellations are.
                ReadsCancellation = true;
                return Truth.Maybe;
            }

            return Truth.False;
        }

        private Truth Pattern(PatternSyntax pattern)
        {
            switch (pattern)
            {
                case ParenthesizedPatternSyntax parenthesized:
                    return Pattern(parenthesized.Pattern);
                case UnaryPatternSyntax not:
                    return Not(Pattern(not.Pattern));
                case BinaryPatternSyntax binary:
                    var left = Pattern(binary.Left);
                    var right = Pattern(binary.Right);
                    return binary.IsKind(SyntaxKind.AndPattern) ? And(left, right) : Or(left, right);
                case TypePatternSyntax typePattern:
                    return TypeTest(_model.GetTypeInfo(typePattern.Type, _cancellationToken).Type);
                case DeclarationPatternSyntax declaration:
                    return TypeTest(_model.GetTypeInfo(declaration.Type, _cancellationToken).Type);
                case ConstantPatternSyntax { Expression: LiteralExpressionSyntax { RawKind: (int)SyntaxKind.NullLiteralExpression } }:
                    return Truth.False;
                case ConstantPatternSyntax constant when _model.GetSymbolInfo(constant.Expression, _cancellationToken).Symbol is ITypeSymbol type:
                    return TypeTest(type);
                case RecursivePatternSyntax { Type: not null } recursive:
                    var typeTruth = TypeTest(_model.GetTypeInfo(recursive.Type, _cancellationToken).Type);
                    var plain = recursive.PositionalPatternClause is null
                        && (recursive.PropertyPatternClause is null || recursive.PropertyPatternClause.Subpatterns.Count == 0);
                    return typeTruth == Truth.False || plain ? typeTruth : Truth.Unknown;
                default:
                    return Truth.Unknown;
            }
        }

        /// <summary>Whether <paramref name="expression"/> is the exception (the catch's variable, or a helper's parameter bound to it).</summary>
        private bool IsException(ExpressionSyntax expression)
        {
            while (expression is ParenthesizedExpressionSyntax parenthesized)
            {
                expression = parenthesized.Expression;
            }

            return expression is IdentifierNameSyntax identifier
                && _model.GetSymbolInfo(identifier, _cancellationToken).Symbol is { } symbol
                && _exception.Contains(symbol);
        }

        /// <summary>Whether <paramref name="expression"/> is <c>e.CancellationToken</c>.</summary>
        private bool ExceptionToken(ExpressionSyntax expression) =>
            expression is MemberAccessExpressionSyntax { Name.Identifier.ValueText: "CancellationToken" } member && IsException(member.Expression);

        /// <summary>
        /// The body of a helper the filter calls, when it can be read in its place: a non-virtual method or local
        /// function in this file whose body is one expression (<c>=&gt; e is …</c> or <c>{ return …; }</c>), called with
        /// plain arguments. The parameters given the exception stand for it inside.
        /// </summary>
        private ExpressionSyntax? Helper(InvocationExpressionSyntax call)
        {
            if (_model.GetSymbolInfo(call, _cancellationToken).Symbol is not IMethodSymbol method
                || method.IsVirtual || method.IsAbstract || method.IsOverride || method.IsExtern
                || method.DeclaringSyntaxReferences.Length != 1)
            {
                return null;
            }

            var declaration = method.DeclaringSyntaxReferences[0].GetSyntax(_cancellationToken);
            if (declaration.SyntaxTree != _model.SyntaxTree)
            {
                return null;
            }

            var body = declaration switch
            {
                MethodDeclarationSyntax m => m.ExpressionBody?.Expression ?? SingleReturn(m.Body),
                LocalFunctionStatementSyntax f => f.ExpressionBody?.Expression ?? SingleReturn(f.Body),
                _ => null,
            };
            if (body is null)
            {
                return null;
            }

            foreach (var argument in call.ArgumentList.Arguments)
            {
                if (argument.NameColon is not null || !argument.RefKindKeyword.IsKind(SyntaxKind.None))
                {
                    return null;
                }
            }

            for (var i = 0; i < call.ArgumentList.Arguments.Count && i < method.Parameters.Length; i++)
            {
                if (IsException(call.ArgumentList.Arguments[i].Expression))
                {
                    _exception.Add(method.Parameters[i]);
                }
            }

            return body;
        }

        private static ExpressionSyntax? SingleReturn(BlockSyntax? block) =>
            block is { Statements.Count: 1 } && block.Statements[0] is ReturnStatementSyntax { Expression: { } value } ? value : null;
    }

    private static Truth Not(Truth value) => value switch
    {
        Truth.False => Truth.True,
        Truth.True => Truth.False,
        _ => value,
    };

    private static Truth And(Truth left, Truth right)
    {
        if (left == Truth.False || right == Truth.False)
        {
            return Truth.False;
        }

        if (left == Truth.Unknown || right == Truth.Unknown)
        {
            return Truth.Unknown;
        }

        return left == Truth.Maybe || right == Truth.Maybe ? Truth.Maybe : Truth.True;
    }

    private static Truth Or(Truth left, Truth right)
    {
        if (left == Truth.True || right == Truth.True)
        {
            return Truth.True;
        }

        if (left == Truth.Unknown || right == Truth.Unknown)
        {
            return Truth.Unknown;
        }

        return left == Truth.Maybe || right == Truth.Maybe ? Truth.Maybe : Truth.False;
    }

    private static Truth Conditional(Truth condition, Truth whenTrue, Truth whenFalse) => condition switch
    {
        Truth.True => whenTrue,
        Truth.False => whenFalse,
        _ when whenTrue == whenFalse => whenTrue,
        Truth.Maybe when whenTrue != Truth.Unknown && whenFalse != Truth.Unknown => Or(whenTrue, whenFalse) == Truth.False ? Truth.False : Truth.Maybe,
        _ => Truth.Unknown,
    };
}
