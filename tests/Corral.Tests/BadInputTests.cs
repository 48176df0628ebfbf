using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Tests;

/// <summary>Misuse gets a clear exception at once; nothing hangs and nothing is lost.</summary>
public sealed class BadInputTests
{
    /// <summary>Asserts that calling <paramref name="call"/> throws synchronously, before any task exists.</summary>
    private static T ThrowsAtCall<T>(Func<object> call)
        where T : Exception => Assert.Throws<T>(() => { _ = call(); });

    public static TheoryData<TimeSpan> InvalidTimeouts => new()
    {
        TimeSpan.FromTicks(-1),
        TimeSpan.FromSeconds(-5),
        TimeSpan.MinValue,
        TimeSpan.MaxValue,
    };

    [Theory]
    [MemberData(nameof(InvalidTimeouts))]
    public void MoveOnAfterAsync_InvalidTimeout_ThrowsBeforeRunningBody(TimeSpan timeout)
    {
        var ran = false;
        var ex = ThrowsAtCall<ArgumentOutOfRangeException>(() =>
            CancelScope.MoveOnAfterAsync(timeout, _ => { ran = true; return Task.CompletedTask; }));
        Assert.Equal("timeout", ex.ParamName);
        Assert.False(ran);
    }

    [Theory]
    [MemberData(nameof(InvalidTimeouts))]
    public void FailAfterAsync_InvalidTimeout_Throws(TimeSpan timeout)
    {
        ThrowsAtCall<ArgumentOutOfRangeException>(() => CancelScope.FailAfterAsync(timeout, _ => Task.CompletedTask));
        ThrowsAtCall<ArgumentOutOfRangeException>(() => CancelScope.FailAfterAsync(timeout, _ => Task.FromResult(1)));
    }

    [Theory]
    [MemberData(nameof(InvalidTimeouts))]
    public void ShieldAsync_InvalidTimeout_Throws(TimeSpan timeout)
    {
        ThrowsAtCall<ArgumentOutOfRangeException>(() => CancelScope.ShieldAsync(_ => Task.CompletedTask, timeout));
    }

    [Theory]
    [MemberData(nameof(InvalidTimeouts))]
    public void SleepAsync_InvalidDelay_Throws(TimeSpan delay)
    {
        ThrowsAtCall<ArgumentOutOfRangeException>(() => CancelScope.SleepAsync(delay));
    }

