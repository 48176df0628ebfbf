// The static surface of CancelScope: the ambient scope, opening scopes, timeouts, shields and checkpoints.
// Every public method validates its arguments synchronously (bad input throws before anything runs) and then
// hands over to the one core in CancelScope.Run.cs, so every flavour absorbs, closes and reports alike.
using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
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
        return Run<bool, bool>(scope, body, RunShape.Plain);
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
        return Run<T, ScopeResult<T>>(scope, body, RunShape.Value);
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
        return Run<bool, bool>(scope, body, RunShape.Completed);
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
        return Run<T, ScopeResult<T>>(scope, body, RunShape.Value);
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
        return Run<bool, bool>(scope, body, RunShape.Completed);
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
        return Run<T, ScopeResult<T>>(scope, body, RunShape.Value);
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
    public static Task FailAfterAsync(TimeSpan timeout, Func<CancellationToken, Task> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithTimeout(timeout, nameof(timeout), ScopeKind.Scope, shield: false, name);
        return Run<bool, bool>(scope, body, RunShape.Fail, timeout);
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
    /// <exception cref="OperationCanceledException">The body was cut off by an explicit <see cref="Cancel(string?)"/> of this scope
    /// (there is no value to return), or by cancellation from outside.</exception>
    public static Task<T> FailAfterAsync<T>(TimeSpan timeout, Func<CancellationToken, Task<T>> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithTimeout(timeout, nameof(timeout), ScopeKind.Scope, shield: false, name);
        return Run<T, T>(scope, body, RunShape.FailValue, timeout);
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
    public static Task FailAtAsync(DateTimeOffset deadline, Func<CancellationToken, Task> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithDeadline(deadline.UtcTicks, ScopeKind.Scope, shield: false, name);
        return Run<bool, bool>(scope, body, RunShape.Fail);
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
    public static Task<T> FailAtAsync<T>(DateTimeOffset deadline, Func<CancellationToken, Task<T>> body, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        var scope = OpenWithDeadline(deadline.UtcTicks, ScopeKind.Scope, shield: false, name);
        return Run<T, T>(scope, body, RunShape.FailValue);
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
        return Run<bool, bool>(scope, body, RunShape.Completed);
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
        return Run<T, ScopeResult<T>>(scope, body, RunShape.Value);
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

    /// <summary>
    /// Sleeps in pieces no longer than a timer accepts (about 49.7 days), on the scope's clock. When the scope is cancelled
    /// the task ends Canceled carrying one <see cref="ScopeCancelledException"/>, created but never thrown here: the wait's
    /// own cancellation is observed by status, and the builder ends the task as an async method would, without a throw.
    /// </summary>
    /// <remarks>Not an async method for that reason (an async method can end with an exception only by throwing it): a
    /// group of sleeping children cancelled at once would otherwise throw once per child inside Corral.</remarks>
    private sealed class Sleeper
    {
        private readonly CancelScope? _scope;
        private readonly TimeProvider _clock;
        private readonly TimeSpan _delay;
        private readonly long _start;

        /// <summary>Ends <see cref="Task"/>. Mutable struct: never copy it.</summary>
        private AsyncTaskMethodBuilder _builder = AsyncTaskMethodBuilder.Create();

        /// <summary>The continuation, created once per sleep that waits.</summary>
        private Action? _onPiece;

        internal Sleeper(CancelScope? scope, TimeSpan delay)
        {
            _scope = scope;
            _clock = scope?._timeProvider ?? TimeProvider.System;
            _delay = delay;
            _start = _clock.GetTimestamp();
            Task = _builder.Task; // created on this thread: the builder creates it lazily, and not thread-safely
            WaitNextPiece();
        }

        internal Task Task { get; }

        private void WaitNextPiece()
        {
            while (true)
            {
                var wait = Timeout.InfiniteTimeSpan;
                if (_delay != Timeout.InfiniteTimeSpan)
                {
                    var remaining = _delay - _clock.GetElapsedTime(_start);
                    if (remaining <= TimeSpan.Zero)
                    {
                        _builder.SetResult();
                        return;
                    }

                    wait = remaining < Timeouts.MaxSingleWait ? remaining : Timeouts.MaxSingleWait;
                }

                var piece = Task.Delay(wait, _clock, _scope?.Token ?? CancellationToken.None);
                if (!piece.IsCompleted)
                {
                    piece.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onPiece ??= OnPieceCompleted);
                    return;
                }

                if (EndIfCancelled())
                {
                    return;
                }
            }
        }

        private void OnPieceCompleted()
        {
            if (!EndIfCancelled())
            {
                WaitNextPiece();
            }
        }

        /// <summary>
        /// Ends the sleep if the scope is cancelled. Otherwise the piece ran out (sleep on), or a shield went up and replaced
        /// the token that cancelled the piece (wait again with the new one).
        /// </summary>
        private bool EndIfCancelled()
        {
            if (_scope is not null && _scope._cancelledBy is not null)
            {
                _builder.SetException(_scope.CreateCancelledException());
                return true;
            }

            return false;
        }
    }

    // ----------------------------------------------------------------------------------------------
    // Opening scopes
    // ----------------------------------------------------------------------------------------------

    private static CancelScope Open(CancelScopeOptions? options, ScopeKind kind)
    {
        if (options is null)
        {
            var plain = new CancelScope(Ambient.Scope, name: null, timeProvider: null, shield: false, kind);
            plain.Open(NoDeadline);
            return plain;
        }

        if (options.Deadline is not null && options.Timeout is not null)
        {
            throw new ArgumentException("Set either Deadline or Timeout in CancelScopeOptions, not both.", nameof(options));
        }

        var scope = new CancelScope(Ambient.Scope, options.Name, options.TimeProvider, options.Shield, kind);
        var now = Timeouts.UnknownNow;
        var ticks = options.Timeout is { } timeout
            ? Timeouts.ToDeadlineTicks(timeout, scope._timeProvider, "options.Timeout", out now)
            : options.Deadline?.UtcTicks ?? NoDeadline;
        scope.Open(ticks, now);
        return scope;
    }

    private static CancelScope OpenWithTimeout(TimeSpan timeout, string paramName, ScopeKind kind, bool shield, string? name)
    {
        var scope = new CancelScope(Ambient.Scope, name, timeProvider: null, shield, kind);
        // The clock reading the deadline came from also decides whether it has passed: one clock read, not two.
        var ticks = Timeouts.ToDeadlineTicks(timeout, scope._timeProvider, paramName, out var now);
        scope.Open(ticks, now);
        return scope;
    }

    private static CancelScope OpenWithDeadline(long deadlineTicks, ScopeKind kind, bool shield, string? name)
    {
        var scope = new CancelScope(Ambient.Scope, name, timeProvider: null, shield, kind);
        scope.Open(deadlineTicks);
        return scope;
    }

    /// <summary>Stands for "the body's task was cancelled" when the cancellation was absorbed without being thrown.</summary>
    private static readonly OperationCanceledException s_cancelledUnthrown = new("The body's task was cancelled.");

    /// <summary>
    /// How a completed body task ended, as the exception <see cref="Exit"/> decides on, without rethrowing it where that
    /// can be avoided: a cancelled task is classified by the scope's state (at most one exception per cancelled body:
    /// the body's own), and only a cancellation that belongs to no cancelled scope is fetched by rethrowing it.
    /// </summary>
    /// <param name="task">The body's completed task.</param>
    /// <param name="keepCancellation">Fetch the body's own cancellation even when this scope absorbs it (a timeout reports it
    /// as its inner exception).</param>
    private Exception? OutcomeOf(Task task, bool keepCancellation = false)
    {
        if (task.IsCompletedSuccessfully)
        {
            return null;
        }

        if (task.IsFaulted)
        {
            var errors = task.Exception!.InnerExceptions;
            return errors.Count == 1 ? errors[0] : task.Exception;
        }

        if (CancelCalled && !keepCancellation)
        {
            return s_cancelledUnthrown; // absorbed by Exit; never thrown
        }

        if (IsCancellationRequested && !keepCancellation)
        {
            return CreateCancelledException();
        }

        try
        {
            task.GetAwaiter().GetResult();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>The absorbed cancellation as a <see cref="ScopeCancelledException"/> with this scope's reason.</summary>
    private OperationCanceledException WithReasonOrNew(OperationCanceledException absorbed) =>
        ReferenceEquals(absorbed, s_cancelledUnthrown) ? CreateCancelledException() : WithReason(absorbed);

    /// <summary>
    /// Ends the block: closes the scope and absorbs the body's cancellation if it is this scope's own; returns anything
    /// else, for the caller to end its task with (with errors from token callbacks, if any).
    /// </summary>
    /// <param name="error">How the body ended: null when it completed.</param>
    /// <param name="absorbed">The cancellation this scope absorbed, or null.</param>
    /// <returns>The exception the block ends with, or null when it ends normally (completed, or absorbed).</returns>
    private Exception? Exit(Exception? error, out OperationCanceledException? absorbed)
    {
        var callbackErrors = Close();
        absorbed = null;
        if (error is OperationCanceledException oce)
        {
            if (CancelCalled)
            {
                MarkCancelledCaught();
                absorbed = oce;
                error = null;
            }
            else if (IsCancellationRequested)
            {
                // An ancestor's cancellation leaving this block: make sure it carries the reason on its way out.
                error = WithReason(oce);
            }
        }
        else if (error is null && !CancelCalled && IsCancellationRequested)
        {
            // The exit is a checkpoint: a body that completed without one, inside a scope cancelled from above, still
            // reports the cancellation so the enclosing scope that was cancelled can absorb it (level-triggered).
            error = CreateCancelledException();
        }

        if (callbackErrors is not null)
        {
            return new AggregateException(
                string.Create(CultureInfo.InvariantCulture, $"{callbackErrors.Length} callback(s) registered on the token of {DescribeForMessage()} threw while it was cancelled."),
                error is null ? callbackErrors : [error, .. callbackErrors]);
        }

        return error;
    }

    private TimeoutException CreateTimeoutException(OperationCanceledException inner, TimeSpan? timeout)
    {
        var what = timeout is { } t
            ? string.Create(CultureInfo.InvariantCulture, $"within {t}")
            : string.Create(CultureInfo.InvariantCulture, $"by its deadline {Deadline:O}");
        return new TimeoutException($"The operation did not complete {what}; the deadline of {DescribeForMessage()} passed.", inner);
    }

    internal string DescribeForMessage() => Name is { } name ? $"scope '{name}'" : "the scope";
}
