using System;
using Corral.Diagnostics;

namespace Corral.Testing;

/// <summary>
/// What a <see cref="CorralTest"/> run throws when it fails on its own account: a deadlock, its real-time limit, a blocked
/// scheduler thread, or a failure of a seeded run (which names the seed).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>The message says what happened, what to do, and holds the run's part of the task tree (which task waited for what)
/// and the virtual time.</item>
/// <item>A failure of the body of a run without a seed is never wrapped: it leaves the run as it was thrown.</item>
/// </list>
/// </remarks>
public sealed class CorralTestException : Exception
{
    /// <summary>Creates the exception; runs create it themselves, and a test may create one to check code that reports them.</summary>
    /// <remarks>Takes its arguments as they are (no validation); <see cref="Exception.Message"/> is <paramref name="message"/>.</remarks>
    /// <param name="kind">Why the run failed.</param>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="taskTree">The run's part of the task tree when it failed, if it was taken.</param>
    /// <param name="virtualTime">The run's virtual time when it failed.</param>
    /// <param name="seed">The run's scheduling seed, if it had one.</param>
    /// <param name="innerException">The body's failure (<see cref="CorralTestFailureKind.FailedWithSeed"/>), or what a blocked
    /// scheduler thread threw when it was interrupted.</param>
    public CorralTestException(
        CorralTestFailureKind kind,
        string message,
        TaskTreeSnapshot? taskTree,
        DateTimeOffset virtualTime,
        int? seed,
        Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        TaskTree = taskTree;
        VirtualTime = virtualTime;
        Seed = seed;
    }

    /// <summary>Gets why the run failed.</summary>
    public CorralTestFailureKind Kind { get; }

    /// <summary>Gets the run's part of the task tree when it failed (its root scope and everything in it), or
    /// <see langword="null"/> when none was taken (a seeded body's own failure).</summary>
    public TaskTreeSnapshot? TaskTree { get; }

    /// <summary>Gets the run's virtual time when it failed.</summary>
    public DateTimeOffset VirtualTime { get; }

    /// <summary>Gets the run's scheduling seed (<see cref="CorralTestOptions.Seed"/>), or <see langword="null"/> for first in,
    /// first out.</summary>
    public int? Seed { get; }
}
