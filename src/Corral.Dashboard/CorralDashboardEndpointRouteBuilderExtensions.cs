using System;
using System.Diagnostics.CodeAnalysis;
using Corral.Dashboard;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps Corral's dashboard: the live task tree of this process in the browser.</summary>
public static class CorralDashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Serves a page at <paramref name="pattern"/> that shows this process's live tree of scopes, groups and tasks, updated
    /// as server-sent events while it is open.
    /// </summary>
    /// <param name="endpoints">The app's endpoints.</param>
    /// <param name="pattern">The route prefix; default <c>/corral</c> (the page is at <c>/corral/</c>).</param>
    /// <param name="options">The settings; optional. They are copied: later changes do not apply.</param>
    /// <returns>A builder for the dashboard's endpoints, to add conventions (<c>RequireHost</c>, metadata) to.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="endpoints"/> or <paramref name="pattern"/> is null.</exception>
    /// <exception cref="InvalidOperationException">Remote requests or the cancel action are enabled without an
    /// authorization policy, or the cancel action without antiforgery registered (<c>services.AddAntiforgery()</c>).</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Read-only and loopback-only by default: other requests get 403 (see <see cref="CorralDashboardOptions"/>).</item>
    /// <item>Costs nothing while no page is open; with pages open, one capture per
    /// <see cref="CorralDashboardOptions.UpdateInterval"/>, whatever their number.</item>
    /// <item>The page's files are embedded; it loads nothing from elsewhere, runs no inline script (its
    /// Content-Security-Policy forbids it), and shows every name and reason as text.</item>
    /// <item>Tasks the <see cref="Corral.Diagnostics.Watchdog"/> reported are listed at the top, including reports made
    /// before the page opened (the dashboard listens to the watchdog from the moment it is mapped).</item>
    /// <item>Call it once per pattern; each call has its own listener and loop.</item>
    /// </list>
    /// </remarks>
    public static IEndpointConventionBuilder MapCorralDashboard(
        this IEndpointRouteBuilder endpoints,
        [StringSyntax("Route")] string pattern = "/corral",
        CorralDashboardOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(pattern);
        var copy = options?.Clone() ?? new CorralDashboardOptions();
        copy.Validate();
        var source = new InProcessSource();
        try
        {
            var group = DashboardEndpoints.Map(endpoints, pattern, copy, source);
            endpoints.ServiceProvider.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(source.Dispose);
            return group;
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }
}
