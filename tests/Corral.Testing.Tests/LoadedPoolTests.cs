using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Corral.Testing.Tests;

/// <summary>
/// Runs on a starved thread pool: every worker thread blocked and work waiting in the pool's queue for seconds, as on a
/// loaded machine or in a test host whose other tests block pool threads (ADR 0022).
/// </summary>
/// <remarks>
/// Alone in its collection: it starves the whole process's pool on purpose (for at most <see cref="StarvedPool.Limit"/>).
/// Under the kit's first design, which sent Corral's continuations to the pool and took a backlog or busy threads that
/// lasted 100 ms for someone else's work, the test failed: the clock jumped to the outer deadline while a group's exit sat
/// in the queue (0.18 s into the run). Without the runner (Continuations.SetRunner commented out) it fails the same way.
/// </remarks>
[Collection(nameof(PoolStarvation))]
public sealed class LoadedPoolTests
{
    /// <summary>How long the run may take on the starved pool (it needs milliseconds; the bound is for a loaded machine).</summary>
    private static readonly TimeSpan s_runLimit = TimeSpan.FromSeconds(20);

    /// <summary>Corral's own continuations never need the pool inside a run: the run ends while the pool is still starved.</summary>
    [Fact]
    public async Task RunAsync_ThreadPoolStarved_CorralsOwnContinuationsNeverLetTheClockJumpEarly()
    {
        var rounds = 0;
        Task run;
        bool ended;
        using (var pool = StarvedPool.Start())
        {
            run = CorralTest.RunAsync(async (clock, ct) =>
            {
                var completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromMinutes(10), async _ =>
                {
                    // Each round's jump waits for the starved pool as long as the run allows (PoolWaitLimit): three rounds.
                    for (var i = 0; i < 3; i++)
                    {
                        var start = clock.Elapsed;

                        // A group whose children end on the run's thread: each child's finish, the group body's wait for
                        // them and the group's exit are Corral's continuations.
                        await TaskGroup.RunAsync(group =>
                        {
                            for (var c = 0; c < 3; c++)
                            {
                                group.Start(async _ => await Task.Yield());
                            }

                            return Task.CompletedTask;
                        });
                        Assert.Equal(start, clock.Elapsed);

                        // A scope whose body ends on the run's thread: the scope's exit is Corral's continuation.
                        await CancelScope.RunAsync(async _ => await Task.Yield());
                        Assert.Equal(start, clock.Elapsed);

                        // A sleep ended by an Advance on the run's thread: the sleep's end is Corral's continuation.
                        var sleep = CancelScope.SleepAsync(TimeSpan.FromSeconds(1));
                        clock.Advance(TimeSpan.FromSeconds(1));
                        await sleep;
                        Assert.Equal(start + TimeSpan.FromSeconds(1), clock.Elapsed);

                        // A deadline that fires (a jump) inside a group whose child waits for it.
                        var moved = await CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(2), _ => TaskGroup.RunAsync(group =>
                        {
                            group.Start(_ => CancelScope.SleepAsync(Timeout.InfiniteTimeSpan));
                            return Task.CompletedTask;
                        }));
                        Assert.False(moved);
                        Assert.Equal(start + TimeSpan.FromSeconds(3), clock.Elapsed);
                        rounds++;
                    }
                });

                Assert.True(completed, "the ten-minute deadline fired: the clock jumped while a continuation of Corral's was pending");
                Assert.Equal(TimeSpan.FromSeconds(9), clock.Elapsed);
            });

            // Wait without the pool (the run's own task would resume us on it).
            ended = ((IAsyncResult)run).AsyncWaitHandle.WaitOne(s_runLimit);
            Assert.True(pool.IsStarved, $"the pool was not starved during the run: the test did not test anything ({pool.Describe()})");
        }

        // The pool is free again: a run that waited for it can end now and report what it saw.
        await run;
        Assert.Equal(3, rounds);
        Assert.True(ended, $"the run did not end within {s_runLimit} while the thread pool was starved: it waited for the pool");
    }

    /// <summary>Blocks every worker thread of the pool and keeps work queued behind them, until released or disposed.</summary>
    private sealed class StarvedPool : IDisposable
    {
        /// <summary>The longest a blocker blocks, whatever happens to the test.</summary>
        internal static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

        private readonly ManualResetEventSlim _release = new();
        private int _running;
        private int _queued;

        /// <summary>Gets a value indicating whether blockers still wait in the queue behind the blocked threads.</summary>
        internal bool IsStarved => ThreadPool.PendingWorkItemCount > 0 && Volatile.Read(ref _running) < _queued;

        internal static StarvedPool Start()
        {
            var pool = new StarvedPool();
            ThreadPool.GetMinThreads(out var minWorkers, out _);

            // More blockers than the pool has threads, or will create without delay: the rest wait in the queue, and the
            // pool adds threads for them only slowly (starvation injection), so the queue stays full for seconds.
            var blockers = Math.Max(ThreadPool.ThreadCount, Math.Max(minWorkers, 16)) + 64;
            pool._queued = blockers;
            for (var i = 0; i < blockers; i++)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static p => p.Block(), pool, preferLocal: false);
            }

            // Every thread the pool has is blocked once the queue stops shrinking at a count above zero.
            var settle = Stopwatch.StartNew();
            while (Volatile.Read(ref pool._running) < Math.Min(minWorkers, blockers) && settle.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Yield();
            }

            Assert.True(ThreadPool.PendingWorkItemCount > 0, "the pool ran every blocker: it is not starved");
            return pool;
        }

        internal string Describe()
        {
            ThreadPool.GetMinThreads(out var minWorkers, out _);
            return $"{Volatile.Read(ref _running)} of {_queued} blockers running, {ThreadPool.PendingWorkItemCount} queued, {ThreadPool.ThreadCount} pool threads, minimum {minWorkers}";
        }

        public void Dispose()
        {
            _release.Set();
        }

        private void Block()
        {
            Interlocked.Increment(ref _running);
            _release.Wait(Limit);
        }
    }
}

/// <summary>The pool-starving tests run alone: they would slow every other test of the process.</summary>
[CollectionDefinition(nameof(PoolStarvation), DisableParallelization = true)]
public sealed class PoolStarvation
{
}
