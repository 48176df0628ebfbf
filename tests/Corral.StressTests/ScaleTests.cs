using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace Corral.StressTests;

/// <summary>
/// Size: a million children in one group, scopes and groups nested ten thousand deep. The core's refresh is iterative, so
/// depth must cost no stack; every child must be awaited and every failure kept.
/// </summary>
public sealed class ScaleTests(ITestOutputHelper output)
{
    private sealed class Boom(int id) : Exception($"child {id}")
    {
        public int Id { get; } = id;
    }

    [StressFact]
    public Task Children_OneMillion_AllAwaitedEveryFailureKept() => OffContext.Run(() => ManyChildrenAsync(1_000_000, failEvery: 100_003));

    [Fact]
    public Task Children_Short_AllAwaitedEveryFailureKept() => OffContext.Run(() => ManyChildrenAsync(20_000, failEvery: 2_003));

    [StressFact]
    public Task Nesting_TenThousandDeep_CancelReachesTheBottomShieldHolds() => OffContext.Run(() => DeepNestingAsync(10_000));

    [Fact]
    public Task Nesting_Short_CancelReachesTheBottomShieldHolds() => OffContext.Run(() => DeepNestingAsync(2_000));

    // These found CoreBugTests.TaskGroupException_NestedTwelveDeep_MessageGrowsLinearly (exponential message growth: depth
    // 1,000 drove the host past 20 GB), fixed in 935f65c.
    [StressFact]
    public Task Groups_TenThousandDeep_FailureAtTheBottomReportedAtTheTop() => OffContext.Run(() => DeepGroupsAsync(10_000));

    [Fact]
    public Task Groups_Short_FailureAtTheBottomReportedAtTheTop() => OffContext.Run(() => DeepGroupsAsync(1_000));

    [StressFact]
    public Task Groups_TenThousandDeep_CancelFromTheTopEndsEveryLevel() => OffContext.Run(() => DeepGroupsCancelledAsync(10_000));

    [Fact]
    public Task Groups_Short_CancelFromTheTopEndsEveryLevel() => OffContext.Run(() => DeepGroupsCancelledAsync(1_000));

