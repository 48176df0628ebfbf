// The handshake of TaskGroup.StartAsync (trio's task_status).
//
// States: NotStarted -> Started (the child called Started: it moves into the group)
//         NotStarted -> Finished (the child ended without calling Started: its outcome goes to the caller)
// The two transitions race when Started is called from another thread as the child ends; one
// CompareExchange decides, and the loser sees the final state.
using System;
using System.Threading;
using System.Threading.Tasks;

namespace Corral;

/// <summary>
/// The signal a child started with <see cref="TaskGroup.StartAsync{T}"/> calls once it is ready, handing a value to the caller.
/// </summary>
/// <typeparam name="T">The type of the value handed over.</typeparam>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="Started(T)"/> may be called once; a second call throws <see cref="InvalidOperationException"/>.</item>
/// <item>Safe to call from any thread; calling it after the child has ended throws <see cref="InvalidOperationException"/>.</item>
/// </list>
/// </remarks>
public sealed class StartSignal<T>
{
    private const int NotStarted = 0;
    private const int StartedState = 1;
    private const int Finished = 2;

    /// <summary>The group the child moves into when it signals.</summary>
    private readonly TaskGroup _group;

    /// <summary>The child's own scope; its parent is the caller's scope until the signal, the group's after.</summary>
    private readonly CancelScope _childScope;

    /// <summary>The child's name, for messages.</summary>
    private readonly string _taskName;

    /// <summary>What the caller of StartAsync awaits. Continuations run asynchronously: never inside the child's Started call.</summary>
    private readonly TaskCompletionSource<T> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary><see cref="NotStarted"/>, <see cref="StartedState"/> or <see cref="Finished"/>; moves once, by CompareExchange.</summary>
    private int _state;

    internal StartSignal(TaskGroup group, CancelScope childScope, string taskName)
    {
        _group = group;
        _childScope = childScope;
        _taskName = taskName;
    }

    /// <summary>Gets a value indicating whether <see cref="Started(T)"/> has been called.</summary>
    public bool IsStarted => Volatile.Read(ref _state) == StartedState;

    internal Task<T> Task => _started.Task;

    /// <summary>
    /// Signals that the child has started: the child moves under the group's scope, and the caller's
    /// <see cref="TaskGroup.StartAsync{T}"/> completes with <paramref name="value"/>.
    /// </summary>
    /// <param name="value">The value for the caller.</param>
    /// <exception cref="InvalidOperationException"><see cref="Started(T)"/> was already called, or the child has already ended.</exception>
    public void Started(T value)
    {
        var previous = Interlocked.CompareExchange(ref _state, StartedState, NotStarted);
        if (previous == StartedState)
        {
            throw new InvalidOperationException($"Task '{_taskName}' called Started twice; a StartAsync child signals exactly once.");
        }

        if (previous == Finished)
        {
            throw new InvalidOperationException($"Task '{_taskName}' has already ended; Started must be called while it runs.");
        }

        _group.AdoptStartedChild(_childScope);
        _started.TrySetResult(value);
    }

    /// <summary>
    /// Called when the child's work has ended. Returns true when it had not started: the outcome then goes to the caller.
    /// </summary>
    internal bool TryFinishBeforeStarted(Exception? error)
    {
        if (Interlocked.CompareExchange(ref _state, Finished, NotStarted) != NotStarted)
        {
            return false;
        }

        _started.TrySetException(error ?? new InvalidOperationException(
            $"Task '{_taskName}' returned without calling Started. A StartAsync child must call signal.Started(...) once it is ready."));
        return true;
    }
}

/// <summary>
/// The signal a child started with <see cref="TaskGroup.StartAsync(Func{StartSignal, CancellationToken, System.Threading.Tasks.Task}, string?, string?, string?, int)"/>
/// calls once it is ready.
/// </summary>
/// <remarks>As <see cref="StartSignal{T}"/>, without a value.</remarks>
public sealed class StartSignal
{
    private readonly StartSignal<bool> _inner;

    internal StartSignal(StartSignal<bool> inner) => _inner = inner;

    /// <summary>Gets a value indicating whether <see cref="Started()"/> has been called.</summary>
    public bool IsStarted => _inner.IsStarted;

    /// <summary>Signals that the child has started; see <see cref="StartSignal{T}.Started(T)"/>.</summary>
    /// <exception cref="InvalidOperationException">Already called, or the child has already ended.</exception>
    public void Started() => _inner.Started(true);
}
