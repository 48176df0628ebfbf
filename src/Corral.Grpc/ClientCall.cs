using System;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Corral.Grpc;

/// <summary>
/// One call made by <see cref="CorralClientInterceptor"/> inside a scope: what it changed in the call's options, and how its
/// cancellation becomes the scope's (the cases are in the essay at the top of CorralClientInterceptor.cs).
/// </summary>
internal sealed class ClientCall
{
    /// <summary>
    /// What the deadline handed to grpc-dotnet adds to the time left: a millisecond less one tick. grpc-dotnet (2.85) writes
    /// grpc-timeout as the whole milliseconds left rounded DOWN (<c>timeout.Ticks / TimeSpan.TicksPerMillisecond</c> in
    /// GrpcCall.CreateHttpRequestMessage; up to a millisecond short), then rounds up to three significant figures; a
    /// millisecond less a tick more makes the value it sends never less than what was left, so the server's deadline is never
    /// before ours (the invariant in src/Shared/TimeLeft.cs). An exact budget (100 s) still goes out exact. (Half a millisecond,
    /// which assumed rounding to the nearest, left the server's deadline up to half a millisecond early: the load test's
    /// 0.064 ms.)
    /// </summary>
    internal static readonly TimeSpan RoundingAllowance = TimeSpan.FromTicks(TimeSpan.TicksPerMillisecond - 1);

    /// <summary>The ambient scope when the call started.</summary>
    private readonly CancelScope _scope;

    /// <summary>The ambient effective deadline, on the scope's clock, when it became the call's deadline; else null.</summary>
    private readonly DateTimeOffset? _ambientDeadline;

    private ClientCall(CancelScope scope, DateTimeOffset? ambientDeadline)
    {
        _scope = scope;
        _ambientDeadline = ambientDeadline;
    }

