using System;
using Corral.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Corral's deadline propagation to clients made by the <see cref="System.Net.Http.IHttpClientFactory"/>.</summary>
public static class CorralHttpClientBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="CorralDeadlineHandler"/> to the client's handlers, so that each request carries the ambient
    /// scope's deadline in the <see cref="CorralHttpHeaders.Timeout"/> header (or the one <paramref name="header"/> names).
    /// </summary>
    /// <param name="builder">The client's builder.</param>
    /// <param name="header">The header to send the deadline in; default <see cref="DeadlineHeader.Corral"/>.</param>
    /// <returns><paramref name="builder"/>, to chain calls.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="header"/> is not defined in <see cref="DeadlineHeader"/>.</exception>
    /// <remarks>For a gRPC client (<c>AddGrpcClient</c>) use Corral.Grpc's <c>AddCorralInterceptor()</c> instead: this handler only
    /// adds a header, while gRPC calls need their deadline and token in <c>CallOptions</c>. The handler is added where this is called in the chain of <c>AddHttpMessageHandler</c> calls; its place does not
    /// matter unless another handler sets or reads the same header.</remarks>
    public static IHttpClientBuilder AddCorralDeadlines(this IHttpClientBuilder builder, DeadlineHeader header = DeadlineHeader.Corral)
    {
        ArgumentNullException.ThrowIfNull(builder);
        if (!DeadlineHeaderFormat.IsDefined(header))
        {
            throw new ArgumentOutOfRangeException(nameof(header), header, "header must be a defined DeadlineHeader.");
        }

        return builder.AddHttpMessageHandler(() => new CorralDeadlineHandler { Header = header });
    }
}
