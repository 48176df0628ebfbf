// ---------------------------------------------------------------------------------------------
// The one run every static CancelScope method ends in (docs/adr/0011), and its exit.
//
// WHY NOT AN ASYNC METHOD. An async method can only end with an exception by throwing it. A scope left by an ancestor's
// cancellation (the common way a scope ends under cancellation) would then throw twice per level: once where the body
// awaited, once more here. This run observes the body's task with one continuation and completes its own task through
// an AsyncTaskMethodBuilder, whose SetException ends the task exactly as an async method would (an
// OperationCanceledException makes it Canceled, carrying that very exception) without a throw. Exceptions are created
// only where the semantics need a new one, and thrown only by whoever awaits.
//
// THE AMBIENT SCOPE. The body runs with the scope as the ambient value: set around the synchronous call, with the caller's
// ExecutionContext put back afterwards by ExecutionContext.Restore (no allocation). The body's own awaits captured the
// context with the scope in it. With the flow of the context suppressed there is nothing to restore to, so the run goes
// through an async frame that restores it, at the cost of the one throw this run exists to avoid.
//
// THE EXIT. However the body ended, Exit does the same three things: Unlink (the scope leaves the tree and the deadline
// queue; from then on no cancellation can reach it), Decider.Decide (the one decision every Corral block shares), and the
// shape: what this flavour of block returns for that verdict (BlockShape). No shape decides anything of its own.
//
//   shape      | Completed   | Absorbed                 | TimedOut                 | Propagates / PassesThrough
//   -----------+-------------+--------------------------+--------------------------+---------------------------
//   Plain      | completes   | completes                | completes                | throws (see Verdict)
//   Completed  | true        | false                    | false                    |   "
//   Value      | the value   | cut-off ScopeResult      | cut-off ScopeResult      |   "
//   Fail       | completes   | the cancellation         | TimeoutException         |   "
//   FailValue  | the value   | the cancellation         | TimeoutException         |   "
//
// RACES. The continuation may run on any thread, at any time after registration, even before Run returns (the body's
// task may complete in between): everything it reads is written before the registration, in the constructor.
// ---------------------------------------------------------------------------------------------
using System;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral;

public sealed partial class CancelScope
{
    /// <summary>What a run's task holds when the block ends normally or absorbs its own cancellation.</summary>
    private enum BlockShape : byte
    {
        /// <summary><c>RunAsync</c>: a task (of <see langword="bool"/>, always true) that completes.</summary>
        Plain,

        /// <summary><c>MoveOnAfter</c>/<c>MoveOnAt</c>/<c>Shield</c>: true when the body completed, false when it was cut off.</summary>
        Completed,

        /// <summary><c>FailAfter</c>/<c>FailAt</c>: completes; <see cref="TimeoutException"/> when this scope's deadline cut the
        /// body off, the cancellation when its explicit <c>Cancel</c> did.</summary>
        Fail,

        /// <summary>A value body: the value, or a cut-off <see cref="ScopeResult{T}"/>.</summary>
        Value,

        /// <summary>A value body under <c>FailAfter</c>/<c>FailAt</c>: the value, a timeout, or the explicit cancellation.</summary>
        FailValue,
    }

    private static readonly Task<bool> s_true = Task.FromResult(true);
    private static readonly Task<bool> s_false = Task.FromResult(false);

    /// <summary>Stands for "the body's task was cancelled" when the cancellation was absorbed without being thrown.</summary>
    private static readonly OperationCanceledException s_cancelledUnthrown = new("The body's task was cancelled.");

