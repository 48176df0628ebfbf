using System;
using System.Net;
using System.Net.Http;
using System.Net.Http.Json;
using System.Threading;
using System.Threading.Tasks;

namespace Shop.Infrastructure;

/// <summary>An HTTP wrapper with per-request timeouts and a small retry policy.</summary>
public sealed class ResilientHttpClient
{
    private static readonly TimeSpan s_requestTimeout = TimeSpan.FromSeconds(10);
    private readonly HttpClient _http;
    private readonly ILog _log;

    public ResilientHttpClient(HttpClient http, ILog log)
    {
        _http = http;
        _log = log;
    }

    // Correct: the filter tells our timeout from the caller's cancellation.
    public async Task<string> GetStringAsync(Uri uri, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(s_requestTimeout);
        try
        {
            return await _http.GetStringAsync(uri, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"GET {uri} timed out after {s_requestTimeout}", ex);
        }
    }

    // Wrong: a caller's cancellation is reported as a timeout.
    public async Task<T?> GetJsonAsync<T>(Uri uri, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(s_requestTimeout);
        try
        {
            return await _http.GetFromJsonAsync<T>(uri, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) // expect: CORRAL0007
        {
            throw new TimeoutException($"GET {uri} timed out");
        }
    }

    // Only our own timeout is in play: the cancellation can only be the timeout.
    public async Task<bool> IsHealthyAsync(Uri uri)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            using var response = await _http.GetAsync(uri, cts.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (HttpRequestException ex)
        {
            _log.Warn($"health probe of {uri} failed", ex);
            return false;
        }
    }

    // Retries on 5xx and transport errors; cancellation propagates through the filter.
    public async Task<HttpResponseMessage> SendWithRetryAsync(Func<HttpRequestMessage> createRequest, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(200);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var response = await _http.SendAsync(createRequest(), cancellationToken).ConfigureAwait(false);
                if ((int)response.StatusCode < 500 || attempt == 4)
                {
                    return response;
                }

                response.Dispose();
            }
            catch (HttpRequestException ex) when (attempt < 4)
            {
                _log.Warn($"attempt {attempt} failed", ex);
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay *= 2;
        }
    }

    // HttpClient's own timeout surfaces as TaskCanceledException; told apart from the caller's token.
    public async Task<string?> TryGetAsync(Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.GetStringAsync(uri, cancellationToken).ConfigureAwait(false);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _log.Warn($"GET {uri} hit the client timeout");
            return null;
        }
        catch (HttpRequestException ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    // Swallows everything, the caller's cancellation included.
    public async Task<string?> GetOrNullAsync(Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.GetStringAsync(uri, cancellationToken).ConfigureAwait(false);
        }
        catch // expect: CORRAL0002
        {
            return null;
        }
    }

    // Wraps failures in a domain exception: cancellation leaves as a failure, but it does leave.
    public async Task PostAsync(Uri uri, HttpContent content, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.PostAsync(uri, content, cancellationToken).ConfigureAwait(false);
            response.EnsureSuccessStatusCode();
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException($"POST {uri} failed", ex);
        }
    }

    // Filter the analyzer cannot read: trusted, not flagged.
    public async Task<byte[]> DownloadAsync(Uri uri, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await _http.GetByteArrayAsync(uri, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                _log.Warn("transient download failure", ex);
                await Task.Delay(500, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static bool IsTransient(Exception ex) =>
        ex is HttpRequestException { StatusCode: HttpStatusCode.ServiceUnavailable or HttpStatusCode.BadGateway };
}
