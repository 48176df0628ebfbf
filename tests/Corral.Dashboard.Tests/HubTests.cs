using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Corral.Dashboard.Tests;

/// <summary>The hub: one capture per update while pages are open, none otherwise; and the frames it builds.</summary>
/// <remarks>
/// Time is a fake clock, moved only by the test, and only once the loop has armed its timer for the wait
/// (<see cref="ArmedClock.NextTimerAsync"/>): the loop arms it after it offered that turn's frame to every page, so the
/// turn is over and an Advance wakes it. The loop may wake inline in the Advance or on another thread (if it had not
/// reached its await yet); the tests never depend on which, they wait for the effect (a frame, the loop's end).
/// </remarks>
public sealed class HubTests
{
    private static readonly TimeSpan s_interval = new CorralDashboardOptions().UpdateInterval;

    [Fact]
    public void Hub_NoPageOpen_CapturesNothing()
    {
        var time = new ArmedClock();
        var source = new CountingSource();
        var hub = NewHub(source, time);

        time.Advance(TimeSpan.FromMinutes(5));

        Assert.False(hub.IsRunning);
        Assert.True(hub.LastLoop.IsCompleted);
        Assert.Equal(0, time.TimersCreated);
        Assert.Empty(source.Calls);
    }

    [Fact]
    public async Task Hub_PagesOpenThenClose_CapturesOncePerUpdateForAllThenStops()
    {
        var time = new ArmedClock();
        var source = new CountingSource();
        var hub = NewHub(source, time);

        using (var first = hub.Subscribe())
        using (var second = hub.Subscribe())
        {
            var a = await ReadAsync(first);
            await time.NextTimerAsync();
            for (var update = 2; update <= 4; update++)
            {
                time.Advance(s_interval);
                await time.NextTimerAsync(); // the turn is over: its frame was offered to both pages
                Assert.Equal(update, SeqOf(await ReadAsync(first)));
            }

            Assert.Equal(1, SeqOf(a));
            Assert.Equal(4, source.Captures); // four updates, two pages: one capture each
            Assert.Equal(4, SeqOf(await ReadAsync(second))); // the slow page skipped to the newest
        }

        time.Advance(s_interval); // the loop wakes, finds no page and ends
        await hub.LastLoop.Within();
        Assert.False(hub.IsRunning);
        Assert.Equal(new[] { "start", "capture", "capture", "capture", "capture", "stop" }, source.Calls);
        var timers = time.TimersCreated;
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(4, source.Captures);
        Assert.Equal(timers, time.TimersCreated);
    }

    [Fact]
    public async Task Hub_PageOpensWhileTheLoopStopsWatching_SameLoopWatchesAgainAfterTheStop()
    {
        var time = new ArmedClock();
        var source = new CountingSource();
        var hub = NewHub(source, time);
        var reopened = Gate.New<DashboardSubscription>();
        var runningWhileStopping = false;
        Task? loopWhileStopping = null;
        source.OnStopWatching = () =>
        {
            if (!reopened.Task.IsCompleted)
            {
                // Race case 2: a page opens after the loop decided to stop watching, before the loop ended.
                var page = hub.Subscribe();
                runningWhileStopping = hub.IsRunning;
                loopWhileStopping = hub.LastLoop;
                reopened.SetResult(page);
            }
        };
        using (var page = hub.Subscribe())
        {
            await ReadAsync(page);
        }

        var loop = hub.LastLoop;
        await time.NextTimerAsync();
        time.Advance(s_interval); // the loop wakes, finds no page, stops watching: the page above opens then

        var again = await reopened.Task.Within();
        Assert.Equal(2, SeqOf(await ReadAsync(again))); // served by a new capture, not handed the dropped frame
        Assert.True(runningWhileStopping, "the page that opened during StopWatching saw no loop");
        Assert.Same(loop, loopWhileStopping); // it joined the stopping loop instead of starting a second one
        Assert.Equal(new[] { "start", "capture", "stop", "start", "capture" }, source.Calls);

        again.Dispose();
        await time.NextTimerAsync();
        time.Advance(s_interval);
        await hub.LastLoop.Within();
        Assert.Same(loop, hub.LastLoop);
        Assert.False(hub.IsRunning);
        Assert.Equal(new[] { "start", "capture", "stop", "start", "capture", "stop" }, source.Calls);
        Assert.False(source.Overlapped, "StartWatching ran while the source was still watching");
    }