    /// <summary>
    /// Starts a call: outside any scope returns <see langword="null"/> and leaves <paramref name="context"/> alone; inside one,
    /// gives the call the earlier deadline and the ambient token when it has none.
    /// </summary>
    /// <param name="context">The call's context; replaced by one with the new options.</param>
    /// <returns>The call, or <see langword="null"/> outside any scope.</returns>
    public static ClientCall? Begin<TRequest, TResponse>(ref ClientInterceptorContext<TRequest, TResponse> context)
        where TRequest : class
        where TResponse : class
    {
        var scope = CancelScope.Current;
        if (scope is null)
        {
            return null;
        }

        var options = context.Options;
        DateTimeOffset? applied = null;
        if (scope.EffectiveDeadline is { } ambient)
        {
            // grpc-dotnet measures a deadline on the system clock; the scope's may be another (a test's fake clock). What
            // travels is the time left, so convert through it: the system clock's now + what is left on the scope's clock.
            var left = ambient - scope.TimeProvider.GetUtcNow();
            var own = options.Deadline is { } d ? (d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : d) : DateTime.MaxValue;
            if (ToCallDeadline(left, TimeProvider.System.GetUtcNow().UtcDateTime, own) is { } deadline)
            {
                options = options.WithDeadline(deadline);
                applied = ambient;
            }
        }

        if (!options.CancellationToken.CanBeCanceled)
        {
            options = options.WithCancellationToken(scope.Token);
        }

        context = new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, options);
        return new ClientCall(scope, applied);
    }

    /// <summary>
    /// The <see cref="CallOptions.Deadline"/> for an ambient deadline <paramref name="left"/> away: the system clock's
    /// <paramref name="systemNow"/> + <paramref name="left"/> + <see cref="RoundingAllowance"/>, never past the call's own;
    /// <paramref name="systemNow"/> when it has passed; <see langword="null"/> when the call's own deadline is earlier.
    /// </summary>
    /// <param name="left">The time left before the ambient deadline, on the scope's clock.</param>
    /// <param name="systemNow">Now on the system clock, which grpc-dotnet measures deadlines with.</param>
    /// <param name="own">The call's own deadline (UTC), <see cref="DateTime.MaxValue"/> for none.</param>
    /// <returns>The deadline to hand grpc-dotnet, or <see langword="null"/> to keep the call's own.</returns>
    internal static DateTime? ToCallDeadline(TimeSpan left, DateTime systemNow, DateTime own)
    {
        var converted = left <= TimeSpan.Zero ? systemNow
            : left >= DateTime.MaxValue - systemNow - RoundingAllowance ? DateTime.MaxValue
            : systemNow + left;
        if (converted > own)
        {
            return null;
        }

        // INVARIANT: the grpc-timeout grpc-dotnet computes from this deadline at any moment after systemNow is never less than
        // what is left of the ambient deadline at that moment (src/Shared/TimeLeft.cs), so the server's deadline is at or after
        // ours. A passed deadline stays "now" (grpc-dotnet fails the call at once); the allowance never takes the deadline past
        // the call's own.
        var sent = left <= TimeSpan.Zero || converted == DateTime.MaxValue ? converted : converted + RoundingAllowance;
        return sent <= own ? sent : own;
    }

    /// <summary>Awaits the call's response and turns its cancellation into the scope's.</summary>
    /// <param name="response">grpc-dotnet's response task.</param>
    /// <returns>The response.</returns>
    public async Task<T> TranslateAsync<T>(Task<T> response)
    {
        try
        {
            return await response.ConfigureAwait(false);
        }
        catch (Exception e) when (IsCallCancellation(e))
        {
            await WaitForRaceAsync(e).ConfigureAwait(false);
            if (Translate(e, wait: false) is { } cancellation)
            {
                throw cancellation;
            }

            ExceptionDispatchInfo.Throw(e);
            throw; // not reached
        }
    }

    /// <summary>Awaits a stream operation and turns its cancellation into the scope's.</summary>
    /// <param name="operation">The stream operation.</param>
    /// <returns>A task that completes when the operation has.</returns>
    public async Task TranslateAsync(Task operation)
    {
        try
        {
            await operation.ConfigureAwait(false);
        }
        catch (Exception e) when (IsCallCancellation(e))
        {
            await WaitForRaceAsync(e).ConfigureAwait(false);
            if (Translate(e, wait: false) is { } cancellation)
            {
                throw cancellation;
            }

            ExceptionDispatchInfo.Throw(e);
            throw; // not reached
        }
    }

    /// <summary>
    /// The scope's cancellation for a call that ended with <paramref name="e"/>, or <see langword="null"/> to let
    /// <paramref name="e"/> pass through unchanged.
    /// </summary>
    /// <param name="e">How the call ended.</param>
    /// <param name="wait">Whether to wait (blocking) for the scope's timer in the race of case 2.</param>
    /// <returns>A <see cref="ScopeCancelledException"/>, or <see langword="null"/>.</returns>
    public Exception? Translate(Exception e, bool wait)
    {
        if (!IsCallCancellation(e))
        {
            return null;
        }

        if (wait && RaceWait(e) is { } bound)
        {
            _scope.Token.WaitHandle.WaitOne(bound);
        }

        // Case 1 (or case 2 after the wait): the scope is cancelled, so the call's end is the scope's cancellation.
        return _scope.IsCancellationRequested && _scope.CancelReason is { } reason
            ? new ScopeCancelledException(reason, e, _scope.Token)
            : null;
    }

    /// <summary>
    /// Makes the scope (or the ancestor) whose deadline is due by its own clock act on it now (<see cref="DeadlineExpiry"/>),
    /// instead of when the clock's deadline timer runs: on a busy machine that timer can run later than
    /// <see cref="CorralClientInterceptor.RaceTolerance"/>, and the call's DEADLINE_EXCEEDED would then pass through untranslated.
    /// </summary>
    /// <param name="now">Now on the scope's clock.</param>
    /// <returns>Whether the call's scope is cancelled afterwards.</returns>
    private bool ExpireDueDeadlines(DateTimeOffset now)
    {
        for (var scope = _scope; scope is not null; scope = scope.Shield ? null : scope.Parent)
        {
            DeadlineExpiry.ExpireIfDue(scope, now);
        }

        return _scope.IsCancellationRequested;
    }

    /// <summary>Whether <paramref name="e"/> is how grpc-dotnet ends a cancelled call or one whose deadline passed.</summary>
    private static bool IsCallCancellation(Exception e) =>
        e is RpcException { StatusCode: StatusCode.Cancelled or StatusCode.DeadlineExceeded } or OperationCanceledException;

    /// <summary>Case 2: waits for the scope's deadline timer when grpc-dotnet's fired first.</summary>
    private async Task WaitForRaceAsync(Exception e)
    {
        if (RaceWait(e) is { } bound)
        {
            try
            {
                await Task.Delay(bound, TimeProvider.System, _scope.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The scope's token: what the wait was for.
            }
        }
    }

    /// <summary>
    /// How long to wait for the scope's timer (case 2): only for a deadline that the ambient scope set, that is due within
    /// <see cref="CorralClientInterceptor.RaceTolerance"/> by the scope's own clock, while the scope is not cancelled yet.
    /// </summary>
    private TimeSpan? RaceWait(Exception e)
    {
        if (_scope.IsCancellationRequested
            || _ambientDeadline is not { } deadline
            || e is RpcException { StatusCode: not StatusCode.DeadlineExceeded })
        {
            return null;
        }

        var now = _scope.TimeProvider.GetUtcNow();
        var left = deadline - now;
        if (left <= TimeSpan.Zero && ExpireDueDeadlines(now))
        {
            return null; // the scope is cancelled now: nothing to wait for
        }

        return left > CorralClientInterceptor.RaceTolerance
            ? null
            : CorralClientInterceptor.RaceTolerance + (left > TimeSpan.Zero ? left : TimeSpan.Zero);
    }
}
