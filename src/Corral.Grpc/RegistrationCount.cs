using System.Threading;

namespace Corral.Grpc;

/// <summary>
/// The registrations this package holds on call and request tokens right now: one per running call or request, removed when
/// it ends. Read by the load test (tests/Corral.Grpc.Tests) to show that none is left behind; two interlocked operations per
/// call otherwise.
/// </summary>
internal static class RegistrationCount
{
    /// <summary>The count. INVARIANT: equals the number of registrations made and not yet disposed.</summary>
    private static long s_live;

    /// <summary>Gets the number of registrations alive now.</summary>
    public static long Live => Volatile.Read(ref s_live);

    /// <summary>Counts a registration made.</summary>
    public static void Added() => Interlocked.Increment(ref s_live);

    /// <summary>Counts a registration disposed.</summary>
    public static void Removed() => Interlocked.Decrement(ref s_live);
}
