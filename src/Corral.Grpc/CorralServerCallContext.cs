using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Grpc.Core;

namespace Corral.Grpc;

/// <summary>
/// The <see cref="ServerCallContext"/> a handler sees under <see cref="CorralServerInterceptor"/>: grpc-dotnet's own context in
/// every respect except <see cref="ServerCallContext.CancellationToken"/>, which is the call scope's token.
/// </summary>
/// <remarks>
/// The scope's token is cancelled whenever grpc-dotnet's would be (the interceptor cancels the scope from it) and also when the
/// scope is (its deadline on its own clock, or a <see cref="CancelScope.Cancel"/> of the call's scope), so a handler that passes
/// <c>context.CancellationToken</c> on obeys the scope, as a handler that passes <c>HttpContext.RequestAborted</c> obeys a request
/// scope. Everything else, <see cref="ServerCallContext.Deadline"/> included (grpc-dotnet's, on the system clock), is the inner
/// context's; <see cref="ServerCallContext.UserState"/> is the same dictionary, so <c>GetHttpContext()</c> still works.
/// </remarks>
internal sealed class CorralServerCallContext : ServerCallContext
{
    /// <summary>grpc-dotnet's context of the call.</summary>
    private readonly ServerCallContext _inner;

    /// <summary>The call scope's token.</summary>
    private readonly CancellationToken _token;

    /// <summary>Initializes the context.</summary>
    /// <param name="inner">grpc-dotnet's context of the call.</param>
    /// <param name="token">The call scope's token.</param>
    public CorralServerCallContext(ServerCallContext inner, CancellationToken token)
    {
        _inner = inner;
        _token = token;
    }

    /// <inheritdoc/>
    protected override string MethodCore => _inner.Method;

    /// <inheritdoc/>
    protected override string HostCore => _inner.Host;

    /// <inheritdoc/>
    protected override string PeerCore => _inner.Peer;

    /// <inheritdoc/>
    protected override DateTime DeadlineCore => _inner.Deadline;

    /// <inheritdoc/>
    protected override Metadata RequestHeadersCore => _inner.RequestHeaders;

    /// <inheritdoc/>
    protected override CancellationToken CancellationTokenCore => _token;

    /// <inheritdoc/>
    protected override Metadata ResponseTrailersCore => _inner.ResponseTrailers;

    /// <inheritdoc/>
    protected override Status StatusCore
    {
        get => _inner.Status;
        set => _inner.Status = value;
    }

    /// <inheritdoc/>
    protected override WriteOptions? WriteOptionsCore
    {
        get => _inner.WriteOptions;
        set => _inner.WriteOptions = value;
    }

    /// <inheritdoc/>
    protected override AuthContext AuthContextCore => _inner.AuthContext;

    /// <inheritdoc/>
    protected override IDictionary<object, object> UserStateCore => _inner.UserState;

    /// <inheritdoc/>
    protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) =>
        _inner.CreatePropagationToken(options);

    /// <inheritdoc/>
    protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => _inner.WriteResponseHeadersAsync(responseHeaders);
}
