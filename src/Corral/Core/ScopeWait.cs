// ScopeWait: the few lines every wait outside the core (Streams/, Channels/, Limits/) shares, so that each of them is a checkpoint of the
// ambient scope in exactly the same way.
//
//   * Before waiting: if the ambient scope is cancelled, throw its ScopeCancelledException (level-triggered: every time),
//     even when the operation could complete at once.
//   * While waiting: wait on the ambient scope's token (plus a caller's token, if any).
//   * When the wait is cancelled by the scope: throw the scope's cancellation with its reason, not the bare
//     OperationCanceledException the BCL throws.
using System;
using System.Runtime.CompilerServices;
using System.Threading;

namespace Corral.Core;

/// <summary>Helpers that make a wait a checkpoint of the ambient <see cref="CancelScope"/>.</summary>
internal static class ScopeWait
{
    /// <summary>Returns the cancellation a checkpoint in <paramref name="scope"/> throws now, or null when it may go on.</summary>
    /// <param name="scope">The ambient scope, or null outside Corral.</param>
    /// <param name="extra">A caller's token that must also be obeyed.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // every item of a safe producer passes here, twice
    internal static OperationCanceledException? Checkpoint(CancelScope? scope, CancellationToken extra = default)
    {
        if (scope is not null && scope.IsCancellationRequested)
        {
            return scope.CreateCancelledException();
        }

        return extra.IsCancellationRequested ? new OperationCanceledException(extra) : null;
    }

    /// <summary>
    /// Returns the token a wait must observe: the scope's, the caller's, or both linked (then <paramref name="linked"/> must be
    /// disposed after the wait).
    /// </summary>
    internal static CancellationToken Token(CancelScope? scope, CancellationToken extra, out CancellationTokenSource? linked)
    {
        linked = null;
        var own = scope?.Token ?? CancellationToken.None;
        if (!extra.CanBeCanceled || extra == own)
        {
            return own;
        }

        if (!own.CanBeCanceled)
        {
            return extra;
        }

        linked = CancellationTokenSource.CreateLinkedTokenSource(own, extra);
        return linked.Token;
    }

    /// <summary>
    /// Translates the cancellation of a wait: the scope's, with its reason, when the scope is cancelled; otherwise unchanged
    /// (it is the caller's token, or someone else's).
    /// </summary>
    internal static OperationCanceledException Translate(CancelScope? scope, OperationCanceledException cancellation) =>
        scope is not null && scope.IsCancellationRequested ? scope.WithReason(cancellation) : cancellation;
}
