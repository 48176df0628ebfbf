using System.Threading.Tasks;
using Xunit;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0007TimeoutFromCancellationAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0007TimeoutFromCancellationAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Net.Http;
        using System.Threading;
        using System.Threading.Tasks;

        """;

    [Fact]
    public Task LinkedCancelAfter_ThrowsTimeout_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task<string> GetAsync(HttpClient http, string url, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    return await http.GetStringAsync(url, cts.Token);
                }
                {|CORRAL0007:catch (OperationCanceledException)|}
                {
                    throw new TimeoutException($"GET {url} took longer than 5 s");
                }
            }
        }
        """);

    [Fact]
    public Task TimeoutSourceAndCallerToken_ReturnsFalse_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task<bool> TryPingAsync(HttpClient http, CancellationToken ct)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                try
                {
                    await http.GetAsync("https://example.org", timeout.Token);
                    await Task.Delay(10, ct);
                    return true;
                }
                {|CORRAL0007:catch (TaskCanceledException)|}
                {
                    return false;
                }
            }
        }
        """);

    [Fact]
    public Task Disambiguated_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task<string> A(HttpClient http, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    return await http.GetStringAsync("https://example.org", cts.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new TimeoutException();
                }
            }

            async Task<bool> B(HttpClient http)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                try
                {
                    await http.GetStringAsync("https://example.org", cts.Token);
                    return true;
                }
                catch (OperationCanceledException)
                {
                    return false;
                }
            }

            async Task D(HttpClient http, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                try
                {
                    await http.GetStringAsync("https://example.org", cts.Token);
                }
                catch (OperationCanceledException)
                {
                    throw;
                }
            }

            async Task E(HttpClient http, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    await http.GetStringAsync("https://example.org", cts.Token);
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine("cancelled or timed out");
                    throw;
                }
            }
        }
        """);
}
