using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Corral.Testing.Tests;

public sealed class VirtualClockTests
{
    private static readonly TimeSpan s_second = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Advance_TimersDueOnTheWay_EachFiresAtItsOwnInstantInOrder()
    {
        await CorralTest.RunAsync((clock, _) =>
        {
            var fired = new List<(string Name, TimeSpan At)>();
            using var late = clock.CreateTimer(_ => fired.Add(("late", clock.Elapsed)), null, 3 * s_second, Timeout.InfiniteTimeSpan);
            using var early = clock.CreateTimer(_ => fired.Add(("early", clock.Elapsed)), null, s_second, Timeout.InfiniteTimeSpan);
            using var tie = clock.CreateTimer(_ => fired.Add(("tie", clock.Elapsed)), null, s_second, Timeout.InfiniteTimeSpan);

            clock.Advance(TimeSpan.FromSeconds(10));

            Assert.Equal(new[] { ("early", s_second), ("tie", s_second), ("late", 3 * s_second) }, fired);
            Assert.Equal(TimeSpan.FromSeconds(10), clock.Elapsed);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task Advance_OneTickShort_TimerDoesNotFire()
    {
        await CorralTest.RunAsync((clock, _) =>
        {
            var fired = 0;
            using var timer = clock.CreateTimer(_ => fired++, null, s_second, Timeout.InfiniteTimeSpan);
            clock.Advance(s_second - TimeSpan.FromTicks(1));
            Assert.Equal(0, fired);
            clock.Advance(TimeSpan.FromTicks(1));
            Assert.Equal(1, fired);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task CreateTimer_Periodic_FiresEveryPeriodWithoutDrift()
    {
        await CorralTest.RunAsync((clock, _) =>
        {
            var at = new List<TimeSpan>();
            using var timer = clock.CreateTimer(_ => at.Add(clock.Elapsed), null, s_second, TimeSpan.FromMilliseconds(1500));
            clock.Advance(TimeSpan.FromSeconds(5));
            Assert.Equal(new[] { s_second, TimeSpan.FromSeconds(2.5), TimeSpan.FromSeconds(4) }, at);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task CreateTimer_DueZero_DoesNotFireInsideTheCallButAtTheNextTurn()
    {
        await CorralTest.RunAsync(async (clock, _) =>
        {
            var fired = false;
            using var timer = clock.CreateTimer(_ => fired = true, null, TimeSpan.Zero, Timeout.InfiniteTimeSpan);
            Assert.False(fired);
            await Task.Yield();
            Assert.True(fired);
            Assert.Equal(TimeSpan.Zero, clock.Elapsed);
        });
    }

    [Fact]
    public async Task Change_AndDispose_MoveAndDisarmTheTimer()
    {
        await CorralTest.RunAsync((clock, _) =>
        {
            var fired = 0;
            var timer = clock.CreateTimer(_ => fired++, null, s_second, Timeout.InfiniteTimeSpan);
            Assert.True(timer.Change(3 * s_second, Timeout.InfiniteTimeSpan));
            clock.Advance(2 * s_second);
            Assert.Equal(0, fired);
            clock.Advance(s_second);
            Assert.Equal(1, fired);
            Assert.True(timer.Change(s_second, Timeout.InfiniteTimeSpan));
            timer.Dispose();
            clock.Advance(TimeSpan.FromMinutes(1));
            Assert.Equal(1, fired);
            Assert.False(timer.Change(s_second, Timeout.InfiniteTimeSpan));
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task CreateTimer_CallbackAdvancesAndCreatesTimers_ReentrantAndOrdered()
    {
        await CorralTest.RunAsync((clock, _) =>
        {
            var log = new List<string>();
            using var inner = clock.CreateTimer(_ => log.Add($"inner {clock.Elapsed.TotalSeconds}"), null, 2 * s_second, Timeout.InfiniteTimeSpan);
            ITimer? created = null;
            using var outer = clock.CreateTimer(
                _ =>
                {
                    log.Add($"outer {clock.Elapsed.TotalSeconds}");
                    created = clock.CreateTimer(_ => log.Add($"created {clock.Elapsed.TotalSeconds}"), null, s_second, Timeout.InfiniteTimeSpan);
                    clock.Advance(TimeSpan.FromSeconds(0.5));
                },
                null,
                s_second,
                Timeout.InfiniteTimeSpan);

            clock.Advance(5 * s_second);
            created!.Dispose();
            Assert.Equal(new[] { "outer 1", "inner 2", "created 2" }, log);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task CreateTimer_CallbackRunsInTheContextTheTimerWasCreatedIn()
    {
        var local = new AsyncLocal<string>();
        await CorralTest.RunAsync((clock, _) =>
        {
            string? seen = null;
            local.Value = "creator";
            using var timer = clock.CreateTimer(_ => seen = local.Value, null, s_second, Timeout.InfiniteTimeSpan);
            local.Value = "advancer";
            clock.Advance(s_second);
            Assert.Equal("creator", seen);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task GetTimestamp_And_GetUtcNow_ExactElapsedTimes()
    {
        await CorralTest.RunAsync((clock, _) =>
        {
            var start = clock.GetTimestamp();
            clock.Advance(TimeSpan.FromTicks(12_345_678));
            Assert.Equal(TimeSpan.FromTicks(12_345_678), clock.GetElapsedTime(start));
            Assert.Equal(CorralTestOptions.DefaultStartTime + TimeSpan.FromTicks(12_345_678), clock.GetUtcNow());
            Assert.Equal(TimeZoneInfo.Utc, clock.LocalTimeZone);
            return Task.CompletedTask;
        }, new CorralTestOptions { StartTime = CorralTestOptions.DefaultStartTime });
    }

    [Fact]
    public async Task Advance_Negative_ThrowsArgumentOutOfRangeAndTimeStaysPut()
    {
        await CorralTest.RunAsync((clock, _) =>
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => clock.Advance(TimeSpan.FromTicks(-1)));
            Assert.Contains("backwards", e.Message, StringComparison.Ordinal);
            Assert.Throws<ArgumentOutOfRangeException>(() => clock.Advance(TimeSpan.MaxValue));
            Assert.Equal(TimeSpan.Zero, clock.Elapsed);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task CreateTimer_BadDueTimeOrPeriod_ThrowsArgumentOutOfRange()
    {
        await CorralTest.RunAsync((clock, _) =>
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => clock.CreateTimer(_ => { }, null, TimeSpan.FromMilliseconds(-2), Timeout.InfiniteTimeSpan));
            Assert.Throws<ArgumentOutOfRangeException>(() => clock.CreateTimer(_ => { }, null, s_second, TimeSpan.FromDays(60)));
            Assert.Throws<ArgumentNullException>(() => clock.CreateTimer(null!, null, s_second, Timeout.InfiniteTimeSpan));
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task Clock_AfterItsRunEnded_FrozenForReadsAndThrowsForAnythingThatWaits()
    {
        VirtualClock? kept = null;
        await CorralTest.RunAsync(async (clock, ct) =>
        {
            kept = clock;
            await Task.Delay(TimeSpan.FromMinutes(3), clock, ct);
        });

        Assert.Equal(TimeSpan.FromMinutes(3), kept!.Elapsed);
        Assert.Equal(CorralTestOptions.DefaultStartTime + TimeSpan.FromMinutes(3), kept.GetUtcNow());
        var advance = Assert.Throws<InvalidOperationException>(() => kept.Advance(TimeSpan.FromSeconds(1)));
        Assert.Contains("run that has ended", advance.Message, StringComparison.Ordinal);
        Assert.Contains("CorralTest.RunAsync", advance.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => kept.CreateTimer(_ => { }, null, s_second, Timeout.InfiniteTimeSpan));
        Assert.Throws<InvalidOperationException>(() => { _ = Task.Delay(s_second, kept); });
        using var disarmed = kept.CreateTimer(_ => { }, null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan); // harmless
        Assert.Equal(TimeSpan.FromMinutes(3), kept.Elapsed);
    }

    [Fact]
    public async Task ToString_ShowsInstantAndElapsed()
    {
        await CorralTest.RunAsync((clock, _) =>
        {
            clock.Advance(TimeSpan.FromMinutes(10));
            Assert.Equal("2000-01-01T00:10:00.0000000+00:00 (+00:10:00)", clock.ToString());
            return Task.CompletedTask;
        });
    }
}
