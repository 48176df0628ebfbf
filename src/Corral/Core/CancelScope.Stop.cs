// ---------------------------------------------------------------------------------------------
// Stop requests: ask a block to finish what it holds, then cancel it when a grace period runs out (docs/adr/0019,
// docs/concepts/graceful-stop.md).
//
// THE PROBLEM. Cancellation is one step: once a scope is cancelled, every checkpoint throws. A service that is shutting
// down needs two: "stop taking new work and finish what you hold", then, if that takes too long, "cancel". .NET has the
// first step only as separate tokens (IHostApplicationLifetime.ApplicationStopping, BackgroundService's stoppingToken) that
// nothing ties to the code running under them, and trio has discussed it since 2017 (python-trio/trio#147, PR #921, still
// open): its hard question is who decides what "finish what you hold" means. Approaches that fail:
//   * a "soft cancel" that makes some checkpoints throw and not others: nobody can tell which code is "cleanup"; trio's
//     shield_during_cleanup (PR #921) needs every request to be wrapped, and its authors found nested grace periods hard;
//   * a second token handed out by hand (ApplicationStopping): it does not reach scopes opened inside, nor tasks started
//     later, and nothing cancels the work when the drain takes too long.
//
// THE SOLUTION. A stop request is a state of a block, like cancellation, but one that no checkpoint raises. It is
// level-triggered and flows down the cancel tree exactly as a cancellation does (a cached verdict per scope, recomputed by
// RefreshSubtree; shields hold it off; a scope opened later under a stopping scope is stopping). Code sees it through
// IsStopRequested, CurrentStopRequested and StoppingToken, and decides itself what "finish" means (stop accepting, drain
// the queue). The requester's grace period is one more due time of its deadline in the DeadlineQueue: when it passes, the
// requester's own cancel is called with a reason that says so, and that cancellation flows down as any other. A body that
// returns within the grace ends normally: a stop request is not a cancellation and nothing absorbs it.
//
//   state      | IsStopRequested | StoppingToken | Token     | checkpoints | how it is left
//   -----------+-----------------+---------------+-----------+-------------+------------------------------------------------
//   running    | false           | live          | live      | pass        | RequestStop (own or an unshielded ancestor's) -> stopping;
//              |                 |               |           |             | Cancel, deadline, ancestor cancelled -> cancelled
//   stopping   | true            | cancelled     | live      | pass        | the grace runs out (own, or an ancestor's that cancels it)
//              |                 |               |           |             | -> cancelled "stop requested: …; grace of 5 s ran out";
//              |                 |               |           |             | Cancel, deadline -> cancelled at once, with their reason;
//              |                 |               |           |             | a shield raised (stop came from above) -> running
//   cancelled  | true            | cancelled     | cancelled | throw       | block ends -> exited
//   any        |                 |               |           |             | block ends -> exited (stopping: ends normally)
//
//   A second RequestStop with a shorter grace brings the cancel forward (and its reason is the one reported); a longer or
//   infinite one changes nothing. RequestStop after the scope's own cancel, or after its block ended, changes nothing.
//
// COST (design principle 7). No field of its own: the stop's state lives in the scope's side object for rare state
// (_rare, CancelScope.RareState.cs), null for a scope nobody asks to stop and nothing else rare happened to: no allocation,
// and no read on a checkpoint (checkpoints read only _cancelledBy). Opening a scope reads the parent's _rare under the
// parent's lock, which it holds already. The side object is allocated for the requester, for each scope the request
// reaches, and for a scope whose StoppingToken is read.
//
// THE RACES, CASE BY CASE (the cancel tree's cases 1-5 apply unchanged; these are the stop's).
//   6. RequestStop racing the creation of a child: as case 1. The request's refresh sets the verdict and snapshots the
//      children under the parent's lock; Open reads the parent's verdict under the same lock.
//   7. RequestStop racing the first read of StoppingToken: the source is created, and the verdicts applied to it, under the
//      scope's lock; a refresh decides under the same lock (as case 2).
//   8. The grace running out as the block exits: OnDeadlineReached decides under the lock Unlink takes (Deadline race 1).
//   9. Two RequestStop calls at once: the own request is replaced under the scope's lock, only by one that cancels earlier;
//      the queue is moved under the same lock, so the armed due time is always the earliest of deadline and grace.
//  10. RequestStop racing Cancel: RequestStop checks the own reason under the lock and arms nothing once it is set; a
//      Cancel after the arming removes the scope from the queue (CancelCore). Either way the cancel's reason stands.
// ---------------------------------------------------------------------------------------------
using System;
using System.Threading;
using Corral.Core;

namespace Corral;

public sealed partial class CancelScope
{
    /// <summary>Gets the innermost stop request that reaches this scope (its own, or an unshielded ancestor's), or
    /// <see langword="null"/>.</summary>
    /// <remarks>A scope cancelled without a stop request has none, although <see cref="IsStopRequested"/> is true.</remarks>
    public StopRequest? StopRequest => _rare?.StoppedBy?._rare?.Own;

    /// <summary>
    /// Gets a value indicating whether code in this scope is asked to stop: a stop was requested of it or of an unshielded ancestor
    /// (<see cref="RequestStop(TimeSpan, string?)"/>), or it is cancelled (a cancellation is a stop with no grace left).
    /// </summary>
    /// <remarks>Checkpoints do not throw while a scope is only stopping: finish what you hold, take no new work, and return.</remarks>
    public bool IsStopRequested => _cancelledBy is not null || _rare?.StoppedBy is not null;

