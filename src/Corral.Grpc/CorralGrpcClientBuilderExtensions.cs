using System;
using Corral.Grpc;
using Grpc.Core.Interceptors;
using Grpc.Net.ClientFactory;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Corral's deadline and cancellation propagation to gRPC clients made by the gRPC client factory.</summary>
public static class CorralGrpcClientBuilderExtensions
{
    /// <summary>The one creator of the shared interceptor, also how a second registration is recognized.</summary>
    private static readonly Func<IServiceProvider, Interceptor> s_create = static _ => CorralClientInterceptor.Shared;

    /// <summary>
    /// Adds <see cref="CorralClientInterceptor"/> to a gRPC client from <c>AddGrpcClient</c>, outermost, so every call made in a
    /// <see cref="Corral.CancelScope"/> carries the scope's deadline and token and ends as a cancellation the scope absorbs.
    /// </summary>
    /// <param name="builder">The client's builder, from <c>services.AddGrpcClient&lt;TClient&gt;(…)</c>.</param>
    /// <returns><paramref name="builder"/>, to chain calls.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <remarks>
    /// <list type="bullet">
    /// <item>Registered in the client's scope (<see cref="InterceptorScope.Client"/>) and put first, so it runs before every other
    /// interceptor, <c>EnableCallContextPropagation()</c>'s included, whatever the order of the calls: that interceptor then takes
    /// the earlier of the call's deadline (already the ambient one) and the server call's, and links the ambient token with the
    /// server call's; nothing is applied twice.</item>
    /// <item>Idempotent: calling it again adds no second interceptor.</item>
    /// <item>Not <c>AddCorralDeadlines()</c>: that is Corral.AspNetCore's HTTP handler, which would add a <c>Corral-Timeout</c>
    /// header to the gRPC requests and nothing else.</item>
    /// </list>
    /// </remarks>
    public static IHttpClientBuilder AddCorralInterceptor(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.PostConfigure<GrpcClientFactoryOptions>(builder.Name, static options =>
        {
            foreach (var registration in options.InterceptorRegistrations)
            {
                if (registration.Creator == s_create)
                {
                    return;
                }
            }

            options.InterceptorRegistrations.Insert(0, new InterceptorRegistration(InterceptorScope.Client, s_create));
        });
        return builder;
    }
}
