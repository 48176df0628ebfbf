using System;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace Corral.Testing.Tests;

public sealed class MisuseTests
{
    private static readonly CorralTestOptions s_quickBlockCheck = new() { BlockedSchedulerTimeout = TimeSpan.FromMilliseconds(200) };

    [Fact]
    public async Task RunAsync_Nested_ThrowsInvalidOperationBeforeAnythingRuns()
    {
        await CorralTest.RunAsync((clock, ct) =>
        {
            var ran = false;
            var e = Assert.Throws<InvalidOperationException>(() =>
            {
                _ = CorralTest.RunAsync((c, t) =>
                {
                    ran = true;
                    return Task.CompletedTask;
                });
            });
            Assert.Contains("runs do not nest", e.Message, StringComparison.Ordinal);
            Assert.False(ran);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public void RunAsync_BadArguments_ThrowBeforeAnythingRuns()
    {
        Assert.Throws<ArgumentNullException>(() => { _ = CorralTest.RunAsync(null!); });
        Assert.Throws<ArgumentNullException>(() => { _ = CorralTest.RunAsync<int>(null!); });
        Func<VirtualClock, CancellationToken, Task> body = (_, _) => Task.CompletedTask;
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = CorralTest.RunAsync(body, new() { AutojumpThreshold = TimeSpan.FromTicks(-1) }); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = CorralTest.RunAsync(body, new() { AutojumpThreshold = Timeout.InfiniteTimeSpan }); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = CorralTest.RunAsync(body, new() { Timeout = TimeSpan.Zero }); });
        Assert.Throws<ArgumentOutOfRangeException>(() => { _ = CorralTest.RunAsync(body, new() { BlockedSchedulerTimeout = TimeSpan.FromSeconds(-5) }); });
    }

    [Fact]
    public async Task RunAsync_ResultBlocksTheSchedulerThread_ClearExceptionNotAHang()
    {
        var e = await Assert.ThrowsAsync<CorralTestException>(() => CorralTest.RunAsync((clock, ct) =>
        {
            var later = Task.Delay(TimeSpan.FromSeconds(1), clock, ct).ContinueWith(_ => 42, TaskScheduler.Default);
            return Task.FromResult(later.Result); // the clock can only jump on this very thread
        }, s_quickBlockCheck));

        Assert.Equal(CorralTestFailureKind.SchedulerBlocked, e.Kind);
        Assert.Contains("Use await instead", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_WaitOnChildOfAGroup_ClearExceptionNotAHang()
    {
        var e = await Assert.ThrowsAsync<CorralTestException>(() => CorralTest.RunAsync(async (clock, ct) =>
        {
            await TaskGroup.RunAsync(group =>
            {
                var child = group.Start(async c =>
                {
                    await Task.Yield(); // needs the scheduler thread, which the body below blocks
                    return 1;
                });
                child.Wait(ct);
                return Task.CompletedTask;
            });
        }, s_quickBlockCheck));

        Assert.Equal(CorralTestFailureKind.SchedulerBlocked, e.Kind);
    }

    [Fact]
    public async Task RunAsync_ThreadSleepOnTheSchedulerThread_ReportedAsBlocked()
    {
        var e = await Assert.ThrowsAsync<CorralTestException>(() => CorralTest.RunAsync((clock, ct) =>
        {
#pragma warning disable RS0030 // blocking the scheduler thread is the misuse under test
            Thread.Sleep(TimeSpan.FromSeconds(30));
#pragma warning restore RS0030
            return Task.CompletedTask;
        }, s_quickBlockCheck));

        Assert.Equal(CorralTestFailureKind.SchedulerBlocked, e.Kind);
    }

    [Fact]
    public async Task RunAsync_CancelScopeAtTheRoot_GenericFormHasNoValue()
    {
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => CorralTest.RunAsync<int>(async (clock, ct) =>
        {
            CancelScope.Current!.Cancel();
            await CancelScope.CheckpointAsync();
            return 1;
        }));
    }
}
