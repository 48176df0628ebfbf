using System.Threading.Tasks;
using Xunit;
using VerifyFix = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0002CatchAllSwallowsCancellationAnalyzer, Corral.Analyzers.CORRAL0002CatchAllSwallowsCancellationCodeFix>;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0002CatchAllSwallowsCancellationAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0002CatchAllSwallowsCancellationAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;

        """;

    [Fact]
    public Task CatchException_InAsyncLoop_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task WorkAsync(CancellationToken ct)
            {
                while (!ct.IsCancellationRequested)
                {
                    try
                    {
                        await Task.Delay(1000, ct);
                    }
                    {|CORRAL0002:catch (Exception ex)|}
                    {
                        Console.WriteLine(ex);
                    }
                }
            }
        }
        """);

    [Fact]
    public Task BareCatch_InAsyncLambda_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Func<Task> Work(CancellationToken ct) => async () =>
            {
                try { await Task.Delay(1, ct); }
                {|CORRAL0002:catch|} { }
            };
        }
        """);

    [Fact]
    public Task CatchException_WithoutName_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task<bool> TryAsync(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); return true; }
                {|CORRAL0002:catch (Exception)|} { return false; }
            }
        }
        """);

    [Fact]
    public Task CatchException_FilterAdmitsCancellation_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(int attempt, CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                {|CORRAL0002:catch (Exception ex)|} when (ex is not ArgumentException) { }
            }

            async Task B(int attempt, CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                {|CORRAL0002:catch (Exception)|} when (attempt < 3) { }
            }

            async Task D(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                {|CORRAL0002:catch (SystemException ex)|} when (!(ex is ArgumentException)) { }
            }
        }
        """);

    // Filters that name cancellation and still let the caller's in: a cancellation is always an
    // OperationCanceledException, often a TaskCanceledException (Task.Delay, HttpClient).
    [Fact]
    public Task CatchException_FilterAdmitsCancellationByType_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            int _misses;

            async Task A(CancellationToken ct)
            {
                while (true)
                {
                    try { await Task.Delay(1000, ct); }
                    {|CORRAL0002:catch (Exception e)|} when (e is OperationCanceledException or TimeoutException) { _misses++; }
                }
            }

            async Task B(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                {|CORRAL0002:catch (Exception ex)|} when (ex is TaskCanceledException) { }
            }

            async Task D(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                {|CORRAL0002:catch (Exception ex)|} when (ex.GetType() == typeof(OperationCanceledException)) { }
            }

            async Task E(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                {|CORRAL0002:catch (Exception ex)|} when (ex is System.Net.Http.HttpRequestException || ex is TaskCanceledException) { }
            }

            async Task F(int attempt, CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                {|CORRAL0002:catch (Exception ex)|} when (ShouldRetry(ex) && attempt < 3) { }
            }

            // Excludes the two types it names, and still admits every other subtype (Corral's ScopeCancelledException).
            async Task G(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                {|CORRAL0002:catch (Exception ex)|} when (ex.GetType() != typeof(OperationCanceledException) && ex is not TaskCanceledException) { }
            }

            static bool ShouldRetry(Exception ex) => ex is System.Net.Http.HttpRequestException or TaskCanceledException;
        }
        """);

    [Fact]
    public Task CatchException_FilterNamesCancellationCorrectly_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception ex) when (ex is TaskCanceledException && !ct.IsCancellationRequested) { }
            }

            async Task B(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception ex) when (ex.GetType() == typeof(TimeoutException)) { }
            }

            async Task E(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception ex) when (IsTransient(ex)) { }
            }

            async Task F(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception) when (ct.IsCancellationRequested) { Console.WriteLine("stopping"); }
            }

            static bool IsTransient(Exception ex)
            {
                return ex is System.Net.Http.HttpRequestException;
            }
        }
        """);

    [Fact]
    public Task CatchException_Rethrows_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception ex) { Console.WriteLine(ex); throw; }
            }

            async Task B(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception ex)
                {
                    if (ex is OperationCanceledException)
                    {
                        throw;
                    }

                    Console.WriteLine(ex);
                }
            }

            async Task D(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception ex) { throw new InvalidOperationException("wrapped", ex); }
            }
        }
        """);

    [Fact]
    public Task CatchException_FilterExcludesCancellation_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception ex) when (ex is not OperationCanceledException) { }
            }

            async Task B(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception ex) when (!(ex is OperationCanceledException)) { }
            }

            async Task D(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception) when (!ct.IsCancellationRequested) { }
            }

            async Task E(int attempt, CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception ex) when (ex is not OperationCanceledException && attempt < 3) { }
            }

            async Task F(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception ex) when (ex is System.Net.Http.HttpRequestException or TimeoutException) { }
            }

            async Task G(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception ex) when (ex is not (OperationCanceledException or ObjectDisposedException)) { }
            }

            async Task H(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception ex) when (IsTransient(ex)) { }
            }

            static bool IsTransient(Exception ex) => ex is TimeoutException;
        }
        """);

    [Fact]
    public Task CatchException_KeptForLater_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        using System.Collections.Generic;

        class C
        {
            Exception? _error;
            readonly List<Exception> _failures = new();

            async Task A(CancellationToken ct)
            {
                Exception? error = null;
                try { await Task.Delay(1, ct); }
                catch (Exception e) { error = e; }
                Finish(error);
            }

            async Task<Exception?> B(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); return null; }
                catch (Exception e) { return e; }
            }

            async Task D(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception e) { _failures.Add(e); }
            }

            async Task E(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception e) { OnChildFailed(e, "child"); }
            }

            async Task F(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception e) { _error = e; }
            }

            void Finish(Exception? error) { }
            void OnChildFailed(Exception e, string name) { }
        }
        """);

    [Fact]
    public Task CatchException_PassedToAnotherTypesLogger_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class Log
        {
            public static void Error(Exception e) { }
        }

        class C
        {
            async Task A(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                {|CORRAL0002:catch (Exception e)|} { Log.Error(e); }
            }
        }
        """);

    [Fact]
    public Task CatchException_EarlierCancellationClause_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (OperationCanceledException) { throw; }
                catch (Exception ex) { Console.WriteLine(ex); }
            }

            async Task B(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
                catch (Exception ex) { Console.WriteLine(ex); }
            }
        }
        """);

    [Fact]
    public Task CatchException_NotAsync_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            void A()
            {
                try { Console.WriteLine(); }
                catch (Exception) { }
            }

            async Task B(CancellationToken ct)
            {
                await Task.Delay(1, ct);
                try { Console.WriteLine(); }
                catch (Exception) { }
            }

            async Task D(System.IO.Stream s, CancellationToken ct)
            {
                try { await s.WriteAsync(new byte[1]); }
                finally
                {
                    try { await s.FlushAsync(); }
                    catch (Exception) { }
                }
            }

            async Task E(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (InvalidOperationException) { }
            }

            async Task F(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (TaskCanceledException) { }
                catch (OperationCanceledException) { }
            }

            async Task G(Task all)
            {
                try { await all; }
                catch (Exception) { Console.WriteLine("no token in play: nothing to swallow"); }
            }

            async Task H(CancellationToken ct)
            {
                try { await Task.Delay(1, CancellationToken.None); }
                catch (Exception) { }
            }

            async Task<int> I(Task<int> play)
            {
                try
                {
                    using var limit = new CancellationTokenSource();
                    await Task.WhenAny(play, Task.Delay(1000, limit.Token));
                    limit.Cancel();
                    return await play;
                }
                catch (Exception) { return -1; }
            }
        }
        """);

    [Fact]
    public Task Fix_Filter_AddsIsNotOperationCanceled() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task WorkAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1, ct);
                }
                {|CORRAL0002:catch (Exception ex)|}
                {
                    Console.WriteLine(ex);
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task WorkAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1, ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    Console.WriteLine(ex);
                }
            }
        }
        """);

    [Fact]
    public Task Fix_Filter_NamesBareCatch() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task WorkAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1, ct);
                }
                {|CORRAL0002:catch|}
                {
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task WorkAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1, ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                }
            }
        }
        """);

    [Fact]
    public Task Fix_Filter_KeepsExistingFilter() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task WorkAsync(int attempt, CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1, ct);
                }
                {|CORRAL0002:catch (Exception)|} when (attempt < 3)
                {
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task WorkAsync(int attempt, CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1, ct);
                }
                catch (Exception ex) when (ex is not OperationCanceledException && (attempt < 3))
                {
                }
            }
        }
        """);

    [Fact]
    public Task Fix_RethrowFirst_InsertsCancellationClause() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task WorkAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1, ct);
                }
                {|CORRAL0002:catch (Exception ex)|}
                {
                    Console.WriteLine(ex);
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task WorkAsync(CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1, ct);
                }
                catch (OperationCanceledException)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    Console.WriteLine(ex);
                }
            }
        }
        """, actionIndex: 1);

    [Fact]
    public Task Fix_Filter_NarrowsTypeTestFilter() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            int _misses;

            async Task LoopAsync(CancellationToken ct)
            {
                while (true)
                {
                    try
                    {
                        await Task.Delay(1000, ct);
                    }
                    {|CORRAL0002:catch (Exception e)|} when (e is OperationCanceledException or TimeoutException)
                    {
                        _misses++;
                    }
                }
            }
        }
        """, Usings + """
        class C
        {
            int _misses;

            async Task LoopAsync(CancellationToken ct)
            {
                while (true)
                {
                    try
                    {
                        await Task.Delay(1000, ct);
                    }
                    catch (Exception e) when (e is not OperationCanceledException && (e is OperationCanceledException or TimeoutException))
                    {
                        _misses++;
                    }
                }
            }
        }
        """);
}
