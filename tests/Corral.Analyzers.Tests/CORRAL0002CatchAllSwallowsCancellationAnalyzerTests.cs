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
            Func<Task> Work() => async () =>
            {
                try { await Task.Yield(); }
                {|CORRAL0002:catch|} { }
            };
        }
        """);

    [Fact]
    public Task CatchException_WithoutName_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task<bool> TryAsync()
            {
                try { await Task.Yield(); return true; }
                {|CORRAL0002:catch (Exception)|} { return false; }
            }
        }
        """);

    [Fact]
    public Task CatchException_FilterAdmitsCancellation_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(int attempt)
            {
                try { await Task.Yield(); }
                {|CORRAL0002:catch (Exception ex)|} when (ex is not ArgumentException) { }
            }

            async Task B(int attempt)
            {
                try { await Task.Yield(); }
                {|CORRAL0002:catch (Exception)|} when (attempt < 3) { }
            }

            async Task D()
            {
                try { await Task.Yield(); }
                {|CORRAL0002:catch (SystemException ex)|} when (!(ex is ArgumentException)) { }
            }
        }
        """);

    [Fact]
    public Task CatchException_Rethrows_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A()
            {
                try { await Task.Yield(); }
                catch (Exception ex) { Console.WriteLine(ex); throw; }
            }

            async Task B()
            {
                try { await Task.Yield(); }
                catch (Exception ex)
                {
                    if (ex is OperationCanceledException)
                    {
                        throw;
                    }

                    Console.WriteLine(ex);
                }
            }

            async Task D()
            {
                try { await Task.Yield(); }
                catch (Exception ex) { throw new InvalidOperationException("wrapped", ex); }
            }
        }
        """);

    [Fact]
    public Task CatchException_FilterExcludesCancellation_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A()
            {
                try { await Task.Yield(); }
                catch (Exception ex) when (ex is not OperationCanceledException) { }
            }

            async Task B()
            {
                try { await Task.Yield(); }
                catch (Exception ex) when (!(ex is OperationCanceledException)) { }
            }

            async Task D(CancellationToken ct)
            {
                try { await Task.Delay(1, ct); }
                catch (Exception) when (!ct.IsCancellationRequested) { }
            }

            async Task E(int attempt)
            {
                try { await Task.Yield(); }
                catch (Exception ex) when (ex is not OperationCanceledException && attempt < 3) { }
            }

            async Task F()
            {
                try { await Task.Yield(); }
                catch (Exception ex) when (ex is System.Net.Http.HttpRequestException or TimeoutException) { }
            }

            async Task G()
            {
                try { await Task.Yield(); }
                catch (Exception ex) when (ex is not (OperationCanceledException or ObjectDisposedException)) { }
            }

            async Task H()
            {
                try { await Task.Yield(); }
                catch (Exception ex) when (IsTransient(ex)) { }
            }

            static bool IsTransient(Exception ex) => ex is TimeoutException;
        }
        """);

    [Fact]
    public Task CatchException_EarlierCancellationClause_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A()
            {
                try { await Task.Yield(); }
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

            async Task B()
            {
                await Task.Yield();
                try { Console.WriteLine(); }
                catch (Exception) { }
            }

            async Task D(System.IO.Stream s)
            {
                try { await s.WriteAsync(new byte[1]); }
                finally
                {
                    try { await s.FlushAsync(); }
                    catch (Exception) { }
                }
            }

            async Task E()
            {
                try { await Task.Yield(); }
                catch (InvalidOperationException) { }
            }

            async Task F()
            {
                try { await Task.Yield(); }
                catch (TaskCanceledException) { }
                catch (OperationCanceledException) { }
            }
        }
        """);

    [Fact]
    public Task Fix_Filter_AddsIsNotOperationCanceled() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task WorkAsync()
            {
                try
                {
                    await Task.Yield();
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
            async Task WorkAsync()
            {
                try
                {
                    await Task.Yield();
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
            async Task WorkAsync()
            {
                try
                {
                    await Task.Yield();
                }
                {|CORRAL0002:catch|}
                {
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task WorkAsync()
            {
                try
                {
                    await Task.Yield();
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
            async Task WorkAsync(int attempt)
            {
                try
                {
                    await Task.Yield();
                }
                {|CORRAL0002:catch (Exception)|} when (attempt < 3)
                {
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task WorkAsync(int attempt)
            {
                try
                {
                    await Task.Yield();
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
            async Task WorkAsync()
            {
                try
                {
                    await Task.Yield();
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
            async Task WorkAsync()
            {
                try
                {
                    await Task.Yield();
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
}
