// What the page receives: one server-sent event per update,
//
//   event: frame
//   data: {"seq":N,"title":…,"canCancel":bool,"intervalMs":…,"takenAtMs":…,
//          "snapshot":{…schema corral.tasktree/N, as TaskTreeSnapshot.ToJson wrote it…},
//          "watchdog":[{"taskId","taskName","site","group","reason","sinceCancelledMs","reportNumber","reportedAtMs","source"}…],
//          "chart":{"label":…,"points":[[unixMs,value]…]},
//          "error":null|string}
//
// This process's snapshot is written straight into the frame by the writer of its documented schema (TaskTreeJson.Write,
// the same code as TaskTreeSnapshot.ToJson): no JSON string in between, which cost a 10k-node update 16.5 MB
// (docs/benchmarks.md). Another process's snapshot is passed on as it came (parsed, written compact), so fields added to
// the schema later reach the page without a change here. Every string is escaped by Utf8JsonWriter; the page renders
// every name and reason as text (textContent), never as HTML.
// A frame is one line (compact JSON escapes newlines inside strings), as an SSE `data:` field must be.
using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Corral.Diagnostics;

namespace Corral.Dashboard;

/// <summary>Builds the bytes of one server-sent event for the page.</summary>
internal static class DashboardFrame
{
    /// <summary>The event's name.</summary>
    internal const string EventName = "frame";

    /// <summary>The JSON nesting a frame allows: well over a snapshot's deepest (<see cref="TaskTreeJson.MaxDepth"/>) below
    /// the frame's object, so that another process's snapshot with a few more levels still passes.</summary>
    private const int MaxDepth = 2048;

    /// <summary>The bytes before the JSON.</summary>
    private static readonly byte[] s_prefix = Encoding.UTF8.GetBytes("event: " + EventName + "\ndata: ");

    /// <summary>The bytes after the JSON.</summary>
    private static readonly byte[] s_suffix = Encoding.UTF8.GetBytes("\n\n");

    /// <summary>Writes a frame: the capture's tree (or the error, keeping the page's last tree), reports and chart.</summary>
    /// <param name="seq">The frame's number.</param>
    /// <param name="title">What the page's title names.</param>
    /// <param name="canCancel">Whether the page offers the cancel action.</param>
    /// <param name="interval">The update interval.</param>
    /// <param name="capture">The capture, or null when it failed.</param>
    /// <param name="error">Why the capture failed, or null.</param>
    /// <param name="chartLabel">The chart's label.</param>
    /// <param name="chart">The chart's points: (Unix milliseconds, value), oldest first.</param>
    /// <param name="sizeHint">The bytes the frame is expected to take (the previous frame's length), so that its buffer is
    /// allocated once at the right size instead of doubling as the tree is written; 0 when unknown.</param>
    /// <returns>The whole event, ready to write to each open page (never modified afterwards).</returns>
    public static ReadOnlyMemory<byte> Build(
        long seq,
        string title,
        bool canCancel,
        TimeSpan interval,
        DashboardCapture? capture,
        string? error,
        string chartLabel,
        IReadOnlyList<(long UnixMs, long Value)> chart,
        int sizeHint = 0)
    {
        // Sized so that the buffer rarely grows (each growth copies it): the previous frame plus a tenth, or, for another
        // process's snapshot, its JSON (an ASCII tree), plus the reports and the chart.
        var estimate = (capture is null ? 0 : ((capture.SnapshotJson?.Length ?? 0) * 11 / 10) + (capture.Reports.Count * 512)) + (chart.Count * 32) + 4096;
        var buffer = new ArrayBufferWriter<byte>(Math.Max(estimate, sizeHint + (sizeHint / 10)));
        buffer.Write(s_prefix);
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true, MaxDepth = MaxDepth }))
        {
            w.WriteStartObject();
            w.WriteNumber("seq", seq);
            w.WriteString("title", title);
            w.WriteBoolean("canCancel", canCancel);
            w.WriteNumber("intervalMs", (long)interval.TotalMilliseconds);
            if (capture is not null)
            {
                w.WriteNumber("takenAtMs", capture.Snapshot.TakenAt.ToUnixTimeMilliseconds());
                w.WritePropertyName("snapshot");
                if (capture.SnapshotJson is null)
                {
                    TaskTreeJson.Write(w, capture.Snapshot); // compact: this writer does not indent
                }
                else
                {
                    // From another process: parse it (a malformed answer throws here, not in the page) and write it
                    // compact, so no line break can end the SSE data field early.
                    using var doc = JsonDocument.Parse(capture.SnapshotJson, new JsonDocumentOptions { MaxDepth = MaxDepth });
                    doc.RootElement.WriteTo(w);
                }

                w.WriteStartArray("watchdog");
                foreach (var r in capture.Reports)
                {
                    w.WriteStartObject();
                    w.WriteNumber("taskId", r.TaskId);
                    w.WriteString("taskName", r.TaskName);
                    w.WriteString("site", r.Site);
                    w.WriteString("group", r.GroupName);
                    w.WriteString("reason", r.Reason);
                    w.WriteNumber("sinceCancelledMs", Math.Round(r.SinceCancelled.TotalMilliseconds));
                    w.WriteNumber("reportNumber", r.ReportNumber);
                    w.WriteNumber("reportedAtMs", r.ReportedAt.ToUnixTimeMilliseconds());
                    w.WriteString("source", r.Source);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteStartObject("chart");
            w.WriteString("label", chartLabel);
            w.WriteStartArray("points");
            foreach (var (unixMs, value) in chart)
            {
                w.WriteStartArray();
                w.WriteNumberValue(unixMs);
                w.WriteNumberValue(value);
                w.WriteEndArray();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteString("error", error);
            w.WriteEndObject();
        }

        buffer.Write(s_suffix);
        return buffer.WrittenMemory; // the writer is dropped here: nothing writes to its array again
    }
}
