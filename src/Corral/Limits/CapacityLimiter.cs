// ---------------------------------------------------------------------------------------------
// CapacityLimiter: anyio's CapacityLimiter for Corral.
//
// THE MODEL. A limiter lends at most TotalTokens tokens at a time; each borrower (an object, by reference) holds at most one.
// Waiters queue in FIFO order and a freed token goes straight to the first of them: a newcomer never overtakes a waiter
// (TryAcquire fails while anyone waits). TotalTokens can change at any time; raising it wakes as many waiters as it frees,
// lowering it revokes nothing and new borrowers wait until enough tokens come back.
//
// THE RACES, CASE BY CASE (all state is under _gate; completions run outside it).
//   1. A waiter's cancellation vs. a token handed to it: whoever takes the waiter off the queue under the lock wins. If the
//      cancellation wins, the waiter throws and holds nothing; if the grant wins, the acquire succeeds even though the scope
//      was cancelled a moment later (its next checkpoint raises), and the lease is the caller's to dispose, as trio and anyio do.
//   2. A lease disposed after its borrower was released by hand and borrowed again: the borrower map holds the lease, and a
//      lease releases only if it is still the map's entry for its borrower.
// ---------------------------------------------------------------------------------------------
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral;

/// <summary>
/// Limits how many borrowers use a resource at once: a pool of tokens, borrowed one per borrower and given back when done
/// (anyio's <c>CapacityLimiter</c>).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><b>Fair.</b> Waiters are served first come, first served; a newcomer never overtakes a waiter.</item>
/// <item><b>Checkpoints.</b> <see cref="AcquireAsync()"/> is a checkpoint of the ambient scope: it throws
/// <see cref="ScopeCancelledException"/> when the scope is cancelled, even if a token is free, and a cancelled waiter leaves
/// the queue holding nothing.</item>
/// <item><b>One token per borrower.</b> A borrower that asks again while holding a token gets
/// <see cref="InvalidOperationException"/> (it would otherwise deadlock itself at one token).</item>
/// <item><b>Resizable.</b> <see cref="TotalTokens"/> may change at any time; see there.</item>
/// <item><b>Thread safety.</b> Every member is safe to call from any thread. No member but the waits blocks.</item>
/// </list>
/// <code>
/// var limiter = new CapacityLimiter(4);
/// using (await limiter.AcquireAsync())
/// {
///     await DownloadAsync(url, CancelScope.CurrentToken);
/// }
/// </code>
/// </remarks>
[DebuggerDisplay("CapacityLimiter {BorrowedTokens}/{TotalTokens} borrowed, {WaitingCount} waiting")]
public sealed class CapacityLimiter
{
    /// <summary>Guards every field below.</summary>
    private readonly object _gate = new();

    /// <summary>Who holds a token, and through which lease. Compared by reference.</summary>
    private readonly Dictionary<object, CapacityLease> _borrowers = new(ReferenceEqualityComparer.Instance);

    /// <summary>Waiters in arrival order.</summary>
    /// <remarks>INVARIANT (outside a grant in progress): the queue is empty or every token is lent
    /// (<c>_borrowers.Count &gt;= _totalTokens</c>).</remarks>
    private readonly LinkedList<Waiter> _waiters = new();

    /// <summary>How many tokens may be lent at once.</summary>
    private int _totalTokens;

