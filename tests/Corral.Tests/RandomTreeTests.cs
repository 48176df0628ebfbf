using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using CsCheck;
using Xunit;

namespace Corral.Tests;

/// <summary>
/// Random trees of groups, scopes and leaves that finish, fail or wait. Whatever the shape: when the root returns no leaf
/// still runs, every failure is reported exactly once, and nothing else is reported.
/// </summary>
public sealed class RandomTreeTests
{
    private abstract record Node;

    private sealed record GroupNode(Node[] Children) : Node;

    private sealed record ScopeNode(bool CancelsItself, bool Shielded, Node Child) : Node;

    private sealed record LeafNode(LeafKind Kind, int Id) : Node;

    private enum LeafKind
    {
        Finish,
        Fail,
        Wait,
    }

    private sealed class LeafException(int id) : Exception($"leaf {id} failed")
    {
        public int Id { get; } = id;
    }

    /// <summary>Decodes a list of choices into a tree, so CsCheck shrinks trees by shrinking the list.</summary>
    private sealed class Decoder(int[] choices)
    {
        private int _next;
        private int _ids;

        public Node Decode(int depth)
        {
            var c = Take() % (depth >= 4 ? 3 : 6);
            return c switch
            {
                0 => new LeafNode(LeafKind.Finish, _ids++),
                1 => new LeafNode(LeafKind.Fail, _ids++),
                2 => new LeafNode(LeafKind.Wait, _ids++),
                3 or 4 => new GroupNode(Enumerable.Range(0, 1 + (Take() % 4)).Select(_ => Decode(depth + 1)).ToArray()),
                _ => NewScope(Take() % 2 == 0, Take() % 5 == 0, Decode(depth + 1)),
            };
        }

        // A shield that does not cancel itself would let a waiting leaf under it wait forever: such shields cancel themselves.
        private static ScopeNode NewScope(bool cancelsItself, bool shielded, Node child) =>
            new(cancelsItself || (shielded && Leaves(child).Any(l => l.Kind == LeafKind.Wait)), shielded, child);

        private int Take() => _next < choices.Length ? choices[_next++] : 0;
    }

    private sealed class Run
    {
        public int Running;
        public int[] Started = new int[1024];
    }

    private static async Task RunNodeAsync(Node node, Run run)
    {
        switch (node)
        {
            case GroupNode g:
                await TaskGroup.RunAsync(group =>
                {
                    foreach (var child in g.Children)
                    {
                        group.Start(_ => RunNodeAsync(child, run));
                    }

                    return Task.CompletedTask;
                });
                break;
            case ScopeNode s:
                await CancelScope.RunAsync(
                    async scope =>
                    {
                        if (s.CancelsItself)
                        {
                            scope.Cancel("random");
                        }

                        await RunNodeAsync(s.Child, run);
                    },
                    new CancelScopeOptions { Shield = s.Shielded });
                break;
            case LeafNode leaf:
                Interlocked.Increment(ref run.Running);
                Interlocked.Increment(ref run.Started[leaf.Id]);
                try
                {
                    await Task.Yield();
                    switch (leaf.Kind)
                    {
                        case LeafKind.Fail:
                            throw new LeafException(leaf.Id);
                        case LeafKind.Wait:
                            await Task.Delay(Timeout.Infinite, CancelScope.CurrentToken);
                            throw new InvalidOperationException("a waiting leaf was never cancelled");
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref run.Running);
                }

                break;
        }
    }

    private static IEnumerable<LeafNode> Leaves(Node node) => node switch
    {
        GroupNode g => g.Children.SelectMany(Leaves),
        ScopeNode s => Leaves(s.Child),
        LeafNode l => [l],
        _ => [],
    };

    private static string Describe(Node node) => node switch
    {
        GroupNode g => $"G[{string.Join(",", g.Children.Select(Describe))}]",
        ScopeNode s => $"S{(s.CancelsItself ? "c" : string.Empty)}{(s.Shielded ? "s" : string.Empty)}({Describe(s.Child)})",
        LeafNode l => $"{l.Kind.ToString()[0]}{l.Id}",
        _ => "?",
    };

    [Fact]
    public async Task TaskGroup_RandomTrees_NoLeakNoLossNoExtra()
    {
        await Gen.Int[0, 1000].Array[1, 60].SampleAsync(
            async choices =>
            {
                var tree = new GroupNode([new Decoder(choices).Decode(0)]);
                var leaves = Leaves(tree).ToArray();

                // The root cancels itself at the end of its body when a leaf waits; unless a failure cancels it first.
                var rootCancels = leaves.Any(l => l.Kind == LeafKind.Wait);
                var run = new Run();
                Exception? thrown = null;
                try
                {
                    await TaskGroup.RunAsync(async root =>
                    {
                        root.Start(_ => RunNodeAsync(tree, run), "tree");
                        await Task.Yield();
                        if (rootCancels)
                        {
                            root.Cancel("end of test");
                        }
                    });
                }
                catch (Exception e)
                {
                    thrown = e;
                }

                var context = Describe(tree);
                Assert.True(run.Running == 0, $"a leaf still runs after the root returned: {context}");
                foreach (var leaf in leaves)
                {
                    Assert.True(run.Started[leaf.Id] == 1, $"leaf {leaf.Id} ran {run.Started[leaf.Id]} times: {context}");
                }

                var expected = leaves.Where(l => l.Kind == LeafKind.Fail).Select(l => l.Id).OrderBy(i => i).ToArray();
                if (expected.Length == 0)
                {
                    Assert.True(thrown is null, $"nothing failed, yet the root threw {thrown}: {context}");
                    return;
                }

                var group = Assert.IsType<TaskGroupException>(thrown);
                var reported = group.GetExceptions<Exception>();
                Assert.All(reported, e => Assert.IsType<LeafException>(e));
                var ids = reported.Cast<LeafException>().Select(e => e.Id).OrderBy(i => i).ToArray();
                Assert.True(expected.SequenceEqual(ids), $"expected failures [{string.Join(",", expected)}], reported [{string.Join(",", ids)}]: {context}");
            },
            iter: 400);
    }
}
