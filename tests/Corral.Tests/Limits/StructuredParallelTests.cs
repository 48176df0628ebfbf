using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Corral.Tests;

/// <summary>StructuredParallel.ForEachAsync: the structured answer to Parallel.ForEachAsync.</summary>
public sealed class StructuredParallelTests
{
    private static async IAsyncEnumerable<int> RangeAsync(int count, [EnumeratorCancellation] CancellationToken ct = default)
    {
        for (var i = 0; i < count; i++)
        {
            await Task.Yield();
            ct.ThrowIfCancellationRequested();
            yield return i;
        }
    }

    [Fact]
    public async Task ForEachAsync_Enumerable_EveryItemOnce()
    {
        var seen = new int[100];
        await StructuredParallel.ForEachAsync(Enumerable.Range(0, 100), async (i, ct) =>
        {
            await Task.Yield();
            Interlocked.Increment(ref seen[i]);
        }, new ParallelForEachOptions { MaxDegreeOfParallelism = 4 }).Within();

        Assert.All(seen, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task ForEachAsync_AsyncEnumerable_EveryItemOnce()
    {
        var seen = new int[100];
        await StructuredParallel.ForEachAsync(RangeAsync(100), async (i, ct) =>
        {
            await Task.Yield();
            Interlocked.Increment(ref seen[i]);
        }, new ParallelForEachOptions { MaxDegreeOfParallelism = 4 }).Within();

        Assert.All(seen, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task ForEachAsync_Empty_Completes()
    {
        var calls = 0;
        await StructuredParallel.ForEachAsync(Array.Empty<int>(), (i, ct) => { calls++; return Task.CompletedTask; }).Within();
        await StructuredParallel.ForEachAsync(RangeAsync(0), (i, ct) => { calls++; return Task.CompletedTask; }).Within();
        Assert.Equal(0, calls);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ForEachAsync_DegreeOfParallelism_NeverExceeded(bool async)
    {
        const int Dop = 3;
        var running = 0;
        var max = 0;
        var started = 0;
        var allStarted = Gate.New();
        var release = Gate.New();
        TaskGroup? loopGroup = null;
        Func<int, CancellationToken, Task> body = async (i, ct) =>
        {
            Interlocked.CompareExchange(ref loopGroup, CancelScope.Current!.Group, null);
            CapacityLimiterTests.InterlockedMax(ref max, Interlocked.Increment(ref running));
            if (Interlocked.Increment(ref started) == Dop)
            {
                allStarted.SetResult();
            }

            await release.Task;
            Interlocked.Decrement(ref running);
        };
        var options = new ParallelForEachOptions { MaxDegreeOfParallelism = Dop };
        var loop = async
            ? StructuredParallel.ForEachAsync(RangeAsync(20), body, options)
            : StructuredParallel.ForEachAsync(Enumerable.Range(0, 20), body, options);

        await allStarted.Task.Within();

        // No waiting for a fourth body that should not come: the loop's group holds exactly Dop tasks (the workers; its
        // body has returned), each inside a body that waits for the release, and a worker runs one body at a time. So no
        // further body can start before the release, whatever the timing.
        Assert.Equal(Dop, loopGroup!.UnfinishedCount);
        Assert.Equal(Dop, Volatile.Read(ref started));

        release.SetResult();
        await loop.Within();
        Assert.Equal(20, started);
        Assert.Equal(Dop, max);
    }

    [Fact]
    public async Task ForEachAsync_SharedLimiter_BoundsAcrossLoops()
    {
        var limiter = new CapacityLimiter(2);
        var running = 0;
        var max = 0;
        Func<int, CancellationToken, Task> body = async (i, ct) =>
        {
            CapacityLimiterTests.InterlockedMax(ref max, Interlocked.Increment(ref running));
            await Task.Yield();
            Interlocked.Decrement(ref running);
        };
        var options = new ParallelForEachOptions { MaxDegreeOfParallelism = 4, Limiter = limiter };

        await Task.WhenAll(
            StructuredParallel.ForEachAsync(Enumerable.Range(0, 50), body, options),
            StructuredParallel.ForEachAsync(Enumerable.Range(0, 50), body, options)).Within();

        Assert.InRange(max, 1, 2);
        Assert.Equal(0, limiter.BorrowedTokens);
    }

    [Fact]
    public async Task ForEachAsync_FirstFailure_CancelsRunningBodiesAndStopsTakingItems()
    {
        var boom = new InvalidOperationException("item 0");
        var othersRunning = new CountdownEvent(2);
        var cancelledBodies = 0;
        var started = new List<int>();
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => StructuredParallel.ForEachAsync(
            Enumerable.Range(0, 100),
            async (i, ct) =>
            {
                lock (started)
                {
                    started.Add(i);
                }

                if (i == 0)
                {
                    await Task.Run(() => othersRunning.Wait(Gate.Hang));
                    throw boom;
                }

                othersRunning.Signal();
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref cancelledBodies);
                    throw;
                }
            },
            new ParallelForEachOptions { MaxDegreeOfParallelism = 3, Name = "loop" })).Within();

        Assert.Equal("loop", ex.GroupName);
        Assert.Same(boom, Assert.Single(ex.Failures).Exception);
        Assert.Equal(2, cancelledBodies);
        Assert.Equal(3, started.Count); // nothing was taken after the failure
    }

    [Fact]
    public async Task ForEachAsync_SeveralBodiesFail_EveryFailureReported()
    {
        var bothRunning = new CountdownEvent(2);
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => StructuredParallel.ForEachAsync(
            new[] { 1, 2 },
            async (i, ct) =>
            {
                bothRunning.Signal();
                await Task.Run(() => bothRunning.Wait(Gate.Hang));
                throw new InvalidOperationException($"item {i}");
            },
            new ParallelForEachOptions { MaxDegreeOfParallelism = 2 })).Within();

        var messages = ex.GetExceptions<InvalidOperationException>().Select(e => e.Message).OrderBy(m => m);
        Assert.Equal(new[] { "item 1", "item 2" }, messages);
    }

    [Fact]
    public async Task ForEachAsync_ScopeCancelledFromOutside_PropagatesAsCancellation()
    {
        var bodiesCancelled = 0;
        var allRunning = new CountdownEvent(2);
        var scopeTask = CancelScope.RunAsync(async scope =>
        {
            var loop = StructuredParallel.ForEachAsync(Enumerable.Range(0, 10), async (i, ct) =>
            {
                allRunning.Signal();
                try
                {
                    await Task.Delay(Timeout.Infinite, ct);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref bodiesCancelled);
                    throw;
                }
            }, new ParallelForEachOptions { MaxDegreeOfParallelism = 2 });
            await Task.Run(() => allRunning.Wait(Gate.Hang));
            scope.Cancel("shutting down");
            var e = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => loop);
            Assert.Equal("shutting down", Assert.IsType<ScopeCancelledException>(e).Reason.Message);
            throw e;
        });

