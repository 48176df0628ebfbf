// ---------------------------------------------------------------------------------------------
// How a child of a group starts, runs and finishes: one route for every child.
//
// THE ROUTE. However a child was started — Start inline or on the thread pool, Start<T>, StartAsync, with the flow of the
// ExecutionContext suppressed or not — it goes the same way:
//
//   Admit (count it in, record it)  ->  Launch (inline / thread pool / async frame)  ->  InvokeChild (call its delegate in
//   its ambient context)  ->  ObserveChild (one continuation on its task, none if it ended at once)  ->  FinishChild
//
// and FinishChild is the only place a child finishes: it reads how the task ended, lets the child's own work finish its
// part (ChildWork: a Start<T> child's value task, a StartAsync child's scope and signal), classifies the exception
// (ClassifyTaskException: the group's cancellation, or a failure that cancels the group), marks the record finished and
// releases the child's count.
//
// WHAT A CHILD IS. TaskRecord.Work holds it: a plain Start's delegate while it waits for the thread pool, then its task
// while it runs; a ChildWork (ValueChild<T>, StartingChild<T>) for the whole life of the other kinds, holding their task.
// No async state machine, closure or continuation object of Corral's own runs per plain child (design fast path 5).
// ---------------------------------------------------------------------------------------------
using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral;

public sealed partial class TaskGroup
{
    /// <summary>Counts a new child in (race case 1 in TaskGroup.Join.cs) and records it.</summary>
    private TaskRecord Admit(string? name, string? expression, string? sourceFile, int sourceLine)
    {
        var number = AdmitCount(name ?? expression);
        return Track(new TaskRecord(_scope, name, expression, number, sourceFile, sourceLine));
    }

    /// <summary>Runs an admitted child where the group's start mode says.</summary>
    /// <param name="work">A plain child's delegate, or its <see cref="ChildWork"/> (already in the record).</param>
    /// <param name="record">The child, admitted.</param>
    private void Launch(object work, TaskRecord record)
    {
        if (_startMode == ChildStartMode.ThreadPool)
        {
            LaunchOnThreadPool(work, record);
        }
        else
        {
            LaunchInline(work, record);
        }
    }

    /// <summary>
    /// The hot path: runs the child on this thread until its first incomplete await, with no async wrapper of our own.
    /// </summary>
    /// <remarks>
    /// The child's ambient value is set around the synchronous call and the caller's ExecutionContext put back with
    /// <see cref="ExecutionContext.Restore"/> (no allocation, unlike setting the value back). The child's own async method
    /// captured the context with its ambient value at its first await, so its continuations run in it. When the flow of the
    /// context is suppressed there is nothing to restore, and an async frame does the work instead.
    /// </remarks>
    private void LaunchInline(object work, TaskRecord record)
    {
        var saved = ExecutionContext.Capture();
        if (saved is null)
        {
            _ = RunChildInFrameAsync(work, record);
            return;
        }

        Ambient.Enter(record);
        InvokeChild(work, record, saved);
    }

    /// <summary>
    /// The thread-pool path: the record itself is the work item's state, so no async wrapper runs per child.
    /// </summary>
    /// <remarks>
    /// The ambient value is set around the queueing and the caller's context put back, as in <see cref="LaunchInline"/>:
    /// <see cref="ThreadPool.QueueUserWorkItem{TState}(Action{TState}, TState, bool)"/> captures the context at that moment (the
    /// caller's, with the child as its ambient value) and runs the child in it. With the flow of the context suppressed
    /// there is nothing to capture, and the async frame sets the ambient value on the pool thread instead.
    /// </remarks>
    private void LaunchOnThreadPool(object work, TaskRecord record)
    {
        var saved = ExecutionContext.Capture();
        if (saved is null)
        {
            ThreadPool.QueueUserWorkItem(static s => _ = s.Group.RunChildInFrameAsync(s.Work, s.Record), (Group: this, Work: work, Record: record), preferLocal: false);
            return;
        }

        record.Work = work;
        Ambient.Enter(record);
        ThreadPool.QueueUserWorkItem(static r => r.Group.RunQueuedChild(r), record, preferLocal: false);
        ExecutionContext.Restore(saved);
    }

    /// <summary>Runs a child queued by <see cref="LaunchOnThreadPool"/>, on a pool thread, in the context captured when it was queued.</summary>
    private void RunQueuedChild(TaskRecord record)
    {
        var work = record.Work!;
        if (work is not ChildWork)
        {
            record.Work = null; // a plain child's delegate: the record holds its task next
        }

        InvokeChild(work, record, restore: null);
    }

