// The hub behind one mapped dashboard: captures the tree while pages are open, and only then.
//
// THE PROBLEM. Every open page wants a fresh tree a few times a second; a capture of a large tree costs milliseconds and
// allocates its size twice (nodes, JSON). Capturing per page multiplies that by the pages; capturing on a timer that
// always runs costs even when nobody looks, which a production service must not pay for a dashboard nobody opened.
//
// THE SOLUTION. One loop per hub, started by the first page and ended by the last: each turn captures once, builds one
// frame (the bytes of one server-sent event) and offers the same array to every open page. Each page holds at most one
// frame waiting (a bounded channel of 1 that drops the older frame), so a slow page skips frames instead of queuing them
// or slowing the others. A page that opens while the loop runs gets the latest frame at once.
//
// INVARIANTS (under _gate):
//   * at most one loop runs; _loop is non-null from the moment a loop is started until that loop has seen no
//     subscriber under _gate and decided to end;
//   * _latest and the chart are non-empty only while a loop runs (dropped when it ends: nothing is kept for nobody).
//
// RACES; the cases are:
//   1. The last page closes while the loop waits: the loop wakes, finds no subscriber under _gate, clears _loop and
//      ends, calling StopWatching after it left the lock.
//   2. A page opens after the loop decided to end: Subscribe sees _loop == null and starts a new loop, which first waits
//      for the old one to finish, so the source's StopWatching always precedes the next StartWatching.
//   3. A page opens while a capture is under way: it gets _latest (if any) at once and then the capture's frame.
//   4. A page closes while a frame is offered to it: offering to a completed channel is a no-op.
//   5. The app stops: _stopping ends the wait and any slow capture; pages end their streams on the same token.
//
// LIMITS. The interval is a floor between captures, not a rate: a capture slower than the interval (another process
// read over EventPipe) paces the loop itself.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Corral.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Corral.Dashboard;

/// <summary>Captures the tree while pages watch and pushes one frame per update to each of them.</summary>
/// <remarks>
/// <list type="bullet">
/// <item>Thread-safe: pages subscribe and leave from any request thread.</item>
/// <item>Captures nothing while no page is subscribed.</item>
/// </list>
/// </remarks>
internal sealed class DashboardHub
{
    private static readonly Action<ILogger, Exception?> s_captureFailed = LoggerMessage.Define(
        LogLevel.Warning, new EventId(2, "CaptureFailed"), "Corral dashboard: taking the task tree failed.");

    /// <summary>Guards the fields below it.</summary>
    private readonly object _gate = new();

    /// <summary>Where trees come from.</summary>
    private readonly DashboardSource _source;

    /// <summary>The settings (copied).</summary>
    private readonly CorralDashboardOptions _options;

    /// <summary>The clock of the interval and the chart.</summary>
    private readonly TimeProvider _time;

    /// <summary>Where failed captures are logged.</summary>
    private readonly ILogger _logger;

    /// <summary>Fires when the app stops.</summary>
    private readonly CancellationToken _stopping;

    /// <summary>The open pages.</summary>
    private readonly List<DashboardSubscription> _subscribers = new();

    /// <summary>The chart's points, oldest first: (Unix milliseconds, value).</summary>
    private readonly Queue<(long UnixMs, long Value)> _chart = new();

    /// <summary>The running loop, or null.</summary>
    private Task? _loop;

    /// <summary>The last loop started (finished or not), for the next one to wait for.</summary>
    private Task _lastLoop = Task.CompletedTask;

    /// <summary>The latest frame, or null when no loop runs or none was built yet.</summary>
    private ReadOnlyMemory<byte>? _latest;

    /// <summary>The latest successful capture (for the cancel log's node name), or null.</summary>
    private DashboardCapture? _lastCapture;

    /// <summary>How many frames were built: the next frame's number.</summary>
    private long _seq;

    /// <summary>How many captures were taken (tests: nothing is captured while nobody watches).</summary>
    private long _captures;

    /// <summary>Initializes the hub.</summary>
    /// <param name="source">Where trees come from.</param>
    /// <param name="options">The settings, already copied and checked.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">Where failed captures are logged.</param>
    /// <param name="stopping">Fires when the app stops.</param>
    public DashboardHub(DashboardSource source, CorralDashboardOptions options, TimeProvider time, ILogger logger, CancellationToken stopping)
    {
        _source = source;
        _options = options;
        _time = time;
        _logger = logger;
        _stopping = stopping;
    }

    /// <summary>Gets the source.</summary>
    public DashboardSource Source => _source;

    /// <summary>Gets the number of captures taken so far.</summary>
    public long Captures => Interlocked.Read(ref _captures);

