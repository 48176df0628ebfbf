using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Dashboard.Tests;

/// <summary>The hub: one capture per update while pages are open, none otherwise; and the frames it builds.</summary>
public sealed class HubTests
{
    [Fact]
    public async Task Hub_NoPageOpen_CapturesNothing()
    {
        var time = new CountingClock();
        var source = new CountingSource();
        var hub = NewHub(source, time);

        time.Advance(TimeSpan.FromMinutes(5));
        await Task.Delay(50);

        Assert.Equal(0, source.Captures);
        Assert.Equal(0, source.Starts);
        Assert.False(hub.IsRunning);
    }

    [Fact]
    public async Task Hub_PagesOpenThenClose_CapturesOncePerUpdateForAllThenStops()
    {
        var time = new CountingClock();
        var source = new CountingSource();
        var hub = NewHub(source, time);

        using (var first = hub.Subscribe())
        using (var second = hub.Subscribe())
        {
            var a = await ReadAsync(first);
            Assert.Equal(1, source.Starts);
            for (var update = 2; update <= 4; update++)
            {
                await WaitUntilWaitingAsync(time);
                time.Advance(TimeSpan.FromSeconds(1));
                var frame = await ReadAsync(first);
                Assert.Contains($"\"seq\":{update}", frame, StringComparison.Ordinal);
            }

            Assert.Equal(4, source.Captures); // four updates, two pages: one capture each
            Assert.Contains("\"seq\":4", await ReadAsync(second), StringComparison.Ordinal); // the slow page skipped to the newest
            Assert.Contains("\"seq\":1", a, StringComparison.Ordinal);
        }

        await WaitUntilWaitingAsync(time);
        time.Advance(TimeSpan.FromSeconds(1));
        await hub.LastLoop.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(hub.IsRunning);
        Assert.Equal(1, source.Stops);
        var captures = source.Captures;
        time.Advance(TimeSpan.FromMinutes(1));
        await Task.Delay(50);
        Assert.Equal(captures, source.Captures);
    }

    [Fact]
    public async Task Hub_PageOpensAgainAfterTheLastClosed_StartsANewLoopAfterTheOldOneStopped()
    {
        var time = new CountingClock();
        var source = new CountingSource();
        var hub = NewHub(source, time);
        using (var page = hub.Subscribe())
        {
            await ReadAsync(page);
        }

        using (var again = hub.Subscribe())
        {
            await WaitUntilWaitingAsync(time);
            time.Advance(TimeSpan.FromSeconds(1));
            var frame = await ReadAsync(again);
            Assert.Contains("\"snapshot\":", frame, StringComparison.Ordinal);
        }

        await WaitUntilWaitingAsync(time);
        time.Advance(TimeSpan.FromSeconds(1));
        await hub.LastLoop.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(source.Starts, source.Stops);
        Assert.False(source.Overlapped, "StartWatching ran while the previous loop had not stopped watching");
    }

    [Fact]
    public async Task Hub_CaptureFails_FrameCarriesTheMessageAndTheLoopGoesOn()
    {
        var time = new CountingClock();
        var source = new CountingSource { FailWith = "process 42 is gone" };
        var hub = NewHub(source, time);
        using var page = hub.Subscribe();

        var frame = await ReadAsync(page);
        using var doc = JsonDocument.Parse(DataOf(frame));
        Assert.Equal("process 42 is gone", doc.RootElement.GetProperty("error").GetString());
        Assert.False(doc.RootElement.TryGetProperty("snapshot", out _));

        source.FailWith = null;
        await WaitUntilWaitingAsync(time);
        time.Advance(TimeSpan.FromSeconds(1));
        using var next = JsonDocument.Parse(DataOf(await ReadAsync(page)));
        Assert.Equal(JsonValueKind.Null, next.RootElement.GetProperty("error").ValueKind);
        Assert.Equal("corral.tasktree/1", next.RootElement.GetProperty("snapshot").GetProperty("schema").GetString());
    }

    [Fact]
    public void Build_HostileNamesAndLineBreaks_OneDataLineOfJsonThatKeepsThem()
    {
        var name = "<img src=x onerror=alert(1)>\nline two\r\n\"quoted\" </script>";
        var snapshot = new TaskTreeSnapshot(DateTimeOffset.UnixEpoch, 7, [Node(5, name, [])]);
        var capture = new DashboardCapture(snapshot, snapshot.ToJson(), [Report(5, name)], 3, JsonIsOwn: true);

        var text = Encoding.UTF8.GetString(DashboardFrame.Build(1, "t", false, TimeSpan.FromSeconds(1), capture, null, "running", [(1, 3)]).Span);

        Assert.StartsWith("event: frame\ndata: {", text, StringComparison.Ordinal);
        Assert.EndsWith("}\n\n", text, StringComparison.Ordinal);
        Assert.Equal(4, text.Split('\n').Length); // the event line, the data line, then the blank line that ends the event
        Assert.DoesNotContain('\r', text);
        using var doc = JsonDocument.Parse(DataOf(text));
        Assert.Equal(name, doc.RootElement.GetProperty("snapshot").GetProperty("roots")[0].GetProperty("name").GetString());
        Assert.Equal(name, doc.RootElement.GetProperty("watchdog")[0].GetProperty("taskName").GetString());
    }

