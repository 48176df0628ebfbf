using System;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using CsCheck;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.CoyoteTests;

/// <summary>
/// CsCheck <c>SampleParallel</c>: random operations on a live tree of scopes and a group, issued from several threads at
/// once. The tree they leave must equal the tree of some sequential order of the same operations (linearizability), and
/// CsCheck shrinks any counterexample to the shortest sequence.
/// </summary>
/// <remarks>These run on real threads (not under Coyote), over the same rewritten assembly, which behaves as the original
/// outside a Coyote test.</remarks>
public sealed class LinearizabilityTests
{
    private static readonly DateTimeOffset s_epoch = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static int Iterations => Explore.Stress ? 5_000 : 150;

    /// <summary>
    /// A live tree: root scope, a nested scope, a group in it, and a scope inside one of the group's children; all kept open
    /// until <see cref="Dispose"/>. Its own fake clock (never advanced) gives deadlines that never fire by themselves.
    /// </summary>
    public sealed class LiveTree : IDisposable
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task _running;
        private int _started;

        public LiveTree()
        {
            var clock = new FakeTimeProvider(s_epoch);
            using var ready = new ManualResetEventSlim();
            var nodes = new CancelScope[4];
            _running = Task.Run(() => CancelScope.RunAsync(
                async root =>
                {
                    nodes[0] = root;
                    await CancelScope.RunAsync(async mid =>
                    {
                        nodes[1] = mid;
                        await TaskGroup.RunAsync(g =>
                        {
                            Group = g;
                            nodes[2] = g.Scope;
                            g.Start(_ => CancelScope.RunAsync(async leaf =>
                            {
                                nodes[3] = leaf;
                                ready.Set();
                                await _release.Task;
                            }));
                            return Task.CompletedTask;
                        });
                    });
                },
                new CancelScopeOptions { TimeProvider = clock }));
            ready.Wait();
            Nodes = nodes;
        }

        public CancelScope[] Nodes { get; }

        public TaskGroup Group { get; private set; } = null!;

        public void Start()
        {
            Group.Start(async _ => await _release.Task);
            Interlocked.Increment(ref _started);
        }

        /// <summary>Everything observable: per node the verdict, reason, own cancel, shield, deadline and a fresh token.</summary>
        public string Snapshot()
        {
            var text = new StringBuilder();
            foreach (var n in Nodes)
            {
                text.Append(CultureInfo.InvariantCulture, $"[{n.IsCancellationRequested} '{n.CancelReason?.Message}' own={n.CancelCalled} shield={n.Shield} dl={n.Deadline?.Ticks} token={n.Token.IsCancellationRequested}]");
            }

            return text.Append(CultureInfo.InvariantCulture, $" started={Volatile.Read(ref _started)}").ToString();
        }

        public void Dispose()
        {
            foreach (var n in Nodes)
            {
                n.Shield = false;
            }

            _release.TrySetResult();
            Nodes[0].Cancel("dispose");
            Assert.True(_running.Wait(TimeSpan.FromSeconds(30)), "the tree did not end");
        }
    }

    [Fact]
    public void ScopeOperations_FromSeveralThreads_AreLinearizable()
    {
        var node = Gen.Int[0, 3];
        Gen.Const(() => new LiveTree()).SampleParallel(
            [
                Gen.Select(node, Gen.Int[0, 2]).Operation<LiveTree>(t => $"Cancel({t.Item1}, r{t.Item2})", (tree, t) => tree.Nodes[t.Item1].Cancel($"r{t.Item2}")),
                Gen.Select(node, Gen.Bool).Operation<LiveTree>(t => $"Shield({t.Item1}, {t.Item2})", (tree, t) => tree.Nodes[t.Item1].Shield = t.Item2),
                Gen.Select(node, Gen.Int[-1, 2]).Operation<LiveTree>(
                    t => $"Deadline({t.Item1}, {t.Item2})",
                    (tree, t) => tree.Nodes[t.Item1].Deadline = t.Item2 switch
                    {
                        -1 => s_epoch.AddSeconds(-1), // already past: cancels now
                        0 => null,
                        _ => s_epoch.AddHours(t.Item2),
                    }),
                node.Operation<LiveTree>(n => $"Token({n})", (tree, n) => _ = tree.Nodes[n].Token),
                Gen.Const(0).Operation<LiveTree>(_ => "Start", (tree, _) => tree.Start()),
            ],
            equal: (a, b) =>
            {
                var same = a.Snapshot() == b.Snapshot();
                return same;
            },
            print: t => t.Snapshot(),
            iter: Iterations,
            threads: 4);
    }
}
