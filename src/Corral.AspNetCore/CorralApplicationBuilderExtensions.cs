using System;
using System.Threading;
using Corral.AspNetCore;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Adds Corral's request scopes to an ASP.NET Core pipeline.</summary>
public static class CorralApplicationBuilderExtensions
{
    /// <summary>
    /// Runs the rest of the pipeline for each request in a <see cref="Corral.CancelScope"/> named <c>"{METHOD} {path}"</c>,
    /// whose deadline is the time the client has left, read from its deadline headers (<c>Corral-Timeout</c>, <c>grpc-timeout</c> and
    /// <c>Connect-Timeout-Ms</c> by default; see <see cref="CorralRequestScopeOptions.DeadlineHeaders"/>).
    /// </summary>
    /// <param name="app">The application's pipeline.</param>
    /// <param name="options">The settings; optional. They are copied: later changes do not apply.</param>
    /// <returns><paramref name="app"/>, to chain calls.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="app"/> is null.</exception>
    /// <exception cref="ArgumentException"><see cref="CorralRequestScopeOptions.DeadlineHeaders"/> holds an undefined value.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>The deadline is now + the shortest time the headers announce, on <see cref="CorralRequestScopeOptions.TimeProvider"/>,
    /// cut down to <see cref="CorralRequestScopeOptions.MaxTimeout"/>; without a well-formed header,
    /// <see cref="CorralRequestScopeOptions.DefaultTimeout"/> (or no deadline). A malformed header is ignored and logged at
    /// debug level.</item>
    /// <item>While the rest of the pipeline runs, <c>HttpContext.RequestAborted</c> is the scope's token, so handlers that
    /// observe it obey the deadline; the server's own token is put back afterwards.</item>
    /// <item>When the client disconnects, the scope is cancelled with the reason <c>the client disconnected</c>, or
    /// <c>the caller's deadline passed</c> when that happens within <see cref="CorralRequestScopeOptions.CallerDeadlineMargin"/> of
    /// the deadline a header announced.</item>
    /// <item>When the scope's own deadline cuts the request off (an <see cref="OperationCanceledException"/> leaves the
    /// pipeline), the response becomes <see cref="CorralRequestScopeOptions.TimeoutStatusCode"/> (504) if it has not
    /// started (with a ProblemDetails body if <see cref="CorralRequestScopeOptions.WriteProblemDetails"/>), and the connection is
    /// aborted if it has. A client disconnect never becomes a 504.</item>
    /// <item>Every other exception passes through unchanged.</item>
    /// <item>When the host starts stopping, every request in flight (and every request that arrives later) is asked to stop, with
    /// <see cref="CorralRequestScopeOptions.StopGracePeriod"/> (default: half of <c>HostOptions.ShutdownTimeout</c>) to finish;
    /// then its scope is cancelled (reason <c>stop requested: the server is stopping; grace of 15 s ran out</c>), and the
    /// response becomes <see cref="CorralRequestScopeOptions.StoppingStatusCode"/> (503) if it has not started.</item>
    /// <item>Add it after <c>UseExceptionHandler</c> and <c>UseDeveloperExceptionPage</c>: placed inside them, their handling of
    /// cancelled requests would see the cancellation first.</item>
    /// </list>
    /// </remarks>
    public static IApplicationBuilder UseCorralRequestScopes(this IApplicationBuilder app, CorralRequestScopeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(app);
        var copy = options?.Clone() ?? new CorralRequestScopeOptions();
        var logger = app.ApplicationServices.GetService<ILoggerFactory>()?.CreateLogger("Corral.AspNetCore.RequestScopes")
            ?? NullLogger.Instance;
        var stopping = app.ApplicationServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        var grace = copy.StopGracePeriod ?? Corral.StopGrace.Default(app.ApplicationServices.GetService<IOptions<HostOptions>>()?.Value.ShutdownTimeout);
        return app.Use(next => new CorralRequestScopeMiddleware(next, copy, logger, grace, stopping).InvokeAsync);
    }
}