    [Fact]
    public void Build_IndentedJsonFromAnotherProcess_WrittenCompact()
    {
        var snapshot = new TaskTreeSnapshot(DateTimeOffset.UnixEpoch, 7, [Node(5, "a", [Node(6, "b", [])])]);
        var capture = new DashboardCapture(snapshot, snapshot.ToJson(indented: true), [], 0, JsonIsOwn: false);

        var text = Encoding.UTF8.GetString(DashboardFrame.Build(1, "t", false, TimeSpan.FromSeconds(1), capture, null, "running", []).Span);

        Assert.Equal(4, text.Split('\n').Length);
        using var doc = JsonDocument.Parse(DataOf(text));
        Assert.Equal("b", doc.RootElement.GetProperty("snapshot").GetProperty("roots")[0].GetProperty("children")[0].GetProperty("name").GetString());
    }

    [Fact]
    public void Build_MalformedJsonFromAnotherProcess_Throws()
    {
        var snapshot = new TaskTreeSnapshot(DateTimeOffset.UnixEpoch, 7, []);
        var capture = new DashboardCapture(snapshot, "{\"roots\": [", [], 0, JsonIsOwn: false);

        Assert.ThrowsAny<JsonException>(() => DashboardFrame.Build(1, "t", false, TimeSpan.FromSeconds(1), capture, null, "running", []));
    }

    private static DashboardHub NewHub(DashboardSource source, TimeProvider time) =>
        new(source, new CorralDashboardOptions(), time, NullLogger.Instance, CancellationToken.None);

    private static TaskTreeNode Node(long id, string name, IReadOnlyList<TaskTreeNode> children) =>
        new(id, TaskTreeNodeKind.Task, name, "X.cs:1", TaskTreeNodeState.Cancelling, TimeSpan.FromSeconds(1), null, false, false, "r", TimeSpan.FromSeconds(1), children);

    private static DashboardReport Report(long id, string name) =>
        new(id, name, "X.cs:1", "g", "r", TimeSpan.FromSeconds(1), 1, DateTimeOffset.UnixEpoch, "watchdog");

    private static string DataOf(string frame) => frame.Split('\n').Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..];

    private static async Task<string> ReadAsync(DashboardSubscription page)
    {
        var bytes = await page.Frames.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return Encoding.UTF8.GetString(bytes.Span);
    }

    /// <summary>Waits until the loop sleeps on the fake clock (it created a timer since the last advance), so an Advance wakes it.</summary>
    private static async Task WaitUntilWaitingAsync(CountingClock time)
    {
        var limit = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!time.TryTakeTimer())
        {
            Assert.True(DateTime.UtcNow < limit, "the hub's loop never waited");
            await Task.Delay(5);
        }
    }

    /// <summary>A fake clock that counts the timers created on it (Task.Delay creates one per wait).</summary>
    private sealed class CountingClock : FakeTimeProvider
    {
        private int _timers;

        public bool TryTakeTimer()
        {
            var seen = Volatile.Read(ref _timers);
            return seen > 0 && Interlocked.CompareExchange(ref _timers, seen - 1, seen) == seen;
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _timers);
            return timer;
        }
    }

    /// <summary>A source that counts what the hub asks of it.</summary>
    private sealed class CountingSource : DashboardSource
    {
        private int _captures;
        private int _starts;
        private int _stops;
        private int _watching;

        public int Captures => Volatile.Read(ref _captures);

        public int Starts => Volatile.Read(ref _starts);

        public int Stops => Volatile.Read(ref _stops);

        public bool Overlapped { get; private set; }

        public string? FailWith { get; set; }

        public override string Title => "test";

        public override string ChartLabel => "running";

        public override void StartWatching()
        {
            Interlocked.Increment(ref _starts);
            if (Interlocked.Increment(ref _watching) != 1)
            {
                Overlapped = true;
            }
        }

        public override void StopWatching()
        {
            Interlocked.Increment(ref _stops);
            Interlocked.Decrement(ref _watching);
        }

        public override Task<DashboardCapture> CaptureAsync(CancellationToken cancellationToken)
        {
            if (FailWith is { } message)
            {
                throw new DashboardSourceException(message);
            }

            Interlocked.Increment(ref _captures);
            var snapshot = new TaskTreeSnapshot(DateTimeOffset.UnixEpoch, 1, []);
            return Task.FromResult(new DashboardCapture(snapshot, snapshot.ToJson(), [], 0, JsonIsOwn: true));
        }
    }
}
