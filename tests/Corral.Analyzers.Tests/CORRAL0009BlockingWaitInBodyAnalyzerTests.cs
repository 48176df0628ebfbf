using System.Threading.Tasks;
using Xunit;
using VerifyFix = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0009BlockingWaitInBodyAnalyzer, Corral.Analyzers.CORRAL0009BlockingWaitInBodyCodeFix>;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0009BlockingWaitInBodyAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0009BlockingWaitInBodyAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Net.Http;
        using System.Threading;
        using System.Threading.Tasks;
        using Corral;

        """;

    [Fact]
    public Task BlockingWaits_InGroupChild_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync(HttpClient http, SemaphoreSlim gate, ManualResetEventSlim ready, Task warmUp) => TaskGroup.RunAsync(group =>
            {
                group.Start(async ct =>
                {
                    [|Thread.Sleep(1000)|];
                    [|gate.Wait()|];
                    [|ready.Wait()|];
                    [|warmUp.Wait()|];
                    var body = [|http.GetStringAsync("https://example.org").Result|];
                    var page = [|http.GetStringAsync("https://example.org").GetAwaiter().GetResult()|];
                    [|Task.WaitAll(warmUp)|];
                    await Task.Delay(1, ct);
                });
                return Task.CompletedTask;
            });
        }
        """);

    [Fact]
    public Task BlockingWaits_InScopeBodies_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task<bool> A(Task<int> pending) => CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(1), ct =>
            {
                Console.WriteLine([|pending.Result|]);
                return Task.CompletedTask;
            });

            Task B(WaitHandle handle) => CancelScope.RunAsync(scope =>
            {
                [|handle.WaitOne()|];
                return Task.CompletedTask;
            });

            Task D(IEnumerable<int> items) => StructuredParallel.ForEachAsync(items, (item, ct) =>
            {
                [|Thread.Sleep(item)|];
                return Task.CompletedTask;
            });
        }
        """);

    // Waits a scope can cut (given the token), waits on finished tasks, code of a nested lambda (its own thread),
    // and code outside Corral bodies.
    [Fact]
    public Task CuttableOrComplete_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            Task RunAsync(SemaphoreSlim gate, Task<int> a, Task<int> b) => TaskGroup.RunAsync(group =>
            {
                group.Start(async ct =>
                {
                    gate.Wait(ct);
                    await gate.WaitAsync(ct);
                    Thread.Sleep(0);
                    await Task.Run(() => Thread.Sleep(100));
                    var first = await a;
                    Console.WriteLine(first + a.Result);
                    Console.WriteLine(Task.FromResult(1).Result);
                });
                group.Start(async ct =>
                {
                    var tasks = new List<Task<int>> { a, b };
                    await Task.WhenAll(tasks);
                    foreach (var t in tasks)
                    {
                        Console.WriteLine(t.Result);
                    }
                });
                group.Start(ct =>
                {
                    if (a.IsCompletedSuccessfully)
                    {
                        Console.WriteLine(a.Result);
                    }

                    return Task.CompletedTask;
                });
                return Task.CompletedTask;
            });

            void Outside(Task<int> pending)
            {
                Thread.Sleep(10);
                Console.WriteLine(pending.Result);
            }
        }
        """);

    [Fact]
    public Task Fix_Sleep_AwaitsDelayWithToken() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(group =>
            {
                group.Start(async ct =>
                {
                    [|Thread.Sleep(250)|];
                    await Task.Yield();
                });
                return Task.CompletedTask;
            });
        }
        """, Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(group =>
            {
                group.Start(async ct =>
                {
                    await Task.Delay(250, ct);
                    await Task.Yield();
                });
                return Task.CompletedTask;
            });
        }
        """);

    [Fact]
    public Task Fix_Sleep_AwaitsSleepAsync() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            Task RunAsync() => CancelScope.RunAsync(async scope =>
            {
                [|Thread.Sleep(250)|];
                await Task.Yield();
            });
        }
        """, Usings + """
        class C
        {
            Task RunAsync() => CancelScope.RunAsync(async scope =>
            {
                await CancelScope.SleepAsync(TimeSpan.FromMilliseconds(250));
                await Task.Yield();
            });
        }
        """, actionIndex: 1);

    [Fact]
    public Task Fix_ResultWaitAndSemaphore_AwaitWithToken() => VerifyFix.CodeFixAsync(Usings + """
        class C
        {
            Task RunAsync(HttpClient http, SemaphoreSlim gate, Task warmUp) => TaskGroup.RunAsync(group =>
            {
                group.Start(async ct =>
                {
                    [|warmUp.Wait()|];
                    [|gate.Wait(TimeSpan.FromSeconds(1))|];
                    var length = [|http.GetStringAsync("https://example.org").Result|].Length;
                    var page = [|http.GetStringAsync("https://example.org").GetAwaiter().GetResult()|];
                    Console.WriteLine(length + page.Length);
                });
                return Task.CompletedTask;
            });
        }
        """, Usings + """
        class C
        {
            Task RunAsync(HttpClient http, SemaphoreSlim gate, Task warmUp) => TaskGroup.RunAsync(group =>
            {
                group.Start(async ct =>
                {
                    await warmUp.WaitAsync(ct);
                    await gate.WaitAsync(TimeSpan.FromSeconds(1), ct);
                    var length = (await http.GetStringAsync("https://example.org").WaitAsync(ct)).Length;
                    var page = await http.GetStringAsync("https://example.org").WaitAsync(ct);
                    Console.WriteLine(length + page.Length);
                });
                return Task.CompletedTask;
            });
        }
        """);

    // Not async: rewriting the body's returns is not mechanical, so no fix is offered.
    [Fact]
    public Task Fix_SynchronousBody_NotOffered() => VerifyFix.NoFixOfferedAsync(SynchronousBody);

    private const string SynchronousBody = Usings + """
        class C
        {
            Task RunAsync() => TaskGroup.RunAsync(group =>
            {
                group.Start(ct =>
                {
                    [|Thread.Sleep(250)|];
                    return Task.CompletedTask;
                });
                return Task.CompletedTask;
            });
        }
        """;
}
