// The dashboard's endpoints under one route group:
//
//   GET  {pattern}                  redirect to {pattern}/ (the page uses relative URLs, so it works under any prefix)
//   GET  {pattern}/                 the page (index.html)
//   GET  {pattern}/dashboard.js, dashboard.css, favicon.svg: its script, styles and icon
//   GET  {pattern}/events           server-sent events: one `frame` per update while the page stays open
//   GET  {pattern}/api/antiforgery  (only with EnableCancel) an antiforgery token for the cancel action
//   POST {pattern}/api/cancel       (only with EnableCancel) {"id":N,"reason":"…"}: cancel a live scope or group
//
// SECURITY. Every response carries a Content-Security-Policy that allows scripts, styles and connections from the app
// itself only and no inline script or style, plus nosniff, no framing and no referrer. Without AllowRemoteRequests,
// every endpoint first checks DashboardAccess.IsLocal and answers 403 otherwise. The authorization policy, when named,
// applies to the whole group. The cancel endpoints are not mapped at all unless EnableCancel (so they are 404), and the
// cancel itself validates an antiforgery token (IAntiforgery.ValidateRequestAsync: the cookie and the header), takes
// JSON only, and is logged with the user, the address, the node and the reason.
using System;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Corral.Dashboard;

/// <summary>Maps the dashboard's endpoints for a source (this process, or another read by <c>corral web</c>).</summary>
internal static class DashboardEndpoints
{
    /// <summary>The Content-Security-Policy of every dashboard response.</summary>
    internal const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>The longest cancel request body read.</summary>
    internal const int MaxCancelBody = 8 * 1024;

    /// <summary>The longest cancel reason accepted.</summary>
    internal const int MaxReasonLength = 500;

    private static readonly Action<ILogger, string, string, string, long, string, string, Exception?> s_cancelled =
        LoggerMessage.Define<string, string, string, long, string, string>(
            LogLevel.Warning,
            new EventId(1, "ScopeCancelledFromDashboard"),
            "Corral dashboard: {User} at {RemoteAddress} cancelled {Kind} {NodeId} ('{Name}') with the reason '{Reason}'.");

    private static readonly byte[] s_retry = Encoding.UTF8.GetBytes("retry: 2000\n\n");

    /// <summary>Maps the endpoints.</summary>
    /// <param name="endpoints">Where to map them.</param>
    /// <param name="pattern">The route prefix (<c>/corral</c>; <c>/</c> for the root).</param>
    /// <param name="options">The settings, already copied and checked.</param>
    /// <param name="source">Where trees come from.</param>
    /// <returns>The route group, to add conventions to.</returns>
    /// <exception cref="InvalidOperationException"><see cref="CorralDashboardOptions.EnableCancel"/> without antiforgery registered.</exception>
    public static RouteGroupBuilder Map(IEndpointRouteBuilder endpoints, string pattern, CorralDashboardOptions options, DashboardSource source)
    {
        var services = endpoints.ServiceProvider;
        var logger = services.GetService<ILoggerFactory>()?.CreateLogger("Corral.Dashboard") ?? NullLogger.Instance;
        var lifetime = services.GetService<IHostApplicationLifetime>();
        var stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;
        IAntiforgery? antiforgery = null;
        if (options.EnableCancel)
        {
            antiforgery = services.GetService<IAntiforgery>() ?? throw new InvalidOperationException(
                "The Corral dashboard's cancel action validates antiforgery tokens: register antiforgery with services.AddAntiforgery().");
        }

        var hub = new DashboardHub(source, options, TimeProvider.System, logger, stopping);
        var prefix = pattern.TrimEnd('/');
        var group = endpoints.MapGroup(prefix.Length == 0 ? "/" : prefix);
        if (!string.IsNullOrWhiteSpace(options.AuthorizationPolicy))
        {
            group.RequireAuthorization(options.AuthorizationPolicy);
        }

        group.MapGet("/", Guard(options, context => Page(context, prefix.Length > 0)));
        group.MapGet("/dashboard.js", Guard(options, context => Asset(context, "dashboard.js")));
        group.MapGet("/dashboard.css", Guard(options, context => Asset(context, "dashboard.css")));
        group.MapGet("/favicon.svg", Guard(options, context => Asset(context, "favicon.svg")));
        group.MapGet("/events", Guard(options, context => EventsAsync(context, hub, stopping)));
        if (antiforgery is not null)
        {
            group.MapGet("/api/antiforgery", Guard(options, context => TokenAsync(context, antiforgery)));
            group.MapPost("/api/cancel", Guard(options, context => CancelAsync(context, hub, antiforgery, logger)));
        }

        return group;
    }

