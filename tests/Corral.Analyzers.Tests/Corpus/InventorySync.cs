using System;
using System.Collections.Generic;
using System.Net.Http;
using System.Net.Http.Json;
using System.Threading;
using System.Threading.Tasks;

namespace Shop.Infrastructure;

/// <summary>Pulls stock levels from the suppliers' APIs, each call with a timeout, retried on transient failures.</summary>
public sealed class InventorySync
{
    private static readonly TimeSpan s_callTimeout = TimeSpan.FromSeconds(3);
    private readonly HttpClient _http;
    private readonly ILog _log;
    private readonly IMetrics _metrics;
    private readonly CancellationTokenSource _shutdown = new();
    private int _misses;

    public InventorySync(HttpClient http, ILog log, IMetrics metrics)
    {
        _http = http;
        _log = log;
        _metrics = metrics;
    }

    // Wrong: the filter tests the timeout's own source, which is linked to the caller's token; a shutdown is reported
    // as a supplier timeout.
    public async Task<int> GetStockAsync(string sku, CancellationToken cancellationToken)
    {
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(s_callTimeout);
        try
        {
            return await _http.GetFromJsonAsync<int>($"stock/{Uri.EscapeDataString(sku)}", timeoutCts.Token);
        }
        catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested) // expect: CORRAL0007
        {
            throw new TimeoutException($"stock of {sku}: no answer within {s_callTimeout}");
        }
    }

    // Right: a fresh timeout source, linked to nothing, combined with the caller's token; the filter tests the fresh one.
    public async Task<int> GetReservedAsync(string sku, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(s_callTimeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await _http.GetFromJsonAsync<int>($"reserved/{Uri.EscapeDataString(sku)}", linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            throw new TimeoutException($"reservations of {sku}: no answer within {s_callTimeout}");
        }
    }

    // Wrong: the same idiom, negated, on the wrong token: "cancelled but not by our timeout" is the caller, swallowed.
    public async Task<int?> TryGetIncomingAsync(string sku, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(s_callTimeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            return await _http.GetFromJsonAsync<int>($"incoming/{Uri.EscapeDataString(sku)}", linked.Token);
        }
        catch (OperationCanceledException) when (!timeout.IsCancellationRequested) // expect: CORRAL0001
        {
            _log.Info($"incoming of {sku} cancelled");
            return null;
        }
    }

    // Right: the filter names the caller's token.
    public async Task<int?> TryGetForecastAsync(string sku, CancellationToken cancellationToken)
    {
        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(s_callTimeout);
        try
        {
            return await _http.GetFromJsonAsync<int>($"forecast/{Uri.EscapeDataString(sku)}", timeoutCts.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            _log.Warn($"forecast of {sku} timed out");
            return null;
        }
    }

    // Wrong: tests the linked source's token; true on a shutdown too, so the health check reports "slow".
    public async Task<bool> IsResponsiveAsync(Uri supplier, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(1));
        try
        {
            using var response = await _http.GetAsync(supplier, cts.Token);
            return response.IsSuccessStatusCode;
        }
        catch (TaskCanceledException) when (cts.Token.IsCancellationRequested) // expect: CORRAL0007
        {
            return false;
        }
    }

    // Wrong: a probe loop that counts timeouts, and cancellations with them; after a shutdown it spins on counting.
    public async Task ProbeSuppliersAsync(IReadOnlyList<Uri> suppliers, CancellationToken cancellationToken)
    {
        while (true)
        {
            foreach (var supplier in suppliers)
            {
                try
                {
                    using var response = await _http.GetAsync(supplier, cancellationToken);
                    _metrics.Increment(response.IsSuccessStatusCode ? "probe.ok" : "probe.fail");
                }
                catch (Exception e) when (e is OperationCanceledException or TimeoutException) // expect: CORRAL0002
                {
                    _misses++;
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
        }
    }

    // Right: the same loop, counting only real timeouts and transport errors.
    public async Task ProbeSuppliersCarefullyAsync(IReadOnlyList<Uri> suppliers, CancellationToken cancellationToken)
    {
        while (true)
        {
            foreach (var supplier in suppliers)
            {
                try
                {
                    using var response = await _http.GetAsync(supplier, cancellationToken);
                    _metrics.Increment(response.IsSuccessStatusCode ? "probe.ok" : "probe.fail");
                }
                catch (Exception e) when (e is TimeoutException or HttpRequestException)
                {
                    _misses++;
                }
            }

            await Task.Delay(TimeSpan.FromSeconds(30), cancellationToken);
        }
    }

    // Wrong: retries "timeouts" by type; the caller's cancellation of Task.Delay and HttpClient is a
    // TaskCanceledException too.
    public async Task<string> GetCatalogPageAsync(int page, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _http.GetStringAsync($"catalog?page={page}", cancellationToken);
            }
            catch (Exception ex) when (ex is TaskCanceledException && attempt < 3) // expect: CORRAL0002
            {
                _log.Warn($"catalog page {page} timed out, attempt {attempt}");
            }
        }
    }

    // Right: the same retry, told apart from the caller's cancellation.
    public async Task<string> GetCatalogPageCarefullyAsync(int page, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await _http.GetStringAsync($"catalog?page={page}", cancellationToken);
            }
            catch (Exception ex) when (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested && attempt < 3)
            {
                _log.Warn($"catalog page {page} timed out, attempt {attempt}");
            }
        }
    }

    // The hosted-service idiom: cancellation of the stopping token ends the loop, and is absorbed on purpose.
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await ProbeSuppliersCarefullyAsync(Array.Empty<Uri>(), stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _log.Info("inventory sync stopping");
        }
    }

    // The same wrong filter on a source held in a field: where it is cancelled from is not visible here, so the rule
    // trusts it.
    public async Task<int?> TryGetAllocatedAsync(string sku, CancellationToken cancellationToken)
    {
        try
        {
            return await _http.GetFromJsonAsync<int>($"allocated/{Uri.EscapeDataString(sku)}", cancellationToken);
        }
        catch (OperationCanceledException) when (!_shutdown.IsCancellationRequested) // missed: CORRAL0001
        {
            return null;
        }
    }

    // The exact type of the exception: Task.Delay throws TaskCanceledException, so this admits some cancellations only;
    // still the caller's, still swallowed.
    public async Task WaitForRestockAsync(string sku, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMinutes(5), cancellationToken);
            _log.Info($"rechecking {sku}");
        }
        catch (Exception e) when (e.GetType() == typeof(TaskCanceledException)) // expect: CORRAL0002
        {
            _log.Info($"restock wait for {sku} ended early");
        }
    }
}
