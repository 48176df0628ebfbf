using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Corral.Core;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Tests.Core;

/// <summary>The coalesced deadline queue: one timer per clock, never early, nothing left behind.</summary>
public sealed class DeadlineQueueTests
{
    [Fact]
    public async Task DeadlineQueue_ManyScopes_OneTimerFiresEachAtItsTime()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async _ =>
            {
                var runs = new List<Task<bool>>();
                var scopes = new List<(int Seconds, CancelScope Scope)>();
                foreach (var seconds in new[] { 5, 1, 3, 2, 4 })
                {
                    runs.Add(CancelScope.MoveOnAfterAsync(TimeSpan.FromSeconds(seconds), ct =>
                    {
                        scopes.Add((seconds, CancelScope.Current!));
                        return Task.Delay(Timeout.Infinite, ct);
                    }));
                }

                Assert.Equal(5, DeadlineQueue.For(time).Count);
                for (var i = 1; i <= 5; i++)
                {
                    time.Advance(TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(1));
                    Assert.Equal(i - 1, scopes.Count(s => s.Scope.IsCancellationRequested)); // never early
                    time.Advance(TimeSpan.FromTicks(1));
                    var cancelled = scopes.Where(s => s.Scope.IsCancellationRequested).Select(s => s.Seconds).Order();
                    Assert.Equal(Enumerable.Range(1, i), cancelled); // exactly on time, in deadline order
                }

                Assert.All(await Task.WhenAll(runs.ToArray()), completed => Assert.False(completed));
            },
            new CancelScopeOptions { TimeProvider = time });

        Assert.Equal(0, DeadlineQueue.For(time).Count);
    }

    [Fact]
    public async Task DeadlineQueue_ScopesExitBeforeDeadline_NothingLeftQueued()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async _ =>
            {
                for (var i = 0; i < 1000; i++)
                {
                    Assert.True(await CancelScope.MoveOnAfterAsync(TimeSpan.FromHours(1 + (i % 17)), _ => Task.CompletedTask));
                }
            },
            new CancelScopeOptions { TimeProvider = time });

        Assert.Equal(0, DeadlineQueue.For(time).Count);
    }

    [Fact]
    public async Task DeadlineQueue_ManyScopesSameTimeout_TimerUpdatedOncePerPeriodNotPerScope()
    {
        var time = new CountingTimeProvider();
        await CancelScope.RunAsync(
            async _ =>
            {
                for (var i = 0; i < 1000; i++)
                {
                    Assert.True(await CancelScope.MoveOnAfterAsync(TimeSpan.FromMinutes(5), _ => Task.CompletedTask));
                    time.Advance(TimeSpan.FromMilliseconds(10));
                }
            },
            new CancelScopeOptions { TimeProvider = time });

        // One creation for the first arming; the timer is neither disarmed on exit nor moved later on the next arming.
        // (Disarming and re-arming per scope would make this about 2,000.)
        Assert.Equal(1, time.TimersCreated);
        Assert.Equal(0, time.TimerChanges);
    }

    [Fact]
    public async Task MoveOnAfterAsync_TimerAlreadyArmedEarlier_ReadsTheClockOnce()
    {
        var time = new CountingTimeProvider();
        await CancelScope.RunAsync(
            async _ =>
            {
                Assert.True(await CancelScope.MoveOnAfterAsync(TimeSpan.FromMinutes(5), _ => Task.CompletedTask)); // arms the timer
                time.Advance(TimeSpan.FromSeconds(1));
                var before = time.UtcNowReads;
                var timestampsBefore = time.TimestampReads;
                Assert.True(await CancelScope.MoveOnAfterAsync(TimeSpan.FromMinutes(5), _ => Task.CompletedTask));

                // The reading that computed the deadline also judged whether it had passed; the timer did not move. (The
                // fake clock answers GetTimestamp, the scope's diagnostic stamp, through GetUtcNow: not counted here.)
                Assert.Equal(1, time.UtcNowReads - before - (time.TimestampReads - timestampsBefore));
            },
            new CancelScopeOptions { TimeProvider = time });
    }

    [Fact]
    public async Task DeadlineQueue_TimerLeftArmedForAnExitedScope_LaterDeadlineStillFiresExactlyOnTime()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async _ =>
            {
                // Arms the timer for 1 h, then leaves it armed when it exits.
                Assert.True(await CancelScope.MoveOnAfterAsync(TimeSpan.FromHours(1), _ => Task.CompletedTask));

                CancelScope? inner = null;
                var run = CancelScope.MoveOnAfterAsync(TimeSpan.FromHours(2), ct =>
                {
                    inner = CancelScope.Current;
                    return Task.Delay(Timeout.Infinite, ct);
                });

                time.Advance(TimeSpan.FromHours(1)); // the spurious wake-up: nothing is due
                Assert.False(inner!.IsCancellationRequested);
                time.Advance(TimeSpan.FromHours(1) - TimeSpan.FromTicks(1));
                Assert.False(inner.IsCancellationRequested); // never early
                time.Advance(TimeSpan.FromTicks(1));
                Assert.True(inner.IsCancellationRequested); // exactly on time: the wake-up re-armed for it
                Assert.False(await run);
            },
            new CancelScopeOptions { TimeProvider = time });

        Assert.Equal(0, DeadlineQueue.For(time).Count);
    }

    [Fact]
    public async Task DeadlineQueue_EarlierDeadlineAfterLaterOne_TimerMovedEarlier()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async _ =>
            {
                var late = CancelScope.MoveOnAfterAsync(TimeSpan.FromHours(2), ct => Task.Delay(Timeout.Infinite, ct));
                CancelScope? early = null;
                var run = CancelScope.MoveOnAfterAsync(TimeSpan.FromMinutes(1), ct =>
                {
                    early = CancelScope.Current;
                    return Task.Delay(Timeout.Infinite, ct);
                });

                time.Advance(TimeSpan.FromMinutes(1));
                Assert.True(early!.IsCancellationRequested);
                Assert.False(await run);
                Assert.False(late.IsCompleted);
                time.Advance(TimeSpan.FromHours(2));
                Assert.False(await late);
            },
            new CancelScopeOptions { TimeProvider = time });
    }

    /// <summary>A fake clock that counts how often the deadline queue creates or moves its timer.</summary>
    private sealed class CountingTimeProvider : FakeTimeProvider
    {
        private int _created;
        private int _changes;

        public int TimersCreated => Volatile.Read(ref _created);

        public int TimerChanges => Volatile.Read(ref _changes);

        public int UtcNowReads => Volatile.Read(ref _utcNowReads);

        private int _utcNowReads;

        public int TimestampReads => Volatile.Read(ref _timestampReads);

        private int _timestampReads;

        public override long GetTimestamp()
        {
            Interlocked.Increment(ref _timestampReads);
            return base.GetTimestamp();
        }

        public override DateTimeOffset GetUtcNow()
        {
            Interlocked.Increment(ref _utcNowReads);
            return base.GetUtcNow();
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Interlocked.Increment(ref _created);
            return new CountingTimer(base.CreateTimer(callback, state, dueTime, period), this);
        }

        private sealed class CountingTimer(ITimer inner, CountingTimeProvider owner) : ITimer
        {
            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                Interlocked.Increment(ref owner._changes);
                return inner.Change(dueTime, period);
            }

            public void Dispose() => inner.Dispose();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }

    /// <summary>A deadline moved while the scope runs fires at the new time, never at the old one: earlier, later, or to the same instant.</summary>
    [Theory]
    [InlineData(10, 2)] // moved earlier
    [InlineData(1, 5)]  // moved later: the old time passes without a cancel
    [InlineData(3, 3)]  // moved to where it was
    public async Task Deadline_MovedWhileRunning_FiresAtTheNewTimeOnly(int timeoutSeconds, int movedToSeconds)
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async _ =>
            {
                CancelScope? inner = null;
                var run = CancelScope.RunAsync(
                    async s =>
                    {
                        inner = s;
                        await Task.Delay(Timeout.Infinite, s.Token);
                    },
                    new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(timeoutSeconds) });
                var start = time.GetUtcNow();
                inner!.Deadline = start + TimeSpan.FromSeconds(movedToSeconds);

                time.Advance(TimeSpan.FromSeconds(movedToSeconds) - TimeSpan.FromTicks(1));
                Assert.False(inner.IsCancellationRequested, $"fired before the new deadline (old one: {timeoutSeconds} s)");
                time.Advance(TimeSpan.FromTicks(1));
                Assert.True(inner.IsCancellationRequested, "did not fire at the new deadline");
                await run;
                Assert.True(inner.CancelledCaught);
                Assert.Equal(CancelReasonKind.DeadlineExceeded, inner.CancelReason!.Kind);
            },
            new CancelScopeOptions { TimeProvider = time });
    }

    [Fact]
    public async Task Deadline_SetToPastWhileRunning_CancelsAtOnce()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async s =>
            {
                s.Deadline = time.GetUtcNow() - TimeSpan.FromSeconds(1);
                Assert.True(s.IsCancellationRequested);
                await CancelScope.CheckpointAsync();
            },
            new CancelScopeOptions { TimeProvider = time });
    }

    [Fact]
    public async Task Deadline_Removed_NeverFires()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async s =>
            {
                Assert.NotNull(s.Deadline);
                s.Deadline = null;
                time.Advance(TimeSpan.FromDays(1));
                Assert.False(s.IsCancellationRequested);
                await CancelScope.CheckpointAsync();
            },
            new CancelScopeOptions { TimeProvider = time, Timeout = TimeSpan.FromSeconds(1) });
        Assert.Equal(0, DeadlineQueue.For(time).Count);
    }

    [Fact]
    public async Task EffectiveDeadline_NestedScopes_EarliestUpToFirstShield()
    {
        var time = new FakeTimeProvider();
        var t0 = time.GetUtcNow();
        await CancelScope.RunAsync(
            async _ =>
            {
                await CancelScope.RunAsync(async _ =>
                {
                    Assert.Equal(t0 + TimeSpan.FromSeconds(5), CancelScope.CurrentDeadline);
                    await CancelScope.ShieldAsync(_ =>
                    {
                        Assert.Null(CancelScope.CurrentDeadline);
                        return Task.CompletedTask;
                    });
                    await CancelScope.ShieldAsync(
                        _ =>
                        {
                            Assert.Equal(t0 + TimeSpan.FromSeconds(60), CancelScope.CurrentDeadline);
                            return Task.CompletedTask;
                        },
                        TimeSpan.FromSeconds(60));
                }, new CancelScopeOptions { Timeout = TimeSpan.FromSeconds(30) });
            },
            new CancelScopeOptions { TimeProvider = time, Timeout = TimeSpan.FromSeconds(5) });
    }

    [Fact]
    public void CancelScope_NoCurrent_StaticPropertiesAreNeutral()
    {
        Assert.Null(CancelScope.Current);
        Assert.Equal(CancellationToken.None, CancelScope.CurrentToken);
        Assert.Null(CancelScope.CurrentDeadline);
        CancelScope.ThrowIfCancelled();
        Assert.True(CancelScope.CheckpointAsync().IsCompletedSuccessfully);
    }

    [Fact]
    public async Task CheckpointAsync_NotCancelled_AllocatesNothing()
    {
        await CancelScope.RunAsync(async _ =>
        {
            await CancelScope.CheckpointAsync(); // warm up
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var i = 0; i < 1000; i++)
            {
                var vt = CancelScope.CheckpointAsync();
                Assert.True(vt.IsCompletedSuccessfully);
            }

            var after = GC.GetAllocatedBytesForCurrentThread();
            Assert.Equal(0, after - before);
        });
    }

    [Fact]
    public async Task Token_NeverRead_NoSourceCreated()
    {
        await CancelScope.RunAsync(s =>
        {
            s.Cancel();
            Assert.True(s.IsCancellationRequested);
            Assert.Null(typeof(CancelScope).GetField("_cts", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(s));
            Assert.True(s.Token.IsCancellationRequested); // created on demand, already cancelled
            return Task.CompletedTask;
        });
    }

    [Fact]
    public void Timeouts_DeadlineArithmetic_Exact()
    {
        var time = new FakeTimeProvider();
        var now = time.GetUtcNow().UtcTicks;
        Assert.Equal(now + 10, Timeouts.ToDeadlineTicks(TimeSpan.FromTicks(10), time, "t"));
        Assert.Equal(now, Timeouts.ToDeadlineTicks(TimeSpan.Zero, time, "t"));
        Assert.Equal(long.MaxValue, Timeouts.ToDeadlineTicks(Timeout.InfiniteTimeSpan, time, "t"));
        Assert.Equal(
            DateTimeOffset.MaxValue.UtcTicks,
            Timeouts.ToDeadlineTicks(TimeSpan.FromTicks(DateTimeOffset.MaxValue.UtcTicks - now), time, "t"));
    }
}