    [Fact]
    public void MoveOnAfterAsync_TimeSpanMaxValue_MessageNamesInfiniteTimeSpan()
    {
        var ex = ThrowsAtCall<ArgumentOutOfRangeException>(() => CancelScope.MoveOnAfterAsync(TimeSpan.MaxValue, _ => Task.CompletedTask));
        Assert.Contains("Timeout.InfiniteTimeSpan", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RunAsync_TimeoutOverflowsCalendar_Throws()
    {
        var nearEnd = new FakeTimeProvider(DateTimeOffset.MaxValue - TimeSpan.FromDays(1));
        var ex = ThrowsAtCall<ArgumentOutOfRangeException>(() => CancelScope.RunAsync(
            _ => Task.CompletedTask,
            new CancelScopeOptions { TimeProvider = nearEnd, Timeout = TimeSpan.FromDays(2) }));
        Assert.Contains("DateTimeOffset.MaxValue", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MoveOnAfterAsync_HugeButValidTimeout_RunsWithoutFiring()
    {
        var time = new FakeTimeProvider();
        await CancelScope.RunAsync(
            async _ =>
            {
                var completed = await CancelScope.MoveOnAfterAsync(TimeSpan.FromDays(365 * 100), async ct =>
                {
                    Assert.False(ct.IsCancellationRequested);
                    time.Advance(TimeSpan.FromDays(365 * 99));
                    await CancelScope.CheckpointAsync();
                });
                Assert.True(completed);
            },
            new CancelScopeOptions { TimeProvider = time });
    }

    [Fact]
    public async Task MoveOnAfterAsync_ZeroTimeout_CancelledAtFirstCheckpoint()
    {
        var reachedAfterCheckpoint = false;
        var completed = await CancelScope.MoveOnAfterAsync(TimeSpan.Zero, async ct =>
        {
            Assert.True(ct.IsCancellationRequested);
            await CancelScope.CheckpointAsync();
            reachedAfterCheckpoint = true;
        });

        Assert.False(completed);
        Assert.False(reachedAfterCheckpoint);
    }

    [Fact]
    public async Task MoveOnAfterAsync_InfiniteTimeout_NoDeadline()
    {
        await CancelScope.MoveOnAfterAsync(Timeout.InfiniteTimeSpan, _ =>
        {
            Assert.Null(CancelScope.CurrentDeadline);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public void RunAsync_DeadlineAndTimeoutBothSet_Throws()
    {
        var ex = ThrowsAtCall<ArgumentException>(() => CancelScope.RunAsync(
            _ => Task.CompletedTask,
            new CancelScopeOptions { Deadline = DateTimeOffset.UnixEpoch, Timeout = TimeSpan.FromSeconds(1) }));
        Assert.Equal("options", ex.ParamName);
    }

    [Fact]
    public void StaticApi_NullBodies_ThrowArgumentNull()
    {
        ThrowsAtCall<ArgumentNullException>(() => CancelScope.RunAsync(null!));
        ThrowsAtCall<ArgumentNullException>(() => CancelScope.RunAsync<int>(null!));
        ThrowsAtCall<ArgumentNullException>(() => CancelScope.MoveOnAfterAsync(TimeSpan.Zero, (Func<CancellationToken, Task>)null!));
        ThrowsAtCall<ArgumentNullException>(() => CancelScope.MoveOnAtAsync(DateTimeOffset.UnixEpoch, (Func<CancellationToken, Task>)null!));
        ThrowsAtCall<ArgumentNullException>(() => CancelScope.FailAfterAsync(TimeSpan.Zero, (Func<CancellationToken, Task>)null!));
        ThrowsAtCall<ArgumentNullException>(() => CancelScope.FailAtAsync(DateTimeOffset.UnixEpoch, (Func<CancellationToken, Task>)null!));
        ThrowsAtCall<ArgumentNullException>(() => CancelScope.ShieldAsync((Func<CancellationToken, Task>)null!));
        ThrowsAtCall<ArgumentNullException>(() => TaskGroup.RunAsync(null!));
        ThrowsAtCall<ArgumentNullException>(() => TaskGroup.RunAsync<int>(null!));
    }

    [Fact]
    public async Task Start_AfterGroupClosed_ThrowsClearInvalidOperation()
    {
        TaskGroup? escaped = null;
        await TaskGroup.RunAsync(g =>
        {
            escaped = g;
            return Task.CompletedTask;
        }, new TaskGroupOptions { Name = "short-lived" });

        Assert.True(escaped!.IsClosed);
        var ex = Assert.Throws<InvalidOperationException>(() => escaped.Start(_ => Task.CompletedTask, "late"));
        Assert.Contains("'late'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'short-lived'", ex.Message, StringComparison.Ordinal);
        ThrowsAtCall<InvalidOperationException>(() => escaped.Start(_ => Task.FromResult(1)));
        ThrowsAtCall<InvalidOperationException>(() => escaped.StartAsync<int>((s, _) => Task.CompletedTask));
    }

    [Fact]
    public async Task Start_NullWork_ThrowsAndGroupStillCloses()
    {
        await TaskGroup.RunAsync(g =>
        {
            Assert.Throws<ArgumentNullException>(() => g.Start(null!));
            ThrowsAtCall<ArgumentNullException>(() => g.Start<int>(null!));
            ThrowsAtCall<ArgumentNullException>(() => g.StartAsync<int>(null!));
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task StartSignal_StartedTwice_SecondCallThrows()
    {
        InvalidOperationException? second = null;
        var value = await TaskGroup.RunAsync(async g =>
        {
            return await g.StartAsync<int>((signal, _) =>
            {
                signal.Started(1);
                second = Assert.Throws<InvalidOperationException>(() => signal.Started(2));
                return Task.CompletedTask;
            }, "twice");
        });

        Assert.Equal(1, value);
        Assert.Contains("twice", second!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_ChildReturnsWithoutSignalling_CallerGetsInvalidOperation()
    {
        await TaskGroup.RunAsync(async g =>
        {
            var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
                g.StartAsync<int>((_, _) => Task.CompletedTask, "forgetful"));
            Assert.Contains("without calling Started", ex.Message, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task StartSignal_StartedAfterChildEnded_Throws()
    {
        StartSignal<int>? kept = null;
        await TaskGroup.RunAsync(async g =>
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() =>
                g.StartAsync<int>((s, _) => { kept = s; return Task.CompletedTask; }));
        });

        Assert.Throws<InvalidOperationException>(() => kept!.Started(3));
        Assert.False(kept!.IsStarted);
    }

    [Fact]
    public void TaskGroupException_EmptyOrNullFailures_Throws()
    {
        Assert.Throws<ArgumentException>(() => new TaskGroupException("g", []));
        Assert.Throws<ArgumentNullException>(() => new TaskGroupException("g", null!));
        Assert.Throws<ArgumentException>(() => new TaskGroupException("g", [null!]));
        Assert.Throws<ArgumentNullException>(() => new TaskFailure(null!, new InvalidOperationException()));
        Assert.Throws<ArgumentNullException>(() => new TaskFailure("x", null!));
    }

    [Fact]
    public void ScopeResult_Equality_CutOffsEqualAndValuesCompared()
    {
        ScopeResult<string> cutOff = default;
        var done = new ScopeResult<string>("a");
        Assert.True(cutOff == default(ScopeResult<string>));
        Assert.True(done == new ScopeResult<string>("a"));
        Assert.True(done != new ScopeResult<string>("b"));
        Assert.True(done != cutOff);
        Assert.False(done.Equals((object)"a"));
        Assert.Equal(new ScopeResult<string>("a").GetHashCode(), done.GetHashCode());
        Assert.Equal("Completed(a)", done.ToString());
        Assert.Equal("CutOff", cutOff.ToString());
    }

    [Fact]
    public void ScopeResult_ValueOfCutOff_ThrowsInvalidOperation()
    {
        ScopeResult<int> cutOff = default;
        Assert.False(cutOff.Completed);
        Assert.Throws<InvalidOperationException>(() => cutOff.Value);
        Assert.False(cutOff.TryGetValue(out _));
        Assert.Equal(7, cutOff.GetValueOrDefault(7));
    }
}