    private static CancelScope Open(CancelScopeOptions? options, ScopeKind kind)
    {
        if (options is null)
        {
            var plain = new CancelScope(Ambient.Scope, name: null, timeProvider: null, shield: false, kind);
            plain.Open(NoDeadline);
            return plain;
        }

        if (options.Deadline is not null && options.Timeout is not null)
        {
            throw new ArgumentException("Set either Deadline or Timeout in CancelScopeOptions, not both.", nameof(options));
        }

        var scope = new CancelScope(Ambient.Scope, options.Name, options.TimeProvider, options.Shield, kind);
        var now = Timeouts.UnknownNow;
        var ticks = options.Timeout is { } timeout
            ? Timeouts.ToDeadlineTicks(timeout, scope._timeProvider, "options.Timeout", out now)
            : options.Deadline?.UtcTicks ?? NoDeadline;
        scope.Open(ticks, now);
        return scope;
    }

    private static CancelScope OpenWithTimeout(TimeSpan timeout, string paramName, ScopeKind kind, bool shield, string? name)
    {
        var scope = new CancelScope(Ambient.Scope, name, timeProvider: null, shield, kind);

        // The clock reading the deadline came from also decides whether it has passed: one clock read, not two.
        var ticks = Timeouts.ToDeadlineTicks(timeout, scope._timeProvider, paramName, out var now);
        scope.Open(ticks, now);
        return scope;
    }

    private static CancelScope OpenWithDeadline(long deadlineTicks, ScopeKind kind, bool shield, string? name)
    {
        var scope = new CancelScope(Ambient.Scope, name, timeProvider: null, shield, kind);
        scope.Open(deadlineTicks);
        return scope;
    }

    /// <summary>Runs <paramref name="body"/> as the block of the opened <paramref name="scope"/> and shapes its end.</summary>
    /// <typeparam name="TValue">The body's value type (<see langword="bool"/> for bodies without a value; unused then).</typeparam>
    /// <typeparam name="TResult">What the run's task holds: <see langword="bool"/>, <see cref="ScopeResult{T}"/> or <typeparamref name="TValue"/>.</typeparam>
    private static Task<TResult> Run<TValue, TResult>(CancelScope scope, Delegate body, BlockShape shape, TimeSpan? timeout = null)
    {
        var saved = ExecutionContext.Capture();
        if (saved is null)
        {
            return RunInAsyncFrame<TValue, TResult>(scope, body, shape, timeout);
        }

        Ambient.Enter(scope);
        var task = Invoke(scope, body, out var thrown);
        ExecutionContext.Restore(saved);
        if (thrown is not null || task is null || task.IsCompleted)
        {
            return Completed<TValue, TResult>(scope, task, thrown, shape, timeout);
        }

        var run = timeout is { } t
            ? new TimedScopeRun<TValue, TResult>(scope, task, shape, t)
            : new ScopeRun<TValue, TResult>(scope, task, shape);
        scope.SuspendedRun = run; // lets a snapshot walk from the run's task into the body (Diagnostics/Stacks)

        // INVARIANT: everything OnBodyCompleted reads was written by the constructor, before this registration.
        Continuations.OnCompleted(task, run.OnBodyCompleted);
        return run.Task;
    }

