using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.AspNetCore;

/// <summary>
/// An <see cref="HttpClient"/> handler that sends the ambient scope's deadline with each request, in the
/// <see cref="CorralHttpHeaders.Timeout"/> header (or the one <see cref="Header"/> names), so that a server using
/// <c>UseCorralRequestScopes</c> (or one that reads that header) stops work the caller will no longer wait for.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>When <see cref="CancelScope.CurrentDeadline"/> is set as the request is sent, the header carries the time that
/// remains, measured on the ambient scope's <see cref="CancelScope.TimeProvider"/>, rounded up to the header's unit, so the
/// server's deadline is never before the caller's and a failure its deadline causes arrives when the caller's has passed too;
/// for <c>Corral-Timeout</c>, whole milliseconds, <c>0</c> when the deadline has already passed (no exception: the request is
/// cancelled by the scope's token, if the caller passed it), at most <see cref="CorralHttpHeaders.MaxTimeoutMilliseconds"/>.
/// Each other header's format is on its <see cref="DeadlineHeader"/> value.</item>
/// <item>Without an effective deadline (outside any scope, or in scopes without one) it adds nothing.</item>
/// <item>A header of the same name the caller set on the request is left as it is.</item>
/// <item>It does not cancel the request itself: pass <see cref="CancelScope.CurrentToken"/> (or the scope's token) to
/// <see cref="HttpClient.SendAsync(HttpRequestMessage, CancellationToken)"/> as with any .NET API.</item>
/// <item>Thread safe and stateless: one instance may serve any number of concurrent requests.</item>
/// </list>
/// </remarks>
public sealed class CorralDeadlineHandler : DelegatingHandler
{
    /// <summary>The backing field of <see cref="Header"/>.</summary>
    private readonly DeadlineHeader _header;

    /// <summary>Initializes a handler without an inner handler (the <see cref="IHttpClientFactory"/> sets it).</summary>
    public CorralDeadlineHandler()
    {
    }

    /// <summary>Initializes a handler that sends requests on through <paramref name="innerHandler"/>.</summary>
    /// <param name="innerHandler">The handler that sends the request on.</param>
    /// <exception cref="ArgumentNullException"><paramref name="innerHandler"/> is null.</exception>
    public CorralDeadlineHandler(HttpMessageHandler innerHandler)
        : base(innerHandler ?? throw new ArgumentNullException(nameof(innerHandler)))
    {
    }

    /// <summary>
    /// Gets the header the deadline is sent in. Default: <see cref="DeadlineHeader.Corral"/> (<c>Corral-Timeout</c>). Choose
    /// <see cref="DeadlineHeader.Grpc"/> or <see cref="DeadlineHeader.Connect"/> for servers that read only their protocol's
    /// header.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not defined in <see cref="DeadlineHeader"/>.</exception>
    public DeadlineHeader Header
    {
        get => _header;
        init
        {
            if (!DeadlineHeaderFormat.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(Header), value, "Header must be a defined DeadlineHeader.");
            }

            _header = value;
        }
    }

    /// <inheritdoc/>
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        AddHeader(request);
        return base.SendAsync(request, cancellationToken);
    }

    /// <inheritdoc/>
    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        AddHeader(request);
        return base.Send(request, cancellationToken);
    }

    /// <summary>Adds the header when the ambient scope has a deadline and the caller did not set one.</summary>
    /// <param name="request">The request about to be sent.</param>
    private void AddHeader(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var scope = CancelScope.Current;
        var name = DeadlineHeaderFormat.Name(_header);
        if (scope?.EffectiveDeadline is not { } deadline || request.Headers.Contains(name))
        {
            return;
        }

        var remaining = deadline - scope.TimeProvider.GetUtcNow();
        request.Headers.TryAddWithoutValidation(name, DeadlineHeaderFormat.Format(_header, remaining));
    }
}