    /// <summary>Wraps a handler: security headers on every response, and the loopback check unless remote requests are allowed.</summary>
    private static RequestDelegate Guard(CorralDashboardOptions options, RequestDelegate handler) => context =>
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        headers["Cross-Origin-Resource-Policy"] = "same-origin";
        if (!options.AllowRemoteRequests && !DashboardAccess.IsLocal(context))
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.ContentType = "text/plain; charset=utf-8";
            return context.Response.WriteAsync(
                "The Corral dashboard answers only requests from this machine (a loopback address and host name). " +
                "To open it to others, set CorralDashboardOptions.AllowRemoteRequests and an AuthorizationPolicy.");
        }

        return handler(context);
    };

    private static Task Page(HttpContext context, bool hasPrefix)
    {
        var path = context.Request.Path.Value ?? string.Empty;
        if (hasPrefix && !path.EndsWith('/'))
        {
            // Relative URLs in the page resolve against the directory: /corral/ + events.
            context.Response.Redirect(context.Request.PathBase + path + "/" + context.Request.QueryString);
            return Task.CompletedTask;
        }

        return Asset(context, "index.html");
    }

    private static Task Asset(HttpContext context, string name)
    {
        var asset = DashboardAssets.Get(name);
        context.Response.Headers.CacheControl = "no-cache";
        context.Response.Headers.ETag = asset.ETag;
        if (context.Request.Headers.IfNoneMatch == asset.ETag)
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return Task.CompletedTask;
        }

        context.Response.ContentType = asset.ContentType;
        context.Response.ContentLength = asset.Bytes.Length;
        return context.Response.Body.WriteAsync(asset.Bytes, context.RequestAborted).AsTask();
    }

    /// <summary>Streams frames to one page until it goes or the app stops.</summary>
    private static async Task EventsAsync(HttpContext context, DashboardHub hub, CancellationToken stopping)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-store";
        response.Headers["X-Accel-Buffering"] = "no"; // reverse proxies: pass each event on at once
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
        using var subscription = hub.Subscribe();
        try
        {
            await response.Body.WriteAsync(s_retry, ended.Token).ConfigureAwait(false);
            await response.Body.FlushAsync(ended.Token).ConfigureAwait(false);
            while (await subscription.Frames.WaitToReadAsync(ended.Token).ConfigureAwait(false))
            {
                while (subscription.Frames.TryRead(out var frame))
                {
                    await response.Body.WriteAsync(frame, ended.Token).ConfigureAwait(false);
                }

                await response.Body.FlushAsync(ended.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (ended.IsCancellationRequested)
        {
            // The page closed, or the app is stopping: the stream ends here (and with it, if last, the hub's loop).
        }
        catch (IOException)
        {
            // The connection broke mid-write.
        }
    }

    private static async Task TokenAsync(HttpContext context, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentType = "application/json; charset=utf-8";
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("headerName", tokens.HeaderName);
            w.WriteString("token", tokens.RequestToken);
            w.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task CancelAsync(HttpContext context, DashboardHub hub, IAntiforgery antiforgery, ILogger logger)
    {
        context.Response.Headers.CacheControl = "no-store";
        try
        {
            await antiforgery.ValidateRequestAsync(context).ConfigureAwait(false);
        }
        catch (AntiforgeryValidationException)
        {
            await ProblemAsync(context, StatusCodes.Status400BadRequest, "The antiforgery token is missing or invalid: reload the page and try again.").ConfigureAwait(false);
            return;
        }

        if (context.Request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            await ProblemAsync(context, StatusCodes.Status415UnsupportedMediaType, "Send {\"id\": <node id>, \"reason\": \"...\"} as application/json.").ConfigureAwait(false);
            return;
        }

        long id;
        string reason;
        try
        {
            using var body = new MemoryStream();
            var chunk = new byte[4096];
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (body.Length + read > MaxCancelBody)
                {
                    await ProblemAsync(context, StatusCodes.Status413PayloadTooLarge, "The request is too large.").ConfigureAwait(false);
                    return;
                }

                body.Write(chunk, 0, read);
            }

            using var doc = JsonDocument.Parse(body.ToArray());
            id = doc.RootElement.GetProperty("id").GetInt64();
            reason = (doc.RootElement.GetProperty("reason").GetString() ?? string.Empty).Trim();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or System.Collections.Generic.KeyNotFoundException)
        {
            await ProblemAsync(context, StatusCodes.Status400BadRequest, "Send {\"id\": <node id>, \"reason\": \"...\"} as JSON.").ConfigureAwait(false);
            return;
        }

        if (reason.Length == 0 || reason.Length > MaxReasonLength)
        {
            await ProblemAsync(context, StatusCodes.Status400BadRequest, $"Give a reason of 1 to {MaxReasonLength} characters: it is what the cancelled code and the tree will show.").ConfigureAwait(false);
            return;
        }

        var node = hub.FindNode(id);
        if (node?.Kind == TaskTreeNodeKind.Task)
        {
            await ProblemAsync(context, StatusCodes.Status400BadRequest, "A task is cancelled through its group: cancel the group (or a scope) instead.").ConfigureAwait(false);
            return;
        }

        if (!hub.Source.TryCancel(id, reason))
        {
            await ProblemAsync(context, StatusCodes.Status404NotFound, $"No live scope or group has the id {id} (it may have ended).").ConfigureAwait(false);
            return;
        }

        var user = context.User.Identity is { IsAuthenticated: true, Name: { } name } ? name : "(anonymous)";
        s_cancelled(
            logger,
            user,
            context.Connection.RemoteIpAddress?.ToString() ?? "(unknown)",
            node is null ? "scope" : node.Kind.ToString(),
            id,
            node?.Name ?? string.Empty,
            reason,
            null);
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync("{\"cancelled\":true}", context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task ProblemAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("error", message);
            w.WriteEndObject();
        }

        await context.Response.Body.WriteAsync(buffer.ToArray(), context.RequestAborted).ConfigureAwait(false);
    }
}
