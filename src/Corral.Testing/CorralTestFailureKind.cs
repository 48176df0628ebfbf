namespace Corral.Testing;

/// <summary>Why a <see cref="CorralTest"/> run failed on its own account (<see cref="CorralTestException.Kind"/>).</summary>
public enum CorralTestFailureKind
{
    /// <summary>Every task of the run was waiting, no timer was pending and no other thread ran the run's code: nothing could
    /// ever wake them.</summary>
    Deadlock = 0,

    /// <summary>The run neither finished nor deadlocked within <see cref="CorralTestOptions.Timeout"/> of real time.</summary>
    Timeout = 1,

    /// <summary>The run's scheduler thread stayed blocked in a synchronous wait longer than
    /// <see cref="CorralTestOptions.BlockedSchedulerTimeout"/>.</summary>
    SchedulerBlocked = 2,

    /// <summary>The body of a run with a <see cref="CorralTestOptions.Seed"/> failed; the exception names the seed and holds the
    /// failure as its inner exception.</summary>
    FailedWithSeed = 3,
}