    /// <summary>Gets a value indicating whether the loop runs (a page is open, or the last one just closed).</summary>
    public bool IsRunning
    {
        get
        {
            lock (_gate)
            {
                return _loop is not null;
            }
        }
    }

    /// <summary>Gets the task of the last loop started, for tests to wait until it ended.</summary>
    internal Task LastLoop
    {
        get
        {
            lock (_gate)
            {
                return _lastLoop;
            }
        }
    }

    /// <summary>Adds a page: starts the loop if it is the first, and hands it the latest frame if there is one.</summary>
    /// <returns>The page's subscription; dispose it when the page goes.</returns>
    public DashboardSubscription Subscribe()
    {
        var subscription = new DashboardSubscription(this);
        lock (_gate)
        {
            AssertInvariants();
            _subscribers.Add(subscription);
            if (_loop is null)
            {
                var previous = _lastLoop;
                _loop = _lastLoop = Task.Run(() => RunAsync(previous), CancellationToken.None); // off this thread: never under _gate
            }
            else if (_latest is { } latest)
            {
                subscription.Offer(latest);
            }
        }

        return subscription;
    }

    /// <summary>Finds a node of the latest capture by id, for the cancel log.</summary>
    /// <param name="id">The node's id.</param>
    /// <returns>The node, or null.</returns>
    public TaskTreeNode? FindNode(long id)
    {
        DashboardCapture? capture;
        lock (_gate)
        {
            capture = _lastCapture;
        }

        var found = capture?.Snapshot.FindAll(n => n.Id == id);
        return found is { Count: > 0 } ? found[0] : null;
    }

    /// <summary>Removes a page.</summary>
    internal void Unsubscribe(DashboardSubscription subscription)
    {
        lock (_gate)
        {
            _subscribers.Remove(subscription);
            AssertInvariants();
        }
    }

    private async Task RunAsync(Task previous)
    {
        try
        {
            await previous.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The previous loop's failure was logged there; this loop starts afresh.
        }

        _source.StartWatching();
        try
        {
            while (true)
            {
                lock (_gate)
                {
                    if (_subscribers.Count == 0 || _stopping.IsCancellationRequested)
                    {
                        _loop = null;
                        _latest = null;
                        _lastCapture = null;
                        _chart.Clear();
                        AssertInvariants();
                        return;
                    }
                }

                var started = _time.GetTimestamp();
                var frame = await ProduceAsync().ConfigureAwait(false);
                DashboardSubscription[] pages;
                lock (_gate)
                {
                    _latest = frame;
                    pages = _subscribers.ToArray();
                }

                foreach (var page in pages)
                {
                    page.Offer(frame);
                }

                var wait = _options.UpdateInterval - _time.GetElapsedTime(started);
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, _time, _stopping).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        // the app is stopping: the check at the top ends the loop
                    }
                }
            }
        }
        finally
        {
            _source.StopWatching();
        }
    }

    /// <summary>Takes one capture and builds its frame; a failed capture becomes a frame with the error.</summary>
    private async Task<ReadOnlyMemory<byte>> ProduceAsync()
    {
        DashboardCapture? capture = null;
        string? error = null;
        try
        {
            capture = await _source.CaptureAsync(_stopping).ConfigureAwait(false);
            Interlocked.Increment(ref _captures);
        }
        catch (DashboardSourceException e)
        {
            error = e.Message;
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            error = "The application is stopping.";
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            s_captureFailed(_logger, e);
            error = "Taking the task tree failed: " + e.Message;
        }

        (long, long)[] chart;
        lock (_gate)
        {
            if (capture is not null)
            {
                _lastCapture = capture;
                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                _chart.Enqueue((now, capture.ChartValue));
                var oldest = now - (long)_options.ChartWindow.TotalMilliseconds;
                while (_chart.Count > 0 && _chart.Peek().UnixMs < oldest)
                {
                    _chart.Dequeue();
                }
            }

            chart = _chart.ToArray();
        }

        var seq = Interlocked.Increment(ref _seq);
        try
        {
            return DashboardFrame.Build(seq, _source.Title, _source.CanCancel && _options.EnableCancel, _options.UpdateInterval, capture, error, _source.ChartLabel, chart);
        }
        catch (Exception e) when (capture is not null && e is System.Text.Json.JsonException)
        {
            return DashboardFrame.Build(seq, _source.Title, false, _options.UpdateInterval, null, "The process sent a task tree that is not valid JSON: " + e.Message, _source.ChartLabel, chart);
        }
    }

    [Conditional("DEBUG")]
    private void AssertInvariants()
    {
        Debug.Assert(Monitor.IsEntered(_gate), "the hub's state is read and written under _gate");
        Debug.Assert(_loop is not null || (_latest is null && _chart.Count == 0), "a frame or chart outlived its loop");
    }
}
