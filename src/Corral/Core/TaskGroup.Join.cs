// ---------------------------------------------------------------------------------------------
// The group's block: its count of unfinished tasks, its body, the join, and its exit (docs/adr/0002; principles 3, 5).
//
// THE PROMISE. The group never completes while one of its tasks runs; the first failure cancels the
// rest; every failure is reported once, in the order it happened, in one TaskGroupException.
//
// THE DESIGN.
//   * `_unfinished` counts the body (1) plus every child that has not finished. It reaches Closed (0) exactly once:
//     the body has ended and no child is left. Start after that throws. Children may start children while the group
//     waits for them, as in trio.
//   * Children share the group's scope: no scope, token source or timer per child.
//   * A task's exception is classified as it ends (TaskGroup.Children.cs, ClassifyTaskException): the group's
//     cancellation (Decider.IsCancellationOf), or a failure; the first failure cancels the group's scope with a reason
//     naming the task and its exception.
//   * The exit asks the Decider, as every block does: the group's body ended Failed when anything failed, Cancelled when
//     the body or a child ended with the group's cancellation, Completed otherwise.
//
// THE RACES, CASE BY CASE.
//   1. Start racing the close: both go through `_unfinished` by CompareExchange. Either Start increments first (the group
//      then waits for the new child), or the count hit Closed first (Start throws).
//   2. The last child finishing as the body ends: the body publishes `_allDone` before it releases its count (a full
//      fence), so whoever takes the count to Closed finds the completion source to signal.
//   3. A failure racing a cancellation: a task's exception is classified when it is caught; an OperationCanceledException
//      seen while the scope is cancelled is dropped, anything else is kept.
//   4. Cancel from many threads: forwarded to the scope, where the first reason wins.
// ---------------------------------------------------------------------------------------------
using System;
using System.Collections.Generic;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral;

public sealed partial class TaskGroup
{
    /// <summary>The value of <see cref="_unfinished"/> once the group has closed: its body ended and no child is left.</summary>
    private const int Closed = 0;

    /// <summary>The body (1) plus unfinished children.</summary>
    /// <remarks>INVARIANT: once <see cref="Closed"/>, it stays <see cref="Closed"/>; never below it.</remarks>
    private int _unfinished = 1;

    /// <summary>Number of children started so far; names unnamed ones.</summary>
    private int _started;

    /// <summary>Completed when <see cref="_unfinished"/> reaches <see cref="Closed"/>, if the body had to wait. Published before the body's release.</summary>
    private TaskCompletionSource? _allDone;

    /// <summary>Failures in the order they were caught. Guarded by the group's lock (the group object itself).</summary>
    private List<TaskFailure>? _failures;

    /// <summary>Set when some task ended with the group's cancellation (the block then ended Cancelled, for the Decider).</summary>
    private volatile bool _sawCancellation;

    /// <summary>Gets the body (while it runs) plus the unfinished children; <see cref="Closed"/> once the group closed.</summary>
    internal int UnfinishedCount => Volatile.Read(ref _unfinished);

    private static TaskGroup Open(TaskGroupOptions? options, string? callerFilePath, int callerLineNumber, out TaskRecord bodyRecord)
    {
        var scope = new CancelScope(Ambient.Scope, options?.Name, options?.TimeProvider, shield: false, ScopeKind.TaskGroup);
        bodyRecord = new TaskRecord(scope, "body", null, 0, callerFilePath, callerLineNumber);
        var group = new TaskGroup(scope, options?.StartMode ?? ChildStartMode.Inline, bodyRecord, options?.OnTaskFailed);

        // The body's record is linked before the scope opens: until then nothing can reach the group (snapshots and the
        // watchdog find it through the scope tree), so Track's lock is uncontended; Open's lock on the parent publishes it.
        group.Track(bodyRecord);
        scope.Open(CancelScope.NoDeadline);
        return group;
    }

    /// <summary>Counts a new child in (race case 1); returns its number.</summary>
    /// <exception cref="InvalidOperationException">The group has closed.</exception>
    private int AdmitCount(string? nameForMessage = null)
    {
        var unfinished = Volatile.Read(ref _unfinished);
        while (true)
        {
            if (unfinished == Closed)
            {
                throw new InvalidOperationException(
                    $"Cannot start '{nameForMessage ?? "a task"}': task group '{Name ?? "(unnamed)"}' has closed (its body ended and all its tasks finished). " +
                    "Start children from the group's body or from one of its running tasks.");
            }

            var seen = Interlocked.CompareExchange(ref _unfinished, unfinished + 1, unfinished);
            if (seen == unfinished)
            {
                break;
            }

            unfinished = seen;
        }

        AssertInvariants(locked: false);
        return Interlocked.Increment(ref _started);
    }

