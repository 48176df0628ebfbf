using System;
using Corral.AspNetCore;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds Corral's deadline propagation to clients made by the <see cref="System.Net.Http.IHttpClientFactory"/>.</summary>
public static class CorralHttpClientBuilderExtensions
{
    /// <summary>
    /// Adds a <see cref="CorralDeadlineHandler"/> to the client's handlers, so that each request carries the ambient
    /// scope's deadline in the <see cref="CorralHttpHeaders.Timeout"/> header.
    /// </summary>
    /// <param name="builder">The client's builder.</param>
    /// <returns><paramref name="builder"/>, to chain calls.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is null.</exception>
    /// <remarks>The handler is added where this is called in the chain of <c>AddHttpMessageHandler</c> calls; its place does not
    /// matter unless another handler sets or reads the same header.</remarks>
    public static IHttpClientBuilder AddCorralDeadlines(this IHttpClientBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddHttpMessageHandler(static () => new CorralDeadlineHandler());
    }
}
