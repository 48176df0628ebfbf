// ---------------------------------------------------------------------------------------------
// ChannelSender: trio's MemorySendChannel guarantees on top of a System.Threading.Channels writer.
//
// THE GAP. A ChannelWriter has one Complete for everybody. With several producers, someone must count them and complete the
// channel after the last; forget it, or let a producer fail before its `finally`, and the reader waits forever.
//
// THE DESIGN. A ChannelSender is a counted handle. All clones share one SenderState (the writer, the count of open handles,
// the first error). Dispose closes one handle; the close that takes the count to 0 completes the writer, with the first error
// any handle was closed with. TaskGroup.StartSender clones a handle *before* the child starts and closes the clone when the
// child's task has ended, whichever way: the channel cannot complete before a child that will write to it has started, and
// cannot stay open after the last has ended.
//
// THE RACES. Clone and Dispose of handles sharing a state go through the state's lock: a Clone of an open handle always
// counts in before that handle's own Dispose can count out, so the count never reaches 0 while a handle is open.
// ---------------------------------------------------------------------------------------------
using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral;

/// <summary>
/// A sending handle on a <see cref="ChannelWriter{T}"/> that can be cloned for several producers; the channel is completed when
/// the last handle closes (trio's <c>MemorySendChannel.clone</c>).
/// </summary>
/// <typeparam name="T">The item type.</typeparam>
/// <remarks>
/// <list type="bullet">
/// <item><b>Completion.</b> The writer is completed exactly once: when the last open handle (this one or a clone) is disposed.
/// If a handle was closed because its task failed or was cancelled (see
/// <see cref="TaskGroupChannelExtensions.StartSender{T}(TaskGroup, ChannelSender{T}, Func{ChannelSender{T}, CancellationToken, Task}, string?)"/>),
/// the completion carries that exception (the first failure, or if none failed, the first cancellation), so readers never
/// mistake a cut stream for a finished one.</item>
/// <item><b>Checkpoints.</b> <see cref="SendAsync"/> is a checkpoint of the ambient scope: it throws
/// <see cref="ScopeCancelledException"/> when the scope is cancelled, even if there is room, and its wait obeys the scope.</item>
/// <item><b>Thread safety.</b> Every member is safe to call from any thread; a handle may be shared by tasks that send
/// concurrently.</item>
/// <item><b>Ownership.</b> The first handle owns the writer: complete the channel only through handles.</item>
/// </list>
/// </remarks>
[DebuggerDisplay("ChannelSender closed={IsClosed}")]
public sealed class ChannelSender<T> : IDisposable
{
    /// <summary>What all clones share.</summary>
    private readonly SenderState<T> _state;

    /// <summary>Whether this handle is closed. Guarded by the state's lock.</summary>
    private bool _closed;

    /// <summary>Creates the first sending handle on <paramref name="writer"/>.</summary>
    /// <param name="writer">The writer to send to and to complete when the last handle closes.</param>
    /// <exception cref="ArgumentNullException"><paramref name="writer"/> is null.</exception>
    public ChannelSender(ChannelWriter<T> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        _state = new SenderState<T>(writer);
    }

    private ChannelSender(SenderState<T> state) => _state = state;

    /// <summary>Gets a value indicating whether this handle has been closed (other clones may still be open).</summary>
    public bool IsClosed
    {
        get
        {
            lock (_state.Gate)
            {
                return _closed;
            }
        }
    }

    /// <summary>Returns a new handle on the same channel; the channel stays open until it is closed too.</summary>
    /// <returns>An open handle.</returns>
    /// <exception cref="ObjectDisposedException">This handle is closed.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Give each producer its own clone and close the original when all are handed out; the channel completes when the
    /// last producer closes its clone.</item>
    /// </list>
    /// </remarks>
    public ChannelSender<T> Clone()
    {
        lock (_state.Gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            _state.OpenHandles++;
            return new ChannelSender<T>(_state);
        }
    }

    /// <summary>Sends <paramref name="item"/>, waiting for room if the channel is bounded and full; a checkpoint.</summary>
    /// <param name="item">The item.</param>
    /// <returns>A task that completes when the item is in the channel.</returns>
    /// <exception cref="ObjectDisposedException">This handle is closed (thrown here).</exception>
    /// <exception cref="ScopeCancelledException">The ambient scope is or becomes cancelled (in the returned task); the item was
    /// not sent.</exception>
    /// <exception cref="ChannelClosedException">The channel was completed (in the returned task).</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Completes synchronously, allocating nothing, when there is room.</item>
    /// <item>A closed channel met while the ambient scope is cancelled throws the cancellation, not
    /// <see cref="ChannelClosedException"/>: a sibling being cancelled is not a failure.</item>
    /// </list>
    /// </remarks>
    public ValueTask SendAsync(T item)
    {
        ThrowIfClosed();
        var scope = CancelScope.Current;
        if (ScopeWait.Checkpoint(scope) is { } cancelled)
        {
            return ValueTask.FromException(cancelled);
        }

        if (_state.Writer.TryWrite(item))
        {
            return default;
        }

        return SendSlowAsync(item, scope);
    }

    /// <summary>Sends <paramref name="item"/> if the channel has room now; never waits, and is not a checkpoint.</summary>
    /// <param name="item">The item.</param>
    /// <returns><see langword="true"/> when the item is in the channel; <see langword="false"/> when it is full or completed.</returns>
    /// <exception cref="ObjectDisposedException">This handle is closed.</exception>
    public bool TrySend(T item)
    {
        ThrowIfClosed();
        return _state.Writer.TryWrite(item);
    }

    /// <summary>Closes this handle; if it was the last open one, completes the channel.</summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Idempotent; never throws; not a checkpoint (it is safe in a cancelled task's cleanup, like trio's
    /// <c>close</c>).</item>
    /// </list>
    /// </remarks>
    public void Dispose() => Close(error: null);

    /// <summary>Gets how many handles (this one and its clones) are still open; the channel completes when none is.</summary>
    internal int OpenHandles
    {
        get
        {
            lock (_state.Gate)
            {
                _state.AssertInvariants();
                return _state.OpenHandles;
            }
        }
    }

    /// <summary>Closes this handle, remembering <paramref name="error"/> (the first wins) for the channel's completion.</summary>
    internal void Close(Exception? error)
    {
        bool last;
        lock (_state.Gate)
        {
            if (_closed)
            {
                return;
            }

            _closed = true;

            // A failure beats a cancellation: when one sender fails, the group cancels its siblings, and their
            // cancellations may close first.
            if (error is not null && (_state.FirstError is null || (_state.FirstError is OperationCanceledException && error is not OperationCanceledException)))
            {
                _state.FirstError = error;
            }

            last = --_state.OpenHandles == 0;
            _state.AssertInvariants();
        }

        if (last)
        {
            _state.Writer.TryComplete(_state.FirstError);
        }
    }

    private void ThrowIfClosed()
    {
        if (Volatile.Read(ref _closed))
        {
            throw new ObjectDisposedException(GetType().Name, "This ChannelSender is closed; send through an open clone.");
        }
    }

    private async ValueTask SendSlowAsync(T item, CancelScope? scope)
    {
        var token = scope?.Token ?? CancellationToken.None;
        try
        {
            await _state.Writer.WriteAsync(item, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (token.IsCancellationRequested)
        {
            throw ScopeWait.Translate(scope, e);
        }
        catch (ChannelClosedException) when (ScopeWait.Checkpoint(scope) is { } cancelled)
        {
            throw cancelled;
        }
    }
}
