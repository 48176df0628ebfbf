using System;
using System.Threading.Tasks;

namespace Corral.Core;

/// <summary>
/// A <c>StartAsync</c> child (trio's <c>nursery.start</c>): it runs in a scope of its own, under the caller's scope until it
/// signals, under the group's after (<see cref="StartSignal{T}"/>, ADR 0010).
/// </summary>
/// <typeparam name="T">The type of the value it signals.</typeparam>
/// <remarks>
/// Its finish exits its own scope as every block exits (unlink, then the <see cref="Decider"/>): a cancellation of its own
/// scope (<c>CancelScope.Current.Cancel()</c> in the child) is absorbed there, as any scope absorbs its own; anything else
/// stays what it was (a task's end is not a checkpoint). Then the signal decides who gets the outcome: the caller, when
/// the child ended before signalling; the group, when it had signalled.
/// </remarks>
internal sealed class StartingChild<T> : ChildWork
{
    private readonly Func<StartSignal<T>, System.Threading.CancellationToken, Task> _work;
    private readonly StartSignal<T> _signal;

    /// <summary>The child's own scope.</summary>
    private readonly CancelScope _scope;

    /// <summary>The child's name, for messages.</summary>
    private readonly string _name;

    internal StartingChild(Func<StartSignal<T>, System.Threading.CancellationToken, Task> work, StartSignal<T> signal, CancelScope scope, string name)
    {
        _work = work;
        _signal = signal;
        _scope = scope;
        _name = name;
    }

    /// <inheritdoc/>
    internal override Task Invoke(CancelScope groupScope) => _work(_signal, _scope.Token);

    /// <inheritdoc/>
    internal override Exception? Finish(Exception? error, out Exception[]? more)
    {
        var callbackErrors = _scope.Unlink();
        var verdict = Decider.Decide(_scope.OwnReason, _scope.IsCancellationRequested, Decider.EndOf(error));
        if (verdict is Verdict.Absorbed or Verdict.TimedOut)
        {
            _scope.MarkCancelledCaught();
            error = null;
        }

        // Callbacks on the child's own token that threw while it was cancelled are part of its outcome, never dropped.
        var forCaller = callbackErrors is null
            ? error
            : error is null && callbackErrors.Length == 1
                ? callbackErrors[0]
                : new AggregateException($"Callbacks registered on the token of task '{_name}' threw while it was cancelled.", error is null ? callbackErrors : [error, .. callbackErrors]);
        if (_signal.TryFinishBeforeStarted(forCaller))
        {
            // Not started: the outcome went to the caller of StartAsync, not to the group.
            more = null;
            return null;
        }

        // Started: the child is the group's, and so are its failures.
        more = callbackErrors;
        return error;
    }
}
