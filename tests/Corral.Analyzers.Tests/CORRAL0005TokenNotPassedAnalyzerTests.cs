using System.Threading.Tasks;
using Xunit;
using VerifyFix = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0005TokenNotPassedAnalyzer, Corral.Analyzers.CORRAL0005TokenNotPassedCodeFix>;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0005TokenNotPassedAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0005TokenNotPassedAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Threading;
        using System.Threading.Tasks;
        using Corral;

        """;

    [Fact]
    public Task None_InGroupChild_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(group =>
            {
                group.Start(async ct =>
                {
                    await Task.Delay(1000, [|CancellationToken.None|]);
                    await Task.Delay(1000, [|default|]);
                    await Task.Delay(1000, [|default(CancellationToken)|]);
                    await Task.Delay(1000, [|new CancellationToken()|]);
                });
                return Task.CompletedTask;
            });
        }
        """);

    [Fact]
    public Task None_InScopeBodies_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async Task RunAsync()
            {
                await CancelScope.RunAsync(async scope => await Task.Delay(1, [|CancellationToken.None|]));
                await CancelScope.FailAfterAsync(TimeSpan.FromSeconds(1), ct => Task.Delay(1, [|CancellationToken.None|]));
                await TaskGroup.RunAsync(async group => await Task.Delay(1, [|CancellationToken.None|]));
            }
        }
        """);

    [Fact]
    public Task None_InNestedLambda_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync(int[] items) => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), ct =>
                Task.WhenAll(Array.ConvertAll(items, i => Task.Delay(i, [|CancellationToken.None|]))));
        }
        """);

    [Fact]
    public Task Token_PassedOrOutOfReach_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(group =>
            {
                group.Start(async ct =>
                {
                    await Task.Delay(1000, ct);
                    try
                    {
                        await Task.Delay(1000, ct);
                    }
                    finally
                    {
                        await Task.Delay(10, CancellationToken.None);
                    }
                });
                group.Start(_ => Task.Delay(1, CancellationToken.None));
                group.Start(ct => Task.Run(() => Console.WriteLine("scheduled regardless"), CancellationToken.None));
                group.Start(ct => Task.Factory.StartNew(() => { }, CancellationToken.None));
                return Task.CompletedTask;
            });

            Task OutsideCorralAsync() => Task.Delay(1, CancellationToken.None);

            Task OtherLambda() => Task.Run(() => Task.Delay(1, CancellationToken.None));
        }
        """);

    [Fact]
    public Task Fix_Pass_UsesChildToken() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(group =>
            {
                group.Start(ct => Task.Delay(1000, [|CancellationToken.None|]));
                return Task.CompletedTask;
            });
        }
        """, Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(group =>
            {
                group.Start(ct => Task.Delay(1000, ct));
                return Task.CompletedTask;
            });
        }
        """);

    [Fact]
    public Task Fix_Pass_UsesScopeToken() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            Task RunAsync() => CancelScope.RunAsync(scope => Task.Delay(1000, [|default|]));
        }
        """, Usings + """
        class C
        {
            Task RunAsync() => CancelScope.RunAsync(scope => Task.Delay(1000, scope.Token));
        }
        """);
}
