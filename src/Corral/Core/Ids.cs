using System.Threading;

namespace Corral.Core;

/// <summary>Process-wide identifiers for scopes and tasks, shared so a snapshot's ids never collide.</summary>
internal static class Ids
{
    private static long s_last;

    /// <summary>Returns the next identifier (1, 2, …).</summary>
    internal static long Next() => Interlocked.Increment(ref s_last);
}
