using System;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;

namespace Corral.Core;

/// <summary>
/// A <c>Start&lt;T&gt;</c> child: its delegate returns a value, and the caller gets a task for it.
/// </summary>
/// <typeparam name="T">The child's result type.</typeparam>
/// <remarks>
/// The task handed to the caller is completed by the group's <c>FinishChild</c> after the child's failure (if any) is
/// recorded under the child's name and before the child's count is released: whoever awaits it and rethrows (the body,
/// say) finds the failure already recorded, so the group reports it once; and the task completes before the group closes.
/// It carries the value, the same exception object the child threw, or its cancellation (Canceled), as an async method's
/// task would.
/// </remarks>
internal sealed class ValueChild<T> : ChildWork
{
    private readonly Func<System.Threading.CancellationToken, Task<T>> _work;

    /// <summary>Completes <see cref="Result"/> as an async method would, without a throw. Mutable struct: never copy it.</summary>
    private AsyncTaskMethodBuilder<T> _builder = AsyncTaskMethodBuilder<T>.Create();

    internal ValueChild(Func<System.Threading.CancellationToken, Task<T>> work)
    {
        _work = work;
        Result = _builder.Task; // created on this thread: the builder creates it lazily, and not thread-safely
    }

    /// <summary>The task the caller of <c>Start&lt;T&gt;</c> gets.</summary>
    internal Task<T> Result { get; }

    /// <inheritdoc/>
    internal override Task? HandedOut => Result;

    /// <inheritdoc/>
    internal override Task Invoke(CancelScope groupScope) => _work(groupScope.Token);

    /// <inheritdoc/>
    internal override void Publish(Task? task, Exception? error)
    {
        if (error is null)
        {
            _builder.SetResult(((Task<T>)task!).Result);
        }
        else
        {
            _builder.SetException(error);
        }
    }
}
