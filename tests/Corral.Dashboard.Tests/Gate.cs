using System;
using System.Threading.Tasks;

namespace Corral.Dashboard.Tests;

/// <summary>Coordination helpers: signals, and the one real-time bound of these tests, which turns a hang into a failure.</summary>
internal static class Gate
{
    /// <summary>
    /// How long a test waits for something that must happen before it fails instead of hanging: a guard for a broken
    /// build, never a timing assertion. Generous, because the suite shares a loaded two-core machine (load 20 and more).
    /// </summary>
    public static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long Playwright waits for the real browser to show something (its actions and <c>Expect</c> assertions): the
    /// browser renders on its own schedule, so it gets patience, not a bound; no test asserts how fast it is.
    /// </summary>
    public static readonly TimeSpan Browser = TimeSpan.FromSeconds(30);

    /// <summary>A signal whose waiters resume asynchronously (never inside the call that sets it).</summary>
    public static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A value signal whose waiters resume asynchronously.</summary>
    public static TaskCompletionSource<T> New<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Awaits <paramref name="task"/>, failing the test if it does not complete within <see cref="Hang"/>.</summary>
    public static Task Within(this Task task) => task.WaitAsync(Hang);

    /// <summary>Awaits <paramref name="task"/>, failing the test if it does not complete within <see cref="Hang"/>.</summary>
    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Hang);
}
