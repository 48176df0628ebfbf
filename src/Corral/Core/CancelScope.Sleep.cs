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
    /// <remarks>Not an async method for that reason (an async method can end with an exception only by throwing it): a
    /// group of sleeping children cancelled at once would otherwise throw once per child inside Corral.</remarks>
    private sealed class Sleeper
    {
        private readonly CancelScope? _scope;
        private readonly TimeProvider _clock;
        private readonly TimeSpan _delay;
        private readonly long _start;

        /// <summary>Ends <see cref="Task"/>. Mutable struct: never copy it.</summary>
        private AsyncTaskMethodBuilder _builder = AsyncTaskMethodBuilder.Create();

        /// <summary>The continuation, created once per sleep that waits.</summary>
        private Action? _onPiece;

        internal Sleeper(CancelScope? scope, TimeSpan delay)
        {
            _scope = scope;
            _clock = scope?._timeProvider ?? TimeProvider.System;
            _delay = delay;
            _start = _clock.GetTimestamp();
            Task = _builder.Task; // created on this thread: the builder creates it lazily, and not thread-safely
            WaitNextPiece();
        }

        internal Task Task { get; }

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
                    Continuations.OnCompleted(piece, _onPiece ??= OnPieceCompleted);
                    return;
                }

                if (EndIfCancelled())
                {
                    return;
                }
            }
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
