using System.Threading.Tasks;
using Xunit;
using VerifyRule = Corral.Analyzers.Tests.Verifiers.Verify<Corral.Analyzers.CORRAL0011GroupEscapesBodyAnalyzer>;

namespace Corral.Analyzers.Tests;

public class CORRAL0011GroupEscapesBodyAnalyzerTests
{
    private const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Tasks;
        using Corral;

        """;

    // A server keeps its group in a field to start a child per connection from an event: once the group closes,
    // every later connection is "Start on a closed group".
    [Fact]
    public Task StoredInField_StartedThroughIt_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class Server
        {
            private TaskGroup? _connections;

            public Task RunAsync(CancellationToken ct) => TaskGroup.RunAsync(async group =>
            {
                _connections = [|group|];
                await Task.Delay(Timeout.Infinite, ct);
            });

            public void OnConnection(int id) => _connections?.Start(ct => Task.Delay(id, ct));
        }
        """);

    [Fact]
    public Task StoredInField_StartedThroughACopy_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class Poller
        {
            private TaskGroup? _group;

            public Task RunAsync() => TaskGroup.RunAsync(g =>
            {
                _group = [|g|];
                return Task.CompletedTask;
            });

            public void Poke()
            {
                var group = _group;
                group?.Start(ct => Task.Delay(1, ct));
            }
        }
        """);

    [Fact]
    public Task ReturnedAddedOrCapturedByLaterCallback_Flagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            private readonly List<TaskGroup> _groups = new();
            public event EventHandler? Tick;

            Task<TaskGroup> A() => TaskGroup.RunAsync(group => Task.FromResult([|group|]));

            Task<TaskGroup> B() => TaskGroup.RunAsync(async group =>
            {
                await Task.Yield();
                return [|group|];
            });

            Task D() => TaskGroup.RunAsync(group =>
            {
                _groups.Add([|group|]);
                return Task.CompletedTask;
            });

            Task E(CancellationToken outer) => TaskGroup.RunAsync(group =>
            {
                Tick += (_, _) => [|group|].Start(ct => Task.Delay(1, ct));
                outer.Register(() => [|group|].Start(ct => Task.Delay(1, ct)));
                var timer = new Timer(_ => [|group|].Start(ct => Task.Delay(1, ct)), null, 1000, Timeout.Infinite);
                return Task.CompletedTask;
            });
        }
        """);

    // The group used while it is open: by the body, by its children, by helpers it is passed to, by a callback that
    // only cancels it (Cancel after the end is allowed), and a field only ever cancelled.
    [Fact]
    public Task UsedWhileOpen_NotFlagged() => VerifyRule.AnalyzerAsync(Usings + """
        class C
        {
            private TaskGroup? _current;

            Task A(IEnumerable<int> items, CancellationToken outer) => TaskGroup.RunAsync(async group =>
            {
                foreach (var item in items)
                {
                    group.Start(ct => Task.Delay(item, ct));
                }

                StartWorkers(group);
                group.Start(async ct =>
                {
                    await Task.Delay(1, ct);
                    group.Start(inner => Task.Delay(1, inner));
                });
                using var registration = outer.Register(() => group.Cancel("outer stopped"));
                var local = group;
                local.Start(ct => Task.Delay(1, ct));
                await Task.WhenAll(new List<int>(items).ConvertAll(i => group.Start(ct => Task.FromResult(i))));
            });

            Task B() => TaskGroup.RunAsync(group =>
            {
                _current = group;
                return Task.CompletedTask;
            });

            public void Stop() => _current?.Cancel("stop");

            // Copied under a lock, cancelled, and described: never started through.
            public void Dispose()
            {
                TaskGroup? group;
                lock (this)
                {
                    group = _current;
                }

                group?.Scope.Cancel("disposed");
                Describe(group);
            }

            static void Describe(TaskGroup? group) => Console.WriteLine(group);

            static void StartWorkers(TaskGroup group) => group.Start(ct => Task.Delay(1, ct));
        }
        """);
}
