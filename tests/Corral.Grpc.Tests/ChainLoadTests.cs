using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Corral.Grpc.Tests.Protos;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Xunit;
using Xunit.Abstractions;

namespace Corral.Grpc.Tests;

/// <summary>
/// Load through the three-hop chain on loopback, bounded: by default three rounds of 3,400 calls (10,200 in all), at most 64 in
/// flight; <c>CORRAL_GRPC_LOAD_CALLS</c> sets the calls per round for a bigger run. Every call ends with the status its kind
/// calls for, pricing (three hops away) ends each call the matching way, and after each round no scope, timer or registration
/// is left, counted; the managed heap after each round stays flat.
/// </summary>
[Collection(LoadTestGroup.Name)]
public sealed class ChainLoadTests(ITestOutputHelper output)
{
    /// <summary>What a call does and how it must end.</summary>
    private enum Kind
    {
        /// <summary>Answers within its 30 s: OK; pricing ends Ok.</summary>
        Ok,

        /// <summary>Pricing sleeps past the client's 200 ms deadline: DeadlineExceeded; pricing ends by a deadline.</summary>
        TimesOut,

        /// <summary>The client cancels once pricing has the call: Cancelled; pricing ends by the client's cancel.</summary>
        Cancelled,

        /// <summary>A Corral client scope (MoveOnAfterAsync, 250 ms) around a slow call: cut off (false); pricing ends by a deadline.</summary>
        ScopeMovesOn,
    }

    private const int MaxInFlight = 64;

    /// <summary>How close to its deadline a plain client's call may end Cancelled by grpc-dotnet's early reset (see CallAsync).</summary>
    private static readonly TimeSpan PlainClientResetWindow = TimeSpan.FromMilliseconds(2);

    private static Kind KindOf(int i) => (i % 10) switch
    {
        < 7 => Kind.Ok,
        7 => Kind.TimesOut,
        8 => Kind.Cancelled,
        _ => Kind.ScopeMovesOn,
    };