    /// <summary>
    /// Gets a token that is cancelled when a stop is requested of this scope or of an unshielded ancestor, or when the scope is
    /// cancelled: give it to the calls that take new work (an accept, a queue read) and <see cref="Token"/> to the work itself.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>The first read creates a <see cref="CancellationTokenSource"/>; later reads return the same token.</item>
    /// <item>Cancelled on the thread that requested the stop (or cancelled the scope), before that call returns; callbacks
    /// registered on it run there, as with <see cref="CancellationTokenSource.Cancel()"/>.</item>
    /// <item>If a shield raised later lifts a stop that came from an ancestor, a token read before stays cancelled and later reads
    /// return a fresh one.</item>
    /// </list>
    /// </remarks>
    public CancellationToken StoppingToken
    {
        get
        {
            var cts = _rare?.Cts;
            return cts is not null ? cts.Token : MaterializeStoppingToken();
        }
    }

    /// <summary>
    /// Gets whether <see cref="Current"/> is asked to stop (see <see cref="IsStopRequested"/>); <see langword="false"/> outside any
    /// scope.
    /// </summary>
    public static bool CurrentStopRequested => Ambient.Scope?.IsStopRequested ?? false;

    /// <summary>
    /// Gets the <see cref="StoppingToken"/> of <see cref="Current"/>, or <see cref="CancellationToken.None"/> outside any scope.
    /// </summary>
    public static CancellationToken CurrentStoppingToken => Ambient.Scope?.StoppingToken ?? CancellationToken.None;

    /// <summary>
    /// Asks this scope to stop: code inside sees <see cref="IsStopRequested"/> and <see cref="StoppingToken"/> at once, checkpoints
    /// go on passing, and if the block has not ended when <paramref name="gracePeriod"/> has passed on its
    /// <see cref="TimeProvider"/>, the scope is cancelled with a reason that says so.
    /// </summary>
    /// <param name="gracePeriod">How long the block may take to finish; <see cref="TimeSpan.Zero"/> cancels at once,
    /// <see cref="Timeout.InfiniteTimeSpan"/> never cancels.</param>
    /// <param name="reason">Why, for <see cref="StopRequest"/> and for the reason of the cancellation that follows
    /// (<c>"stop requested: {reason}; grace of 5 s ran out"</c>). Default: none.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="gracePeriod"/> is negative (other than infinite), is
    /// <see cref="TimeSpan.MaxValue"/>, or puts the cancel past <see cref="DateTimeOffset.MaxValue"/>.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Flows down like a cancellation: every scope nested in this one and not shielded is stopping too, including scopes
    /// opened later and the children of task groups inside. When the grace runs out, this scope is cancelled, and with it those
    /// scopes.</item>
    /// <item>A block that ends within the grace ends normally. A cancellation during the grace (<see cref="Cancel(string?)"/>, a
    /// deadline, an ancestor's) wins at once, with its own reason.</item>
    /// <item>Calling it again with a shorter grace brings the cancel forward (the new request is reported); a longer one changes
    /// nothing. After this scope's own cancel, or after its block ended, it changes nothing.</item>
    /// <item>Safe from any thread. Callbacks registered on the affected <see cref="StoppingToken"/>s run on the calling thread
    /// before this returns.</item>
    /// </list>
    /// </remarks>
    public void RequestStop(TimeSpan gracePeriod, string? reason = null)
    {
        var cancelAt = Timeouts.ToDeadlineTicks(gracePeriod, _timeProvider, nameof(gracePeriod), out var now);
        StopRequest request;
        bool first;
        lock (this)
        {
            AssertInvariants();

            // Race case 10: the own cancel won; race case 9: only an earlier cancel replaces the request.
            if (_ownReason is not null || _state != ScopeState.Open || _rare?.Own?.CancelAtTicks <= cancelAt)
            {
                return;
            }

            var stop = Rare();
            first = stop.Own is null;
            request = new StopRequest(reason ?? StopRequest.DefaultReason, this, gracePeriod, cancelAt);
            stop.Own = request;
            if (cancelAt != NoDeadline && cancelAt > now)
            {
                DeadlineQueue.For(_timeProvider).AddOrUpdate(this, Math.Min(cancelAt, Volatile.Read(ref _deadlineTicks)));
            }

            AssertInvariants();
        }

        if (first)
        {
            RefreshSubtree();
        }

        if (cancelAt != NoDeadline && cancelAt <= now)
        {
            CancelCore(new CancelReason(CancelReasonKind.StopRequested, request.GraceRanOutMessage(), this));
        }
    }

    /// <summary>Whether <paramref name="token"/> is this scope's cancelled <see cref="StoppingToken"/>.</summary>
    internal bool IssuedStoppingToken(CancellationToken token) =>
        token.IsCancellationRequested && _rare?.Cts is { } cts && cts.Token == token;

    /// <summary>The stop verdict a refresh or an open computes for this scope, from its inputs and its parent's verdict.</summary>
    private CancelScope? StopVerdict(CancelScope? parent) =>
        _rare?.Own is not null ? this : _shield ? null : parent?._rare?.StoppedBy;

    private CancellationToken MaterializeStoppingToken()
    {
        lock (this)
        {
            AssertInvariants();
            var stop = Rare();
            if (stop.Cts is null)
            {
                var cts = new CancellationTokenSource();
                if (_cancelledBy is not null || stop.StoppedBy is not null)
                {
                    // Race case 7. Nobody has this token yet, so no callback can run under our lock.
                    cts.Cancel();
                    stop.CtsCancelled = true;
                }

                stop.Cts = cts;
            }

            AssertInvariants();
            return stop.Cts.Token;
        }
    }
}