    private async Task DeepGroupsCancelledAsync(int depth)
    {
        var alive = 0;
        var bottom = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Stopwatch.StartNew();

        async Task NestAsync(int level)
        {
            if (level % 100 == 99)
            {
                await Task.Yield();
            }

            await TaskGroup.RunAsync(g =>
            {
                g.Start(async ct =>
                {
                    Interlocked.Increment(ref alive);
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref alive);
                    }
                });
                if (level + 1 == depth)
                {
                    bottom.SetResult();
                }
                else
                {
                    g.Start(_ => NestAsync(level + 1));
                }

                return Task.CompletedTask;
            });
        }

        CancelScope? top = null;
        var tree = Task.Run(() => CancelScope.RunAsync(async s =>
        {
            top = s;
            await NestAsync(0);
        }));
        await bottom.Task;
        Assert.Equal(depth, Volatile.Read(ref alive));
        top!.Cancel("top");
        await tree;
        Assert.True(top.CancelledCaught, "the top did not absorb its cancellation");
        Assert.Equal(0, Volatile.Read(ref alive));
        var line = string.Create(CultureInfo.InvariantCulture, $"groups cancelled depth={depth} {watch.Elapsed.TotalSeconds:F2}s");
        output.WriteLine(line);
        Stress.Record(line);
    }

    private async Task ManyChildrenAsync(int n, int failEvery)
    {
        var running = 0;
        var finished = 0;
        var watch = Stopwatch.StartNew();
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var e = await Assert.ThrowsAsync<TaskGroupException>(() => TaskGroup.RunAsync(g =>
        {
            for (var i = 0; i < n; i++)
            {
                var id = i;
                g.Start(async _ =>
                {
                    Interlocked.Increment(ref running);
                    try
                    {
                        await Task.Yield();
                        if (id % failEvery == failEvery - 1)
                        {
                            throw new Boom(id);
                        }
                    }
                    finally
                    {
                        Interlocked.Decrement(ref running);
                        Interlocked.Increment(ref finished);
                    }
                });
            }

            return Task.CompletedTask;
        }));
        watch.Stop();
        var after = GC.GetTotalMemory(forceFullCollection: true);

        Assert.Equal(0, Volatile.Read(ref running));
        Assert.Equal(n, Volatile.Read(ref finished));
        var expected = Enumerable.Range(0, n).Where(i => i % failEvery == failEvery - 1).ToArray();
        var reported = e.GetExceptions<Boom>().Select(b => b.Id).OrderBy(i => i).ToArray();
        Assert.Equal(expected, reported);
        Assert.Equal(expected.Length, e.Failures.Count);
        var line = string.Create(CultureInfo.InvariantCulture, $"children n={n} failures={expected.Length} {watch.Elapsed.TotalSeconds:F2}s {n / watch.Elapsed.TotalSeconds:F0}/s retained={(after - before) / 1024} KiB");
        output.WriteLine(line);
        Stress.Record(line);
    }

    private async Task DeepNestingAsync(int depth)
    {
        var scopes = new CancelScope[depth];
        var shieldAt = depth / 2;
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var bottomCancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watch = Stopwatch.StartNew();

        async Task NestAsync(int level)
        {
            if (level == depth)
            {
                ready.SetResult();
                await bottomCancelled.Task;
                return;
            }

            // A yield every 100 levels keeps the descent off one stack, as user code of that depth would need.
            if (level % 100 == 99)
            {
                await Task.Yield();
            }

            await CancelScope.RunAsync(
                async s =>
                {
                    scopes[level] = s;
                    _ = s.Token;
                    await NestAsync(level + 1);
                },
                new CancelScopeOptions { Shield = level == shieldAt });
        }

        var tree = Task.Run(() => NestAsync(0));
        await ready.Task;

        // Cancel the top: the refresh walks the whole chain iteratively and stops at the shield.
        scopes[0].Cancel("top");
        for (var i = 0; i < depth; i++)
        {
            var expected = i < shieldAt;
            Assert.True(scopes[i].IsCancellationRequested == expected, $"level {i}: verdict {scopes[i].IsCancellationRequested}, expected {expected}");
            Assert.True(scopes[i].Token.IsCancellationRequested == expected, $"level {i}: token disagrees");
        }

        // Lower the shield: the cancellation now reaches the bottom, with the top's reason.
        scopes[shieldAt].Shield = false;
        Assert.All(scopes, s => Assert.True(s.IsCancellationRequested && s.Token.IsCancellationRequested));
        Assert.Same(scopes[0].CancelReason, scopes[depth - 1].CancelReason);
        Assert.Null(scopes[depth - 1].EffectiveDeadline);

        bottomCancelled.SetResult();
        await tree;
        Assert.All(scopes, s => Assert.True(s.IsExited));
        watch.Stop();
        var line = string.Create(CultureInfo.InvariantCulture, $"nesting depth={depth} {watch.Elapsed.TotalSeconds:F2}s");
        output.WriteLine(line);
        Stress.Record(line);
    }

    private async Task DeepGroupsAsync(int depth)
    {
        var alive = 0;
        var watch = Stopwatch.StartNew();

        async Task NestAsync(int level)
        {
            if (level % 100 == 99)
            {
                await Task.Yield();
            }

            await TaskGroup.RunAsync(g =>
            {
                // Every level has a sibling waiting for cancellation; the bottom fails.
                g.Start(async ct =>
                {
                    Interlocked.Increment(ref alive);
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref alive);
                    }
                });
                if (level + 1 == depth)
                {
                    g.Start(async _ => { await Task.Yield(); throw new Boom(level); });
                }
                else
                {
                    g.Start(_ => NestAsync(level + 1));
                }

                return Task.CompletedTask;
            });
        }

        var e = await Assert.ThrowsAsync<TaskGroupException>(() => Task.Run(() => NestAsync(0)));
        watch.Stop();
        Assert.Equal(0, Volatile.Read(ref alive));

        // The failure travels up as one TaskGroupException per level, each holding the one below.
        var levels = 1;
        Exception inner = e;
        while (inner is TaskGroupException g)
        {
            Assert.Single(g.Failures);
            inner = g.Failures[0].Exception;
            levels++;
        }

        Assert.Equal(depth, levels - 1);
        Assert.Equal(depth - 1, Assert.IsType<Boom>(inner).Id);
        var line = string.Create(CultureInfo.InvariantCulture, $"groups depth={depth} {watch.Elapsed.TotalSeconds:F2}s");
        output.WriteLine(line);
        Stress.Record(line);
    }
}
