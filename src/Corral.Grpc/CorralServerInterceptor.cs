// Every gRPC server call in a Corral scope, with the call's deadline.
//
// THE PROBLEM. grpc-dotnet gives a handler ServerCallContext.CancellationToken and .Deadline, and enforces the deadline itself
// (a timer per call that answers DEADLINE_EXCEEDED and cancels the token). Nothing ties that to a Corral scope: inside the
// handler CancelScope.CurrentDeadline is null, a MoveOnAfterAsync does not know the call's budget, a checkpoint does not see a
// cancelled call, and a test cannot move the call's deadline with a fake clock.
//
// APPROACHES THAT FAIL.
// - Opening a scope whose deadline is ServerCallContext.Deadline: that is an instant on the system clock, computed before the
//   interceptor runs; a scope on another TimeProvider (a test's fake clock) would get a deadline on the wrong clock, and the
//   budget the caller sent would come out approximate. The interceptor reads grpc-timeout itself and counts it on its own clock.
// - Cancelling the scope from the call's token and leaving the handler the call's token: the scope's own deadline (or a
//   Cancel of the call's scope) would then not cancel what the handler passes context.CancellationToken to. Both must cancel
//   together, and grpc-dotnet's token cannot be cancelled from outside.
// - Swapping HttpContext.RequestAborted for the scope's token (what UseCorralRequestScopes does for HTTP): grpc-dotnet reads
//   RequestAborted lazily as its own call token when the call has no deadline, so the call token and the scope token would
//   become one another's source, and EnableCallContextPropagation would propagate a token grpc-dotnet no longer owns.
//
// THE SOLUTION. The handler runs in a scope named after the method ("/package.Service/Method") whose deadline is now +
// grpc-timeout on CorralGrpcServerOptions.TimeProvider, and receives a CorralServerCallContext: grpc-dotnet's context with the
// scope's token as CancellationToken. The call's own token cancels the scope (a registration), so the scope's token is
// cancelled when either is. How the call ends (the cases, in the order they are checked):
//   1. the deadline passed: the scope's own deadline fired, or grpc-dotnet's did (then the scope's deadline is moved to now,
//      so the reason is the same "deadline exceeded"), or the client cancelled within CallerDeadlineMargin of the deadline
//      (reason "the caller's deadline passed"), or the clock is past it when the handler ends (the scope's timer can run late
//      on a busy machine): DEADLINE_EXCEEDED, whatever the handler did, swallowed the cancellation and returned a value, or
//      failed some other way on its way out (the next hop's 504, its deadline having fired at the same moment). That is gRPC's
//      rule, and what grpc-dotnet's own deadline does (it writes DEADLINE_EXCEEDED and ignores the handler from then on): a
//      late answer is not an answer. The clock check is enough for the next hop's failures because of the invariant in
//      src/Shared/TimeLeft.cs: every deadline Corral sends on is rounded up, so the next hop's deadline is never before ours
//      and a failure it causes arrives when our clock says ours has passed too (rounded down, it arrived up to a millisecond
//      early on loopback, and the call ended UNKNOWN);
//   2. the client cancelled earlier: CANCELLED (reason "the client cancelled the call"); nobody reads it, but logs and
//      interceptors further out see the truth;
//   3. the handler cancelled the call's scope itself (CancelScope.Current.Cancel(reason) at the top of the handler): CANCELLED
//      with the reason as detail;
//   4. an enclosing Corral scope's cancellation left the handler (UseCorralRequestScopes around gRPC-Web, say):
//      DEADLINE_EXCEEDED if it was a deadline, else CANCELLED with its reason, instead of grpc-dotnet's UNKNOWN for an
//      OperationCanceledException;
//   5. anything else before the deadline (a value, an RpcException, any other exception, an OperationCanceledException no
//      Corral scope caused) passes through unchanged, and grpc-dotnet maps it as it always does.
//
// RACES. The call's token can be cancelled (client, grpc-dotnet's deadline, Kestrel aborting the connection) at any moment,
// on any thread, while the scope's deadline timer fires on another: the first cancellation wins (a scope keeps its first
// reason), and the cases above read which one it was from the scope's reason and the cause the registration recorded before
// it cancelled the scope. The registration is made inside the scope (so its callback cannot run before the scope exists) and
// disposed before the scope ends (Dispose waits for a running callback), so it never touches an ended scope.
//
// LIMITS. ServerCallContext.Deadline stays grpc-dotnet's (system clock). grpc-dotnet keeps its own deadline timer; on the
// system clock the two fire within a timer tick of each other and either ends the call as DEADLINE_EXCEEDED.
using System;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;

namespace Corral.Grpc;

