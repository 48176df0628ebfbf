using System.Threading.Tasks;
using Xunit;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0013UsedAfterBlockEndedAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0013UsedAfterBlockEndedAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Net.Http;
        using System.Threading;
        using System.Threading.Tasks;
        using Corral;

        """;

    [Fact]
    public Task UsedAfterTheAwaitedBlock_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task A(HttpClient http)
            {
                CancelScope? saved = null;
                await CancelScope.RunAsync(async scope =>
                {
                    saved = scope;
                    await Task.Delay(1, scope.Token);
                });
                await http.GetStringAsync("https://example.org", [|saved!.Token|]);
                var kept = [|saved.Token|];
                [|saved.Deadline|] = DateTimeOffset.UtcNow.AddSeconds(5);
            }

            async Task B()
            {
                TaskGroup? workers = null;
                await TaskGroup.RunAsync(group =>
                {
                    workers = group;
                    return Task.CompletedTask;
                });
                [|workers!.Start|](ct => Task.Delay(1, ct));
                [|workers?.StartAsync|](async (started, ct) => { started.Started(); await Task.Delay(1, ct); });
                Console.WriteLine(workers!.Scope.Token.IsCancellationRequested);
                await Task.Delay(1, [|workers!.Scope.Token|]);
            }

            async Task D()
            {
                CancelScope? current = null;
                await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), async ct =>
                {
                    current = CancelScope.Current;
                    await Task.Delay(10, ct);
                });
                [|current!.Shield|] = true;
            }
        }
        """);

    // Reading the outcome and cancelling are what such a variable is for; uses before the block ends, and a variable
    // assigned again, are fine.
    [Fact]
    public Task OutcomeReadOrStillRunning_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task<bool> A()
            {
                CancelScope? saved = null;
                await CancelScope.RunAsync(async scope =>
                {
                    saved = scope;
                    await Task.Delay(10, scope.Token);
                }, new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(1) });
                saved!.Cancel();
                Console.WriteLine(saved.CancelCalled);
                Console.WriteLine(saved.Token.IsCancellationRequested);
                return saved.CancelledCaught;
            }

            async Task B()
            {
                TaskGroup? workers = null;
                var run = TaskGroup.RunAsync(async group =>
                {
                    workers = group;
                    await Task.Delay(10, group.Scope.Token);
                });
                workers?.Start(ct => Task.Delay(1, ct));
                await run;
            }

            async Task D()
            {
                CancelScope? saved = null;
                await CancelScope.RunAsync(scope =>
                {
                    saved = scope;
                    return Task.CompletedTask;
                });
                saved = CancelScope.Current;
                Console.WriteLine(saved?.Token);
            }
        }
        """);
}
