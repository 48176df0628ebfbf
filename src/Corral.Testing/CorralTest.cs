using System;
using System.Threading;
using System.Threading.Tasks;
using Corral.Testing.Core;

namespace Corral.Testing;

/// <summary>
/// Runs a test body on a deterministic single-threaded scheduler with a <see cref="VirtualClock"/> that jumps to the next
/// timer when every task waits, and fails with the task tree instead of hanging.
/// </summary>
/// <remarks>
/// Works with any test framework that awaits a <see cref="Task"/> (xUnit, NUnit, MSTest): <c>await CorralTest.RunAsync(…)</c>
/// in an <c>async Task</c> test. See <c>docs/concepts/testing.md</c>.
/// </remarks>
public static class CorralTest
{
    /// <summary>
    /// Runs <paramref name="body"/> and everything it starts on one scheduler thread, with a virtual clock that every Corral
    /// scope inside uses, and returns when the body ends.
    /// </summary>
    /// <param name="body">The test: it receives the run's clock (hand it to the code under test wherever a
    /// <see cref="TimeProvider"/> goes) and the token of the run's root scope.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <returns>A task that completes when the body ends: as the body did, or with a <see cref="CorralTestException"/>.</returns>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Scheduling: the body and every continuation that comes back to the run's context (every <c>await</c> without
    /// <c>ConfigureAwait(false)</c>, every Corral task group child), and Corral's own continuations (a scope's exit, a
    /// child's finish, a sleep), run on one dedicated thread, first in first out, or in an order shuffled by
    /// <see cref="CorralTestOptions.Seed"/>.</item>
    /// <item>Time: the body runs in a root <see cref="CancelScope"/> whose <see cref="CancelScope.TimeProvider"/> is the
    /// clock, so every scope, deadline, <see cref="CancelScope.SleepAsync(TimeSpan)"/> and task group inside uses it. When
    /// nothing is ready to run, no other thread runs the run's code, and the thread pool's queue holds nothing the run's code
    /// queued (waited for at most one second), the clock jumps to its earliest timer and fires it at exactly its
    /// instant.</item>
    /// <item>Deadlock: when the run is quiet and no timer is armed, it fails at once with a <see cref="CorralTestException"/>
    /// (<see cref="CorralTestFailureKind.Deadlock"/>) whose message holds the run's task tree; a run that neither ends nor
    /// deadlocks within <see cref="CorralTestOptions.Timeout"/> fails the same way (<see cref="CorralTestFailureKind.Timeout"/>).
    /// On either, the root scope is cancelled so the run's tasks unwind, and the returned task completes even if they do not.</item>
    /// <item>The run ends when the body's task ends; work the body left running outside a task group is not waited for.</item>
    /// <item>Throws <see cref="ArgumentNullException"/> for a null body, <see cref="ArgumentOutOfRangeException"/> for invalid
    /// options, and <see cref="InvalidOperationException"/> when called inside another run (runs do not nest) — all before
    /// anything runs. The body's own exception leaves unchanged, except in a seeded run, where a
    /// <see cref="CorralTestException"/> (<see cref="CorralTestFailureKind.FailedWithSeed"/>) names the seed and holds it.</item>
    /// <item>Thread-safe: any number of runs may go on at once (xUnit runs test classes in parallel).</item>
    /// </list>
    /// </remarks>
    public static Task RunAsync(Func<VirtualClock, CancellationToken, Task> body, CorralTestOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var settings = Validate(options);
        return TestRun.Start(body, settings);
    }

    /// <summary>Runs a test body that returns a value; see <see cref="RunAsync(Func{VirtualClock, CancellationToken, Task}, CorralTestOptions?)"/>.</summary>
    /// <typeparam name="T">The body's value.</typeparam>
    /// <param name="body">The test: it receives the run's clock and the token of the run's root scope.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <returns>The body's value.</returns>
    /// <remarks>
    /// As the non-generic form; in addition, a body whose own root scope was cancelled (<c>CancelScope.Current.Cancel()</c>
    /// at the top of the body) has no value to return, and the task fails with <see cref="OperationCanceledException"/>.
    /// </remarks>
    public static Task<T> RunAsync<T>(Func<VirtualClock, CancellationToken, Task<T>> body, CorralTestOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var settings = Validate(options);
        var result = new Result<T>();
        var run = TestRun.Start(
            async (clock, ct) =>
            {
                result.Value = await body(clock, ct).ConfigureAwait(true);
                result.HasValue = true;
            },
            settings);
        return ValueAsync(run, result);
    }

