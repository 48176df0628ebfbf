using System.Threading.Tasks;
using Xunit;
using VerifyFix = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0007TimeoutFromCancellationAnalyzer, Corral.Analyzers.CORRAL0007TimeoutFromCancellationCodeFix>;
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

    // The filter tests the timeout's own source; it is linked to the caller's token, so a shutdown makes it true too.
    [Fact]
    public Task FilterOnLinkedTimeoutSource_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task<string> GetAsync(HttpClient http, string url, CancellationToken ct)
            {
                using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeoutCts.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    return await http.GetStringAsync(url, timeoutCts.Token);
                }
                {|CORRAL0007:catch (OperationCanceledException)|} when (timeoutCts.IsCancellationRequested)
                {
                    throw new TimeoutException($"GET {url} took longer than 5 s");
                }
            }

            async Task<bool> PingAsync(HttpClient http, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(1000);
                try
                {
                    await http.GetAsync("https://example.org", cts.Token);
                    return true;
                }
                {|CORRAL0007:catch (TaskCanceledException)|} when (cts.Token.IsCancellationRequested)
                {
                    return false;
                }
            }

            async Task<bool> ByTokenAsync(HttpClient http, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(1000);
                try
                {
                    await http.GetAsync("https://example.org", cts.Token);
                    return true;
                }
                {|CORRAL0007:catch (OperationCanceledException e)|} when (e.CancellationToken == cts.Token)
                {
                    return false;
                }
            }
        }
        """);

    // The correct twins: the filter on the caller's token (alone or beside the source), and a fresh, unlinked timeout
    // source that a linked source combines with the caller's token.
    [Fact]
    public Task FilterTellsTimeoutApart_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task<string> A(HttpClient http, string url, CancellationToken ct)
            {
                using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeoutCts.CancelAfter(TimeSpan.FromSeconds(5));
                try { return await http.GetStringAsync(url, timeoutCts.Token); }
                catch (OperationCanceledException) when (timeoutCts.IsCancellationRequested && !ct.IsCancellationRequested) { throw new TimeoutException(); }
            }

            async Task<string> B(HttpClient http, string url, CancellationToken ct)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
                try { return await http.GetStringAsync(url, linked.Token); }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested) { throw new TimeoutException(); }
            }

            async Task<bool> D(HttpClient http, CancellationToken ct)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                try
                {
                    await http.GetAsync("https://example.org", timeout.Token);
                    await Task.Delay(10, ct);
                    return true;
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested) { return false; }
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

    [Fact]
    public Task Fix_DocExample_FiltersOnLinkedToken() => VerifyFix.CodeFixAsync(Usings + """
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
                {|CORRAL0007:catch (OperationCanceledException)|} // CORRAL0007
                {
                    throw new TimeoutException($"GET {url} took longer than 5 s");
                }
            }
        }
        """, Usings + """
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
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) // CORRAL0007
                {
                    throw new TimeoutException($"GET {url} took longer than 5 s");
                }
            }
        }
        """);

    [Fact]
    public Task Fix_LinkedToParameterToken_FiltersOnParameter() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task<byte[]?> TryDownloadAsync(HttpClient http, Uri uri, TimeSpan budget, CancellationToken cancellationToken)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(budget);
                try
                {
                    return await http.GetByteArrayAsync(uri, timeout.Token).ConfigureAwait(false);
                }
                {|CORRAL0007:catch (OperationCanceledException)|}
                {
                    Console.WriteLine($"{uri}: no answer within {budget}");
                    return null;
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task<byte[]?> TryDownloadAsync(HttpClient http, Uri uri, TimeSpan budget, CancellationToken cancellationToken)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(budget);
                try
                {
                    return await http.GetByteArrayAsync(uri, timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    Console.WriteLine($"{uri}: no answer within {budget}");
                    return null;
                }
            }
        }
        """);

    [Fact]
    public Task Fix_LinkedToTwoTokens_FiltersOnBoth() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            private readonly CancellationTokenSource _stopping = new();

            async Task<bool> TryPingAsync(HttpClient http, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
                cts.CancelAfter(1000);
                try
                {
                    await http.GetAsync("https://example.org", cts.Token);
                    return true;
                }
                {|CORRAL0007:catch (OperationCanceledException)|}
                {
                    return false;
                }
            }
        }
        """, Usings + """
        class C
        {
            private readonly CancellationTokenSource _stopping = new();

            async Task<bool> TryPingAsync(HttpClient http, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
                cts.CancelAfter(1000);
                try
                {
                    await http.GetAsync("https://example.org", cts.Token);
                    return true;
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested && !_stopping.Token.IsCancellationRequested)
                {
                    return false;
                }
            }
        }
        """);

    [Fact]
    public Task Fix_CallerTokenUsedInTry_FiltersOnIt() => VerifyFix.CodeFixAsync(Usings + """
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
                {|CORRAL0007:catch (OperationCanceledException)|}
                {
                    return false;
                }
            }
        }
        """, Usings + """
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
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    return false;
                }
            }
        }
        """);

    [Fact]
    public Task Fix_ScopeTokenUsedInTry_FiltersOnScopeToken() => VerifyFix.CodeFixAsync(Usings + """
        using Corral;

        class C
        {
            Task RunAsync(HttpClient http) => CancelScope.RunAsync(async scope =>
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                try
                {
                    await http.GetAsync("https://example.org", timeout.Token);
                    await Task.Delay(10, scope.Token);
                }
                {|CORRAL0007:catch (OperationCanceledException)|}
                {
                    Console.WriteLine("slow");
                }
            });
        }
        """, Usings + """
        using Corral;

        class C
        {
            Task RunAsync(HttpClient http) => CancelScope.RunAsync(async scope =>
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                try
                {
                    await http.GetAsync("https://example.org", timeout.Token);
                    await Task.Delay(10, scope.Token);
                }
                catch (OperationCanceledException) when (!scope.Token.IsCancellationRequested)
                {
                    Console.WriteLine("slow");
                }
            });
        }
        """);

    [Fact]
    public Task Fix_ExceptionVariable_KeepsItAndFilters() => VerifyFix.CodeFixAsync(Usings + """
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
                {|CORRAL0007:catch (OperationCanceledException e)|}
                {
                    throw new TimeoutException($"GET {url} took longer than 5 s", e);
                }
            }
        }
        """, Usings + """
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
                catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
                {
                    throw new TimeoutException($"GET {url} took longer than 5 s", e);
                }
            }
        }
        """);

    [Fact]
    public Task Fix_TaskCanceledException_Filtered() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task<string?> TryGetAsync(HttpClient http, string url, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    return await http.GetStringAsync(url, cts.Token);
                }
                {|CORRAL0007:catch (TaskCanceledException)|}
                {
                    return null;
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task<string?> TryGetAsync(HttpClient http, string url, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    return await http.GetStringAsync(url, cts.Token);
                }
                catch (TaskCanceledException) when (!ct.IsCancellationRequested)
                {
                    return null;
                }
            }
        }
        """);

    [Fact]
    public Task Fix_FilterOnLinkedSource_KeepsItAndAddsCallersToken() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task<string> GetAsync(HttpClient http, string url, CancellationToken ct)
            {
                using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeoutCts.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    return await http.GetStringAsync(url, timeoutCts.Token);
                }
                {|CORRAL0007:catch (OperationCanceledException)|} when (timeoutCts.IsCancellationRequested || url.Length == 0)
                {
                    throw new TimeoutException($"GET {url} took longer than 5 s");
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task<string> GetAsync(HttpClient http, string url, CancellationToken ct)
            {
                using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeoutCts.CancelAfter(TimeSpan.FromSeconds(5));
                try
                {
                    return await http.GetStringAsync(url, timeoutCts.Token);
                }
                catch (OperationCanceledException) when ((timeoutCts.IsCancellationRequested || url.Length == 0) && !ct.IsCancellationRequested)
                {
                    throw new TimeoutException($"GET {url} took longer than 5 s");
                }
            }
        }
        """);

    // The harness applies the fix one diagnostic at a time, then Fix All in document, project and solution
    // scope, and each must give this code.
    [Fact]
    public Task Fix_TwoCatchesInOneDocument_FixAllFiltersBoth() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task<bool> PingAsync(HttpClient http, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(1000);
                try { await http.GetAsync("https://example.org/a", cts.Token); return true; }
                {|CORRAL0007:catch (OperationCanceledException)|} { return false; }
            }

            async Task<bool> PongAsync(HttpClient http, CancellationToken token)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
                cts.CancelAfter(1000);
                try { await http.GetAsync("https://example.org/b", cts.Token); return true; }
                {|CORRAL0007:catch (TaskCanceledException)|} { return false; }
            }
        }
        """, Usings + """
        class C
        {
            async Task<bool> PingAsync(HttpClient http, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(1000);
                try { await http.GetAsync("https://example.org/a", cts.Token); return true; }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return false; }
            }

            async Task<bool> PongAsync(HttpClient http, CancellationToken token)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
                cts.CancelAfter(1000);
                try { await http.GetAsync("https://example.org/b", cts.Token); return true; }
                catch (TaskCanceledException) when (!token.IsCancellationRequested) { return false; }
            }
        }
        """);

    [Fact]
    public Task Fix_TokenFromCall_NotOffered() => VerifyFix.NoFixOfferedAsync(NotNameableFromCall);

    [Fact]
    public Task Fix_TokenShadowedAtCatch_NotOffered() => VerifyFix.NoFixOfferedAsync(NotNameableShadowed);

    [Fact]
    public Task Fix_ExceptionVariableHidesToken_NotOffered() => VerifyFix.NoFixOfferedAsync(NotNameableHidden);

    [Fact]
    public Task Fix_TokenReassigned_NotOffered() => VerifyFix.NoFixOfferedAsync(NotNameableReassigned);

    // The token comes from a call: naming it again at the catch would call it again.
    private const string NotNameableFromCall = Usings + """
        class C
        {
            CancellationToken NextToken() => default;

            async Task<bool> TryPingAsync(HttpClient http)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(NextToken());
                cts.CancelAfter(1000);
                try
                {
                    await http.GetAsync("https://example.org", cts.Token);
                    return true;
                }
                {|CORRAL0007:catch (OperationCanceledException)|}
                {
                    return false;
                }
            }
        }
        """;

    // The source is linked to the method's 'ct'; at the catch, 'ct' is the lambda's own parameter.
    private const string NotNameableShadowed = Usings + """
        class C
        {
            void Poll(HttpClient http, CancellationToken ct)
            {
                var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                Func<CancellationToken, Task<bool>> ping = async ct =>
                {
                    cts.CancelAfter(1000);
                    try
                    {
                        await http.GetAsync("https://example.org", cts.Token);
                        return true;
                    }
                    {|CORRAL0007:catch (OperationCanceledException)|}
                    {
                        return false;
                    }
                };
            }
        }
        """;

    // The source is linked to the field 'ct'; in the filter, 'ct' would be the exception.
    private const string NotNameableHidden = Usings + """
        class C
        {
            private readonly CancellationToken ct;

            async Task<bool> TryPingAsync(HttpClient http)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(1000);
                try
                {
                    await http.GetAsync("https://example.org", cts.Token);
                    return true;
                }
                {|CORRAL0007:catch (OperationCanceledException ct)|}
                {
                    Console.WriteLine(ct.Message);
                    return false;
                }
            }
        }
        """;

    // 'ct' no longer holds the linked token when the catch runs.
    private const string NotNameableReassigned = Usings + """
        class C
        {
            async Task<bool> TryPingAsync(HttpClient http, CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(1000);
                ct = CancellationToken.None;
                try
                {
                    await http.GetAsync("https://example.org", cts.Token);
                    return true;
                }
                {|CORRAL0007:catch (OperationCanceledException)|}
                {
                    return false;
                }
            }
        }
        """;
}
