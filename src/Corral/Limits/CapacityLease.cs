using System;
using System.Diagnostics;
using System.Threading;

namespace Corral;

/// <summary>
/// A token borrowed from a <see cref="CapacityLimiter"/>; disposing it gives the token back.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Dispose is idempotent and never throws; it is not a checkpoint, so it is safe in the cleanup of a cancelled task.</item>
/// <item>Disposing a lease whose token was already given back through <see cref="CapacityLimiter.Release(object)"/> does nothing,
/// even if the same borrower has borrowed again since.</item>
/// <item>Safe to dispose from any thread.</item>
/// </list>
/// </remarks>
[DebuggerDisplay("CapacityLease borrower={Borrower}")]
public sealed class CapacityLease : IDisposable
{
    /// <summary>The limiter the token came from.</summary>
    private readonly CapacityLimiter _limiter;

    /// <summary>1 once disposed.</summary>
    private int _disposed;

    internal CapacityLease(CapacityLimiter limiter, object? borrower)
    {
        _limiter = limiter;
        Borrower = borrower ?? this;
    }

    /// <summary>Gets who holds the token: the object passed to <c>AcquireAsync(borrower)</c>, or this lease.</summary>
    public object Borrower { get; }

    /// <summary>Gives the token back to the limiter, which hands it to the longest-waiting borrower, if any.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _limiter.ReleaseLease(this);
        }
    }
}
