// How the time left is told to the next hop: rounded UP, in every header Corral writes.
//
// THE PROBLEM. A hop tells the next one the time its caller has left, in a unit (milliseconds for Corral-Timeout,
// Connect-Timeout-Ms and Envoy's header; milliseconds or seconds for grpc-timeout). The next hop counts that from when it
// reads the header: its deadline = its now + the value. Rounded down, the value can be up to one unit less than what was
// left; when the request crosses in less than that (loopback: microseconds), the next hop's deadline falls BEFORE ours. Its
// deadline then fires first and its failure (a 504, DEADLINE_EXCEEDED, a connection it aborted) reaches us while our own
// deadline has not passed by our clock: we cannot tell it from any other failure, and report it as one (the gRPC server
// interceptor ended such a call UNKNOWN, "Exception was thrown by handler", and the load test caught it on a 2-core CI machine).
//
// APPROACHES THAT FAIL.
// - Rounding down "so a server is never told it has more time than the caller left" (what Corral did first): it guards
//   against a sub-millisecond overrun that nobody can observe (we cancel the call to the next hop at our own deadline anyway)
//   and breaks the one ordering every caller relies on.
// - Rounding to nearest (older grpc-dotnet clients, Convert.ToInt64 of the milliseconds): up to half a unit early, the same
//   race. (grpc-dotnet 2.85 rounds down, Ticks / TicksPerMillisecond: up to a whole unit.)
// - Treating any failure "close to" our deadline as the deadline: a margin turns genuine failures just before the deadline into
//   timeouts, and no margin is right on every machine.
//
// THE SOLUTION. Round up, as gRPC's C core does: the value sent is never less than what was left when it was computed, and the
// request cannot arrive before it was sent, so
//
//     INVARIANT: the next hop's deadline is at or after ours (same clock rate; the clocks' offsets do not matter, the value is
//     relative). A failure the next hop's deadline causes therefore reaches us at or after our own deadline, when our clock
//     says it has passed: CorralServerInterceptor's DeadlinePassed() and the request scope's own deadline see it as the
//     deadline it is.
//
// The price: the next hop may work up to one unit (a millisecond; a second beyond eight digits of milliseconds) past our
// deadline, and our own deadline cancels the call to it at that instant anyway. A deadline that has passed is still sent as
// "none left" (0, or 1n for grpc-timeout, which grpc-dotnet's server reads as passed). The gRPC client interceptor keeps the
// invariant too: grpc-dotnet rounds the time left down to whole milliseconds, so the interceptor hands it a deadline a
// millisecond less one tick later (ClientCall.RoundingAllowance).
//
// LIMITS. Clocks that run at different rates, or a clock stepped backwards between two readings, are outside the invariant.
using System;

namespace Corral;

/// <summary>The time left, in the whole units a deadline header carries, rounded up (the invariant in the essay above).</summary>
internal static class TimeLeft
{
    /// <summary>Whole milliseconds in <paramref name="remaining"/>, rounded up; 0 when it is zero or negative.</summary>
    /// <param name="remaining">The time until the deadline; negative when it has passed.</param>
    /// <returns>The milliseconds, never less than <paramref name="remaining"/>.</returns>
    public static long CeilingMilliseconds(TimeSpan remaining) =>
        remaining.Ticks <= 0 ? 0 : ((remaining.Ticks - 1) / TimeSpan.TicksPerMillisecond) + 1; // integer arithmetic, no overflow
}
