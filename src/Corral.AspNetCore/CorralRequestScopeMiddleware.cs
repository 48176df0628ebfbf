using System;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Corral.AspNetCore;

/// <summary>
/// Runs the rest of the pipeline in a <see cref="CancelScope"/> per request, whose deadline comes from the
/// <see cref="CorralHttpHeaders.Timeout"/> header (ADR 0013).
/// </summary>
/// <remarks>
/// What happens when the scope is cancelled; the cases are:
/// <list type="number">
/// <item>Its own deadline fired and the cancellation left the rest of the pipeline as an
/// <see cref="OperationCanceledException"/>: the scope absorbs it; if the response has not started, it becomes
/// <see cref="CorralRequestScopeOptions.TimeoutStatusCode"/>; if it has, the connection is aborted, so the client never
/// mistakes a cut-off body for a whole one (what Kestrel does for any exception after the response started).</item>
/// <item>The client disconnected (the server's own <see cref="HttpContext.RequestAborted"/>): the scope is cancelled with
/// <see cref="ClientDisconnected"/> as its reason and absorbs the cancellation; nothing is written: nobody is listening,
/// and a disconnect is never reported as a timeout, even when the deadline fired too.</item>
/// <item>The rest of the pipeline completed normally although the scope was cancelled (it caught the cancellation and
/// wrote its own response): the response is left as it is.</item>
/// <item>Any other exception, and a cancellation of an enclosing scope, passes through unchanged.</item>
/// </list>
/// </remarks>
internal sealed class CorralRequestScopeMiddleware
{
    /// <summary>The reason given to a request's scope when the client goes away.</summary>
    internal const string ClientDisconnected = "the client disconnected";

    /// <summary>Logs a header value that is not a well-formed timeout.</summary>
    private static readonly Action<ILogger, string, string, Exception?> s_malformedHeader = LoggerMessage.Define<string, string>(
        LogLevel.Debug,
        new EventId(1, "MalformedTimeoutHeader"),
        "Ignored the malformed Corral-Timeout header '{Value}' of request {Request}: expected one to eight ASCII digits (milliseconds).");

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

    /// <summary>Initializes the middleware.</summary>
    /// <param name="next">The rest of the pipeline.</param>
    /// <param name="options">The settings, already copied.</param>
    /// <param name="logger">The logger.</param>
    public CorralRequestScopeMiddleware(RequestDelegate next, CorralRequestScopeOptions options, ILogger logger)
    {
        _next = next;
        _options = options;
        _timeProvider = options.TimeProvider ?? TimeProvider.System;
        _logger = logger;
    }

    /// <summary>Handles one request.</summary>
    /// <param name="context">The request.</param>
    /// <returns>A task that completes when the request is handled.</returns>
    public async Task InvokeAsync(HttpContext context)
    {
        var name = $"{context.Request.Method} {context.Request.PathBase}{context.Request.Path}";
        var timeout = GetTimeout(context, name);
        var aborted = context.RequestAborted;
        CancelScope? requestScope = null;

        await CancelScope.RunAsync(
            async scope =>
            {
                requestScope = scope;

                // Registered inside the scope, so that the callback cannot run before the scope exists; if the client is
                // already gone, it runs here at once.
                using var registration = aborted.UnsafeRegister(
                    static state => ((CancelScope)state!).Cancel(ClientDisconnected), scope);
                context.RequestAborted = scope.Token;
                try
                {
                    await _next(context).ConfigureAwait(false);
                }
                finally
                {
                    context.RequestAborted = aborted;
                }
            },
            new CancelScopeOptions { Name = name, Timeout = timeout, TimeProvider = _timeProvider }).ConfigureAwait(false);

        // Reaching here with CancelledCaught means the scope absorbed its own cancellation (cases 1 and 2 above).
        if (requestScope is not { CancelledCaught: true, CancelReason: { Kind: CancelReasonKind.DeadlineExceeded } reason }
            || !ReferenceEquals(reason.Scope, requestScope)
            || aborted.IsCancellationRequested)
        {
            return;
        }

        bool started = context.Response.HasStarted;
        s_deadlineExceeded(_logger, name, started, null);
        if (started)
        {
            context.Abort();
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = _options.TimeoutStatusCode;
    }

    /// <summary>The request's timeout: its header's (or the default), capped by the maximum; <see langword="null"/> for none.</summary>
    /// <param name="context">The request.</param>
    /// <param name="name">The request's name, for the log.</param>
    /// <returns>The timeout, or <see langword="null"/>.</returns>
    private TimeSpan? GetTimeout(HttpContext context, string name)
    {
        TimeSpan? timeout = null;
        StringValues values = context.Request.Headers[CorralHttpHeaders.Timeout];
        if (values.Count == 1 && CorralTimeoutHeader.TryParse(values[0], out var fromHeader))
        {
            timeout = fromHeader;
        }
        else if (values.Count != 0)
        {
            s_malformedHeader(_logger, values.ToString(), name, null);
        }

        timeout ??= _options.DefaultTimeout;
        if (timeout > _options.MaxTimeout)
        {
            timeout = _options.MaxTimeout;
        }

        return timeout;
    }
}
