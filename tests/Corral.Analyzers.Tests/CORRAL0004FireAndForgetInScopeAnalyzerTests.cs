using System.Threading.Tasks;
using Xunit;
using VerifyFix = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0004FireAndForgetInScopeAnalyzer, Corral.Analyzers.CORRAL0004FireAndForgetInScopeCodeFix>;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0004FireAndForgetInScopeAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0004FireAndForgetInScopeAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using Corral;

        """;

    [Fact]
    public Task TaskRun_InGroupBody_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(async group =>
            {
                [|Task.Run(() => Console.WriteLine("hi"))|];
                await Task.Yield();
            });
        }
        """);

    [Fact]
    public Task Discard_InScopeBody_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), async ct =>
            {
                [|_ = SendAsync(ct)|];
                await Task.Delay(10, ct);
            });

            Task SendAsync(CancellationToken ct) => Task.CompletedTask;
        }
        """);

    [Fact]
    public Task UnawaitedCall_InGroupChild_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(group =>
            {
                group.Start(ct =>
                {
                    [|SendAsync(ct)|];
                    [|Task.Factory.StartNew(() => { })|];
                    return Task.CompletedTask;
                });
                return Task.CompletedTask;
            });

            ValueTask SendAsync(CancellationToken ct) => default;
        }
        """);

    [Fact]
    public Task AwaitedOrOwned_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(async group =>
            {
                await Task.Run(() => Console.WriteLine("awaited"));
                group.Start(ct => SendAsync(ct));
                _ = group.Start(async ct => { await SendAsync(ct); return 1; });
                var pending = SendAsync(CancellationToken.None);
                await pending;
                _ = Task.FromResult(1);
                Console.WriteLine("not a task");
            });

            Task OutsideCorralAsync()
            {
                _ = SendAsync(CancellationToken.None);
                Task.Run(() => { });
                return Task.CompletedTask;
            }

            Task SendAsync(CancellationToken ct) => Task.CompletedTask;
        }
        """);

    [Fact]
    public Task Fix_Start_WrapsInGroupStart() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(async group =>
            {
                [|_ = SendAsync(1)|];
                await Task.Yield();
            });

            Task SendAsync(int value) => Task.CompletedTask;
        }
        """, Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(async group =>
            {
                group.Start(ct => SendAsync(1));
                await Task.Yield();
            });

            Task SendAsync(int value) => Task.CompletedTask;
        }
        """);

    [Fact]
    public Task Fix_Start_AwaitsValueTaskInsideChild() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(async group =>
            {
                [|SendAsync(1)|];
                await Task.Yield();
            });

            ValueTask<int> SendAsync(int value) => new(value);
        }
        """, Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(async group =>
            {
                group.Start(async ct => { await SendAsync(1); });
                await Task.Yield();
            });

            ValueTask<int> SendAsync(int value) => new(value);
        }
        """);

    [Fact]
    public Task Fix_Await_AwaitsTheTask() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            Task RunAsync() => CancelScope.ShieldAsync(async ct =>
            {
                [|_ = SendAsync(ct)|];
                await Task.Yield();
            });

            Task SendAsync(CancellationToken ct) => Task.CompletedTask;
        }
        """, Usings + """
        class C
        {
            Task RunAsync() => CancelScope.ShieldAsync(async ct =>
            {
                await SendAsync(ct);
                await Task.Yield();
            });

            Task SendAsync(CancellationToken ct) => Task.CompletedTask;
        }
        """);
}