    [Fact]
    public async Task Hub_PageOpensAfterTheLoopEnded_ANewLoopStartsWatchingAgain()
    {
        var time = new ArmedClock();
        var source = new CountingSource();
        var hub = NewHub(source, time);
        using (var page = hub.Subscribe())
        {
            await ReadAsync(page);
        }

        var old = hub.LastLoop;
        await time.NextTimerAsync();
        time.Advance(s_interval);
        await old.Within();
        Assert.False(hub.IsRunning);

        using (var again = hub.Subscribe())
        {
            Assert.Equal(2, SeqOf(await ReadAsync(again)));
            Assert.NotSame(old, hub.LastLoop);
            await time.NextTimerAsync();
        }

        time.Advance(s_interval);
        await hub.LastLoop.Within();
        Assert.Equal(new[] { "start", "capture", "stop", "start", "capture", "stop" }, source.Calls);
        Assert.False(source.Overlapped, "StartWatching ran while the source was still watching");
    }

    [Fact]
    public async Task Hub_AppStops_LoopStopsWatchingAndEndsWhilePagesAreOpen()
    {
        var time = new ArmedClock();
        var source = new CountingSource();
        using var stopping = new CancellationTokenSource();
        var hub = new DashboardHub(source, new CorralDashboardOptions(), time, NullLogger.Instance, stopping.Token);
        using var page = hub.Subscribe();
        await ReadAsync(page);
        await time.NextTimerAsync();

        stopping.Cancel(); // ends the loop's wait; the clock does not move

        await hub.LastLoop.Within();
        Assert.False(hub.IsRunning);
        Assert.Equal(new[] { "start", "capture", "stop" }, source.Calls);
    }

    [Fact]
    public async Task Hub_SourceThrowsFromStartWatching_PagesStreamsEndAndTheNextPageStartsAFreshLoop()
    {
        var time = new ArmedClock();
        var source = new CountingSource { FailNextStart = true };
        using var logs = new LogSink();
        var hub = new DashboardHub(source, new CorralDashboardOptions(), time, logs.CreateLogger("Corral.Dashboard"), CancellationToken.None);

        var page = hub.Subscribe();
        Assert.False(await page.Frames.WaitToReadAsync().AsTask().Within(), "the page's stream should have ended without a frame");
        await hub.LastLoop.Within();
        Assert.False(hub.IsRunning);
        var entry = Assert.Single(logs.Entries, e => e.EventId.Name == "UpdateLoopFailed");
        Assert.Equal(LogLevel.Error, entry.Level);
        page.Dispose(); // the browser's request ends; it reconnects

        using var again = hub.Subscribe();
        Assert.Equal(1, SeqOf(await ReadAsync(again)));
        Assert.Equal(new[] { "start failed", "start", "capture" }, source.Calls);
    }

    [Fact]
    public async Task Hub_CaptureFails_FrameCarriesTheMessageAndTheLoopGoesOn()
    {
        var time = new ArmedClock();
        var source = new CountingSource { FailWith = "process 42 is gone" };
        var hub = NewHub(source, time);
        using var page = hub.Subscribe();

        var frame = await ReadAsync(page);
        using var doc = JsonDocument.Parse(DataOf(frame));
        Assert.Equal("process 42 is gone", doc.RootElement.GetProperty("error").GetString());
        Assert.False(doc.RootElement.TryGetProperty("snapshot", out _));

        source.FailWith = null;
        await time.NextTimerAsync();
        time.Advance(s_interval);
        using var next = JsonDocument.Parse(DataOf(await ReadAsync(page)));
        Assert.Equal(JsonValueKind.Null, next.RootElement.GetProperty("error").ValueKind);
        Assert.Equal(TaskTreeSnapshot.SchemaVersion, next.RootElement.GetProperty("snapshot").GetProperty("schema").GetString());
    }

    /// <summary>
    /// The server's half of "a change in the app shows on the page within 2 s" (issue 17), without timing: the first update
    /// after a change carries it. The page renders every frame it is pushed (PageTests), one per update interval.
    /// </summary>
    [Fact]
    public async Task Hub_TreeChangesBetweenUpdates_NextFrameShowsThem()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var time = new ArmedClock();
        using var source = new InProcessSource();
        var hub = NewHub(source, time);
        using var page = hub.Subscribe();
        Assert.Null(FindNode(await ReadAsync(page), "late-" + id));
        await time.NextTimerAsync();

