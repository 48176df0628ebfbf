using System.Threading;

namespace Corral.Core;

/// <summary>Process-wide identifiers for scopes and tasks, shared so a snapshot's ids never collide.</summary>
internal static class Ids
{
    private static long s_last;

    /// <summary>Returns the next identifier (1, 2, …).</summary>
    internal static long Next() => Interlocked.Increment(ref s_last);

    /// <summary>Returns the identifier in <paramref name="field"/>, assigning one on first use (0 means none yet).</summary>
    /// <remarks>Lazy so that creating scopes and tasks costs no interlocked operation until a snapshot or report reads it.</remarks>
    internal static long GetOrAssign(ref long field)
    {
        var id = Volatile.Read(ref field);
        if (id == 0)
        {
            Interlocked.CompareExchange(ref field, Next(), 0);
            id = Volatile.Read(ref field);
        }

        return id;
    }
}