    /// <summary>Releases one count; the one that reaches <see cref="Closed"/> closes the group.</summary>
    private void Release()
    {
        var left = Interlocked.Decrement(ref _unfinished);
        AssertInvariants(locked: false);
        if (left == Closed)
        {
            // Race case 2: the body published _allDone before its own release, so it is visible here.
            Volatile.Read(ref _allDone)?.TrySetResult();
        }
    }

    private async Task<T> RunBodyAsync<T>(Delegate body, TaskRecord bodyRecord, bool returnsValue)
    {
        Ambient.Enter(bodyRecord);
        Exception? bodyError = null;
        T value = default!;
        try
        {
            if (returnsValue)
            {
                var task = ((Func<TaskGroup, Task<T>>)body)(this);
                bodyRecord.Work = task; // where a snapshot starts reading the body's stack (Diagnostics/Stacks)
                value = await Continuations.ThroughRunner(task).ConfigureAwait(false);
            }
            else
            {
                var task = ((Func<TaskGroup, Task>)body)(this);
                bodyRecord.Work = task;
                await Continuations.ThroughRunner(task).ConfigureAwait(false);
            }
        }
        catch (Exception e)
        {
            bodyError = e;
            ClassifyTaskException(e, "body");
        }

        MarkFinished(bodyRecord);

        // Wait for every child: never complete while one runs (race case 2).
        if (Volatile.Read(ref _unfinished) == 1 && Interlocked.CompareExchange(ref _unfinished, Closed, 1) == 1)
        {
            // No child left: closed without allocating a completion source.
            AssertInvariants(locked: false);
        }
        else
        {
            var allDone = new TaskCompletionSource();
            Volatile.Write(ref _allDone, allDone);
            if (Interlocked.Decrement(ref _unfinished) != Closed)
            {
                // Completed by the last child's FinishChild, a continuation of Corral's: on a test run's thread it runs where
                // this continuation inlines (Continuations.cs), so no ThroughRunner here.
                await allDone.Task.ConfigureAwait(false);
            }
        }

        return Exit(bodyError, value, returnsValue);
    }

    /// <summary>
    /// Exits the group's block once it has closed: unlinks its scope, asks the <see cref="Decider"/> how it ends, and returns
    /// the body's value or throws.
    /// </summary>
    private T Exit<T>(Exception? bodyError, T value, bool returnsValue)
    {
        var callbackErrors = _scope.Unlink();
        Lifecycle.Observer.GroupExited(this);

        // No lock: every failure was recorded before its task released its count, and the group closed after the last
        // release (an Interlocked operation on _unfinished), so the list is complete and visible here.
        var failures = _failures;
        if (callbackErrors is not null)
        {
            failures ??= new();
            foreach (var e in callbackErrors)
            {
                failures.Add(new TaskFailure("cancellation callback", e));
            }
        }

        var end = failures is not null ? BodyEnd.Failed
            : bodyError is not null || _sawCancellation ? BodyEnd.Cancelled
            : BodyEnd.Completed;
        switch (Decider.Decide(_scope.OwnReason, _scope.IsCancellationRequested, end))
        {
            case Verdict.PassesThrough when failures is not null:
                throw new TaskGroupException(Name, failures);

            case Verdict.Absorbed:
            case Verdict.TimedOut:
                // The group's own cancellation (Cancel, a failure, or a deadline on its scope): absorbed.
                _scope.MarkCancelledCaught();
                if (bodyError is not null && returnsValue)
                {
                    // RunAsync<T>: the body was cut off and there is no value to return.
                    ExceptionDispatchInfo.Throw(bodyError);
                }

                return value;

            case Verdict.Propagates:
                // Cancelled from outside: the exit is a checkpoint, so the enclosing cancelled scope can absorb.
                if (bodyError is OperationCanceledException cancellation)
                {
                    var withReason = _scope.WithReason(cancellation);
                    if (ReferenceEquals(withReason, cancellation))
                    {
                        ExceptionDispatchInfo.Throw(cancellation);
                    }

                    throw withReason;
                }

                throw _scope.CreateCancelledException();

            default:
                // Completed; or a task's cancellation through a token of this scope that a shield raised above the group has
                // un-cancelled since (Decider.IsCancellationOf): nothing failed and nothing is left to propagate.
                return value;
        }
    }
}
