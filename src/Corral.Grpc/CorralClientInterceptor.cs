// Every gRPC call made in a Corral scope carries the scope's deadline and token, and ends as a cancellation the scope can
// absorb.
//
// THE PROBLEM. A call made inside CancelScope.FailAfterAsync(2 s, …) knows nothing of the 2 s unless the caller copies the
// deadline and the token into CallOptions by hand; and when the scope is cancelled, grpc-dotnet ends the call with an
// RpcException (CANCELLED, or DEADLINE_EXCEEDED from its own timer), which is not an OperationCanceledException: no scope
// absorbs it, so MoveOnAfterAsync throws instead of returning false, FailAfterAsync throws RpcException instead of
// TimeoutException, and a task group counts every cancelled child's call as a failure.
//
// THE SOLUTION. For each call made while CancelScope.Current is set:
//   - CallOptions.Deadline becomes the earlier of the call's own deadline and the ambient effective deadline, converted to the
//     system clock grpc-dotnet measures with (now + the time left on the scope's clock), so grpc-timeout carries what is left;
//     plus a millisecond less one tick, because grpc-dotnet rounds the milliseconds left down: what it sends is then never
//     less than what is left, and the server's deadline never before ours (the invariant in src/Shared/TimeLeft.cs). A failure
//     the server's deadline causes thus arrives when our deadline has passed too;
//   - CallOptions.CancellationToken becomes the ambient token when the call has none (a token the caller passed is kept);
//   - an RpcException with CANCELLED or DEADLINE_EXCEEDED (or grpc-dotnet's OperationCanceledException, with
//     ThrowOperationCanceledOnCancellation) becomes the scope's cancellation, a ScopeCancelledException with the scope's reason
//     and the RpcException inside, when that scope is cancelled; otherwise it passes through unchanged (the call's own
//     deadline, the server's answer, a token the caller passed).
//
// THE RACE. When the ambient deadline is the call's deadline, two timers are set for one instant: the scope's (on its clock)
// and grpc-dotnet's (on the system clock). Either may fire first. If the scope's does, the call is cancelled through the token
// and the scope is already cancelled when the RpcException arrives. If grpc-dotnet's does, the RpcException
// (DEADLINE_EXCEEDED) can arrive a moment before the scope's timer runs; thrown as it is, it would escape the scope. The cases:
//   1. the scope is cancelled: translate;
//   2. DEADLINE_EXCEEDED, the ambient deadline was the call's, and by the scope's clock it is due within RaceTolerance: if it
//      has passed by that clock, the scope whose deadline it is is told so now (its deadline set again to the same instant, which
//      cancels a scope whose deadline is due), so a timer running late on a busy machine does not matter, then case 1;
//      otherwise wait for the scope's token (at most the time left plus RaceTolerance, on the system clock), then case 1 if it
//      came, else pass through;
//   3. anything else: pass through. (A scope on a fake clock whose time was not advanced is case 3: its deadline is far off by
//      its own clock, and grpc-dotnet's timer fired on real time.)
//
// LIMITS. ResponseHeadersAsync, GetStatus and GetTrailers are passed through untouched: headers of a cancelled call still fail
// with RpcException. The response task and the streams are wrapped, one small object each per call.
using System;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace Corral.Grpc;

/// <summary>
/// A gRPC client interceptor that gives every call made inside a <see cref="CancelScope"/> the scope's deadline and token, and
/// turns the call's cancellation into the scope's. Add it with <c>services.AddGrpcClient&lt;T&gt;(…).AddCorralInterceptor()</c>
/// or <c>channel.Intercept(new CorralClientInterceptor())</c>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Outside any scope, calls pass through untouched.</item>
/// <item><see cref="CallOptions.Deadline"/> becomes the earlier of the call's own and <see cref="CancelScope.CurrentDeadline"/>
/// (measured on the ambient scope's <see cref="CancelScope.TimeProvider"/>, sent as the time left); a deadline already passed
/// fails the call at once, as grpc-dotnet does.</item>
/// <item><see cref="CallOptions.CancellationToken"/> becomes <see cref="CancelScope.CurrentToken"/> when the call has none; a token
/// the caller passed is kept.</item>
/// <item>When the ambient scope is cancelled, the call's <see cref="RpcException"/> (<see cref="StatusCode.Cancelled"/> or
/// <see cref="StatusCode.DeadlineExceeded"/>) is thrown as a <see cref="ScopeCancelledException"/> carrying the scope's reason (the
/// <see cref="RpcException"/> is its inner exception), so the scope absorbs it like any cancellation. Every other outcome passes
/// through unchanged. <c>ResponseHeadersAsync</c> is not translated.</item>
/// <item>Thread safe and stateless: one instance may serve any number of channels and calls.</item>
/// </list>
/// </remarks>
public sealed class CorralClientInterceptor : Interceptor
{
    /// <summary>How far off, on the scope's clock, grpc-dotnet's deadline may fire before the scope's and still be the same one.</summary>
    internal static readonly TimeSpan RaceTolerance = TimeSpan.FromMilliseconds(250);

    /// <summary>One instance for the client factory: the interceptor holds no state.</summary>
    internal static readonly CorralClientInterceptor Shared = new();

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="continuation"/> is null.</exception>
    public override TResponse BlockingUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, BlockingUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        if (ClientCall.Begin(ref context) is not { } call)
        {
            return continuation(request, context);
        }

        try
        {
            return continuation(request, context);
        }
        catch (Exception e) when (call.Translate(e, wait: true) is { } cancellation)
        {
            throw cancellation;
        }
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="continuation"/> is null.</exception>
    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        if (ClientCall.Begin(ref context) is not { } call)
        {
            return continuation(request, context);
        }

        var inner = continuation(request, context);
        return new AsyncUnaryCall<TResponse>(
            call.TranslateAsync(inner.ResponseAsync), inner.ResponseHeadersAsync, inner.GetStatus, inner.GetTrailers, inner.Dispose);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="continuation"/> is null.</exception>
    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncServerStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        if (ClientCall.Begin(ref context) is not { } call)
        {
            return continuation(request, context);
        }

        var inner = continuation(request, context);
        return new AsyncServerStreamingCall<TResponse>(
            new TranslatingStreamReader<TResponse>(inner.ResponseStream, call), inner.ResponseHeadersAsync, inner.GetStatus, inner.GetTrailers, inner.Dispose);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="continuation"/> is null.</exception>
    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncClientStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        if (ClientCall.Begin(ref context) is not { } call)
        {
            return continuation(context);
        }

        var inner = continuation(context);
        return new AsyncClientStreamingCall<TRequest, TResponse>(
            new TranslatingStreamWriter<TRequest>(inner.RequestStream, call),
            call.TranslateAsync(inner.ResponseAsync),
            inner.ResponseHeadersAsync,
            inner.GetStatus,
            inner.GetTrailers,
            inner.Dispose);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="continuation"/> is null.</exception>
    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        if (ClientCall.Begin(ref context) is not { } call)
        {
            return continuation(context);
        }

        var inner = continuation(context);
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(
            new TranslatingStreamWriter<TRequest>(inner.RequestStream, call),
            new TranslatingStreamReader<TResponse>(inner.ResponseStream, call),
            inner.ResponseHeadersAsync,
            inner.GetStatus,
            inner.GetTrailers,
            inner.Dispose);
    }
}