    [Fact]
    public async Task Chain_ThreeBoundedRounds_EveryCallEndsRightAndNothingIsLeft()
    {
        int perRound = int.TryParse(Environment.GetEnvironmentVariable("CORRAL_GRPC_LOAD_CALLS"), CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 3_400;
        var clock = new CountingTimeProvider();
        await using var chain = await Chain.StartAsync(clock, logLevel: LogLevel.Warning);
        chain.Probe.Record = false;
        var plain = chain.CreateClient(corral: false);
        var corral = chain.CreateClient(corral: true);
        var memory = new List<long>();
        var total = Stopwatch.StartNew();

        for (int round = 0; round < 3; round++)
        {
            var watch = Stopwatch.StartNew();
            var mismatches = new ConcurrentQueue<string>();
            var statuses = new ConcurrentDictionary<string, int>();
            int offset = round * perRound;
            chain.Probe.PricingEnds.Clear();
            chain.Probe.PricingEndById.Clear();
            chain.Probe.PricingArrived.Clear();
            chain.Probe.PricingStarted = 0;
            chain.Probe.DeadlineById.Clear();
            chain.Probe.FailureById.Clear();
            chain.Probe.ClientDetailById.Clear();

            await StructuredParallel.ForEachAsync(
                Enumerable.Range(offset, perRound),
                async (i, _) =>
                {
                    var (expected, actual) = await CallAsync(plain, corral, chain.Probe, clock, i);
                    statuses.AddOrUpdate(actual, 1, (_, c) => c + 1);
                    if (expected != actual)
                    {
                        var id = i.ToString(CultureInfo.InvariantCulture);
                        var seen = chain.Probe.FailureById.TryGetValue(id, out var failure) ? failure : "no hop threw";
                        var detail = chain.Probe.ClientDetailById.TryGetValue(id, out var d) ? d : "no detail";
                        var hops = string.Join(", ", new[] { "client", "orders", "inventory", "pricing" }
                            .Select(h => chain.Probe.DeadlineById.TryGetValue((id, h), out var at) ? $"{h} deadline {at:HH:mm:ss.ffffff}" : $"{h} -"));
                        mismatches.Enqueue($"call {i} ({KindOf(i)}): expected {expected}, got {actual} ({detail}); {seen}; {hops}; pricing ended {(chain.Probe.PricingEndById.TryGetValue(id, out var end) ? end : "-")}");
                    }
                },
                new ParallelForEachOptions { MaxDegreeOfParallelism = MaxInFlight, Name = "load" });

            // Pricing may finish a cancelled call a moment after the client saw it end. A call whose deadline passed before it
            // reached pricing (at orders or inventory) never starts there.
            await ChainTests.WaitUntilAsync(() => chain.Probe.PricingEnds.Values.Sum() == chain.Probe.PricingStarted);
            // The client's calls have ended; a hop may still be unwinding one whose caller gave up (its handler ends at its own
            // deadline, a moment later). Wait for every hop to end every call, then count what is left.
            await ChainTests.WaitUntilAsync(() => RegistrationCount.Live == 0 && Corral.AspNetCore.RegistrationCount.Live == 0 && ChainTreeNodes() == 0);
            var ends = chain.Probe.PricingEnds;
            var early = EarlyDeadlines(chain.Probe);
            var scopesAlive = CountLiveScopes(chain.Probe);
            var treeNodes = ChainTreeNodes();
            memory.Add(MeasureHeap());

            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"round {round + 1}: {perRound} calls in {watch.Elapsed.TotalSeconds:F1} s; client statuses {Describe(statuses)}; pricing reached by {chain.Probe.PricingStarted}, ends {Describe(ends)}; " +
                $"scopes alive after GC {scopesAlive}, task-tree nodes {treeNodes}, registrations gRPC {RegistrationCount.Live} HTTP {Corral.AspNetCore.RegistrationCount.Live}, " +
                $"timers live {clock.Live} (created {clock.Created}); heap {memory[^1] / 1024.0 / 1024.0:F2} MiB; " +
                $"hops whose deadline fell before their caller's {early.Count}{(early.Count > 0 ? $" (earliest by {early.Max(e => e.By.TotalMilliseconds):F3} ms)" : string.Empty)}"));

            if (!mismatches.IsEmpty)
            {
                // Everything a failure in CI needs, in its output: each wrong call with what its hops threw and when, relative
                // to their deadlines, and what the servers logged at warning and above (grpc-dotnet's "Error when executing
                // service method" carries the handler's exception).
                var report = string.Join(Environment.NewLine, mismatches.Take(20).Concat(ServerLogs(chain).Take(20)));
                output.WriteLine(report);
                Assert.Fail($"{mismatches.Count} call(s) ended the wrong way:{Environment.NewLine}{report}");
            }

            // The invariant the headers are rounded up for (src/Shared/TimeLeft.cs): on one clock, no hop's deadline falls before its
            // caller's, so a failure its deadline causes reaches the caller when the caller's deadline has passed too. Not by any
            // amount: a gRPC hop once came 0.064 ms early in a clean CI run, when ClientCall.RoundingAllowance was half a
            // millisecond on the belief that grpc-dotnet rounds to the nearest; it rounds down, and the allowance is now a
            // millisecond less a tick.
            Assert.True(early.Count == 0, $"{early.Count} hop(s) got a deadline before their caller's: {string.Join("; ", early.Take(10).Select(e => e.Description))}");
            int expectedOk = Enumerable.Range(offset, perRound).Count(i => KindOf(i) == Kind.Ok);
            int expectedCancelled = Enumerable.Range(offset, perRound).Count(i => KindOf(i) == Kind.Cancelled);
            Assert.Equal(expectedOk, ends.GetValueOrDefault(PricingEnd.Ok));
            Assert.Equal(expectedCancelled, ends.GetValueOrDefault(PricingEnd.ClientCancelled));
            Assert.Equal(chain.Probe.PricingStarted - expectedOk - expectedCancelled, ends.GetValueOrDefault(PricingEnd.Deadline));
            Assert.Equal(0, ends.GetValueOrDefault(PricingEnd.Other));
            // Ended scopes the server stack still reaches through pooled objects that captured an ExecutionContext (Kestrel and
            // SocketsHttpHandler reuse them per connection): a handful, bounded by the pools, never growing with the calls. A scope
            // held by Corral (a deadline entry, a registration) would be one per call of its kind, hundreds here.
            Assert.True(scopesAlive <= 16, $"{scopesAlive} ended scopes are still reachable after a full GC");
            Assert.Equal(0, treeNodes);
            Assert.Equal(0, RegistrationCount.Live);
            Assert.Equal(0, Corral.AspNetCore.RegistrationCount.Live);
            Assert.True(clock.Live <= 1, $"{clock.Live} timers alive on the chain's clock: Corral keeps one per clock, no more");
        }

        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total {3 * perRound} calls in {total.Elapsed.TotalSeconds:F1} s; plain-client calls reset at their deadline (Cancelled, counted as DeadlineExceeded) {chain.Probe.PlainClientResetsAtDeadline}"));

