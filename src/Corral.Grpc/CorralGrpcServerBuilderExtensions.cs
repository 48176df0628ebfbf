using System;
using Corral.Grpc;
using Grpc.AspNetCore.Server;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Corral's call scopes to an ASP.NET Core gRPC server.</summary>
public static class CorralGrpcServerBuilderExtensions
{
    /// <summary>
    /// Runs every gRPC call's handler in a <see cref="Corral.CancelScope"/> with the call's deadline, through
    /// <see cref="CorralServerInterceptor"/>, placed first (outermost) among the server's global interceptors.
    /// </summary>
    /// <param name="builder">The server's builder, from <c>services.AddGrpc()</c>.</param>
    /// <param name="configure">Changes the settings; optional. Every call's delegate is applied, in order.</param>
    /// <returns><paramref name="builder"/>, to chain calls.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Idempotent: calling it again adds no second interceptor (only its <paramref name="configure"/>).</item>
    /// <item>First among the global interceptors whatever the order of registration, so the others run inside the call's scope;
    /// per-service interceptors run inside it too.</item>
    /// <item>One interceptor instance (a singleton) serves every call; its settings are read once, when it is created.</item>
    /// </list>
    /// </remarks>
    public static IGrpcServerBuilder AddCorralScopes(this IGrpcServerBuilder builder, Action<CorralGrpcServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<CorralGrpcServerOptions>();
        if (configure is not null)
        {
            services.Configure(configure);
        }

        services.TryAddSingleton(static sp => new CorralServerInterceptor(
            sp.GetRequiredService<IOptions<CorralGrpcServerOptions>>().Value,
            sp.GetService<ILogger<CorralServerInterceptor>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<GrpcServiceOptions>, CorralInterceptorFirst>());
        return builder;
    }

    /// <summary>Puts <see cref="CorralServerInterceptor"/> first among the global interceptors, once.</summary>
    private sealed class CorralInterceptorFirst : IPostConfigureOptions<GrpcServiceOptions>
    {
        public void PostConfigure(string? name, GrpcServiceOptions options)
        {
            var interceptors = options.Interceptors;
            for (int i = 0; i < interceptors.Count; i++)
            {
                if (interceptors[i].Type == typeof(CorralServerInterceptor))
                {
                    return;
                }
            }

            // InterceptorRegistration has no public constructor: add, then move the new registration to the front.
            interceptors.Add<CorralServerInterceptor>();
            var registration = interceptors[^1];
            interceptors.RemoveAt(interceptors.Count - 1);
            interceptors.Insert(0, registration);
        }
    }
}
