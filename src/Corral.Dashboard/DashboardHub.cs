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
// THE LOOP'S LIFE. Subscribe starts a loop when none runs. The loop alternates two phases, both in its own flow:
//
//   StartWatching -> [capture, offer, wait the interval]* -> (no page left) -> StopWatching -> (a page came meanwhile?)
//        ^                                                                                      |yes            |no
//        +--------------------------------------------------------------------------------------+      clear _loop, end
//
// So the source's StartWatching and StopWatching are called by one flow, in turn: they cannot overlap, by construction
// (an earlier version started a second loop that awaited the first; that held too, but only as long as every path kept
// the chain, and a test could not tell a loop waiting for its predecessor from one not yet scheduled).
//
// INVARIANTS (under _gate):
//   * at most one loop runs: _loop is set by Subscribe when it is null, and cleared only by that loop, as its last act,
//     after StopWatching returned and it found no page (or the app stopping) under _gate; or, if the source threw, by the
//     loop's failure path;
//   * an open page always has a loop to serve it (unless the app is stopping): case 2 below is where this could break;
//   * _latest, _lastCapture and the chart are set only while a loop watches (dropped when it stops: nothing is kept for
//     nobody).
//
// RACES; the cases are:
//   1. The last page closes while the loop waits: the loop wakes at the end of the interval, finds no page under _gate,
//      drops the frame and the chart, and calls StopWatching after it left the lock.
//   2. A page opens while the loop stops watching (after case 1 decided, before the loop ended): Subscribe sees _loop
//      set and only adds the page (no frame to hand it: _latest is gone). The loop, back under _gate after StopWatching,
//      finds the page and starts watching again; so the page is served, and StopWatching returned before the next
//      StartWatching. Had Subscribe started a second loop here, the two would race on the source.
//   3. A page opens after the loop ended: _loop is null, Subscribe starts a new loop; the old one's StopWatching had
//      returned before it cleared _loop under _gate.
//   4. A page opens while a capture is under way: it gets _latest (if any) at once and then the capture's frame.
//   5. A page closes while a frame is offered to it: offering to a completed channel is a no-op.
//   6. The app stops: _stopping ends the wait and any slow capture; the loop stops watching and ends even if pages are
//      still subscribed (they end their streams on the same token).
//   7. The source throws from StartWatching or StopWatching (a capture's failure is a frame, never a throw): the loop
//      logs it, clears _loop and the frame, and ends every open page's stream. Browsers reconnect (the stream's retry is
//      2 s) and the next page starts a fresh loop. Without this, a dead loop would keep _loop set and no page would ever
//      get a frame again.
//
// LIMITS. The interval is a floor between captures, not a rate: a capture slower than the interval (another process
// read over EventPipe) paces the loop itself. The last page's leaving is noticed at the end of the current interval.
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

    private static readonly Action<ILogger, Exception?> s_loopFailed = LoggerMessage.Define(
        LogLevel.Error, new EventId(3, "UpdateLoopFailed"), "Corral dashboard: the update loop failed; open pages reconnect and start a new one.");

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

    /// <summary>The running loop (watching, or stopping to watch), or null.</summary>
    private Task? _loop;

    /// <summary>The last loop started (finished or not), for tests to wait until it ended.</summary>
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

    /// <summary>Gets a value indicating whether a loop runs (a page is open, or the last one closed and the loop has not ended yet).</summary>
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
                _loop = _lastLoop = Task.Run(RunAsync, CancellationToken.None); // off this thread: the source is never called under _gate
            }
            else if (_latest is { } latest)
            {
                subscription.Offer(latest);
            }

            AssertInvariants();
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

    /// <summary>The loop: watches while pages are open, stops watching when none is left, and ends unless one came meanwhile.</summary>
    private async Task RunAsync()
    {
        var ended = false;
        try
        {
            do
            {
                _source.StartWatching();
                try
                {
                    await WatchAsync().ConfigureAwait(false);
                }
                finally
                {
                    _source.StopWatching();
                }
            }
            while (!TryEnd());

            ended = true;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            s_loopFailed(_logger, e);
        }
        finally
        {
            if (!ended)
            {
                Abandon(); // race case 7
            }
        }
    }

    /// <summary>Captures and offers one frame per interval until no page is left or the app stops; then drops the frame and chart.</summary>
    private async Task WatchAsync()
    {
        while (true)
        {
            lock (_gate)
            {
                AssertInvariants();
                if (_subscribers.Count == 0 || _stopping.IsCancellationRequested)
                {
                    // Race case 1: nobody watches; the caller stops watching outside the lock.
                    _latest = null;
                    _lastCapture = null;
                    _chart.Clear();
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
                    // the app is stopping: the check at the top ends the watch
                }
            }
        }
    }

    /// <summary>After the source stopped watching: ends the loop (clears <see cref="_loop"/>) unless a page opened meanwhile.</summary>
    /// <returns>True when the loop ended; false when it must watch again (race case 2).</returns>
    private bool TryEnd()
    {
        lock (_gate)
        {
            AssertInvariants();
            if (_subscribers.Count > 0 && !_stopping.IsCancellationRequested)
            {
                return false;
            }

            // INVARIANT: StopWatching has returned; from here a Subscribe starts a new loop (race case 3).
            _loop = null;
            return true;
        }
    }

    /// <summary>The source threw: clears the loop and ends every open page's stream, so browsers reconnect to a new loop.</summary>
    private void Abandon()
    {
        DashboardSubscription[] pages;
        lock (_gate)
        {
            _loop = null;
            _latest = null;
            _lastCapture = null;
            _chart.Clear();
            pages = _subscribers.ToArray();
            _subscribers.Clear();
            AssertInvariants();
        }

        foreach (var page in pages)
        {
            page.End();
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
        int sizeHint;
        lock (_gate)
        {
            sizeHint = _latest?.Length ?? 0; // the tree changes little between two updates: neither does its frame
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
            return DashboardFrame.Build(seq, _source.Title, _source.CanCancel && _options.EnableCancel, _options.UpdateInterval, capture, error, _source.ChartLabel, chart, sizeHint);
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
        Debug.Assert(_loop is not null || _subscribers.Count == 0 || _stopping.IsCancellationRequested, "an open page has no loop to serve it");
    }
}
