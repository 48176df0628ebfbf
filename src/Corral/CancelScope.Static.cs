// The static surface of CancelScope: the ambient scope, opening scopes, timeouts, shields and checkpoints.
// Every public method validates its arguments synchronously (bad input throws before anything runs) and then
// hands over to the one run in Core/CancelScope.Run.cs, so every flavour exits, absorbs and reports alike: how it ends
// is decided by Core/Decider.cs, and each method's shape only turns that verdict into its result.
using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;

namespace Corral;

public sealed partial class CancelScope
{
    /// <summary>Gets the innermost scope the calling code runs in, or <see langword="null"/> outside any scope.</summary>
    /// <remarks>The scope flows with the async call (an <see cref="AsyncLocal{T}"/>); children of a <see cref="TaskGroup"/> run in
    /// the group's scope.</remarks>
    public static CancelScope? Current => Ambient.Scope;

    /// <summary>
    /// Gets the token of <see cref="Current"/>, or <see cref="CancellationToken.None"/> outside any scope. Pass it to every .NET
    /// API that takes a token.
    /// </summary>
    public static CancellationToken CurrentToken => Ambient.Scope?.Token ?? CancellationToken.None;

    /// <summary>Gets the effective deadline of <see cref="Current"/> (the earliest up to the first shield), or <see langword="null"/>.</summary>
    public static DateTimeOffset? CurrentDeadline => Ambient.Scope?.EffectiveDeadline;

    /// <summary>Runs <paramref name="body"/> in a new scope nested in <see cref="Current"/>.</summary>
    /// <param name="body">The block; it receives the scope, so it can cancel it, move its deadline or hand it out.</param>
    /// <param name="options">Name, deadline, shield and clock; all optional.</param>
    /// <returns>A task that completes when the body has, after the scope absorbed its own cancellation if that is how it ended.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentException">Both <see cref="CancelScopeOptions.Deadline"/> and <see cref="CancelScopeOptions.Timeout"/> are set.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options' timeout is invalid (see <see cref="MoveOnAfterAsync(TimeSpan, Func{CancellationToken, Task}, string?)"/>).</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>The body's <see cref="OperationCanceledException"/> is absorbed only when this scope's own cancel was called
    /// (<see cref="CancelledCaught"/> becomes true); any other exception passes through unchanged.</item>
    /// </list>
    /// </remarks>
    public static Task RunAsync(Func<CancelScope, Task> body, CancelScopeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = Open(options, ScopeKind.Scope);
        return Run<bool, bool>(scope, body, BlockShape.Plain);
    }

    /// <summary>Runs <paramref name="body"/> in a new scope nested in <see cref="Current"/> and returns its value, if it produced one.</summary>
    /// <typeparam name="T">The body's result type.</typeparam>
    /// <param name="body">The block; it receives the scope.</param>
    /// <param name="options">Name, deadline, shield and clock; all optional.</param>
    /// <returns>The value, or a cut-off result when the scope absorbed its own cancellation.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentException">Both a deadline and a timeout are set in <paramref name="options"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options' timeout is invalid.</exception>
    public static Task<ScopeResult<T>> RunAsync<T>(Func<CancelScope, Task<T>> body, CancelScopeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = Open(options, ScopeKind.Scope);
        return Run<T, ScopeResult<T>>(scope, body, BlockShape.Value);
    }

    /// <summary>Runs <paramref name="body"/> with a deadline <paramref name="timeout"/> from now, and moves on when it passes.</summary>
    /// <param name="timeout">How long the body may run. <see cref="TimeSpan.Zero"/> cancels at the first checkpoint;
    /// <see cref="Timeout.InfiniteTimeSpan"/> sets no deadline.</param>
    /// <param name="body">The block; it receives the scope's token.</param>
    /// <param name="name">A name for the scope, for diagnostics: <see cref="Name"/>, its <see cref="CancelReason"/> (so the messages of the
    /// exceptions and watchdog reports that carry it), the task tree and the debugger display. Default: none.</param>
    /// <returns><see langword="true"/> when the body completed; <see langword="false"/> when it was cut off by this scope's cancellation.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative (other than infinite), is
    /// <see cref="TimeSpan.MaxValue"/>, or puts the deadline past <see cref="DateTimeOffset.MaxValue"/>.</exception>
    /// <remarks>Cancellation from outside is not absorbed: it propagates as <see cref="OperationCanceledException"/>.</remarks>
    public static Task<bool> MoveOnAfterAsync(TimeSpan timeout, Func<CancellationToken, Task> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithTimeout(timeout, nameof(timeout), ScopeKind.Scope, shield: false, name);
        return Run<bool, bool>(scope, body, BlockShape.Completed);
    }

