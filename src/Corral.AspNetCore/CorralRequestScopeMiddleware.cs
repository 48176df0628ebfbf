using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Corral.AspNetCore;

/// <summary>
/// Runs the rest of the pipeline in a <see cref="CancelScope"/> per request, whose deadline is the earliest its deadline headers
/// announce (<see cref="CorralRequestScopeOptions.DeadlineHeaders"/>; ADR 0013, ADR 0017).
/// </summary>
/// <remarks>
/// What happens when the scope is cancelled; the cases are:
/// <list type="number">
/// <item>Its own deadline fired and the cancellation left the rest of the pipeline as an
/// <see cref="OperationCanceledException"/>: the scope absorbs it; if the response has not started, it becomes
/// <see cref="CorralRequestScopeOptions.TimeoutStatusCode"/>; if it has, the connection is aborted, so the client never
/// mistakes a cut-off body for a whole one (what Kestrel does for any exception after the response started).</item>
/// <item>The client disconnected (the server's own <see cref="HttpContext.RequestAborted"/>): the scope is cancelled with
/// <see cref="ClientDisconnected"/> as its reason, or <see cref="CallerDeadlinePassed"/> when the disconnect came within
/// <see cref="CorralRequestScopeOptions.CallerDeadlineMargin"/> of the deadline a header announced (a caller whose deadline
/// passed gives up then), and absorbs the cancellation; nothing is written: nobody is listening, and a disconnect is never
/// answered as a timeout, even when the deadline fired too.</item>
/// <item>The server started stopping (<see cref="IHostApplicationLifetime.ApplicationStopping"/>): the scope is asked to stop
/// (<see cref="CancelScope.RequestStop"/>, reason <see cref="ServerStopping"/>), with what is left of
/// <see cref="CorralRequestScopeOptions.StopGracePeriod"/> since the stop began; when the grace runs out, the scope is cancelled,
/// and a cancellation that leaves the pipeline becomes <see cref="CorralRequestScopeOptions.StoppingStatusCode"/> (503) if the
/// response has not started, an aborted connection if it has. A deadline or a disconnect first keeps its own reason.</item>
/// <item>The rest of the pipeline completed normally although the scope was cancelled (it caught the cancellation and
/// wrote its own response): the response is left as it is.</item>
/// <item>Any other exception, and a cancellation of an enclosing scope, passes through unchanged.</item>
/// </list>
/// </remarks>
internal sealed class CorralRequestScopeMiddleware
{
    /// <summary>The reason given to a request's scope when the client goes away.</summary>
    internal const string ClientDisconnected = "the client disconnected";

    /// <summary>The reason given to a request's scope when the client goes away at the deadline its header announced.</summary>
    internal const string CallerDeadlinePassed = "the caller's deadline passed";

    /// <summary>The detail of the ProblemDetails body of a request cut off by its deadline.</summary>
    internal const string ProblemDetail = "The request's deadline passed before it completed.";

    /// <summary>The reason of the stop request every request scope gets when the server starts stopping.</summary>
    internal const string ServerStopping = "the server is stopping";

    /// <summary>The detail of the ProblemDetails body of a request cut off by the server's stop.</summary>
    internal const string StoppingProblemDetail = "The server stopped before the request completed.";

    /// <summary>Logs a request cut off because the server stopped and its grace ran out.</summary>
    private static readonly Action<ILogger, string, bool, Exception?> s_stoppedByServer = LoggerMessage.Define<string, bool>(
        LogLevel.Information,
        new EventId(5, "RequestStoppedByServer"),
        "Request {Request} was cut off: the server is stopping and the request's grace ran out (response started: {ResponseStarted}).");

    /// <summary>Logs a header value that is not a well-formed timeout.</summary>
    private static readonly Action<ILogger, string, string, string, string, Exception?> s_malformedHeader = LoggerMessage.Define<string, string, string, string>(
        LogLevel.Debug,
        new EventId(1, "MalformedTimeoutHeader"),
        "Ignored the malformed {Header} header '{Value}' of request {Request}: expected {Expected}.");

    /// <summary>Logs a request whose client went away at the deadline its header announced.</summary>
    private static readonly Action<ILogger, string, double, Exception?> s_callerDeadlinePassed = LoggerMessage.Define<string, double>(
        LogLevel.Information,
        new EventId(3, "CallerDeadlinePassed"),
        "Request {Request}: the caller's deadline passed (the client disconnected {EarlyMilliseconds} ms before the deadline its header announced).");

    /// <summary>Logs a request whose client went away.</summary>
    private static readonly Action<ILogger, string, Exception?> s_clientDisconnected = LoggerMessage.Define<string>(
        LogLevel.Debug,
        new EventId(4, "ClientDisconnected"),
        "Request {Request}: the client disconnected.");

