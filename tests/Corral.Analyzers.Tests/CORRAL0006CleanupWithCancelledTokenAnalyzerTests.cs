using System.Threading.Tasks;
using Xunit;
using VerifyFix = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0006CleanupWithCancelledTokenAnalyzer, Corral.Analyzers.CORRAL0006CleanupWithCancelledTokenCodeFix>;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0006CleanupWithCancelledTokenAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0006CleanupWithCancelledTokenAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.IO;
        using System.Threading;
        using System.Threading.Tasks;
        using Corral;

        """;

    [Fact]
    public Task Finally_AwaitsWithParameterToken_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task CopyAsync(Stream source, Stream target, CancellationToken ct)
            {
                try
                {
                    await source.CopyToAsync(target, ct);
                }
                finally
                {
                    await target.FlushAsync([|ct|]);
                }
            }
        }
        """);

    [Fact]
    public Task CatchCancellation_AwaitsWithScopeToken_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync(Stream target) => CancelScope.RunAsync(async scope =>
            {
                try
                {
                    await Task.Delay(1000, scope.Token);
                }
                catch (OperationCanceledException)
                {
                    await target.WriteAsync(new byte[1], [|scope.Token|]);
                    throw;
                }
            });

            async Task ChildAsync(Stream target)
            {
                try
                {
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
                }
                finally
                {
                    await target.FlushAsync([|CancelScope.CurrentToken|]).ConfigureAwait(false);
                }
            }
        }
        """);

    [Fact]
    public Task Cleanup_ShieldedOrGuarded_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(Stream target, CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1000, ct);
                }
                finally
                {
                    await CancelScope.ShieldAsync(t => target.FlushAsync(t), TimeSpan.FromSeconds(2));
                    await target.FlushAsync(CancellationToken.None);
                    if (!ct.IsCancellationRequested)
                    {
                        await target.FlushAsync(ct);
                    }

                    try
                    {
                        await target.FlushAsync(ct);
                    }
                    catch (IOException)
                    {
                    }
                }
            }

            async Task B(Stream target, CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1000, ct);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    await target.FlushAsync(ct);
                }
                catch (IOException)
                {
                    await target.FlushAsync(ct);
                }
            }

            async Task D(Stream target, CancellationToken ct)
            {
                try
                {
                    await Task.Delay(1000, ct);
                }
                finally
                {
                    target.Flush();
                }

                await target.FlushAsync(ct);
            }
        }
        """);

    [Fact]
    public Task Fix_Shield_WrapsCleanup() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            async Task CopyAsync(Stream source, Stream target, CancellationToken ct)
            {
                try
                {
                    await source.CopyToAsync(target, ct);
                }
                finally
                {
                    await target.FlushAsync([|ct|]).ConfigureAwait(false);
                }
            }
        }
        """, Usings + """
        class C
        {
            async Task CopyAsync(Stream source, Stream target, CancellationToken ct)
            {
                try
                {
                    await source.CopyToAsync(target, ct);
                }
                finally
                {
                    await CancelScope.ShieldAsync(t => target.FlushAsync(t), TimeSpan.FromSeconds(5)).ConfigureAwait(false);
                }
            }
        }
        """);
}
