using System;
using System.Threading;

namespace Corral.Testing;

/// <summary>Settings of one <see cref="CorralTest"/> run; read once, when the run starts.</summary>
/// <remarks>
/// <list type="bullet">
/// <item>Every setting is validated by <see cref="CorralTest.RunAsync(Func{VirtualClock, CancellationToken, System.Threading.Tasks.Task}, CorralTestOptions?)"/>
/// before anything runs (<see cref="ArgumentOutOfRangeException"/> naming the setting).</item>
/// <item>Changing the options after the run started changes nothing in that run.</item>
/// </list>
/// </remarks>
public sealed class CorralTestOptions
{
    /// <summary>The default <see cref="StartTime"/>: midnight, 1 January 2000, UTC (as <c>FakeTimeProvider</c>'s).</summary>
    public static readonly DateTimeOffset DefaultStartTime = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Gets or sets how long, in real time, the run must have been quiet — nothing queued on its scheduler, no other thread
    /// running its code — before it jumps the clock or reports a deadlock. Default: <see cref="TimeSpan.Zero"/> (at once);
    /// zero or more, finite.
    /// </summary>
    /// <remarks>
    /// The run already sees Corral's own continuations and every thread that runs its code (see
    /// <c>docs/concepts/testing.md</c>); work its code queues to the thread pool (<c>Task.Run</c>, a
    /// <c>ConfigureAwait(false)</c> continuation) is waited for while queued until the pool's queue moves past it, for at most
    /// one second. Raise this for work the run cannot see: real I/O (a socket, a local server),
    /// <see cref="TimeProvider.System"/> timers, threads started with <see cref="ExecutionContext"/> flow suppressed, or such
    /// pool work on a pool starved for longer. trio's <c>autojump_threshold</c>.
    /// </remarks>
    public TimeSpan AutojumpThreshold { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Gets or sets the real-time limit of the whole run: past it the run fails with a
    /// <see cref="CorralTestException"/> of kind <see cref="CorralTestFailureKind.Timeout"/> holding the task tree. Default:
    /// 60 seconds; <see cref="Timeout.InfiniteTimeSpan"/> for none. Not enforced while a debugger is attached.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Gets or sets how long the run's scheduler thread may stay blocked in a synchronous wait (<c>.Result</c>,
    /// <c>.Wait()</c>, <c>Thread.Sleep</c>, a contended lock) before the run fails with a <see cref="CorralTestException"/> of
    /// kind <see cref="CorralTestFailureKind.SchedulerBlocked"/> and the thread is interrupted. Default: 1 second;
    /// <see cref="Timeout.InfiniteTimeSpan"/> for never. Not enforced while a debugger is attached.
    /// </summary>
    public TimeSpan BlockedSchedulerTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Gets or sets the seed of the scheduling order. <see langword="null"/> (the default) runs ready continuations first in,
    /// first out; a value shuffles each batch of ready continuations with a generator seeded by it, so the same seed replays
    /// the same order and other seeds try other orders. A failing seeded run names its seed.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Gets or sets the instant the virtual clock starts at. Default: <see cref="DefaultStartTime"/>; any instant (the clock
    /// keeps it in UTC: <see cref="VirtualClock.Start"/> has an offset of zero).
    /// </summary>
    public DateTimeOffset StartTime { get; set; } = DefaultStartTime;

    /// <summary>
    /// Gets or sets the name of the run's root scope, shown in the task tree and in reasons; the run appends its number
    /// (unique in the process), so runs of the same name are told apart. Default: <see langword="null"/>, which names it
    /// <c>CorralTest</c>; any other string is taken as it is.
    /// </summary>
    public string? Name { get; set; }
}
