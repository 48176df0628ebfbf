using System.Threading.Tasks;
using Xunit;
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
}