/// <summary>
/// A gRPC server interceptor that runs every call's handler in a <see cref="CancelScope"/> named after the method
/// (<c>/package.Service/Method</c>), whose deadline is the call's <c>grpc-timeout</c>. Add it with
/// <c>services.AddGrpc().AddCorralScopes()</c>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Unary, server-streaming, client-streaming and bidirectional calls alike.</item>
/// <item>The deadline is now + <c>grpc-timeout</c> on <see cref="CorralGrpcServerOptions.TimeProvider"/>; without the header (or
/// with a malformed one, logged at debug level and ignored, as grpc-dotnet ignores it), none. A zero timeout is a deadline that has
/// passed.</item>
/// <item>The handler's <see cref="ServerCallContext.CancellationToken"/> is the scope's token: cancelled when the call is
/// (client, grpc-dotnet's deadline, connection lost) and when the scope is (its deadline, or <see cref="CancelScope.Cancel"/> of the
/// call's scope).</item>
/// <item>A call whose deadline passed ends with <see cref="StatusCode.DeadlineExceeded"/>, whatever its handler did (returned
/// anyway, or failed another way), as grpc-dotnet's own deadline ends it; a client cancellation with
/// <see cref="StatusCode.Cancelled"/>; any other outcome as grpc-dotnet would map it.</item>
/// <item>Thread safe and stateless across calls: one instance serves every call.</item>
/// </list>
/// </remarks>
public sealed class CorralServerInterceptor : Interceptor
{
    /// <summary>The key under which grpc-dotnet's <c>GetHttpContext()</c> finds the HttpContext of a context it did not make.</summary>
    private const string HttpContextKey = "__HttpContext";

    /// <summary>Logs a grpc-timeout value that is not well formed.</summary>
    private static readonly Action<ILogger, string, string, Exception?> s_malformedHeader = LoggerMessage.Define<string, string>(
        LogLevel.Debug,
        new EventId(1, "MalformedTimeoutHeader"),
        "Ignored the malformed grpc-timeout header '{Value}' of call {Method}: expected one to eight ASCII digits and a unit (H, M, S, m, u, n).");

    /// <summary>Logs a call cut off by its deadline.</summary>
    private static readonly Action<ILogger, string, Exception?> s_deadlineExceeded = LoggerMessage.Define<string>(
        LogLevel.Information,
        new EventId(2, "CallDeadlineExceeded"),
        "Call {Method} was cut off by its deadline.");

    /// <summary>Logs a call the client cancelled at its deadline.</summary>
    private static readonly Action<ILogger, string, double, Exception?> s_callerDeadlinePassed = LoggerMessage.Define<string, double>(
        LogLevel.Information,
        new EventId(3, "CallerDeadlinePassed"),
        "Call {Method}: the caller's deadline passed (the client cancelled {EarlyMilliseconds} ms before the deadline its grpc-timeout announced).");

    /// <summary>Logs a call the client cancelled.</summary>
    private static readonly Action<ILogger, string, Exception?> s_clientCancelled = LoggerMessage.Define<string>(
        LogLevel.Debug,
        new EventId(4, "ClientCancelled"),
        "Call {Method} was cancelled by the client.");

    /// <summary>The settings, copied.</summary>
    private readonly CorralGrpcServerOptions _options;

    /// <summary>The clock of every call scope's deadline.</summary>
    private readonly TimeProvider _timeProvider;

    /// <summary>Where malformed headers and cut-off calls are logged.</summary>
    private readonly ILogger _logger;

