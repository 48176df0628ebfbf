using System;
using Corral.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Corral to a host's services.</summary>
public static class CorralServiceCollectionExtensions
{
    /// <summary>
    /// Wires the Corral <see cref="Corral.Diagnostics.Watchdog"/> to the host: when the host starts, the watchdog reports to the
    /// host's logging (category <c>Corral.Watchdog</c>) with the settings of <see cref="CorralHostingOptions"/>.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configure">Changes the settings; optional. Every call's delegate is applied, in order.</param>
    /// <returns><paramref name="services"/>, to chain calls.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="services"/> is null.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Idempotent: calling it again registers nothing twice (only its <paramref name="configure"/> is added).</item>
    /// <item>The watchdog is process-wide: with two hosts in one process, the host that started last receives every report;
    /// when that host is disposed, the watchdog gets back the settings it had before the host started (if nobody changed them
    /// since). See docs/concepts/hosting.md.</item>
    /// </list>
    /// </remarks>
    public static IServiceCollection AddCorral(this IServiceCollection services, Action<CorralHostingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<CorralHostingOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, CorralWatchdogConfigurator>());
        return services;
    }
}
