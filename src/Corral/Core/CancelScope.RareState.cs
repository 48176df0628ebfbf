// A scope's rare state, in one side object: what most scopes never need (a stop request, a retired token, a callback's
// error, an identifier for a snapshot). A scope is the object every block allocates; each reference field on it costs every
// scope 8 bytes, where the side object costs only the few scopes that use it (48 bytes then). Allocated on first need by
// Rare() (one CompareExchange, so a lock-free first use, such as Id, cannot lose a field written under the lock) and kept
// for the scope's life.
using System;
using System.Collections.Generic;
using System.Threading;

namespace Corral;

public sealed partial class CancelScope
{
    /// <summary>
    /// The scope's rare state, or null while it needs none: no stop request reaches it, nobody read <see cref="StoppingToken"/>
    /// or <see cref="Id"/>, no token was retired and no callback failed. Set once (null to an object, by
    /// <see cref="Rare"/>) and never cleared.
    /// </summary>
    /// <remarks>INVARIANT: null implies "not stopping" (a scope the request reaches gets one in Open or RefreshSubtree).</remarks>
    private volatile RareState? _rare;

    /// <summary>Gets the scope's rare state, creating it on first use. Safe from any thread, with or without the lock.</summary>
    private RareState Rare() => _rare ?? CreateRare();

    private RareState CreateRare()
    {
        var created = new RareState();
        return Interlocked.CompareExchange(ref _rare, created, null) ?? created;
    }

    /// <summary>
    /// What a scope keeps that most scopes never need. Every field but <see cref="Id"/> is guarded by the owning scope's lock;
    /// <see cref="Id"/> is assigned once by CompareExchange (<see cref="Core.Ids.GetOrAssign"/>).
    /// </summary>
    private sealed class RareState
    {
        /// <summary>This scope's own stop request (the one that cancels earliest), or null.</summary>
        internal StopRequest? Own;

        /// <summary>
        /// The cached stop verdict: the innermost scope on the unshielded path from here to the root with an own request.
        /// </summary>
        /// <remarks>INVARIANT (once refresh settles): <c>StoppedBy == (Own != null ? scope : shield ? null : parent.StoppedBy)</c>.
        /// INVARIANT (always): a non-null verdict names a scope with an own request.</remarks>
        internal volatile CancelScope? StoppedBy;

        /// <summary>The source of <see cref="StoppingToken"/>, created on its first read.</summary>
        internal volatile CancellationTokenSource? Cts;

        /// <summary>True once a refresh decided to cancel <see cref="Cts"/> (the call happens outside the lock).</summary>
        /// <remarks>INVARIANT (under the lock): <c>CtsCancelled == (Cts != null &amp;&amp; (cancelled || StoppedBy != null))</c>.</remarks>
        internal bool CtsCancelled;

        /// <summary>Tokens the scope handed out before a shield or reparenting un-cancelled it.</summary>
        internal List<CancellationToken>? RetiredTokens;

        /// <summary>Exceptions thrown by callbacks registered on <see cref="Token"/> while it was being cancelled, until the
        /// block's end takes them.</summary>
        internal List<Exception>? CallbackErrors;

        /// <summary>Backing field of <see cref="CancelScope.Id"/>; 0 until first read.</summary>
        internal long Id;
    }
}