    /// <summary>Creates a limiter lending at most <paramref name="totalTokens"/> tokens at once.</summary>
    /// <param name="totalTokens">The number of tokens; 0 makes every borrower wait until it is raised.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="totalTokens"/> is negative.</exception>
    public CapacityLimiter(int totalTokens)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(totalTokens);
        _totalTokens = totalTokens;
    }

    /// <summary>Gets or sets how many tokens may be lent at once.</summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Raising it hands the new tokens to the waiters at once, in arrival order.</item>
    /// <item>Lowering it takes nothing back: current borrowers keep their tokens, and new ones wait until the number lent drops
    /// below the new total.</item>
    /// </list>
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public int TotalTokens
    {
        get => Volatile.Read(ref _totalTokens);
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            List<(Waiter, CapacityLease)>? granted;
            lock (_gate)
            {
                _totalTokens = value;
                granted = GrantLocked();
            }

            Complete(granted);
        }
    }

    /// <summary>Gets how many tokens are lent now.</summary>
    public int BorrowedTokens
    {
        get
        {
            lock (_gate)
            {
                return _borrowers.Count;
            }
        }
    }

    /// <summary>Gets how many tokens could be borrowed now (0 when more are lent than the total, after it was lowered).</summary>
    public int AvailableTokens
    {
        get
        {
            lock (_gate)
            {
                return Math.Max(0, _totalTokens - _borrowers.Count);
            }
        }
    }

    /// <summary>Gets how many borrowers wait for a token.</summary>
    public int WaitingCount
    {
        get
        {
            lock (_gate)
            {
                return _waiters.Count;
            }
        }
    }

    /// <summary>Returns a snapshot of the borrowers holding a token now.</summary>
    /// <returns>The borrowers (leases, for tokens acquired without a borrower); a new array each call.</returns>
    public IReadOnlyList<object> GetBorrowers()
    {
        lock (_gate)
        {
            return _borrowers.Keys.ToArray();
        }
    }

    /// <summary>Borrows a token, waiting for one if none is free; a checkpoint of the ambient scope.</summary>
    /// <returns>The lease; dispose it to give the token back. Its <see cref="CapacityLease.Borrower"/> is the lease itself.</returns>
    /// <exception cref="ScopeCancelledException">The ambient scope is or becomes cancelled while waiting (in the returned task);
    /// nothing is held.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Completes synchronously, with no wait, when a token is free and nobody waits.</item>
    /// <item>Waiters are served in arrival order.</item>
    /// </list>
    /// </remarks>
    public ValueTask<CapacityLease> AcquireAsync() => AcquireCoreAsync(borrower: null);

    /// <summary>Borrows a token on behalf of <paramref name="borrower"/>, waiting for one if none is free; a checkpoint.</summary>
    /// <param name="borrower">Who borrows (compared by reference); it may hold one token at a time.</param>
    /// <returns>The lease; dispose it, or call <see cref="Release(object)"/>, to give the token back.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="borrower"/> is null.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="borrower"/> already holds or waits for a token of this
    /// limiter (thrown here).</exception>
    /// <exception cref="ScopeCancelledException">The ambient scope is or becomes cancelled while waiting (in the returned
    /// task).</exception>
    public ValueTask<CapacityLease> AcquireAsync(object borrower)
    {
        ArgumentNullException.ThrowIfNull(borrower);
        return AcquireCoreAsync(borrower);
    }

    /// <summary>Borrows a token if one is free and nobody waits; never waits, and is not a checkpoint.</summary>
    /// <param name="lease">The lease, when a token was borrowed.</param>
    /// <returns><see langword="true"/> when a token was borrowed.</returns>
    public bool TryAcquire([NotNullWhen(true)] out CapacityLease? lease) => TryAcquireCore(borrower: null, out lease);

    /// <summary>Borrows a token on behalf of <paramref name="borrower"/> if one is free and nobody waits; never waits.</summary>
    /// <param name="borrower">Who borrows (compared by reference).</param>
    /// <param name="lease">The lease, when a token was borrowed.</param>
    /// <returns><see langword="true"/> when a token was borrowed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="borrower"/> is null.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="borrower"/> already holds or waits for a token.</exception>
    public bool TryAcquire(object borrower, [NotNullWhen(true)] out CapacityLease? lease)
    {
        ArgumentNullException.ThrowIfNull(borrower);
        return TryAcquireCore(borrower, out lease);
    }

    /// <summary>Gives back the token <paramref name="borrower"/> holds; the longest waiter, if any, gets it.</summary>
    /// <param name="borrower">The borrower (or the lease, for a token acquired without one).</param>
    /// <exception cref="ArgumentNullException"><paramref name="borrower"/> is null.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="borrower"/> holds no token of this limiter.</exception>
    public void Release(object borrower)
    {
        ArgumentNullException.ThrowIfNull(borrower);
        List<(Waiter, CapacityLease)>? granted;
        lock (_gate)
        {
            if (!_borrowers.Remove(borrower))
            {
                throw new InvalidOperationException("This borrower holds no token of this CapacityLimiter.");
            }

            granted = GrantLocked();
        }

        Complete(granted);
    }

    /// <summary>Gives back a lease's token if the lease still holds it (race case 2).</summary>
    internal void ReleaseLease(CapacityLease lease)
    {
        List<(Waiter, CapacityLease)>? granted;
        lock (_gate)
        {
            if (!_borrowers.TryGetValue(lease.Borrower, out var current) || !ReferenceEquals(current, lease))
            {
                return;
            }

            _borrowers.Remove(lease.Borrower);
            granted = GrantLocked();
        }

        Complete(granted);
    }

    private static void Complete(List<(Waiter Waiter, CapacityLease Lease)>? granted)
    {
        if (granted is null)
        {
            return;
        }

        foreach (var (waiter, lease) in granted)
        {
            waiter.TrySetResult(lease);
        }
    }

    private ValueTask<CapacityLease> AcquireCoreAsync(object? borrower)
    {
        var scope = CancelScope.Current;
        if (ScopeWait.Checkpoint(scope) is { } cancelled)
        {
            return ValueTask.FromException<CapacityLease>(cancelled);
        }

        Waiter waiter;
        lock (_gate)
        {
            AssertInvariants();
            ThrowIfBorrowing(borrower);
            if (_waiters.Count == 0 && _borrowers.Count < _totalTokens)
            {
                return new ValueTask<CapacityLease>(LendLocked(borrower));
            }

            waiter = new Waiter(this, borrower);
            waiter.Node = _waiters.AddLast(waiter);
        }

        return WaitAsync(waiter, scope);
    }

    private bool TryAcquireCore(object? borrower, [NotNullWhen(true)] out CapacityLease? lease)
    {
        lock (_gate)
        {
            ThrowIfBorrowing(borrower);
            if (_waiters.Count == 0 && _borrowers.Count < _totalTokens)
            {
                lease = LendLocked(borrower);
                return true;
            }
        }

        lease = null;
        return false;
    }

    private async ValueTask<CapacityLease> WaitAsync(Waiter waiter, CancelScope? scope)
    {
        var token = scope?.Token ?? CancellationToken.None;

        // Registered outside the lock: a token cancelled already runs the callback here, and it takes the lock.
        using var registration = token.UnsafeRegister(static (state, ct) => ((Waiter)state!).Cancel(ct), waiter);
        try
        {
            return await waiter.Task.ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (token.IsCancellationRequested)
        {
            throw ScopeWait.Translate(scope, e);
        }
    }

    /// <summary>Takes a cancelled waiter off the queue, unless a token was handed to it first (race case 1).</summary>
    private void CancelWaiter(Waiter waiter, CancellationToken token)
    {
        lock (_gate)
        {
            if (waiter.Node?.List is null)
            {
                return; // granted: the grant wins.
            }

            _waiters.Remove(waiter.Node);
            waiter.Node = null;
        }

        waiter.TrySetCanceled(token);
    }

    private void ThrowIfBorrowing(object? borrower)
    {
        Debug.Assert(Monitor.IsEntered(_gate), "caller holds the lock");
        if (borrower is null)
        {
            return;
        }

        if (_borrowers.ContainsKey(borrower))
        {
            throw new InvalidOperationException("This borrower already holds a token of this CapacityLimiter; a borrower holds one at a time.");
        }

        foreach (var w in _waiters)
        {
            if (ReferenceEquals(w.Borrower, borrower))
            {
                throw new InvalidOperationException("This borrower already waits for a token of this CapacityLimiter.");
            }
        }
    }

    private CapacityLease LendLocked(object? borrower)
    {
        var lease = new CapacityLease(this, borrower);
        _borrowers.Add(lease.Borrower, lease);
        return lease;
    }

    /// <summary>Hands free tokens to waiters in arrival order; returns whom to complete once the lock is released.</summary>
    private List<(Waiter, CapacityLease)>? GrantLocked()
    {
        List<(Waiter, CapacityLease)>? granted = null;
        while (_waiters.First is { } first && _borrowers.Count < _totalTokens)
        {
            var waiter = first.Value;
            _waiters.RemoveFirst();
            waiter.Node = null;
            (granted ??= new()).Add((waiter, LendLocked(waiter.Borrower)));
        }

        AssertInvariants();
        return granted;
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(Monitor.IsEntered(_gate), "invariants are checked under the lock");
        Debug.Assert(_waiters.Count == 0 || _borrowers.Count >= _totalTokens, "nobody waits while a token is free");
    }

    /// <summary>A borrower waiting in the queue.</summary>
    private sealed class Waiter : TaskCompletionSource<CapacityLease>
    {
        /// <summary>The limiter waited on.</summary>
        private readonly CapacityLimiter _limiter;

        internal Waiter(CapacityLimiter limiter, object? borrower)
            : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            _limiter = limiter;
            Borrower = borrower;
        }

        /// <summary>Gets who waits; null for a lease-owned token.</summary>
        internal object? Borrower { get; }

        /// <summary>The waiter's place in the queue; null once it left it. Guarded by the limiter's lock.</summary>
        internal LinkedListNode<Waiter>? Node { get; set; }

        internal void Cancel(CancellationToken token) => _limiter.CancelWaiter(this, token);
    }
}
