using System.Threading.Tasks;
using Xunit;
using VerifyFix = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0012StartAsyncNotAwaitedAnalyzer, Corral.Analyzers.CORRAL0012StartAsyncNotAwaitedCodeFix>;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0012StartAsyncNotAwaitedAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0012StartAsyncNotAwaitedAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using Corral;

        """;

    [Fact]
    public Task Dropped_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(async group =>
            {
                [|group.StartAsync(async (started, ct) => { started.Started(); await Task.Delay(1, ct); })|];
                _ = [|group.StartAsync<int>(async (started, ct) => { started.Started(80); await Task.Delay(1, ct); })|];
                var unused = [|group.StartAsync(async (started, ct) => { started.Started(); await Task.Delay(1, ct); })|];
                await Task.Yield();
            });
        }
        """);

    [Fact]
    public Task AwaitedOrKept_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(async group =>
            {
                await group.StartAsync(async (started, ct) => { started.Started(); await Task.Delay(1, ct); });
                var port = await group.StartAsync<int>(async (started, ct) => { started.Started(80); await Task.Delay(1, ct); });
                var a = group.StartAsync(async (started, ct) => { started.Started(); await Task.Delay(1, ct); });
                var b = group.StartAsync(async (started, ct) => { started.Started(); await Task.Delay(1, ct); });
                await Task.WhenAll(a, b);
                group.Start(ct => Task.Delay(1, ct));
            });

            Task<int> Forward(TaskGroup group) => group.StartAsync<int>(async (started, ct) => { started.Started(1); await Task.Delay(1, ct); });
        }
        """);

    [Fact]
    public Task Fix_AwaitsStatementAndDiscard() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(async group =>
            {
                [|group.StartAsync(async (started, ct) => { started.Started(); await Task.Delay(1, ct); })|];
                _ = [|group.StartAsync<int>(async (started, ct) => { started.Started(80); await Task.Delay(1, ct); }, "server")|];
                await Task.Yield();
            });
        }
        """, Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(async group =>
            {
                await group.StartAsync(async (started, ct) => { started.Started(); await Task.Delay(1, ct); });
                await group.StartAsync<int>(async (started, ct) => { started.Started(80); await Task.Delay(1, ct); }, "server");
                await Task.Yield();
            });
        }
        """);

    // Not async: no fix (adding await would need the body rewritten).
    [Fact]
    public Task Fix_SynchronousBody_NotOffered() => VerifyFix.NoFixOfferedAsync(SynchronousBody);

    private const string SynchronousBody = Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(group =>
            {
                [|group.StartAsync(async (started, ct) => { started.Started(); await Task.Delay(1, ct); })|];
                return Task.CompletedTask;
            });
        }
        """;
}