    /// <summary>Logs a request cut off by its deadline.</summary>
    private static readonly Action<ILogger, string, bool, Exception?> s_deadlineExceeded = LoggerMessage.Define<string, bool>(
        LogLevel.Information,
        new EventId(2, "RequestDeadlineExceeded"),
        "Request {Request} was cut off by its deadline (response started: {ResponseStarted}).");

    /// <summary>The rest of the pipeline.</summary>
    private readonly RequestDelegate _next;

    /// <summary>The settings, copied when the middleware was added.</summary>
    private readonly CorralRequestScopeOptions _options;

    /// <summary>The clock of every request scope's deadline.</summary>
    private readonly TimeProvider _timeProvider;

    /// <summary>Where malformed headers and cut-off requests are logged.</summary>
    private readonly ILogger _logger;

    /// <summary>Fires when the server starts stopping; <see cref="CancellationToken.None"/> without a host.</summary>
    private readonly CancellationToken _serverStopping;

    /// <summary>How long a request may take to finish once the server starts stopping.</summary>
    private readonly TimeSpan _stopGracePeriod;

    /// <summary>
    /// When the server began stopping, in UTC ticks of <see cref="_timeProvider"/>; 0 before. Set once, by CAS, by the first
    /// callback on <see cref="_serverStopping"/> to run: a request's (they run first, last registered first) or, with no request
    /// in flight, the middleware's own, so a request that arrives later still gets only what is left of the grace.
    /// </summary>
    private long _stopBeganTicks;

    /// <summary>Initializes the middleware.</summary>
    /// <param name="next">The rest of the pipeline.</param>
    /// <param name="options">The settings, already copied.</param>
    /// <param name="logger">The logger.</param>
    /// <param name="stopGracePeriod">The grace every request gets once the server starts stopping.</param>
    /// <param name="serverStopping">The host's <see cref="IHostApplicationLifetime.ApplicationStopping"/>, or none.</param>
    public CorralRequestScopeMiddleware(
        RequestDelegate next, CorralRequestScopeOptions options, ILogger logger, TimeSpan stopGracePeriod, CancellationToken serverStopping)
    {
        _next = next;
        _options = options;
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        _logger = logger;
        _serverStopping = serverStopping;
        _stopGracePeriod = stopGracePeriod;

        // Lives as long as the pipeline: never disposed.
        serverStopping.UnsafeRegister(
            static state =>
            {
                var middleware = (CorralRequestScopeMiddleware)state!;
                middleware.StopBegan(middleware._timeProvider.GetUtcNow().UtcTicks);
            },
            this);
    }

    /// <summary>Handles one request.</summary>
    /// <param name="context">The request.</param>
    /// <returns>A task that completes when the request is handled.</returns>
    public async Task InvokeAsync(HttpContext context)
    {
        var name = $"{context.Request.Method} {context.Request.PathBase}{context.Request.Path}";
        var timeout = GetTimeout(context, name, out bool fromHeader);
        var aborted = context.RequestAborted;
        var request = new RequestState(this, name, fromHeader);

        await CancelScope.RunAsync(
            async scope =>
            {
                request.Scope = scope;

                // Registered inside the scope, so that the callback cannot run before the scope exists; if the client is
                // already gone, it runs here at once.
                var registration = aborted.UnsafeRegister(static state => ((RequestState)state!).OnDisconnected(), request);
                RegistrationCount.Added();

                // Likewise the server's stop: a request that arrives while the server stops is asked to stop at once, with what
                // is left of the grace.
                var stopping = _serverStopping.CanBeCanceled
                    ? _serverStopping.UnsafeRegister(static state => ((RequestState)state!).OnServerStopping(), request)
                    : default;
                context.RequestAborted = scope.Token;
                try
                {
                    await _next(context).ConfigureAwait(false);
                }
                finally
                {
                    context.RequestAborted = aborted;
                    registration.Dispose();
                    stopping.Dispose();
                    RegistrationCount.Removed();
                }
            },
            new CancelScopeOptions { Name = name, Timeout = timeout, TimeProvider = _timeProvider }).ConfigureAwait(false);

        // Reaching here with CancelledCaught means the scope absorbed its own cancellation (cases 1, 2 and 3 above).
        var requestScope = request.Scope;
        if (requestScope is not { CancelledCaught: true, CancelReason: { Kind: CancelReasonKind.DeadlineExceeded or CancelReasonKind.StopRequested } reason }
            || !ReferenceEquals(reason.Scope, requestScope)
            || aborted.IsCancellationRequested)
        {
            return;
        }

        var stopped = reason.Kind == CancelReasonKind.StopRequested;
        bool started = context.Response.HasStarted;
        if (stopped)
        {
            s_stoppedByServer(_logger, name, started, null);
        }
        else
        {
            s_deadlineExceeded(_logger, name, started, null);
        }

        if (started)
        {
            context.Abort();
            return;
        }

        var status = stopped ? _options.StoppingStatusCode : _options.TimeoutStatusCode;
        context.Response.Clear();
        context.Response.StatusCode = status;
        if (stopped)
        {
            context.Response.Headers.Connection = "close"; // this server is going away: the client should not reuse the connection
        }

        if (_options.WriteProblemDetails)
        {
            // Through IProblemDetailsService when the application registered one (AddProblemDetails), else as plain JSON.
            await Results.Problem(detail: stopped ? StoppingProblemDetail : ProblemDetail, statusCode: status).ExecuteAsync(context).ConfigureAwait(false);
        }
    }

