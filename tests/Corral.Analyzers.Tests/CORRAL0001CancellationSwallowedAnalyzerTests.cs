using System.Threading.Tasks;
using Xunit;
using VerifyFix = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0001CancellationSwallowedAnalyzer, Corral.Analyzers.CORRAL0001CancellationSwallowedCodeFix>;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0001CancellationSwallowedAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0001CancellationSwallowedAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using Corral;

        """;

    [Fact]
    public Task Catch_ZombieLoop_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task PollAsync(CancellationToken ct)
            {
                while (true)
                {
                    try
                    {
                        await Task.Delay(1000, ct);
                    }
                    {|CORRAL0001:catch (OperationCanceledException)|}
                    {
                    }
                }
            }
        }
        """);

    [Fact]
    public Task Catch_CleanUpAndReturn_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task ProcessAsync(int item, CancellationToken ct)
            {
                try
                {
                    await StepAsync(item, ct);
                }
                {|CORRAL0001:catch (OperationCanceledException e)|}
                {
                    Console.WriteLine(e.Message);
                    await CleanupAsync(item);
                    return;
                }
            }

            Task StepAsync(int item, CancellationToken ct) => Task.CompletedTask;
            Task CleanupAsync(int item) => Task.CompletedTask;
        }
        """);

    [Fact]
    public Task Catch_TaskCanceledException_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task<string?> FetchAsync(System.Net.Http.HttpClient http, CancellationToken ct)
            {
                try
                {
                    return await http.GetStringAsync("https://example.org", ct);
                }
                {|CORRAL0001:catch (TaskCanceledException)|}
                {
                    return null;
                }
            }
        }
        """);

    [Fact]
    public Task Catch_InsideGroupChild_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(async group =>
            {
                group.Start(async ct =>
                {
                    try
                    {
                        await Task.Delay(10, ct);
                    }
                    {|CORRAL0001:catch (OperationCanceledException)|}
                    {
                    }
                });
                await Task.Yield();
            });
        }
        """);

    [Fact]
    public Task Catch_AroundCorralCheckpoint_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task WorkAsync()
            {
                try
                {
                    await CancelScope.CheckpointAsync();
                }
                {|CORRAL0001:catch (OperationCanceledException)|}
                {
                }
            }
        }
        """);

    [Fact]
    public Task Catch_Rethrown_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (OperationCanceledException) { Console.WriteLine("stopping"); throw; }
            }

            async Task B(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (OperationCanceledException e) { throw new InvalidOperationException("stopped", e); }
            }

            async Task D(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (OperationCanceledException e) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw(); }
            }

            async Task E(CancellationToken ct, TaskCompletionSource tcs)
            {
                try { await Task.Delay(1, ct); }
                catch (OperationCanceledException e) { tcs.TrySetCanceled(e.CancellationToken); }
            }

            async Task<Exception?> F(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); return null; }
                catch (OperationCanceledException e) { return e; }
            }
        }
        """);

    [Fact]
    public Task Catch_WithFilter_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
            }

            async Task B(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { Console.WriteLine("stopping"); throw; }
            }

            async Task D(CancellationToken ct, CancellationTokenSource other)
            {
                try { await Task.Delay(1, ct); }
                catch (OperationCanceledException e) when (e.CancellationToken == other.Token) { }
            }
        }
        """);

    // The filter meant "our own timeout fired" and negated it: every cancellation that is not the timeout, the
    // caller's included, is swallowed.
    [Fact]
    public Task Filter_NegatesOwnTimeoutSource_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task<string?> FetchAsync(System.Net.Http.HttpClient http, CancellationToken ct)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
                try
                {
                    return await http.GetStringAsync("https://example.org", linked.Token);
                }
                {|CORRAL0001:catch (OperationCanceledException)|} when (!timeout.IsCancellationRequested)
                {
                    Console.WriteLine("cancelled");
                    return null;
                }
            }

            async Task<string?> ByTokenAsync(System.Net.Http.HttpClient http, CancellationToken ct)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
                try
                {
                    return await http.GetStringAsync("https://example.org", linked.Token);
                }
                {|CORRAL0001:catch (OperationCanceledException e)|} when (e.CancellationToken != timeout.Token)
                {
                    return null;
                }
            }

            async Task ByTypeAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1000, ct);
                }
                {|CORRAL0001:catch (OperationCanceledException e)|} when (e is TaskCanceledException)
                {
                }
            }
        }
        """);

    // The correct twins: the own, unlinked timeout source tested positively; the caller's token; a link with no timeout
    // (it is cancelled exactly when the caller is: a decision about the caller's cancellation); other conditions.
    [Fact]
    public Task Filter_TellsCancellationsApart_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            bool _disposed;

            async Task<string?> A(System.Net.Http.HttpClient http, CancellationToken ct)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
                try { return await http.GetStringAsync("https://example.org", linked.Token); }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested) { return null; }
            }

            async Task<string?> B(System.Net.Http.HttpClient http, CancellationToken ct)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
                try { return await http.GetStringAsync("https://example.org", linked.Token); }
                catch (OperationCanceledException e) when (e.CancellationToken == timeout.Token) { return null; }
            }

            async Task D(CancellationToken ct, CancellationToken stopping)
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, stopping);
                try { await Task.Delay(1, linked.Token); }
                catch (OperationCanceledException) when (linked.IsCancellationRequested) { Console.WriteLine("stopping"); }
            }

            async Task E(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (OperationCanceledException) when (_disposed) { }
            }

            async Task F(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (OperationCanceledException e) when (e is TaskCanceledException && !ct.IsCancellationRequested) { }
            }
        }
        """);

    // A try block that reaches the caller only through a linked source is still the caller's cancellation.
    [Fact]
    public Task Catch_AroundLinkedSourceToken_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(CancellationToken ct, CancellationToken stopping)
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, stopping);
                try { await Task.Delay(1, linked.Token); }
                {|CORRAL0001:catch (OperationCanceledException)|} { }
            }
        }
        """);

    [Fact]
    public Task Catch_OwnTokenSource_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A()
            {
                using var cts = new CancellationTokenSource();
                try { await Task.Delay(1, cts.Token); }
                catch (OperationCanceledException) { }
            }

            async Task B(System.Net.Http.HttpClient http)
            {
                try { await http.GetStringAsync("https://example.org"); }
                catch (TaskCanceledException) { }
            }
        }
        """);

    [Fact]
    public Task Catch_InsideFinally_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(System.IO.Stream s, CancellationToken ct)
            {
                try { await s.WriteAsync(new byte[1], ct); }
                finally
                {
                    try { await s.FlushAsync(ct); }
                    catch (OperationCanceledException) { }
                }
            }
        }
        """);

    [Fact]
    public Task Catch_OtherExceptionType_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (TimeoutException) { }
                catch (InvalidOperationException) { }
            }
        }
        """);

    [Fact]
    public Task Catch_LinkedTimeout_LeftToCorral0007() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task<bool> A(CancellationToken ct)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
                cts.CancelAfter(1000);
                try { await Task.Delay(1, cts.Token); await Task.Delay(1, ct); return true; }
                catch (OperationCanceledException) { return false; }
            }
        }
        """);

    [Fact]
    public Task Fix_Rethrow_AppendsThrow() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task PollAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1000, ct);
                }
                {|CORRAL0001:catch (OperationCanceledException)|}
                {
                    Console.WriteLine("cancelled");
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task PollAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1000, ct);
                }
                catch (OperationCanceledException)
                {
                    Console.WriteLine("cancelled");
                    throw;
                }
            }
        }
        """);

    [Fact]
    public Task Fix_Rethrow_ReplacesTrailingReturn() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task PollAsync(CancellationToken ct)
            {
                while (true)
                {
                    try
                    {
                        await Task.Delay(1000, ct);
                    }
                    {|CORRAL0001:catch (OperationCanceledException)|}
                    {
                        Console.WriteLine("cancelled");
                        continue;
                    }
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task PollAsync(CancellationToken ct)
            {
                while (true)
                {
                    try
                    {
                        await Task.Delay(1000, ct);
                    }
                    catch (OperationCanceledException)
                    {
                        Console.WriteLine("cancelled");
                        throw;
                    }
                }
            }
        }
        """);

    [Fact]
    public Task Fix_Filter_AddsWhenNotCancelled() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task PollAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1000, ct);
                }
                {|CORRAL0001:catch (OperationCanceledException)|}
                {
                    Console.WriteLine("timed out");
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task PollAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1000, ct);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    Console.WriteLine("timed out");
                }
            }
        }
        """, actionIndex: 1);

    [Fact]
    public Task Fix_Filter_JoinsExistingFilter() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task WaitAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1000, ct);
                }
                {|CORRAL0001:catch (OperationCanceledException e)|} when (e is TaskCanceledException)
                {
                    Console.WriteLine("timed out");
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task WaitAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1000, ct);
                }
                catch (OperationCanceledException e) when (e is TaskCanceledException && !ct.IsCancellationRequested)
                {
                    Console.WriteLine("timed out");
                }
            }
        }
        """, actionIndex: 1);
}
