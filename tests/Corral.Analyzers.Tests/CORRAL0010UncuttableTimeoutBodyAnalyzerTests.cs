using System.Threading.Tasks;
using Xunit;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0010UncuttableTimeoutBodyAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0010UncuttableTimeoutBodyAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.IO;
        using System.Net.Http;
        using System.Threading;
        using System.Threading.Tasks;
        using Corral;

        """;

    [Fact]
    public Task SynchronousWork_InTimeouts_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task<bool> A() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), [|_ =>|] SyncWork());

            Task B(string path) => CancelScope.FailAfterAsync(TimeSpan.FromSeconds(5), [|async _ =>|]
            {
                var text = await File.ReadAllTextAsync(path);
                Console.WriteLine(text.Length);
            });

            Task<bool> D(Stream stream) => CancelScope.ShieldAsync([|_ =>|] stream.FlushAsync(), TimeSpan.FromSeconds(2));

            Task E() => CancelScope.RunAsync([|scope =>|] Task.Run(() => Compute()), new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(1) });

            // A token, but the caller's, not the scope's: the deadline cannot reach it.
            Task<bool> F(HttpClient http, CancellationToken outer) => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), [|_ =>|] http.GetStringAsync("https://example.org", outer));

            Task SyncWork()
            {
                Compute();
                return Task.CompletedTask;
            }

            static void Compute() => Thread.SpinWait(1_000_000);
        }
        """);

    // Bodies the deadline can reach: the token is used, a checkpoint, the ambient scope, a method that takes a token,
    // code that may read the ambient scope (interfaces, delegates, other files), and bodies that do nothing.
    [Fact]
    public Task CuttableBodies_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        interface IStore
        {
            Task SaveAsync();
        }

        class C
        {
            Task<bool> A(HttpClient http) => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), ct => http.GetStringAsync("https://example.org", ct));

            Task B() => CancelScope.FailAfterAsync(TimeSpan.FromSeconds(5), async _ =>
            {
                Compute();
                await CancelScope.CheckpointAsync();
            });

            Task<bool> D() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), _ => Helper());

            Task<bool> E(IStore store) => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), _ => store.SaveAsync());

            Task<bool> F(Func<Task> work) => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), _ => work());

            Task<bool> G() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), _ => Task.CompletedTask);

            Task<bool> H() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), _ => WithToken(CancelScope.CurrentToken));

            // No deadline: nothing to cut.
            Task I(Stream stream) => CancelScope.RunAsync(_ => stream.FlushAsync());

            Task<bool> J(Stream stream) => CancelScope.ShieldAsync(_ => stream.FlushAsync());

            // A named token left out is CORRAL0008's, with a fix.
            Task<bool> K() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), ct => Task.Delay(10_000));

            async Task Helper()
            {
                await Task.Yield();
                await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
            }

            Task WithToken(CancellationToken token) => Task.Delay(1000, token);

            static void Compute() => Thread.SpinWait(1_000_000);
        }
        """);

    // The example: the body discards its token and calls synchronous work in the same file.
    [Fact]
    public Task DiscardedTokenAndDelay_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task<bool> A() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(5), [|_ =>|] Task.Delay(10_000));

        }
        """);
}