    /// <summary>What is left of the stop's grace for a request asked to stop now: the grace less the time since the stop began.</summary>
    private TimeSpan GraceLeft()
    {
        if (_stopGracePeriod == Timeout.InfiniteTimeSpan)
        {
            return Timeout.InfiniteTimeSpan;
        }

        var now = _timeProvider.GetUtcNow().UtcTicks;
        var spent = Math.Max(0, now - StopBegan(now));
        return TimeSpan.FromTicks(Math.Max(0, _stopGracePeriod.Ticks - spent));
    }

    /// <summary>Records <paramref name="now"/> as when the server began stopping, unless that is known already.</summary>
    /// <param name="now">Now, in UTC ticks of the middleware's clock.</param>
    /// <returns>When the server began stopping.</returns>
    private long StopBegan(long now)
    {
        var began = Interlocked.CompareExchange(ref _stopBeganTicks, now, 0);
        return began == 0 ? now : began;
    }

    /// <summary>
    /// The request's timeout: the shortest its deadline headers announce (or the default), capped by the maximum;
    /// <see langword="null"/> for none.
    /// </summary>
    /// <param name="context">The request.</param>
    /// <param name="name">The request's name, for the log.</param>
    /// <param name="fromHeader">Set when the timeout came from a header (a caller announced it), not from the default.</param>
    /// <returns>The timeout, or <see langword="null"/>.</returns>
    private TimeSpan? GetTimeout(HttpContext context, string name, out bool fromHeader)
    {
        TimeSpan? timeout = null;
        foreach (var header in _options.DeadlineHeaders)
        {
            var headerName = DeadlineHeaderFormat.Name(header);
            StringValues values = context.Request.Headers[headerName];
            if (values.Count == 0)
            {
                continue;
            }

            if (values.Count == 1 && DeadlineHeaderFormat.TryParse(header, values[0], out var fromThis))
            {
                timeout = timeout is { } earlier && earlier <= fromThis ? earlier : fromThis;
            }
            else
            {
                s_malformedHeader(_logger, headerName, values.ToString(), name, DeadlineHeaderFormat.Expected(header), null);
            }
        }

        fromHeader = timeout is not null;
        timeout ??= _options.DefaultTimeout;
        if (timeout > _options.MaxTimeout)
        {
            timeout = _options.MaxTimeout;
        }

        return timeout;
    }

    /// <summary>One request: what the registration on the client's disconnect needs.</summary>
    private sealed class RequestState
    {
        /// <summary>The middleware (settings, clock, logger).</summary>
        private readonly CorralRequestScopeMiddleware _owner;

        /// <summary>The request's name, for the log.</summary>
        private readonly string _name;

        /// <summary>Whether the scope's deadline is one a header announced.</summary>
        private readonly bool _fromHeader;

        public RequestState(CorralRequestScopeMiddleware owner, string name, bool fromHeader)
        {
            _owner = owner;
            _name = name;
            _fromHeader = fromHeader;
        }

        /// <summary>Gets or sets the request's scope; set first thing in the scope's body.</summary>
        public CancelScope? Scope { get; set; }

        /// <summary>Runs when the server starts stopping (or at once, for a request that arrives while it stops): asks the scope
        /// to stop, with what is left of the grace.</summary>
        public void OnServerStopping() => Scope!.RequestStop(_owner.GraceLeft(), ServerStopping);

        /// <summary>
        /// Runs when the client disconnects: cancels the scope, saying whether the caller's deadline passed (the disconnect came
        /// within the margin of the deadline its header announced) or the client just went away.
        /// </summary>
        public void OnDisconnected()
        {
            var scope = Scope!;
            var now = _owner._timeProvider.GetUtcNow();
            if (_fromHeader && scope.Deadline is { } deadline && now >= deadline - _owner._options.CallerDeadlineMargin)
            {
                s_callerDeadlinePassed(_owner._logger, _name, Math.Round(Math.Max(0, (deadline - now).TotalMilliseconds)), null);
                scope.Cancel(CallerDeadlinePassed);
            }
            else
            {
                s_clientDisconnected(_owner._logger, _name, null);
                scope.Cancel(ClientDisconnected);
            }
        }
    }
}
