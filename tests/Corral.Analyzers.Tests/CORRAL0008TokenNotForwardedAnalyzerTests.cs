using System.Threading.Tasks;
using Xunit;
using VerifyFix = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0008TokenNotForwardedAnalyzer, Corral.Analyzers.CORRAL0008TokenNotForwardedCodeFix>;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0008TokenNotForwardedAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0008TokenNotForwardedAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.IO;
        using System.Threading;
        using System.Threading.Tasks;
        using Corral;

        """;

    [Fact]
    public Task Omitted_OverloadAndOptional_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync(Stream stream, SemaphoreSlim gate) => TaskGroup.RunAsync(group =>
            {
                group.Start(async ct =>
                {
                    await [|Task.Delay(TimeSpan.FromSeconds(1))|];
                    await [|gate.WaitAsync()|];
                    await [|stream.WriteAsync(new byte[1])|];
                    await [|SaveAsync(1)|];
                });
                return Task.CompletedTask;
            });

            Task SaveAsync(int value, CancellationToken cancellationToken = default) => Task.CompletedTask;
        }
        """);

    [Fact]
    public Task Omitted_InScopeBody_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync() => CancelScope.RunAsync(async scope => await [|Task.Delay(10)|]);
        }
        """);

    [Fact]
    public Task Forwarded_OrNotApplicable_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync(Stream stream, SemaphoreSlim gate) => TaskGroup.RunAsync(group =>
            {
                group.Start(async ct =>
                {
                    await Task.Delay(10, ct);
                    await Task.Delay(10, CancellationToken.None);
                    await Task.Yield();
                    await CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
                    await Task.Run(() => Console.WriteLine("scheduled"));
                    Console.WriteLine("no token here");
                    await Task.Run(() => gate.Wait());
                    await using var e = Numbers().GetAsyncEnumerator();
                    try
                    {
                        await stream.FlushAsync(ct);
                    }
                    finally
                    {
                        await stream.FlushAsync();
                    }
                });
                group.Start(_ => Task.Delay(10));
                return Task.CompletedTask;
            });

            Task OutsideCorralAsync() => Task.Delay(10);

            static async System.Collections.Generic.IAsyncEnumerable<int> Numbers()
            {
                await Task.Yield();
                yield return 1;
            }
        }
        """);

    [Fact]
    public Task Fix_Overload_AppendsToken() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            Task RunAsync() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), ct => [|Task.Delay(TimeSpan.FromSeconds(5))|]);
        }
        """, Usings + """
        class C
        {
            Task RunAsync() => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), ct => Task.Delay(TimeSpan.FromSeconds(5), ct));
        }
        """);

    [Fact]
    public Task Fix_OptionalAfterOtherOptionals_NamesToken() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            Task RunAsync() => CancelScope.RunAsync(scope => [|SaveAsync(1)|]);

            Task SaveAsync(int value, bool flush = true, CancellationToken cancellationToken = default) => Task.CompletedTask;
        }
        """, Usings + """
        class C
        {
            Task RunAsync() => CancelScope.RunAsync(scope => SaveAsync(1, cancellationToken: scope.Token));

            Task SaveAsync(int value, bool flush = true, CancellationToken cancellationToken = default) => Task.CompletedTask;
        }
        """);
}