        await scopeTask.Within();
        Assert.Equal(2, bodiesCancelled);
    }

    [Fact]
    public async Task ForEachAsync_SourceThrows_ReportedAndSourceDisposed()
    {
        var source = new FailingSource(failAt: 3);
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => StructuredParallel.ForEachAsync(
            source, (i, ct) => Task.CompletedTask, new ParallelForEachOptions { MaxDegreeOfParallelism = 2 })).Within();

        Assert.Equal("source failed at 3", Assert.Single(ex.Failures).Exception.Message);
        Assert.True(source.Disposed);
    }

    [Fact]
    public async Task ForEachAsync_SourceDisposeThrows_ReportedAsFailure()
    {
        var source = new FailingSource(failAt: -1, failOnDispose: true);
        var ex = await Assert.ThrowsAsync<TaskGroupException>(() => StructuredParallel.ForEachAsync(
            source, (i, ct) => Task.CompletedTask, new ParallelForEachOptions { MaxDegreeOfParallelism = 2 })).Within();

        var failure = Assert.Single(ex.Failures);
        Assert.Equal("source disposal", failure.TaskName);
    }

    [Fact]
    public void Options_InvalidDegree_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParallelForEachOptions { MaxDegreeOfParallelism = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new ParallelForEachOptions { MaxDegreeOfParallelism = -1 });
        Assert.Throws<ArgumentNullException>(() => { _ = StructuredParallel.ForEachAsync((IEnumerable<int>)null!, (i, ct) => Task.CompletedTask); });
    }

    /// <summary>An enumerable that fails at a given item, or on disposal, and records its disposal.</summary>
    private sealed class FailingSource(int failAt, bool failOnDispose = false) : IEnumerable<int>
    {
        public bool Disposed { get; private set; }

        private int FailAt => failAt;

        private bool FailOnDispose => failOnDispose;

        public IEnumerator<int> GetEnumerator() => new Enumerator(this);

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        private sealed class Enumerator(FailingSource owner) : IEnumerator<int>
        {
            private int _next;

            public int Current { get; private set; }

            object IEnumerator.Current => Current;

            public bool MoveNext()
            {
                if (_next == owner.FailAt)
                {
                    throw new InvalidOperationException($"source failed at {_next}");
                }

                if (_next == 10)
                {
                    return false;
                }

                Current = _next++;
                return true;
            }

            public void Reset() => throw new NotSupportedException();

            public void Dispose()
            {
                owner.Disposed = true;
                if (owner.FailOnDispose)
                {
                    throw new InvalidOperationException("dispose failed");
                }
            }
        }
    }
}
