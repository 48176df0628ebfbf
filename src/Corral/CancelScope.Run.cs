// ---------------------------------------------------------------------------------------------
// The one core every static CancelScope method runs its body through (docs/adr/0011).
//
// WHY NOT AN ASYNC METHOD. An async method can only end with an exception by throwing it. A scope left by an ancestor's
// cancellation (the common way a scope ends under cancellation) would then throw twice per level: once where the body
// awaited, once more here. This core observes the body's task with one continuation and completes its own task through
// an AsyncTaskMethodBuilder, whose SetException ends the task exactly as an async method would (an
// OperationCanceledException makes it Canceled, carrying that very exception) without a throw. Exceptions are created
// only where the semantics need a new one, and thrown only by whoever awaits.
//
// THE AMBIENT SCOPE. The body runs with the scope as the ambient value: set around the synchronous call, with the caller's
// ExecutionContext put back afterwards by ExecutionContext.Restore (no allocation). The body's own awaits captured the
// context with the scope in it. With the flow of the context suppressed there is nothing to restore to, so the run goes
// through an async frame that restores it, at the cost of the one throw this core exists to avoid.
//
// THE SHAPES. Every public flavour is one RunShape: what the run's task holds when the block ends normally or absorbed
// its own cancellation. Everything else (a failure, an ancestor's cancellation, callback errors) ends the task with the
// exception Exit decides on, the same for every shape.
//
// RACES. The continuation may run on any thread, at any time after registration, even before Run returns (the body's
// task may complete in between): everything it reads is written before the registration, in the constructor.
// ---------------------------------------------------------------------------------------------
using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral;

public sealed partial class CancelScope
{
    /// <summary>What a run's task holds when the block ends normally or absorbs its own cancellation.</summary>
    private enum RunShape : byte
    {
        /// <summary><c>RunAsync</c>: a task (of <see langword="bool"/>, always true) that completes.</summary>
        Plain,

        /// <summary><c>MoveOnAfter</c>/<c>MoveOnAt</c>/<c>Shield</c>: true when the body completed, false when it was cut off.</summary>
        Completed,

        /// <summary><c>FailAfter</c>/<c>FailAt</c>: completes, or <see cref="TimeoutException"/> when this scope's deadline cut it off.</summary>
        Fail,

        /// <summary>A value body: the value, or a cut-off <see cref="ScopeResult{T}"/>.</summary>
        Value,

        /// <summary>A value body under <c>FailAfter</c>/<c>FailAt</c>: the value, a timeout, or the explicit cancellation.</summary>
        FailValue,
    }

    private static readonly Task<bool> s_true = Task.FromResult(true);
    private static readonly Task<bool> s_false = Task.FromResult(false);

    /// <summary>Runs <paramref name="body"/> as the block of the opened <paramref name="scope"/> and shapes its end.</summary>
    /// <typeparam name="TValue">The body's value type (<see langword="bool"/> for bodies without a value; unused then).</typeparam>
    /// <typeparam name="TResult">What the run's task holds: <see langword="bool"/>, <see cref="ScopeResult{T}"/> or <typeparamref name="TValue"/>.</typeparam>
    private static Task<TResult> Run<TValue, TResult>(CancelScope scope, Delegate body, RunShape shape, TimeSpan? timeout = null)
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

        // INVARIANT: everything OnBodyCompleted reads was written by the constructor, before this registration.
        task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(run.OnBodyCompleted);
        return run.Task;
    }

    /// <summary>The same run inside an async method, which restores the context when the flow of it is suppressed.</summary>
    private static async Task<TResult> RunInAsyncFrame<TValue, TResult>(CancelScope scope, Delegate body, RunShape shape, TimeSpan? timeout)
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

    /// <summary>Ends the block of a body that has ended (or threw, or returned null) and returns the run's task.</summary>
    private static Task<TResult> Completed<TValue, TResult>(CancelScope scope, Task? task, Exception? thrown, RunShape shape, TimeSpan? timeout)
    {
        var error = scope.End<TValue, TResult>(task, thrown, shape, timeout, out var result);
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
    /// Ends the block: closes the scope, absorbs its own cancellation, and returns the exception the run ends with (null
    /// with <paramref name="result"/> set when it ends normally).
    /// </summary>
    private Exception? End<TValue, TResult>(Task? task, Exception? thrown, RunShape shape, TimeSpan? timeout, out TResult result)
    {
        result = default!;
        var keepCancellation = shape is RunShape.Fail or RunShape.FailValue;
        var outcome = thrown
            ?? (task is null
                ? new InvalidOperationException($"The body of {DescribeForMessage()} returned null instead of a Task.")
                : OutcomeOf(task, keepCancellation));
        var error = Exit(outcome, out var absorbed);
        if (error is not null)
        {
            return error;
        }

        var deadlinePassed = absorbed is not null && OwnReason?.Kind == CancelReasonKind.DeadlineExceeded;
        switch (shape)
        {
            case RunShape.Plain:
                result = (TResult)(object)true;
                return null;
            case RunShape.Completed:
                result = (TResult)(object)(absorbed is null);
                return null;
            case RunShape.Fail:
                result = (TResult)(object)true;
                return deadlinePassed ? CreateTimeoutException(WithReasonOrNew(absorbed!), timeout) : null;
            case RunShape.Value:
                result = absorbed is null ? (TResult)(object)new ScopeResult<TValue>(((Task<TValue>)task!).Result) : default!;
                return null;
            default: // RunShape.FailValue
                if (absorbed is null)
                {
                    result = (TResult)(object)((Task<TValue>)task!).Result!;
                    return null;
                }

                // Cut off by a timeout, or by an explicit Cancel of this scope: there is no value to return either way.
                var cancellation = WithReasonOrNew(absorbed);
                return deadlinePassed ? CreateTimeoutException(cancellation, timeout) : cancellation;
        }
    }

    /// <summary>A run whose body suspended: one continuation on the body's task ends the block and completes the run's task.</summary>
    /// <remarks>Kept small (48 B): it lives as long as the body is suspended, once per suspended scope.</remarks>
    private class ScopeRun<TValue, TResult>
    {
        private readonly CancelScope _scope;
        private readonly Task _body;
        private readonly RunShape _shape;

        /// <summary>Completes <see cref="Task"/> as an async method would, without a throw. Mutable struct: never copy it.</summary>
        private AsyncTaskMethodBuilder<TResult> _builder = AsyncTaskMethodBuilder<TResult>.Create();

        internal ScopeRun(CancelScope scope, Task body, RunShape shape)
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

        /// <summary>The timeout a <c>FailAfter</c> reports in its <see cref="TimeoutException"/>, or null.</summary>
        protected virtual TimeSpan? Timeout => null;

        /// <summary>Registered once on the body's task.</summary>
        internal void OnBodyCompleted()
        {
            var error = _scope.End<TValue, TResult>(_body, thrown: null, _shape, Timeout, out var result);
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
    private sealed class TimedScopeRun<TValue, TResult>(CancelScope scope, Task body, RunShape shape, TimeSpan timeout)
        : ScopeRun<TValue, TResult>(scope, body, shape)
    {
        protected override TimeSpan? Timeout => timeout;
    }
}
