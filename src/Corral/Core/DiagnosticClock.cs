// DiagnosticClock: the timestamps that only diagnostics read (when a scope opened, when a task started).
//
// Every scope and every child takes one, so its cost is on the hot path: on this project's 2-core VM (kvm-clock)
// Stopwatch.GetTimestamp costs 25.5 ns, Environment.TickCount64 7.6 ns (BenchmarkDotNet class PrimitiveCosts in
// docs/benchmarks.md; docs/adr/0011). The task tree and the
// watchdog show these ages in milliseconds at best, so on the system clock a millisecond tick is precise enough.
// Any other TimeProvider (a FakeTimeProvider in tests, Corral's virtual time) is asked for its own timestamp, so
// ages under a fake clock stay exact and deterministic.
//
// INVARIANT: a stamp from Now(clock) is only ever read back through Since(clock, stamp) with the same clock; it is not a
// TimeProvider timestamp on the system clock and must not be mixed with one.
using System;

namespace Corral.Core;

/// <summary>Cheap timestamps for diagnostics: milliseconds on the system clock, the provider's own timestamp otherwise.</summary>
internal static class DiagnosticClock
{
    /// <summary>Takes a stamp on <paramref name="clock"/>; read it back only with <see cref="Since"/> and the same clock.</summary>
    internal static long Now(TimeProvider clock) =>
        ReferenceEquals(clock, TimeProvider.System) ? Environment.TickCount64 : clock.GetTimestamp();

    /// <summary>How long ago <paramref name="stamp"/> (from <see cref="Now"/> on the same clock) was taken; never negative.</summary>
    internal static TimeSpan Since(TimeProvider clock, long stamp)
    {
        var elapsed = ReferenceEquals(clock, TimeProvider.System)
            ? TimeSpan.FromMilliseconds(Environment.TickCount64 - stamp)
            : clock.GetElapsedTime(stamp);
        return elapsed < TimeSpan.Zero ? TimeSpan.Zero : elapsed;
    }
}