    /// <summary>The same run inside an async method, which restores the context when the flow of it is suppressed.</summary>
    private static async Task<TResult> RunInAsyncFrame<TValue, TResult>(CancelScope scope, Delegate body, BlockShape shape, TimeSpan? timeout)
    {
        Ambient.Enter(scope);
        var task = Invoke(scope, body, out var thrown);
        if (task is not null)
        {
            await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        return await Completed<TValue, TResult>(scope, task, thrown, shape, timeout).ConfigureAwait(false);
    }

    /// <summary>Calls the body with the scope or its token; an exception it throws is returned in <paramref name="thrown"/>.</summary>
    private static Task? Invoke(CancelScope scope, Delegate body, out Exception? thrown)
    {
        thrown = null;
        try
        {
            // The public methods pass only these two delegate types.
            return body is Func<CancelScope, Task> withScope
                ? withScope(scope)
                : ((Func<CancellationToken, Task>)body)(scope.Token);
        }
        catch (Exception e)
        {
            thrown = e;
            return null;
        }
    }

    /// <summary>Exits the block of a body that has ended (or threw, or returned null) and returns the run's task.</summary>
    private static Task<TResult> Completed<TValue, TResult>(CancelScope scope, Task? task, Exception? thrown, BlockShape shape, TimeSpan? timeout)
    {
        var error = scope.Exit<TValue, TResult>(task, thrown, shape, timeout, out var result);
        if (error is null)
        {
            if (typeof(TResult) == typeof(bool))
            {
                return (Task<TResult>)(object)((bool)(object)result! ? s_true : s_false);
            }

            return Task.FromResult(result);
        }

        var builder = AsyncTaskMethodBuilder<TResult>.Create();
        builder.SetException(error);
        return builder.Task;
    }

    /// <summary>
    /// Exits the block: unlinks the scope, asks the <see cref="Decider"/> how the block ends, and gives the shape's answer:
    /// the exception the run ends with, or null with <paramref name="result"/> set when it ends normally.
    /// </summary>
    private Exception? Exit<TValue, TResult>(Task? task, Exception? thrown, BlockShape shape, TimeSpan? timeout, out TResult result)
    {
        result = default!;
        var failShape = shape is BlockShape.Fail or BlockShape.FailValue;
        var outcome = thrown
            ?? (task is null
                ? new InvalidOperationException($"The body of {DescribeForMessage()} returned null instead of a Task.")
                : OutcomeOf(task, keepCancellation: failShape));

        var callbackErrors = Unlink();
        var verdict = Decider.Decide(OwnReason, IsCancellationRequested, Decider.EndOf(outcome));
        var error = verdict switch
        {
            Verdict.Propagates => RaiseFromAbove(outcome),
            Verdict.PassesThrough => outcome,
            _ => null,
        };

        var cutOff = verdict is Verdict.Absorbed or Verdict.TimedOut;
        if (cutOff)
        {
            MarkCancelledCaught();
        }

        if (callbackErrors is not null)
        {
            return new AggregateException(
                string.Create(CultureInfo.InvariantCulture, $"{callbackErrors.Length} callback(s) registered on the token of {DescribeForMessage()} threw while it was cancelled."),
                error is null ? callbackErrors : [error, .. callbackErrors]);
        }

        if (error is not null)
        {
            return error;
        }

        switch (shape)
        {
            case BlockShape.Plain:
                result = (TResult)(object)true;
                return null;
            case BlockShape.Completed:
                result = (TResult)(object)!cutOff;
                return null;
            case BlockShape.Value:
                result = cutOff ? default! : (TResult)(object)new ScopeResult<TValue>(((Task<TValue>)task!).Result);
                return null;
            case BlockShape.Fail:
                result = (TResult)(object)true;
                return cutOff ? CutOff(verdict, (OperationCanceledException)outcome!, timeout) : null;
            default: // BlockShape.FailValue
                if (cutOff)
                {
                    return CutOff(verdict, (OperationCanceledException)outcome!, timeout);
                }

                result = (TResult)(object)((Task<TValue>)task!).Result!;
                return null;
        }
    }

    /// <summary>
    /// What a <c>Fail…</c> block that absorbed its own cancellation ends with, having no value to return and a contract to
    /// return only when the body completed: <see cref="TimeoutException"/> when its own deadline cut the body off, the
    /// cancellation itself (carrying this scope's reason) when its own explicit cancel did.
    /// </summary>
    private Exception CutOff(Verdict verdict, OperationCanceledException absorbed, TimeSpan? timeout)
    {
        var cancellation = ReferenceEquals(absorbed, s_cancelledUnthrown) ? CreateCancelledException() : WithReason(absorbed);
        return verdict == Verdict.TimedOut ? CreateTimeoutException(cancellation, timeout) : cancellation;
    }

    /// <summary>
    /// An ancestor's cancellation leaves the block: the body's own cancellation carrying the reason, or, for a body that
    /// completed without reaching a checkpoint, a new one (the exit is a checkpoint, so the cancelled scope above can absorb
    /// it: level-triggered).
    /// </summary>
    private OperationCanceledException RaiseFromAbove(Exception? outcome) =>
        outcome is OperationCanceledException cancellation ? WithReason(cancellation) : CreateCancelledException();

    /// <summary>
    /// How a completed body task ended, as the exception <see cref="Decider"/> reads, without rethrowing it where that
    /// can be avoided: a cancelled task is classified by the scope's state (at most one exception per cancelled body:
    /// the body's own), and only a cancellation that belongs to no cancelled scope is fetched by rethrowing it.
    /// </summary>
    /// <param name="task">The body's completed task.</param>
    /// <param name="keepCancellation">Fetch the body's own cancellation even when this scope absorbs it (a timeout reports it
    /// as its inner exception).</param>
    private Exception? OutcomeOf(Task task, bool keepCancellation)
    {
        if (task.IsCompletedSuccessfully)
        {
            return null;
        }

        if (task.IsFaulted)
        {
            var errors = task.Exception!.InnerExceptions;
            return errors.Count == 1 ? errors[0] : task.Exception;
        }

        if (CancelCalled && !keepCancellation)
        {
            return s_cancelledUnthrown; // absorbed by Exit; never thrown
        }

        if (IsCancellationRequested && !keepCancellation)
        {
            return CreateCancelledException();
        }

        try
        {
            task.GetAwaiter().GetResult();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private TimeoutException CreateTimeoutException(OperationCanceledException inner, TimeSpan? timeout)
    {
        var what = timeout is { } t
            ? string.Create(CultureInfo.InvariantCulture, $"within {t}")
            : string.Create(CultureInfo.InvariantCulture, $"by its deadline {Deadline:O}");
        return new TimeoutException($"The operation did not complete {what}; the deadline of {DescribeForMessage()} passed.", inner);
    }

    /// <summary>A run whose body suspended: one continuation on the body's task exits the block and completes the run's task.</summary>
    /// <remarks>Kept small (48 B): it lives as long as the body is suspended, once per suspended scope.</remarks>
    private class ScopeRun<TValue, TResult> : ISuspendedRun
    {
        private readonly CancelScope _scope;
        private readonly Task _body;
        private readonly BlockShape _shape;

        /// <summary>Completes <see cref="Task"/> as an async method would, without a throw. Mutable struct: never copy it.</summary>
        private AsyncTaskMethodBuilder<TResult> _builder = AsyncTaskMethodBuilder<TResult>.Create();

        internal ScopeRun(CancelScope scope, Task body, BlockShape shape)
        {
            _scope = scope;
            _body = body;
            _shape = shape;

            // Creates the task now, on this thread: the builder creates it lazily, and not thread-safely. Later reads of
            // Task return this same task, whatever thread completes it meanwhile.
            _ = _builder.Task;
        }

        /// <summary>The run's task, handed to the caller.</summary>
        internal Task<TResult> Task => _builder.Task;

        /// <inheritdoc/>
        Task ISuspendedRun.RunTask => _builder.Task;

        /// <inheritdoc/>
        Task ISuspendedRun.Body => _body;

        /// <summary>The timeout a <c>FailAfter</c> reports in its <see cref="TimeoutException"/>, or null.</summary>
        protected virtual TimeSpan? Timeout => null;

        /// <summary>Registered once on the body's task.</summary>
        internal void OnBodyCompleted()
        {
            var error = _scope.Exit<TValue, TResult>(_body, thrown: null, _shape, Timeout, out var result);
            if (error is null)
            {
                _builder.SetResult(result);
            }
            else
            {
                _builder.SetException(error);
            }
        }
    }

    /// <summary>A run of <c>FailAfter</c>: also remembers the timeout, for the message of its <see cref="TimeoutException"/>.</summary>
    private sealed class TimedScopeRun<TValue, TResult>(CancelScope scope, Task body, BlockShape shape, TimeSpan timeout)
        : ScopeRun<TValue, TResult>(scope, body, shape)
    {
        protected override TimeSpan? Timeout => timeout;
    }
}