        var release = Gate.New();
        var started = Gate.New<TaskGroup>();
        var run = TaskGroup.RunAsync(
            g =>
            {
                g.Start(_ => release.Task, "holdout-" + id); // ignores its token until the test releases it
                started.SetResult(g);
                return Task.CompletedTask;
            },
            new TaskGroupOptions { Name = "late-" + id });
        try
        {
            var group = await started.Task.Within();
            var shown = await NextUpdateAsync(time, page);
            Assert.Equal("running", FindNode(shown, "late-" + id)?.GetProperty("state").GetString());
            Assert.Equal("running", FindNode(shown, "holdout-" + id)?.GetProperty("state").GetString());

            group.Cancel("cancelled by the test");
            var cancelled = await NextUpdateAsync(time, page);
            Assert.Equal("cancelling", FindNode(cancelled, "late-" + id)?.GetProperty("state").GetString());
            Assert.Equal($"scope 'late-{id}': cancelled by the test", FindNode(cancelled, "holdout-" + id)?.GetProperty("cancelReason").GetString());
        }
        finally
        {
            release.TrySetResult();
            await run.Within();
        }

        Assert.Null(FindNode(await NextUpdateAsync(time, page), "late-" + id));
        page.Dispose();
        time.Advance(s_interval);
        await hub.LastLoop.Within();
    }

    [Fact]
    public void Build_HostileNamesAndLineBreaks_OneDataLineOfJsonThatKeepsThem()
    {
        var name = "<img src=x onerror=alert(1)>\nline two\r\n\"quoted\" </script>";
        var snapshot = new TaskTreeSnapshot(DateTimeOffset.UnixEpoch, 7, [Node(5, name, [])]);
        var capture = new DashboardCapture(snapshot, SnapshotJson: null, [Report(5, name)], 3);

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
    public void Build_OwnSnapshot_TheSameJsonAsToJson()
    {
        var stack = new TaskTreeStackTrace(
            TaskTreeStackStatus.Suspended,
            [new TaskTreeFrame("Exporter.FlushAsync", TaskTreeFrameKind.Method, "Shop.Exporter", "/_/Exporter.cs", 57, 9), new TaskTreeFrame("Program.Main", TaskTreeFrameKind.Lambda, null, null, null, null)],
            new TaskTreeAwait(TaskTreeAwaitKind.Delay, "Task.Delay (1.2s left, without a token)", TimeSpan.FromSeconds(1.2), null, "Task.Delay"),
            null);
        var snapshot = new TaskTreeSnapshot(
            DateTimeOffset.UnixEpoch,
            7,
            [new TaskTreeNode(5, TaskTreeNodeKind.TaskGroup, "g \"é\"", null, TaskTreeNodeState.Running, TimeSpan.FromSeconds(2), DateTimeOffset.UnixEpoch.AddHours(1), false, false, null, null, [Node(6, "b", [])]),
             new TaskTreeNode(7, TaskTreeNodeKind.Task, "t", "X.cs:3", TaskTreeNodeState.Running, TimeSpan.FromMilliseconds(1.2345), null, false, false, null, null, [], stack)]);
        var capture = new DashboardCapture(snapshot, SnapshotJson: null, [], 0);

        var text = Encoding.UTF8.GetString(DashboardFrame.Build(1, "t", false, TimeSpan.FromSeconds(1), capture, null, "running", [], sizeHint: 10).Span);

        using var doc = JsonDocument.Parse(DataOf(text));
        Assert.Equal(snapshot.ToJson(), doc.RootElement.GetProperty("snapshot").GetRawText()); // written in place, byte for byte what ToJson writes
    }

    [Fact]
    public void Build_IndentedJsonFromAnotherProcess_WrittenCompact()
    {
        var snapshot = new TaskTreeSnapshot(DateTimeOffset.UnixEpoch, 7, [Node(5, "a", [Node(6, "b", [])])]);
        var capture = new DashboardCapture(snapshot, snapshot.ToJson(indented: true), [], 0);

        var text = Encoding.UTF8.GetString(DashboardFrame.Build(1, "t", false, TimeSpan.FromSeconds(1), capture, null, "running", []).Span);

        Assert.Equal(4, text.Split('\n').Length);
        using var doc = JsonDocument.Parse(DataOf(text));
        Assert.Equal("b", doc.RootElement.GetProperty("snapshot").GetProperty("roots")[0].GetProperty("children")[0].GetProperty("name").GetString());
    }

    [Fact]
    public void Build_MalformedJsonFromAnotherProcess_Throws()
    {
        var snapshot = new TaskTreeSnapshot(DateTimeOffset.UnixEpoch, 7, []);
        var capture = new DashboardCapture(snapshot, "{\"roots\": [", [], 0);

        Assert.ThrowsAny<JsonException>(() => DashboardFrame.Build(1, "t", false, TimeSpan.FromSeconds(1), capture, null, "running", []));
    }

    private static DashboardHub NewHub(DashboardSource source, TimeProvider time) =>
        new(source, new CorralDashboardOptions(), time, NullLogger.Instance, CancellationToken.None);

    private static TaskTreeNode Node(long id, string name, IReadOnlyList<TaskTreeNode> children) =>
        new(id, TaskTreeNodeKind.Task, name, "X.cs:1", TaskTreeNodeState.Cancelling, TimeSpan.FromSeconds(1), null, false, false, "r", TimeSpan.FromSeconds(1), children);

    private static DashboardReport Report(long id, string name) =>
        new(id, name, "X.cs:1", "g", "r", TimeSpan.FromSeconds(1), 1, DateTimeOffset.UnixEpoch, "watchdog");

    private static string DataOf(string frame) => frame.Split('\n').Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..];

    private static long SeqOf(string frame)
    {
        using var doc = JsonDocument.Parse(DataOf(frame));
        return doc.RootElement.GetProperty("seq").GetInt64();
    }

    /// <summary>The snapshot node named <paramref name="name"/> in a frame (cloned out of the document), or null.</summary>
    private static JsonElement? FindNode(string frame, string name)
    {
        using var doc = JsonDocument.Parse(DataOf(frame));
        var pending = new Stack<JsonElement>(doc.RootElement.GetProperty("snapshot").GetProperty("roots").EnumerateArray());
        while (pending.TryPop(out var node))
        {
            if (node.GetProperty("name").GetString() == name)
            {
                return node.Clone();
            }

            foreach (var child in node.GetProperty("children").EnumerateArray())
            {
                pending.Push(child);
            }
        }

        return null;
    }

    private static async Task<string> ReadAsync(DashboardSubscription page)
    {
        var bytes = await page.Frames.ReadAsync().AsTask().Within();
        return Encoding.UTF8.GetString(bytes.Span);
    }

    /// <summary>Moves the clock one interval (the loop is waiting) and returns the frame of that update once the turn is over.</summary>
    private static async Task<string> NextUpdateAsync(ArmedClock time, DashboardSubscription page)
    {
        time.Advance(s_interval);
        await time.NextTimerAsync();
        return await ReadAsync(page);
    }

    /// <summary>A fake clock that signals every timer armed on it: the hub's loop arms one per wait (Task.Delay).</summary>
    private sealed class ArmedClock : FakeTimeProvider
    {
        private readonly Channel<bool> _armed = Channel.CreateUnbounded<bool>();
        private int _created;

        public int TimersCreated => Volatile.Read(ref _created);

        /// <summary>Waits until a timer not waited for before was armed (the loop's turn is over: an Advance wakes it).</summary>
        public Task NextTimerAsync() => _armed.Reader.ReadAsync().AsTask().Within();

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = base.CreateTimer(callback, state, dueTime, period);
            Interlocked.Increment(ref _created);
            _armed.Writer.TryWrite(true);
            return timer;
        }
    }

    /// <summary>A source that records what the hub asks of it, in order.</summary>
    private sealed class CountingSource : DashboardSource
    {
        private readonly ConcurrentQueue<string> _calls = new();
        private int _captures;
        private int _watching;
        private volatile bool _overlapped;
        private volatile string? _failWith;
        private volatile bool _failNextStart;

        public string[] Calls => _calls.ToArray();

        public int Captures => Volatile.Read(ref _captures);

        public bool Overlapped => _overlapped;

        public string? FailWith
        {
            get => _failWith;
            set => _failWith = value;
        }

        public bool FailNextStart
        {
            get => _failNextStart;
            set => _failNextStart = value;
        }

        /// <summary>Runs inside StopWatching, before it returns (on the hub's loop).</summary>
        public Action? OnStopWatching { get; set; }

        public override string Title => "test";

        public override string ChartLabel => "running";

        public override void StartWatching()
        {
            if (_failNextStart)
            {
                _failNextStart = false;
                _calls.Enqueue("start failed");
                throw new InvalidOperationException("the meter listener could not start");
            }

            _calls.Enqueue("start");
            if (Interlocked.Increment(ref _watching) != 1)
            {
                _overlapped = true;
            }
        }

        public override void StopWatching()
        {
            OnStopWatching?.Invoke();
            Interlocked.Decrement(ref _watching);
            _calls.Enqueue("stop");
        }

        public override Task<DashboardCapture> CaptureAsync(CancellationToken cancellationToken)
        {
            if (_failWith is { } message)
            {
                _calls.Enqueue("capture failed");
                throw new DashboardSourceException(message);
            }

            Interlocked.Increment(ref _captures);
            _calls.Enqueue("capture");
            var snapshot = new TaskTreeSnapshot(DateTimeOffset.UnixEpoch, 1, []);
            return Task.FromResult(new DashboardCapture(snapshot, SnapshotJson: null, [], 0));
        }
    }
}