    /// <summary>
    /// The route when the flow of the ExecutionContext is suppressed: an async method sets the ambient value (and the
    /// runtime restores the caller's context when it returns), awaits the child, then finishes it like any other.
    /// </summary>
    private async Task RunChildInFrameAsync(object work, TaskRecord record)
    {
        Ambient.Enter(record);
        var task = Call(work, out var thrown);
        if (task is not null)
        {
            HoldRunningTask(work, record, task);
            await task.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        FinishChild(record, task, thrown);
    }

    /// <summary>
    /// Calls a child's delegate in the current context (the child's ambient value is already set) and observes what it
    /// returned or threw. With <paramref name="restore"/> (the inline start), the caller's context is put back before the
    /// group looks at an outcome that is already there, so that whatever finishing the child triggers (a failure cancelling
    /// the group) runs in the caller's context, not the child's. A pool thread's context needs no restoring: the pool resets
    /// it after the work item.
    /// </summary>
    /// <remarks>
    /// A child that suspends is observed with one continuation on its task (<see cref="ObserveChild"/>).
    /// </remarks>
    private void InvokeChild(object work, TaskRecord record, ExecutionContext? restore)
    {
        // The child's own context, when the record is its ambient value: its continuation can then find the record there.
        var childContext = record.Tracked ? ExecutionContext.Capture() : null;
        var task = Call(work, out var thrown);
        if (thrown is not null || task is null || task.IsCompleted)
        {
            if (restore is not null)
            {
                ExecutionContext.Restore(restore);
            }

            FinishChild(record, task, thrown);
            return;
        }

        ObserveChild(work, record, task, childContext);
        if (restore is not null)
        {
            ExecutionContext.Restore(restore);
        }
    }

    /// <summary>
    /// Registers the one continuation that finishes a suspended child. A tracked child's continuation is a shared delegate
    /// that flows the child's own context and finds the record there as the ambient value: the runtime's continuation
    /// object (40 B, `AwaitTaskContinuation`) is then all a child pays, where a delegate bound to the record costs 64 B. An untracked child (its
    /// ambient value is the group's scope), one whose delegate left another context behind (it set an
    /// <see cref="AsyncLocal{T}"/> outside an async method, or suppressed the flow), and a child started on a test run's
    /// thread (its continuation goes through the run's runner, <see cref="Continuations"/>) get the bound delegate.
    /// </summary>
    /// <remarks>
    /// INVARIANT: the record holds the task before the continuation can run (it reads it); FinishChild clears it. The
    /// continuation may run at once on another thread (the task may complete meanwhile), never inline here: a completed
    /// task's <c>OnCompleted</c> queues it.
    /// </remarks>
    private static void ObserveChild(object work, TaskRecord record, Task task, ExecutionContext? childContext)
    {
        HoldRunningTask(work, record, task);
        if (Continuations.Runner is not null)
        {
            // A test run's thread: the run must see the continuation (Continuations.cs), which takes a plain Action and
            // runs it without an ExecutionContext, so the child gets the bound delegate.
            Continuations.OnCompleted(task, record.OnTaskCompleted);
            return;
        }

        var awaiter = task.ConfigureAwait(false).GetAwaiter();
        if (childContext is not null && ReferenceEquals(ExecutionContext.Capture(), childContext))
        {
            awaiter.OnCompleted(s_onTrackedChildCompleted);
        }
        else
        {
            awaiter.UnsafeOnCompleted(record.OnTaskCompleted);
        }
    }

    /// <summary>The continuation of every tracked child: runs in the child's context, whose ambient value is its record.</summary>
    private static readonly Action s_onTrackedChildCompleted = static () =>
    {
        var record = Ambient.Task!;
        record.Group.FinishChild(record, record.RunningTask, thrown: null);
    };

    /// <summary>
    /// Keeps a child's task where <see cref="TaskRecord.RunningTask"/> reads it while the child runs: in its
    /// <see cref="ChildWork"/>, or in the record's <see cref="TaskRecord.Work"/> for a plain child. Its finish reads it there,
    /// and snapshots read the child's stack from there; <see cref="FinishChild"/> clears it.
    /// </summary>
    private static void HoldRunningTask(object work, TaskRecord record, Task task)
    {
        if (work is ChildWork child)
        {
            child.Task = task;
        }
        else
        {
            record.Work = task;
        }
    }

    /// <summary>Calls a child's delegate; an exception it throws is returned in <paramref name="thrown"/>.</summary>
    private Task? Call(object work, out Exception? thrown)
    {
        thrown = null;
        try
        {
            return work is ChildWork child ? child.Invoke(_scope) : ((Func<CancellationToken, Task>)work)(_scope.Token);
        }
        catch (Exception e)
        {
            thrown = e;
            return null;
        }
    }

    /// <summary>
    /// Finishes a child, whatever it was and however it ended: the one route. Reads how its task ended (without rethrowing
    /// where it can), lets its <see cref="ChildWork"/> finish its part, classifies the exception, marks the record finished,
    /// completes a <c>Start&lt;T&gt;</c> child's task, and releases the child's count — in that order, so that a failure is
    /// recorded before anyone awaiting the child sees it, and the child's task completes before the group can close.
    /// </summary>
    /// <param name="record">The child.</param>
    /// <param name="task">Its task, or null when its delegate threw or returned null.</param>
    /// <param name="thrown">What its delegate threw synchronously, or null.</param>
    internal void FinishChild(TaskRecord record, Task? task, Exception? thrown)
    {
        var child = record.Work as ChildWork;
        record.Work = null;
        var outcome = thrown ?? OutcomeOf(record, task, child);
        var error = outcome;
        var more = (Exception[]?)null;
        if (child is not null)
        {
            error = child.Finish(outcome, out more);
        }

        if (error is not null)
        {
            ClassifyTaskException(error, record.Name);
        }

        foreach (var e in more ?? [])
        {
            ClassifyTaskException(e, record.Name);
        }

        MarkFinished(record);
        child?.Publish(task, outcome);
        Release();
    }

    /// <summary>
    /// How a child's task ended, as the exception the group classifies. A plain child's cancellation while the group is
    /// cancelled is the usual end of a cancelled child: it is classified by status, without fetching the exception (design
    /// fast path 3). A child with its own work reads its task as <c>await</c> would (the first exception, and the
    /// cancellation itself), because its task or its caller gets that exception.
    /// </summary>
    private Exception? OutcomeOf(TaskRecord record, Task? task, ChildWork? child)
    {
        if (task is null)
        {
            return new InvalidOperationException($"The delegate of task '{record.Name}' returned null instead of a Task.");
        }

        if (task.IsCompletedSuccessfully)
        {
            return null;
        }

        if (task.IsFaulted)
        {
            var errors = task.Exception!.InnerExceptions;
            return errors.Count == 1 || child is not null ? errors[0] : task.Exception;
        }

        if (child is null && _scope.IsCancellationRequested)
        {
            _sawCancellation = true;
            return null;
        }

        // Cancelled while the group is not (someone else's token, or a retired one of ours), or a child whose own work
        // needs the cancellation: fetch it. Rare, or once per child that already threw it.
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

    /// <summary>Classifies an exception a task ended with: the group's cancellation, or a failure (race case 3 in TaskGroup.Join.cs).</summary>
    /// <param name="exception">What the task ended with.</param>
    /// <param name="taskName">The task's name, for the failure and the cancel reason.</param>
    /// <param name="observe">Whether the group's failure callback is told; false for the failure of that callback itself.</param>
    private void ClassifyTaskException(Exception exception, string taskName, bool observe = true)
    {
        if (Decider.IsCancellationOf(_scope, exception))
        {
            _sawCancellation = true;
            return;
        }

        bool first;
        TaskFailure failure;
        lock (this)
        {
            AssertInvariants();
            _failures ??= new();
            foreach (var existing in _failures)
            {
                if (ReferenceEquals(existing.Exception, exception))
                {
                    return; // already reported, e.g. a Start<T> child's exception rethrown by the body that awaited it.
                }
            }

            failure = new TaskFailure(taskName, exception);
            _failures.Add(failure);
            first = _failures.Count == 1;
            AssertInvariants();
        }

        if (observe && _onTaskFailed is { } onTaskFailed)
        {
            // Before the siblings are cancelled: a log shows the failure before what it sets off.
            try
            {
                onTaskFailed(failure);
            }
            catch (Exception e)
            {
                ClassifyTaskException(e, "failure callback", observe: false);
            }
        }

        if (first)
        {
            _scope.CancelCore(new CancelReason(
                CancelReasonKind.TaskFailed,
                $"task '{taskName}' failed: {TaskGroupException.Describe(exception)}",
                _scope,
                exception));
        }
    }

    /// <summary>Hands a started child over to the group (called by <see cref="StartSignal{T}"/>).</summary>
    internal void AdoptStartedChild(CancelScope childScope) => childScope.Reparent(_scope);
}