    /// <summary>Runs <paramref name="body"/> with a deadline <paramref name="timeout"/> from now and returns its value if it finished in time.</summary>
    /// <typeparam name="T">The body's result type.</typeparam>
    /// <param name="timeout">How long the body may run; see <see cref="MoveOnAfterAsync(TimeSpan, Func{CancellationToken, Task}, string?)"/>.</param>
    /// <param name="body">The block; it receives the scope's token.</param>
    /// <param name="name">A name for the scope, for diagnostics: <see cref="Name"/>, its <see cref="CancelReason"/> (so the messages of the
    /// exceptions and watchdog reports that carry it), the task tree and the debugger display. Default: none.</param>
    /// <returns>The value, or a cut-off result.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is invalid.</exception>
    public static Task<ScopeResult<T>> MoveOnAfterAsync<T>(TimeSpan timeout, Func<CancellationToken, Task<T>> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithTimeout(timeout, nameof(timeout), ScopeKind.Scope, shield: false, name);
        return Run<T, ScopeResult<T>>(scope, body, BlockShape.Value);
    }

    /// <summary>Runs <paramref name="body"/> until <paramref name="deadline"/>, and moves on when it passes.</summary>
    /// <param name="deadline">The instant on the clock of <see cref="Current"/> (or the system clock) at which the body is cancelled.
    /// A deadline in the past cancels at the first checkpoint.</param>
    /// <param name="body">The block; it receives the scope's token.</param>
    /// <param name="name">A name for the scope, for diagnostics: <see cref="Name"/>, its <see cref="CancelReason"/> (so the messages of the
    /// exceptions and watchdog reports that carry it), the task tree and the debugger display. Default: none.</param>
    /// <returns><see langword="true"/> when the body completed; <see langword="false"/> when it was cut off.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    public static Task<bool> MoveOnAtAsync(DateTimeOffset deadline, Func<CancellationToken, Task> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithDeadline(deadline.UtcTicks, ScopeKind.Scope, shield: false, name);
        return Run<bool, bool>(scope, body, BlockShape.Completed);
    }

    /// <summary>Runs <paramref name="body"/> until <paramref name="deadline"/> and returns its value if it finished in time.</summary>
    /// <typeparam name="T">The body's result type.</typeparam>
    /// <param name="deadline">The instant at which the body is cancelled.</param>
    /// <param name="body">The block; it receives the scope's token.</param>
    /// <param name="name">A name for the scope, for diagnostics: <see cref="Name"/>, its <see cref="CancelReason"/> (so the messages of the
    /// exceptions and watchdog reports that carry it), the task tree and the debugger display. Default: none.</param>
    /// <returns>The value, or a cut-off result.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    public static Task<ScopeResult<T>> MoveOnAtAsync<T>(DateTimeOffset deadline, Func<CancellationToken, Task<T>> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithDeadline(deadline.UtcTicks, ScopeKind.Scope, shield: false, name);
        return Run<T, ScopeResult<T>>(scope, body, BlockShape.Value);
    }

    /// <summary>Runs <paramref name="body"/> with a deadline <paramref name="timeout"/> from now, and throws <see cref="TimeoutException"/> if it passes.</summary>
    /// <param name="timeout">How long the body may run; see <see cref="MoveOnAfterAsync(TimeSpan, Func{CancellationToken, Task}, string?)"/>.</param>
    /// <param name="body">The block; it receives the scope's token.</param>
    /// <param name="name">A name for the scope, for diagnostics: <see cref="Name"/>, its <see cref="CancelReason"/> (so the messages of the
    /// exceptions and watchdog reports that carry it), the message of the <see cref="TimeoutException"/>, the task tree and the
    /// debugger display. Default: none.</param>
    /// <returns>A task that completes when the body has.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is invalid.</exception>
    /// <exception cref="TimeoutException">This scope's own deadline cut the body off; the cancellation is the inner exception.
    /// External cancellation is never turned into a timeout: it propagates as <see cref="OperationCanceledException"/>.</exception>
    /// <exception cref="OperationCanceledException">The body was cut off by an explicit <see cref="Cancel(string?)"/> of this scope,
    /// or by cancellation from outside: a <c>Fail…</c> block returns only when its body completed.</exception>
    public static Task FailAfterAsync(TimeSpan timeout, Func<CancellationToken, Task> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithTimeout(timeout, nameof(timeout), ScopeKind.Scope, shield: false, name);
        return Run<bool, bool>(scope, body, BlockShape.Fail, timeout);
    }

    /// <summary>Runs <paramref name="body"/> with a deadline <paramref name="timeout"/> from now and returns its value; throws
    /// <see cref="TimeoutException"/> if the deadline passes.</summary>
    /// <typeparam name="T">The body's result type.</typeparam>
    /// <param name="timeout">How long the body may run.</param>
    /// <param name="body">The block; it receives the scope's token.</param>
    /// <param name="name">A name for the scope, for diagnostics: <see cref="Name"/>, its <see cref="CancelReason"/> (so the messages of the
    /// exceptions and watchdog reports that carry it), the message of the <see cref="TimeoutException"/>, the task tree and the
    /// debugger display. Default: none.</param>
    /// <returns>The body's value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is invalid.</exception>
    /// <exception cref="TimeoutException">This scope's own deadline cut the body off.</exception>
    /// <exception cref="OperationCanceledException">The body was cut off by an explicit <see cref="Cancel(string?)"/> of this scope,
    /// or by cancellation from outside: a <c>Fail…</c> block returns only when its body completed.</exception>
    public static Task<T> FailAfterAsync<T>(TimeSpan timeout, Func<CancellationToken, Task<T>> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithTimeout(timeout, nameof(timeout), ScopeKind.Scope, shield: false, name);
        return Run<T, T>(scope, body, BlockShape.FailValue, timeout);
    }

    /// <summary>Runs <paramref name="body"/> until <paramref name="deadline"/>, and throws <see cref="TimeoutException"/> if it passes.</summary>
    /// <param name="deadline">The instant at which the body is cut off.</param>
    /// <param name="body">The block; it receives the scope's token.</param>
    /// <param name="name">A name for the scope, for diagnostics: <see cref="Name"/>, its <see cref="CancelReason"/> (so the messages of the
    /// exceptions and watchdog reports that carry it), the message of the <see cref="TimeoutException"/>, the task tree and the
    /// debugger display. Default: none.</param>
    /// <returns>A task that completes when the body has.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="TimeoutException">This scope's own deadline cut the body off.</exception>
    /// <exception cref="OperationCanceledException">The body was cut off by an explicit <see cref="Cancel(string?)"/> of this scope,
    /// or by cancellation from outside: a <c>Fail…</c> block returns only when its body completed.</exception>
    public static Task FailAtAsync(DateTimeOffset deadline, Func<CancellationToken, Task> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithDeadline(deadline.UtcTicks, ScopeKind.Scope, shield: false, name);
        return Run<bool, bool>(scope, body, BlockShape.Fail);
    }

    /// <summary>Runs <paramref name="body"/> until <paramref name="deadline"/> and returns its value; throws
    /// <see cref="TimeoutException"/> if the deadline passes.</summary>
    /// <typeparam name="T">The body's result type.</typeparam>
    /// <param name="deadline">The instant at which the body is cut off.</param>
    /// <param name="body">The block; it receives the scope's token.</param>
    /// <param name="name">A name for the scope, for diagnostics: <see cref="Name"/>, its <see cref="CancelReason"/> (so the messages of the
    /// exceptions and watchdog reports that carry it), the message of the <see cref="TimeoutException"/>, the task tree and the
    /// debugger display. Default: none.</param>
    /// <returns>The body's value.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="TimeoutException">This scope's own deadline cut the body off.</exception>
    /// <exception cref="OperationCanceledException">The body was cut off by an explicit <see cref="Cancel(string?)"/> of this scope,
    /// or by cancellation from outside: a <c>Fail…</c> block returns only when its body completed.</exception>
    public static Task<T> FailAtAsync<T>(DateTimeOffset deadline, Func<CancellationToken, Task<T>> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithDeadline(deadline.UtcTicks, ScopeKind.Scope, shield: false, name);
        return Run<T, T>(scope, body, BlockShape.FailValue);
    }

    /// <summary>
    /// Runs <paramref name="body"/> shielded from the cancellation of every enclosing scope, optionally bounded by its own
    /// <paramref name="timeout"/>: the tool for cleanup in a <c>finally</c>.
    /// </summary>
    /// <param name="body">The cleanup; it receives the shield's token, which enclosing cancellation does not reach.</param>
    /// <param name="timeout">The shield's own deadline; <see langword="null"/> or <see cref="Timeout.InfiniteTimeSpan"/> for none
    /// (then the cleanup must end by itself).</param>
    /// <param name="name">A name for the shield, for diagnostics: <see cref="Name"/>, its <see cref="CancelReason"/> (so the messages of the
    /// exceptions and watchdog reports that carry it), the task tree and the debugger display. Default: none.</param>
    /// <returns><see langword="true"/> when the body completed; <see langword="false"/> when the shield's own deadline cut it off.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is invalid.</exception>
    /// <remarks>A timeout does not throw: a <c>finally</c> that throws would hide the exception that is unwinding.</remarks>
    public static Task<bool> ShieldAsync(Func<CancellationToken, Task> body, TimeSpan? timeout = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithTimeout(timeout ?? Timeout.InfiniteTimeSpan, nameof(timeout), ScopeKind.Shield, shield: true, name);
        return Run<bool, bool>(scope, body, BlockShape.Completed);
    }

    /// <summary>Runs <paramref name="body"/> shielded from enclosing cancellation and returns its value if it finished in time.</summary>
    /// <typeparam name="T">The body's result type.</typeparam>
    /// <param name="body">The work; it receives the shield's token.</param>
    /// <param name="timeout">The shield's own deadline, or <see langword="null"/> for none.</param>
    /// <param name="name">A name for the shield, for diagnostics: <see cref="Name"/>, its <see cref="CancelReason"/> (so the messages of the
    /// exceptions and watchdog reports that carry it), the task tree and the debugger display. Default: none.</param>
    /// <returns>The value, or a cut-off result when the shield's own deadline passed.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is invalid.</exception>
    public static Task<ScopeResult<T>> ShieldAsync<T>(Func<CancellationToken, Task<T>> body, TimeSpan? timeout = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithTimeout(timeout ?? Timeout.InfiniteTimeSpan, nameof(timeout), ScopeKind.Shield, shield: true, name);
        return Run<T, ScopeResult<T>>(scope, body, BlockShape.Value);
    }

    /// <summary>
    /// A checkpoint: throws <see cref="ScopeCancelledException"/> if <see cref="Current"/> is cancelled, and otherwise returns
    /// at once.
    /// </summary>
    /// <returns>A completed task, or one faulted with the cancellation.</returns>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Level-triggered: in a cancelled scope it throws every time it is called.</item>
    /// <item>Allocates nothing when there is no cancellation, and does not yield the thread: add
    /// <c>await Task.Yield()</c> for that.</item>
    /// </list>
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ValueTask CheckpointAsync()
    {
        // The fast path is one AsyncLocal read and one field read, small enough to inline at the call site (goal: 5 ns);
        // building the exception lives out of line.
        var scope = Ambient.Scope;
        return scope is null || scope._cancelledBy is null ? default : CancelledCheckpoint(scope);
    }

    /// <summary>Throws <see cref="ScopeCancelledException"/> if <see cref="Current"/> is cancelled; the synchronous checkpoint.</summary>
    /// <exception cref="ScopeCancelledException">The ambient scope is cancelled.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfCancelled()
    {
        var scope = Ambient.Scope;
        if (scope is not null && scope._cancelledBy is not null)
        {
            ThrowCancelled(scope);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ValueTask CancelledCheckpoint(CancelScope scope) => ValueTask.FromException(scope.CreateCancelledException());

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowCancelled(CancelScope scope) => throw scope.CreateCancelledException();

    /// <summary>Waits for <paramref name="delay"/> on the ambient scope's clock; a checkpoint before and during the wait.</summary>
    /// <param name="delay">How long to wait; <see cref="Timeout.InfiniteTimeSpan"/> waits until cancelled.</param>
    /// <returns>A task that completes after the delay.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="delay"/> is negative (other than infinite) or
    /// <see cref="TimeSpan.MaxValue"/>.</exception>
    /// <exception cref="ScopeCancelledException">The ambient scope is or becomes cancelled (in the returned task).</exception>
    public static Task SleepAsync(TimeSpan delay)
    {
        Timeouts.ValidateDelay(delay, nameof(delay));
        var scope = Ambient.Scope;
        if (scope is not null && scope._cancelledBy is not null)
        {
            return Task.FromException(scope.CreateCancelledException());
        }

        return delay == TimeSpan.Zero ? Task.CompletedTask : new Sleeper(scope, delay).Task;
    }
}