    /// <summary>
    /// Waits until every other task of the current run is blocked: nothing is ready to run, no other thread runs the run's
    /// code, and no timer is due (trio's <c>wait_all_tasks_blocked</c>).
    /// </summary>
    /// <returns>A task that completes when the run is quiet; the clock has not moved meanwhile.</returns>
    /// <remarks>
    /// <list type="bullet">
    /// <item>The way to assert an intermediate state without sleeps or gates: start the work, wait, assert what it did
    /// before it blocked.</item>
    /// <item>Waiters take priority over the clock: while one waits, the clock does not jump.</item>
    /// <item>A checkpoint: throws <see cref="ScopeCancelledException"/> if the ambient scope is cancelled, and the wait ends
    /// with <see cref="OperationCanceledException"/> when it is cancelled meanwhile.</item>
    /// <item>Throws <see cref="InvalidOperationException"/> outside a run.</item>
    /// </list>
    /// </remarks>
    public static Task WaitAllTasksBlockedAsync() => WaitAllTasksBlockedAsync(TimeSpan.Zero);

    /// <summary>
    /// Waits until every other task of the current run has been blocked for at least <paramref name="cushion"/> of real time;
    /// see <see cref="WaitAllTasksBlockedAsync()"/>.
    /// </summary>
    /// <param name="cushion">How long, in real time, the run must stay quiet (for work the run cannot see, such as a local
    /// socket); zero or more, finite. Waiters with the smallest cushion are woken first.</param>
    /// <returns>A task that completes when the run has been quiet that long.</returns>
    /// <remarks>Throws <see cref="ArgumentOutOfRangeException"/> for a negative or infinite cushion, and as
    /// <see cref="WaitAllTasksBlockedAsync()"/> does.</remarks>
    public static Task WaitAllTasksBlockedAsync(TimeSpan cushion)
    {
        if (cushion < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                nameof(cushion), cushion, "The cushion is a real-time duration of zero or more (Timeout.InfiniteTimeSpan would never wake).");
        }

        var run = TestRun.Current ?? throw new InvalidOperationException(
            "CorralTest.WaitAllTasksBlockedAsync works only inside a test run: call it from the body given to CorralTest.RunAsync " +
            "(or from code that body runs).");
        CancelScope.ThrowIfCancelled();
        return run.WaitAllTasksBlockedAsync(cushion, CancelScope.CurrentToken);
    }

    /// <summary>Gets the clock of the run the caller runs in, or <see langword="null"/> outside a run.</summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item>For code that must find the clock without being handed it (a service registered in a test host).</item>
    /// <item>Found through the <see cref="ExecutionContext"/>: it is the run's clock in the body, in everything the body
    /// starts or awaits, and on other threads running the run's code (a <c>Task.Run</c> worker); <see langword="null"/> on
    /// threads that do not descend from a run (and on those started with the context's flow suppressed).</item>
    /// <item>Code of a run that still runs after the run ended (left behind outside a task group) still finds the run's
    /// clock, frozen (see <see cref="VirtualClock"/>).</item>
    /// <item>Thread-safe; never throws.</item>
    /// </list>
    /// </remarks>
    public static VirtualClock? CurrentClock => TestRun.Current?.Clock;

    private static CorralTestOptions Validate(CorralTestOptions? options)
    {
        if (TestRun.Current is { } outer)
        {
            throw new InvalidOperationException(
                $"CorralTest.RunAsync was called inside another test run ('{outer.RootName}'); runs do not nest, because the " +
                "inner run's scheduler and clock would fight the outer one's. Run the code directly in the outer run's body (it " +
                "already has a virtual clock and a deterministic scheduler), or start the second run after the first one ends.");
        }

        options ??= new CorralTestOptions();
        if (options.AutojumpThreshold < TimeSpan.Zero || options.AutojumpThreshold == Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(
                nameof(options), options.AutojumpThreshold,
                "CorralTestOptions.AutojumpThreshold must be zero or more and finite: the run must be able to jump the clock or " +
                "report a deadlock. To hold time still, do not wait: call VirtualClock.Advance.");
        }

        CheckLimit(options.Timeout, "CorralTestOptions.Timeout", nameof(options));
        CheckLimit(options.BlockedSchedulerTimeout, "CorralTestOptions.BlockedSchedulerTimeout", nameof(options));
        return new CorralTestOptions
        {
            AutojumpThreshold = options.AutojumpThreshold,
            Timeout = options.Timeout,
            BlockedSchedulerTimeout = options.BlockedSchedulerTimeout,
            Seed = options.Seed,
            StartTime = options.StartTime,
            Name = options.Name,
        };
    }

    private static void CheckLimit(TimeSpan value, string name, string paramName)
    {
        if (value != Timeout.InfiniteTimeSpan && value <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(
                paramName, value, $"{name} must be positive, or Timeout.InfiniteTimeSpan for no limit.");
        }
    }

    private static async Task<T> ValueAsync<T>(Task run, Result<T> result)
    {
        await run.ConfigureAwait(false);
        if (!result.HasValue)
        {
            throw new OperationCanceledException(
                "The test body's own root scope was cancelled (CancelScope.Current.Cancel() at the top of the body), so the body " +
                "returned no value.");
        }

        return result.Value!;
    }

    /// <summary>The value of a generic body, set on the scheduler thread and read after the run's task completed.</summary>
    private sealed class Result<T>
    {
        public T? Value { get; set; }

        public bool HasValue { get; set; }
    }
}
