using System.Threading.Tasks;
using Xunit;
using VerifyFix = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0003YieldInsideScopeAnalyzer, Corral.Analyzers.CORRAL0003YieldInsideScopeCodeFix>;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0003YieldInsideScopeAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0003YieldInsideScopeAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Runtime.CompilerServices;
        using System.Threading;
        using System.Threading.Tasks;

        """;

    [Fact]
    public Task Yield_InsideUsingDeclarationOfLinkedSource_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async IAsyncEnumerable<int> ReadAsync([EnumeratorCancellation] CancellationToken ct = default)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                for (var i = 0; i < 10; i++)
                {
                    await Task.Delay(10, timeout.Token);
                    [|yield return i;|]
                }
            }
        }
        """);

    [Fact]
    public Task Yield_InsideUsingStatement_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async IAsyncEnumerable<int> ReadAsync()
            {
                using (var cts = new CancellationTokenSource(1000))
                {
                    await Task.Delay(10, cts.Token);
                    [|yield return 1;|]
                }
            }
        }
        """);

    [Fact]
    public Task Yield_InsideAwaitUsingOfCorralScope_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        namespace Corral
        {
            public sealed class ScopeHandle : IAsyncDisposable
            {
                public ValueTask DisposeAsync() => default;
            }
        }

        class C
        {
            async IAsyncEnumerable<int> ReadAsync()
            {
                await using var scope = new Corral.ScopeHandle();
                await Task.Yield();
                [|yield return 1;|]
            }
        }
        """);

    [Fact]
    public Task Yield_InLocalFunctionIterator_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            IAsyncEnumerable<int> Read()
            {
                return Inner();

                async IAsyncEnumerable<int> Inner()
                {
                    using var cts = new CancellationTokenSource();
                    await Task.Yield();
                    [|yield return 1;|]
                }
            }
        }
        """);

    [Fact]
    public Task Yield_OutsideScope_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            async IAsyncEnumerable<int> ReadAsync([EnumeratorCancellation] CancellationToken ct = default)
            {
                int value;
                using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
                {
                    cts.CancelAfter(1000);
                    await Task.Delay(10, cts.Token);
                    value = 1;
                }

                yield return value;
            }

            async IAsyncEnumerable<int> OtherDisposableAsync()
            {
                using var stream = new System.IO.MemoryStream();
                await Task.Yield();
                yield return 1;
            }

            IEnumerable<int> Synchronous()
            {
                using var cts = new CancellationTokenSource();
                yield return 1;
            }

            async IAsyncEnumerable<int> DisposedBeforeYieldAsync()
            {
                for (var i = 0; i < 3; i++)
                {
                    using (var cts = new CancellationTokenSource(100))
                    {
                        await Task.Delay(1, cts.Token);
                    }

                    yield return i;
                }
            }
        }
        """);

    // The doc example: the body's uses of the method's token read a source linked to it and to the producer's token, so
    // a token given straight to the method still stops the producer; each yield becomes a write. Both yields of the
    // method are fixed by one rewrite (Fix All included).
    [Fact]
    public Task Fix_SimpleIterator_BecomesSafeProducer() => VerifyFix.CodeFixAsync(Usings + """
        using System.Linq;
        using Corral;

        class C
        {
            public async IAsyncEnumerable<int> ReadAsync(int count, [EnumeratorCancellation] CancellationToken ct = default)
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                for (var i = 0; i < count; i++)
                {
                    await Task.Delay(10, timeout.Token);
                    if (i == 7)
                    {
                        yield break;
                    }

                    [|yield return i;|]
                }

                [|yield return -1;|]
            }
        }
        """, Usings + """
        using System.Linq;
        using Corral;

        class C
        {
            public IAsyncEnumerable<int> ReadAsync(int count, CancellationToken ct = default) => SafeProducer.ProduceAsync<int>(async (writer, producerToken) =>
            {
                using var tokens = CancellationTokenSource.CreateLinkedTokenSource(ct, producerToken);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(tokens.Token);
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                for (var i = 0; i < count; i++)
                {
                    await Task.Delay(10, timeout.Token);
                    if (i == 7)
                    {
                        return;
                    }

                    await writer.WriteAsync(i, tokens.Token);
                }

                await writer.WriteAsync(-1, tokens.Token);
            });
        }
        """);

    // No token parameter: the producer's token is the one to write with.
    [Fact]
    public Task Fix_IteratorWithoutToken_WritesWithProducerToken() => VerifyFix.CodeFixAsync(Usings + """
        using Corral;

        class C
        {
            async IAsyncEnumerable<string> LinesAsync()
            {
                using (var cts = new CancellationTokenSource(1000))
                {
                    await Task.Delay(10, cts.Token);
                    [|yield return "first";|]
                }
            }
        }
        """, Usings + """
        using Corral;

        class C
        {
            IAsyncEnumerable<string> LinesAsync() => SafeProducer.ProduceAsync<string>(async (writer, producerToken) =>
            {
                using (var cts = new CancellationTokenSource(1000))
                {
                    await Task.Delay(10, cts.Token);
                    await writer.WriteAsync("first", producerToken);
                }
            });
        }
        """);

    // Not the simple shape (a local function; an enumerator; two tokens): no fix.
    [Fact]
    public Task Fix_OtherShapes_NotOffered() => VerifyFix.NoFixOfferedAsync(OtherShapes);

    private const string OtherShapes = Usings + """
        using Corral;

        class C
        {
            IAsyncEnumerable<int> Read()
            {
                return Inner();

                async IAsyncEnumerable<int> Inner()
                {
                    using var cts = new CancellationTokenSource();
                    await Task.Yield();
                    [|yield return 1;|]
                }
            }

            async IAsyncEnumerator<int> EnumerateAsync()
            {
                using var cts = new CancellationTokenSource();
                await Task.Yield();
                [|yield return 1;|]
            }

            async IAsyncEnumerable<int> TwoTokensAsync(CancellationToken first, [EnumeratorCancellation] CancellationToken second = default)
            {
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(first, second);
                await Task.Yield();
                [|yield return 1;|]
            }
        }
        """;
}
