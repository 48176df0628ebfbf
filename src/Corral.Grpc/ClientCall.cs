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
            var now = TimeProvider.System.GetUtcNow().UtcDateTime;
            var converted = left <= TimeSpan.Zero ? now
                : left >= DateTime.MaxValue - now ? DateTime.MaxValue
                : now + left;
            var own = options.Deadline is { } d ? (d.Kind == DateTimeKind.Local ? d.ToUniversalTime() : d) : DateTime.MaxValue;
            if (converted <= own)
            {
                options = options.WithDeadline(converted);
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

        var left = deadline - _scope.TimeProvider.GetUtcNow();
        return left > CorralClientInterceptor.RaceTolerance
            ? null
            : CorralClientInterceptor.RaceTolerance + (left > TimeSpan.Zero ? left : TimeSpan.Zero);
    }
}
