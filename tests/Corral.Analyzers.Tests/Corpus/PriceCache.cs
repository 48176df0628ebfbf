using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Json;
using System.Threading;
using System.Threading.Tasks;
using Corral;

namespace Shop.Infrastructure;

/// <summary>A price cache refreshed in the background, with a rate-limited upstream and async disposal.</summary>
public sealed class PriceCache : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, decimal> _prices = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _upstreamSlots = new(4);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly HttpClient _http;
    private readonly ILog _log;
    private Task? _refreshLoop;

    public PriceCache(HttpClient http, ILog log)
    {
        _http = http;
        _log = log;
    }

    public void Start() => _refreshLoop = RefreshLoopAsync(_lifetime.Token);

    public async ValueTask DisposeAsync()
    {
        _lifetime.Cancel();
        if (_refreshLoop is not null)
        {
            try
            {
                await _refreshLoop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The loop ends by cancellation; that is how we stopped it.
            }
        }

        _lifetime.Dispose();
        _upstreamSlots.Dispose();
    }

    private async Task RefreshLoopAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(30));
        while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await RefreshAllAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (HttpRequestException ex)
            {
                _log.Warn("price refresh failed; keeping stale prices", ex);
            }
        }
    }

    public async Task RefreshAllAsync(CancellationToken cancellationToken)
    {
        var skus = _prices.Keys.ToArray();
        await Parallel.ForEachAsync(skus, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (sku, ct) =>
        {
            _prices[sku] = await FetchPriceAsync(sku, ct).ConfigureAwait(false);
        }).ConfigureAwait(false);
    }

    public async Task<decimal> FetchPriceAsync(string sku, CancellationToken cancellationToken)
    {
        await _upstreamSlots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var price = await _http.GetFromJsonAsync<decimal>($"prices/{Uri.EscapeDataString(sku)}", cancellationToken).ConfigureAwait(false);
            return price;
        }
        finally
        {
            _upstreamSlots.Release();
        }
    }

    // Race the fetch against a delay; the loser is left to finish on its own.
    public async Task<decimal?> TryGetFreshAsync(string sku, TimeSpan wait, CancellationToken cancellationToken)
    {
        var fetch = FetchPriceAsync(sku, cancellationToken);
        var winner = await Task.WhenAny(fetch, Task.Delay(wait, cancellationToken)).ConfigureAwait(false);
        if (winner == fetch)
        {
            return await fetch.ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return _prices.TryGetValue(sku, out var stale) ? stale : null;
    }

    // Uses Task.WaitAsync for the timeout and tells it apart by exception type.
    public async Task<decimal> GetWithDeadlineAsync(string sku, CancellationToken cancellationToken)
    {
        try
        {
            return await FetchPriceAsync(sku, cancellationToken).WaitAsync(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _log.Warn($"price of {sku} is late; serving the cached one");
            return _prices.GetValueOrDefault(sku);
        }
    }

    // Retries including on timeouts: the helper treats TaskCanceledException as transient, so the
    // caller's cancellation is retried too (until the delay below notices it).
    public async Task<decimal> GetWithRetryAsync(string sku, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await FetchPriceAsync(sku, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ShouldRetry(ex) && attempt < 3) // expect: CORRAL0002
            {
                _log.Warn($"attempt {attempt} for {sku} failed", ex);
            }

            await Task.Delay(100 * attempt, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool ShouldRetry(Exception ex) => ex is HttpRequestException or TaskCanceledException;

    // Corral version of the refresh: every upstream call is a child; a failure cancels the rest.
    public Task RefreshWithGroupAsync(IEnumerable<string> skus, TimeSpan budget) => CancelScope.MoveOnAfterAsync(budget, ct =>
        TaskGroup.RunAsync(group =>
        {
            foreach (var sku in skus)
            {
                group.Start(async childToken =>
                {
                    _prices[sku] = await FetchPriceAsync(sku, childToken);
                    await Task.Delay(TimeSpan.FromMilliseconds(50)); // expect: CORRAL0008
                }, sku);
            }

            return Task.CompletedTask;
        }));

    // Log-and-continue in a Corral child, with cancellation let through.
    public Task WatchAsync(IAsyncEnumerable<string> changes) => TaskGroup.RunAsync(async group =>
    {
        await foreach (var sku in changes.WithCancellation(group.Scope.Token))
        {
            group.Start(async ct =>
            {
                try
                {
                    _prices[sku] = await FetchPriceAsync(sku, ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _log.Warn($"refresh of {sku} failed", ex);
                }
            });
        }
    });

    // Fire-and-forget outside any Corral body: not Corral's business, and documented as intended.
    public void Invalidate(string sku)
    {
        _prices.TryRemove(sku, out _);
        _ = Task.Run(() => FetchPriceAsync(sku, _lifetime.Token));
    }

    // The ambient scope's token reaches the upstream; cleanup runs shielded.
    public async Task ImportAsync(IReadOnlyList<string> skus)
    {
        var token = CancelScope.CurrentToken;
        try
        {
            foreach (var sku in skus)
            {
                _prices[sku] = await FetchPriceAsync(sku, token);
            }
        }
        finally
        {
            await CancelScope.ShieldAsync(ct => _http.PostAsync("prices/imported", new StringContent(skus.Count.ToString()), ct), TimeSpan.FromSeconds(1));
        }
    }
}
