// The Corral EventSource: the channel through which another process (the `corral` tool) reads this process's task tree.
//
// PROTOCOL (version 1). A reader opens an EventPipe session with the provider "Corral" at level Informational or more
// AND all keywords (over EventPipe a keyword mask of 0 delivers nothing), optionally with the argument  command=snapshot
// (and  requestId=<int>  to match answers to requests):
//   * every enable writes Hello(processId, corralVersion, protocolVersion), so a reader can tell a Corral process;
//   * command=snapshot also writes the current TaskTreeSnapshot as JSON (schema corral.tasktree/2), split into
//     SnapshotChunk(requestId, index, count, text) events of at most 16,000 characters, index 0 .. count-1.
// The target process needs nothing but a reference to Corral: EventSource commands are served by the runtime. The
// source is created with the first CancelScope (see CancelScope.s_eventSource), so a process answers once it used Corral.
using System;
using System.Diagnostics.Tracing;
using System.Reflection;
using System.Threading;

namespace Corral.Diagnostics;

/// <summary>Corral's <see cref="EventSource"/>: serves task-tree snapshots and carries watchdog reports.</summary>
[EventSource(Name = SourceName)]
internal sealed class CorralEventSource : EventSource
{
    /// <summary>The provider name readers enable.</summary>
    internal const string SourceName = "Corral";

    /// <summary>The version of the protocol described at the top of this file.</summary>
    internal const int ProtocolVersion = 1;

    /// <summary>The largest piece of JSON in one event, in characters (EventPipe events are limited to about 64 KB).</summary>
    internal const int ChunkSize = 16_000;

    /// <summary>
    /// The version of this Corral assembly as its package was versioned (<c>0.1.0-preview.0.42+commit</c>): the informational
    /// version, since the assembly version keeps only the major number (ADR 0019).
    /// </summary>
    internal static readonly string CorralVersion =
        typeof(CorralEventSource).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CorralEventSource).Assembly.GetName().Version?.ToString()
        ?? "0";

    /// <summary>The single instance.</summary>
    internal static readonly CorralEventSource Log = new();

    private CorralEventSource()
    {
    }

    /// <summary>Announces a Corral process to a reader.</summary>
    [Event(1, Level = EventLevel.Informational, Message = "Corral {1} in process {0}, protocol {2}")]
    public void Hello(int processId, string corralVersion, int protocolVersion) => WriteEvent(1, processId, corralVersion, protocolVersion);

    /// <summary>One piece of a task-tree snapshot in JSON.</summary>
    [Event(2, Level = EventLevel.Informational)]
    public void SnapshotChunk(int requestId, int index, int count, string json) => WriteEvent(2, requestId, index, count, json);

    /// <summary>A watchdog report: a task still running after its cancellation, and where it is (<c>Exporter.cs:57 in Exporter.FlushAsync, awaiting …</c>).</summary>
    /// <remarks>Version 1 added <paramref name="where"/> at the end; readers of version 0 read the same first six fields.</remarks>
    [Event(3, Level = EventLevel.Warning, Version = 1, Message = "Task '{1}' started at {2} still running {4:0.0}s after it was cancelled ({3}), at {6}; report #{5}")]
    public void TaskIgnoringCancellation(long taskId, string taskName, string site, string reason, double secondsSinceCancel, int reportNumber, string where)
    {
        if (IsEnabled(EventLevel.Warning, EventKeywords.All))
        {
            WriteEvent(3, taskId, taskName, site, reason, secondsSinceCancel, reportNumber, where);
        }
    }

    /// <summary>A watchdog report: a task reported before has ended.</summary>
    [Event(4, Level = EventLevel.Informational, Message = "Task '{1}' at {2} finished {3:0.0}s after it was cancelled")]
    public void TaskFinishedLate(long taskId, string taskName, string site, double secondsSinceCancel)
    {
        if (IsEnabled(EventLevel.Informational, EventKeywords.All))
        {
            WriteEvent(4, taskId, taskName, site, secondsSinceCancel);
        }
    }

    /// <summary>A watchdog event handler threw.</summary>
    [Event(5, Level = EventLevel.Error, Message = "A Corral watchdog handler threw: {0}")]
    public void HandlerFailed(string exception) => WriteEvent(5, exception);

    /// <inheritdoc/>
    protected override void OnEventCommand(EventCommandEventArgs command)
    {
        if (command.Command is not (EventCommand.Enable or EventCommand.Update))
        {
            return;
        }

        var wantsSnapshot = command.Arguments is { } args && args.TryGetValue("command", out var verb) && verb == "snapshot";
        var requestId = 0;
        if (command.Arguments is { } a && a.TryGetValue("requestId", out var id))
        {
            _ = int.TryParse(id, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out requestId);
        }

        // Answer off the command thread: the session is fully set up once the command has returned.
        ThreadPool.UnsafeQueueUserWorkItem(
            static state =>
            {
                var (source, snapshot, request) = state;
                source.Hello(Environment.ProcessId, CorralVersion, ProtocolVersion);
                if (snapshot)
                {
                    source.WriteSnapshot(request);
                }
            },
            (this, wantsSnapshot, requestId),
            preferLocal: false);
    }

    /// <summary>Writes the current snapshot as chunks.</summary>
    internal void WriteSnapshot(int requestId)
    {
        var json = TaskTree.Capture().ToJson();
        var count = Math.Max(1, (json.Length + ChunkSize - 1) / ChunkSize);
        for (var i = 0; i < count; i++)
        {
            var start = i * ChunkSize;
            SnapshotChunk(requestId, i, count, json.Substring(start, Math.Min(ChunkSize, json.Length - start)));
        }
    }
}