    /// <summary>Initializes the interceptor.</summary>
    /// <param name="options">The settings; optional. They are copied: later changes do not apply.</param>
    /// <param name="logger">Where malformed headers and cut-off or cancelled calls are logged; optional.</param>
    public CorralServerInterceptor(CorralGrpcServerOptions? options = null, ILogger<CorralServerInterceptor>? logger = null)
    {
        _options = options?.Clone() ?? new CorralGrpcServerOptions();
        _timeProvider = _options.TimeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <summary>How a call's own token came to be cancelled, as the registration saw it.</summary>
    private enum Cause
    {
        /// <summary>Not by the call's token (yet).</summary>
        None,

        /// <summary>grpc-dotnet's own deadline fired.</summary>
        GrpcDeadline,

        /// <summary>The client cancelled within the margin of the deadline.</summary>
        CallerDeadline,

        /// <summary>The client cancelled (or the connection was lost) earlier.</summary>
        ClientCancelled,
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> or <paramref name="continuation"/> is null.</exception>
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return RunAsync(context, ctx => continuation(request, ctx));
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> or <paramref name="continuation"/> is null.</exception>
    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return RunAsync(context, ctx => continuation(requestStream, ctx));
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> or <paramref name="continuation"/> is null.</exception>
    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return RunAsync(context, ctx => AsValueAsync(continuation(request, responseStream, ctx)));
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> or <paramref name="continuation"/> is null.</exception>
    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        return RunAsync(context, ctx => AsValueAsync(continuation(requestStream, responseStream, ctx)));
    }

    /// <summary>Turns a handler without a value into one with a placeholder value, so one path serves every kind of call.</summary>
    private static async Task<bool> AsValueAsync(Task handler)
    {
        await handler.ConfigureAwait(false);
        return true;
    }

    /// <summary>Runs one call's handler in its scope and turns the scope's outcome into the call's (the cases at the top).</summary>
    private async Task<TResponse> RunAsync<TResponse>(ServerCallContext context, Func<ServerCallContext, Task<TResponse>> handler)
    {
        ArgumentNullException.ThrowIfNull(context);
        var http = TryGetHttpContext(context);
        var call = new ServerCall(this, context);
        var timeout = ReadTimeout(context, http);
        bool addedHttpContext = false;
        if (http is not null && !context.UserState.ContainsKey(HttpContextKey))
        {
            context.UserState[HttpContextKey] = http;
            addedHttpContext = true;
        }

        try
        {
            ScopeResult<TResponse> result;
            try
            {
                try
                {
                result = await CancelScope.RunAsync(
                    async scope =>
                    {
                        call.Scope = scope;

                        // Registered inside the scope, so the callback cannot run before the scope exists (if the call is already
                        // cancelled, it runs here at once); disposed before the scope ends, waiting for a running callback.
                        var registration = context.CancellationToken.UnsafeRegister(
                            static state => ((ServerCall)state!).OnCallCancelled(), call);
                        RegistrationCount.Added();
                        try
                        {
                            return await handler(new CorralServerCallContext(context, scope.Token)).ConfigureAwait(false);
                        }
                        finally
                        {
                            registration.Dispose();
                            RegistrationCount.Removed();
                        }
                    },
                    new CancelScopeOptions { Name = context.Method, Timeout = timeout, TimeProvider = _timeProvider }).ConfigureAwait(false);
                }
                catch (Exception e) when (call.DeadlinePassed() && e is not OperationCanceledException)
                {
                    // Case 1: the deadline passed, and the handler failed some other way on its way out (a 504 from the next
                    // hop, whose deadline is never before ours: src/Shared/TimeLeft.cs): a late failure is no more an answer
                    // than a late value.
                    throw call.DeadlineExceeded(e);
                }
            }
            catch (OperationCanceledException e) when (call.DeadlinePassed())
            {
                throw call.DeadlineExceeded(e); // case 1, through an enclosing scope or a late timer
            }
            catch (OperationCanceledException e) when (call.Scope is { IsCancellationRequested: true, CancelCalled: false } scope)
            {
                // Case 4: an enclosing scope's cancellation left the handler.
                throw scope.CancelReason is { Kind: CancelReasonKind.DeadlineExceeded }
                    ? new RpcException(new Status(StatusCode.DeadlineExceeded, GrpcCallReasons.DeadlineExceededDetail, e))
                    : new RpcException(new Status(StatusCode.Cancelled, scope.CancelReason?.Message ?? "Cancelled", e));
            }

            if (call.Scope is not { CancelCalled: true } ended)
            {
                if (call.DeadlinePassed())
                {
                    throw call.DeadlineExceeded(null); // case 1: a value after the deadline (its timer had not run yet)
                }

                return result.Value; // case 5: a value
            }

            throw call.ToRpcException(ended);
        }
        finally
        {
            if (addedHttpContext)
            {
                context.UserState.Remove(HttpContextKey);
            }
        }
    }

    /// <summary>The call's HttpContext, when grpc-dotnet hosts it in ASP.NET Core; else <see langword="null"/>.</summary>
    private static HttpContext? TryGetHttpContext(ServerCallContext context)
    {
        try
        {
            return context.GetHttpContext();
        }
        catch (InvalidOperationException)
        {
            return null; // not hosted by ASP.NET Core (a test's own ServerCallContext, say)
        }
    }

    /// <summary>The call's timeout: its grpc-timeout, read on the interceptor's clock; <see langword="null"/> for none.</summary>
    private TimeSpan? ReadTimeout(ServerCallContext context, HttpContext? http)
    {
        if (http is null)
        {
            // No request to read the header from: the rest of grpc-dotnet's own deadline, on the system clock.
            if (context.Deadline == DateTime.MaxValue)
            {
                return null;
            }

            var left = context.Deadline - TimeProvider.System.GetUtcNow().UtcDateTime;
            return left <= TimeSpan.Zero ? TimeSpan.Zero : left;
        }

        StringValues values = http.Request.Headers[GrpcTimeout.HeaderName];
        if (values.Count == 0)
        {
            return null;
        }

        if (values.Count == 1 && GrpcTimeout.TryParse(values[0], out var timeout))
        {
            return timeout;
        }

        s_malformedHeader(_logger, values.ToString(), context.Method, null);
        return null;
    }

    /// <summary>One call: what the registration on the call's token needs, and what it saw.</summary>
    private sealed class ServerCall
    {
        /// <summary>The interceptor (settings, clock, logger).</summary>
        private readonly CorralServerInterceptor _owner;

        /// <summary>grpc-dotnet's context of the call.</summary>
        private readonly ServerCallContext _context;

        /// <summary>The <see cref="Cause"/> recorded before the registration cancels the scope; read after the scope ended.</summary>
        private int _cause;

        public ServerCall(CorralServerInterceptor owner, ServerCallContext context)
        {
            _owner = owner;
            _context = context;
        }

        /// <summary>Gets or sets the call's scope; set first thing in the scope's body.</summary>
        public CancelScope? Scope { get; set; }

        /// <summary>
        /// Runs when the call's own token is cancelled: records why and cancels the scope. The cases are: 1. grpc-dotnet's
        /// deadline (it sets the status before it cancels the token); 2. the client cancelled within the margin of the
        /// deadline; 3. anything else (the client cancelled, the connection was lost).
        /// </summary>
        public void OnCallCancelled()
        {
            var scope = Scope!;
            var now = _owner._timeProvider.GetUtcNow();
            if (_context.Status.StatusCode == StatusCode.DeadlineExceeded)
            {
                Volatile.Write(ref _cause, (int)Cause.GrpcDeadline);

                // The scope's own deadline, read from the same header a moment later: due already (grpc-dotnet's timer ran on
                // time or late), it ends the scope unmoved; else (grpc-dotnet's timer is a tick early, or the scope's clock is a
                // fake one nobody advanced) the deadline moves to now. Either way the reason is the one its timer would give.
                if (!DeadlineExpiry.ExpireIfDue(scope, now))
                {
                    scope.Deadline = now;
                }
            }
            else if (scope.Deadline is { } deadline && now >= deadline - _owner._options.CallerDeadlineMargin)
            {
                Volatile.Write(ref _cause, (int)Cause.CallerDeadline);
                s_callerDeadlinePassed(_owner._logger, _context.Method, Math.Round(Math.Max(0, (deadline - now).TotalMilliseconds)), null);
                scope.Cancel(GrpcCallReasons.CallerDeadlinePassed);
            }
            else
            {
                Volatile.Write(ref _cause, (int)Cause.ClientCancelled);
                s_clientCancelled(_owner._logger, _context.Method, null);
                scope.Cancel(GrpcCallReasons.ClientCancelled);
            }
        }

        /// <summary>
        /// Whether the call's deadline has passed: its scope's own deadline fired, or the registration saw grpc-dotnet's fire or
        /// the caller's pass, or its clock is past it (the scope's timer may run late on a busy machine). A failure the next
        /// hop's deadline caused always finds it true: that deadline is never before ours (src/Shared/TimeLeft.cs).
        /// </summary>
        public bool DeadlinePassed()
        {
            var scope = Scope;
            if (scope is null)
            {
                return false;
            }

            if ((Cause)Volatile.Read(ref _cause) is Cause.GrpcDeadline or Cause.CallerDeadline
                || (scope.CancelReason is { Kind: CancelReasonKind.DeadlineExceeded } reason && ReferenceEquals(reason.Scope, scope)))
            {
                return true;
            }

            return scope.Deadline is { } deadline && _owner._timeProvider.GetUtcNow() >= deadline;
        }

        /// <summary>The exception that ends a call whose deadline passed (case 1), logged once.</summary>
        /// <param name="inner">How the handler ended, if it failed.</param>
        public RpcException DeadlineExceeded(Exception? inner)
        {
            if ((Cause)Volatile.Read(ref _cause) is not Cause.CallerDeadline)
            {
                s_deadlineExceeded(_owner._logger, _context.Method, null);
            }

            return new RpcException(new Status(StatusCode.DeadlineExceeded, GrpcCallReasons.DeadlineExceededDetail, inner));
        }

        /// <summary>The exception that ends a call whose scope's own cancel was called (cases 1 to 3 at the top).</summary>
        public RpcException ToRpcException(CancelScope scope)
        {
            if (DeadlinePassed())
            {
                return DeadlineExceeded(null);
            }

            return new RpcException(new Status(StatusCode.Cancelled, scope.CancelReason?.Message ?? GrpcCallReasons.ClientCancelled));
        }
    }
}
