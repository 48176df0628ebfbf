using System;
using System.Runtime.ExceptionServices;
using System.Threading;

namespace Corral.Tests;

/// <summary>
/// Counts throws (first-chance exceptions) of <see cref="ScopeCancelledException"/>s carrying one reason message, so a test
/// can pin how often Corral throws without seeing other tests' exceptions: give each test a unique reason.
/// </summary>
internal sealed class ThrowCounter : IDisposable
{
    private readonly string _reason;
    private int _count;

    public ThrowCounter(string reason)
    {
        _reason = reason;
        AppDomain.CurrentDomain.FirstChanceException += OnFirstChance;
    }

    /// <summary>Gets the number of throws seen so far.</summary>
    public int Count => Volatile.Read(ref _count);

    public void Dispose() => AppDomain.CurrentDomain.FirstChanceException -= OnFirstChance;

    private void OnFirstChance(object? sender, FirstChanceExceptionEventArgs e)
    {
        if (e.Exception is ScopeCancelledException sce && sce.Reason.Message == _reason)
        {
            Interlocked.Increment(ref _count);
        }
    }
}
