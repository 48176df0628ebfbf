// SleepAsync's wait: pieces no longer than a timer accepts, on the ambient scope's clock, ended by the scope's
// cancellation without a throw (design fast path 3; docs/adr/0011).
using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral;

public sealed partial class CancelScope
{
    /// <summary>
    /// Sleeps in pieces no longer than a timer accepts (about 49.7 days), on the scope's clock. When the scope is cancelled
    /// the task ends Canceled carrying one <see cref="ScopeCancelledException"/>, created but never thrown here: the wait's
    /// own cancellation is observed by status, and the builder ends the task as an async method would, without a throw.
    /// </summary>
    /// <remarks>
    /// <para>Not an async method for that reason (an async method can end with an exception only by throwing it): a group of
    /// sleeping children cancelled at once would otherwise throw once per child inside Corral.</para>
    /// <para>It is the builder's state machine, as an async method's would be: a sleep that waits hands out the builder's
    /// state machine box, whose StateMachine is this sleeper, so a snapshot reading a task's stack can tell a sleep and its
    /// time left (Diagnostics/Stacks) at no cost (the box and its MoveNext delegate replace the task and the continuation
    /// delegate a sleep allocated before).</para>
    /// </remarks>
    private sealed class Sleeper : IAsyncStateMachine, ISleep
    {
        private readonly CancelScope? _scope;
        private readonly TimeProvider _clock;
        private readonly TimeSpan _delay;
        private readonly long _start;

        /// <summary>Ends <see cref="Task"/>. Mutable struct: never copy it.</summary>
        private AsyncTaskMethodBuilder _builder = AsyncTaskMethodBuilder.Create();

        internal Sleeper(CancelScope? scope, TimeSpan delay)
        {
            _scope = scope;
            _clock = scope?._timeProvider ?? TimeProvider.System;
            _delay = delay;
            _start = _clock.GetTimestamp();
            WaitNextPiece();

            // Read after the first wait: a sleep that waits made the builder's task its state machine box, before the piece's
            // continuation was registered, so this read (on this thread) and the continuation's completion see the same task.
            Task = _builder.Task;
        }

        internal Task Task { get; }

        /// <inheritdoc/>
        public TimeSpan? TimeLeft
        {
            get
            {
                if (_delay == Timeout.InfiniteTimeSpan)
                {
                    return null;
                }

                var left = _delay - _clock.GetElapsedTime(_start);
                return left > TimeSpan.Zero ? left : TimeSpan.Zero;
            }
        }

        /// <summary>Called by the builder's box when a piece has completed.</summary>
        void IAsyncStateMachine.MoveNext() => OnPieceCompleted();

        /// <summary>Unused: the box holds this sleeper itself.</summary>
        void IAsyncStateMachine.SetStateMachine(IAsyncStateMachine stateMachine)
        {
        }

        private void WaitNextPiece()
        {
            while (true)
            {
                var wait = Timeout.InfiniteTimeSpan;
                if (_delay != Timeout.InfiniteTimeSpan)
                {
                    var remaining = _delay - _clock.GetElapsedTime(_start);
                    if (remaining <= TimeSpan.Zero)
                    {
                        _builder.SetResult();
                        return;
                    }

                    wait = remaining < Timeouts.MaxSingleWait ? remaining : Timeouts.MaxSingleWait;
                }

                var piece = Task.Delay(wait, _clock, _scope?.Token ?? CancellationToken.None);
                if (!piece.IsCompleted)
                {
                    var self = this;
                    if (Continuations.Runner is null)
                    {
                        // Production: the box itself is the piece's continuation (no delegate), as in an async method.
                        var awaiter = piece.ConfigureAwait(false).GetAwaiter();
                        _builder.AwaitUnsafeOnCompleted(ref awaiter, ref self);
                    }
                    else
                    {
                        // A test run's thread: the box's MoveNext goes through the thread's runner (Continuations, ADR 0022).
                        var awaiter = new RunnerAwaiter(piece);
                        _builder.AwaitUnsafeOnCompleted(ref awaiter, ref self);
                    }

                    return;
                }

                if (EndIfCancelled())
                {
                    return;
                }
            }
        }

        /// <summary>
        /// Hands the builder's continuation (its box's MoveNext) to <see cref="Continuations.OnCompleted"/>, so that inside a
        /// test run a sleep's next piece runs on the run's thread like every other Corral continuation.
        /// </summary>
        private readonly struct RunnerAwaiter(Task piece) : ICriticalNotifyCompletion
        {
            public void OnCompleted(Action continuation) => Continuations.OnCompleted(piece, continuation);

            public void UnsafeOnCompleted(Action continuation) => Continuations.OnCompleted(piece, continuation);
        }

        private void OnPieceCompleted()
        {
            if (!EndIfCancelled())
            {
                WaitNextPiece();
            }
        }

        /// <summary>
        /// Ends the sleep if the scope is cancelled. Otherwise the piece ran out (sleep on), or a shield went up and replaced
        /// the token that cancelled the piece (wait again with the new one).
        /// </summary>
        private bool EndIfCancelled()
        {
            if (_scope is not null && _scope._cancelledBy is not null)
            {
                _builder.SetException(_scope.CreateCancelledException());
                return true;
            }

            return false;
        }
    }
}