        // Flat: the first round warms pools (connections, Kestrel's memory pool, JIT); later rounds must not keep growing.
        var growth = memory[2] - memory[0];
        Assert.True(growth < 8 * 1024 * 1024, string.Create(CultureInfo.InvariantCulture, $"the heap grew {growth / 1024} KiB from round 1 to round 3 ({string.Join(", ", memory)})"));
    }

    /// <summary>Makes call <paramref name="i"/>; returns the outcome its kind calls for and the one it got.</summary>
    private static async Task<(string Expected, string Actual)> CallAsync(
        Protos.Orders.OrdersClient plain, Protos.Orders.OrdersClient corral, ChainProbe probe, TimeProvider clock, int i)
    {
        var sku = i.ToString(CultureInfo.InvariantCulture);
        switch (KindOf(i))
        {
            case Kind.Ok:
                return ("OK", await StatusOfAsync(probe, sku, () => plain.PlaceOrderAsync(new OrderRequest { Sku = sku, Mode = "ok" }, deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync));
            case Kind.TimesOut:
            {
                var deadline = DateTime.UtcNow.AddMilliseconds(200);
                var status = await StatusOfAsync(probe, sku, () => plain.PlaceOrderAsync(new OrderRequest { Sku = sku, Mode = "slow" }, deadline: deadline).ResponseAsync);
                if (status == "Cancelled" && DateTime.UtcNow >= deadline - PlainClientResetWindow)
                {
                    // A plain grpc-dotnet client (no Corral interceptor) rounds the timeout it sends down to whole milliseconds,
                    // so the server's deadline can fall up to a millisecond before the client's (Corral's clients round up:
                    // ADR 0017). The server then resets the stream, and grpc-dotnet's client reports a reset as DeadlineExceeded
                    // only once its own deadline has passed (grpc-dotnet #1402), else Cancelled. That is the plain client's
                    // behaviour, not Corral's, and it can happen only at the deadline: counted, not a mismatch. A Cancelled any
                    // earlier still fails the test.
                    Interlocked.Increment(ref probe.PlainClientResetsAtDeadline);
                    status = "DeadlineExceeded";
                }

                return ("DeadlineExceeded", status);
            }

            case Kind.Cancelled:
            {
                using var cts = new CancellationTokenSource();
                var arrived = probe.PricingArrived.GetOrAdd(sku, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                var calling = StatusOfAsync(probe, sku, () => plain.PlaceOrderAsync(new OrderRequest { Sku = sku, Mode = "hang" }, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: cts.Token).ResponseAsync);
                await Task.WhenAny(arrived.Task, calling).WaitAsync(Probes.Patience);
                await cts.CancelAsync();
                return ("Cancelled", await calling.WaitAsync(Probes.Patience));
            }

            default:
            {
                bool completed = true;
                try
                {
                    await CancelScope.RunAsync(
                        async _ => completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromMilliseconds(250), async ct =>
                        {
                            probe.DeadlineById[(sku, "client")] = CancelScope.CurrentDeadline!.Value;
                            await corral.PlaceOrderAsync(new OrderRequest { Sku = sku, Mode = "slow" }, cancellationToken: ct);
                        }),
                        new CancelScopeOptions { TimeProvider = clock });
                }
                catch (RpcException e)
                {
                    probe.ClientDetailById[sku] = $"detail \"{e.Status.Detail}\"";
                    return ("cut off", e.StatusCode.ToString()); // the scope did not absorb it: a mismatch, reported with the others
                }

                return ("cut off", completed ? "completed" : "cut off");
            }
        }
    }

    private static async Task<string> StatusOfAsync(ChainProbe probe, string sku, Func<Task<OrderReply>> call)
    {
        try
        {
            await call();
            return "OK";
        }
        catch (RpcException e)
        {
            probe.ClientDetailById[sku] = $"detail \"{e.Status.Detail}\"{(e.Status.DebugException is { } debug ? $" ({debug.GetType().Name}: {debug.Message})" : string.Empty)}";
            return e.StatusCode.ToString();
        }
    }

    /// <summary>Every (call, hop) whose deadline fell before its caller's on the chain's one clock, and by how much.</summary>
    private static List<(TimeSpan By, string Description)> EarlyDeadlines(ChainProbe probe)
    {
        string[] hops = ["client", "orders", "inventory", "pricing"];
        var early = new List<(TimeSpan, string)>();
        foreach (var ((id, hop), deadline) in probe.DeadlineById)
        {
            int index = Array.IndexOf(hops, hop);
            if (index > 0 && probe.DeadlineById.TryGetValue((id, hops[index - 1]), out var caller) && deadline < caller)
            {
                early.Add((caller - deadline, string.Create(CultureInfo.InvariantCulture, $"call {id}: {hop} {(caller - deadline).TotalMilliseconds:F3} ms before {hops[index - 1]}")));
            }
        }

        return early;
    }

    /// <summary>What the chain's servers logged at warning and above, each with its server's name.</summary>
    /// <remarks>Grouped by server, level, event and message with the exception's first line, with counts: under load grpc-dotnet
    /// logs an error for each call whose client reset it before its request was read, and those must not hide the rest.</remarks>
    private static IEnumerable<string> ServerLogs(Chain chain) =>
        new[] { ("orders", chain.Orders), ("inventory", chain.Inventory), ("pricing", chain.Pricing) }
            .SelectMany(s => s.Item2.Logs.Entries.Where(e => e.Level >= LogLevel.Warning)
                .Select(e => $"{s.Item1}: {e.Level} {e.Category}[{e.EventId.Id}] {e.Message} {e.Exception?.Split('\n')[0].Trim()}"))
            .GroupBy(line => line, StringComparer.Ordinal)
            .Select(g => $"{g.Count()} × {g.Key}");

    /// <summary>The live task tree's nodes that belong to the chain: its call scopes and request scopes.</summary>
    private static int ChainTreeNodes() => TaskTree.Capture().FindAll(node => node.Name is { } name
        && (name.StartsWith("/corral.tests.", StringComparison.Ordinal) || name.StartsWith("GET /stock/", StringComparison.Ordinal))).Count;

    private static int CountLiveScopes(ChainProbe probe)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        int alive = 0;
        while (probe.Scopes.TryDequeue(out var weak))
        {
            if (weak.TryGetTarget(out _))
            {
                alive++;
            }
        }

        return alive;
    }

    private static long MeasureHeap()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static string Describe<TKey>(IEnumerable<KeyValuePair<TKey, int>> counts)
        where TKey : notnull =>
        string.Join(", ", counts.OrderBy(c => c.Key.ToString(), StringComparer.Ordinal).Select(c => $"{c.Key} {c.Value}"));
}

/// <summary>
/// The load test runs alone, after the other tests of the assembly: the heap it measures is the process's, and servers of
/// tests running beside it would count as its growth.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadTestGroup
{
    public const string Name = "load";
}
