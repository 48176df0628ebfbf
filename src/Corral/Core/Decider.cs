// ---------------------------------------------------------------------------------------------
// Decider: the one place that decides how a block ends (docs/adr/0001, 0009; design principles 2, 4, 9).
//
// THE PROBLEM. Every block kind of Corral ends the same way: a scope (RunAsync, MoveOn…, Fail…, Shield…), a task group,
// a StartAsync child's own scope, a safe producer. Each must answer the same question — absorb the cancellation, let it
// go on up with its reason, raise it at the exit, or pass the exception through — and the answer must be the same for
// all of them. Answered in several places, the answers drift (the FailAfterAsync / FailAfterAsync<T> difference of
// issue 12 was such a drift).
//
// THE SOLUTION. One pure function of three inputs: the block's own cancel reason (null when its own cancel was never
// called; its kind tells a deadline from an explicit cancel), whether the block is cancelled at all (its own cancel or an
// ancestor's, as its verdict says after it left the tree), and how the body ended. Each block shape turns the Verdict
// into its result (a bool, a ScopeResult, a value, a TimeoutException); none decides anything itself. The table:
//
//   body ended   | own cancel called        | cancelled by an ancestor | not cancelled
//   -------------+--------------------------+--------------------------+-----------------
//   completed    | Completed                | Propagates (exit raises) | Completed
//   cancelled    | Absorbed / TimedOut      | Propagates (with reason) | PassesThrough
//   failed       | PassesThrough            | PassesThrough            | PassesThrough
//
// The second question every task group asks of a task's exception — the group's cancellation, or a failure? — is
// IsCancellationOf, shared by the group's children and the safe producer.
//
// INVARIANT: the inputs are read after the block left the tree (CancelScope.Unlink), so no cancellation can arrive
// between the decision and the block's end: a deadline firing or a Cancel racing the exit either changed the inputs
// before the unlink, or finds the scope exited and changes nothing.
// ---------------------------------------------------------------------------------------------
using System;
using System.Runtime.CompilerServices;

namespace Corral.Core;

/// <summary>Decides how every block ends, and whether a task's exception is its group's cancellation.</summary>
internal static class Decider
{
    /// <summary>Decides how a block ends.</summary>
    /// <param name="ownReason">Why the block's own cancel was called (explicitly, by its deadline, or by a failure in its
    /// group); null when it never was.</param>
    /// <param name="cancelled">Whether the block is cancelled at all: by its own cancel or through an unshielded ancestor.</param>
    /// <param name="end">How the body ended.</param>
    /// <returns>The verdict every shape turns into its result.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Verdict Decide(CancelReason? ownReason, bool cancelled, BodyEnd end) => end switch
    {
        BodyEnd.Failed => Verdict.PassesThrough,
        BodyEnd.Cancelled when ownReason is not null =>
            ownReason.Kind == CancelReasonKind.DeadlineExceeded ? Verdict.TimedOut : Verdict.Absorbed,
        BodyEnd.Cancelled => cancelled ? Verdict.Propagates : Verdict.PassesThrough,
        _ => ownReason is null && cancelled ? Verdict.Propagates : Verdict.Completed,
    };

    /// <summary>Classifies an exception the way <see cref="Decide"/> reads a body's end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static BodyEnd EndOf(Exception? error) =>
        error is null ? BodyEnd.Completed : error is OperationCanceledException ? BodyEnd.Cancelled : BodyEnd.Failed;

    /// <summary>
    /// Whether a task of the group whose scope is <paramref name="groupScope"/> that ended with <paramref name="exception"/>
    /// ended with the group's cancellation (not a failure): an <see cref="OperationCanceledException"/> while the scope is
    /// cancelled, or one raised through a cancelled token the scope handed out (a shield raised above the group may have
    /// un-cancelled the scope since: a race found by Coyote). Any other exception, and a cancellation while nothing
    /// cancelled the group (someone else's timeout), is a failure.
    /// </summary>
    /// <remarks>A cancellation raised through the group's own <see cref="CancelScope.StoppingToken"/> is its stop, asked for and
    /// obeyed: not a failure either (a hosted service's <c>await Task.Delay(d, stoppingToken)</c>, issue 16).</remarks>
    internal static bool IsCancellationOf(CancelScope groupScope, Exception exception) =>
        exception is OperationCanceledException oce &&
        (groupScope.IsCancellationRequested
            || groupScope.IssuedCancelledToken(oce.CancellationToken)
            || groupScope.IssuedStoppingToken(oce.CancellationToken));
}
