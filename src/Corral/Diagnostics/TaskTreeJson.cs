// The task tree's JSON: the writer and the reader of the documented, versioned schema (TaskTreeSnapshot.ToJson and
// FromJson; the dashboard writes a snapshot straight into its frame with Write, without a string in between).
//
// The JSON is for tools, not for HTML: quotes and apostrophes in names stay readable (relaxed escaping).
// JSON schema "corral.tasktree/2" (additive changes keep the version; removals or renames bump it). FromJson also reads
// "corral.tasktree/1" (the same without "stack"), so a new reader keeps working against an old process; an old reader
// refuses /2 with a clear version error (the corral tool's exit code 4).
//   { "schema": "corral.tasktree/2", "takenAt": ISO-8601, "processId": int, "roots": [node, ...] }
//   node = { "id": int, "kind": "scope"|"shield"|"taskGroup"|"task", "name": string|null, "site": string|null,
//            "state": "running"|"cancelling"|"finished", "ageMs": number, "deadline": ISO-8601|null,
//            "shield": bool, "cancelCalled": bool, "cancelReason": string|null, "cancelledForMs": number|null,
//            "stack": stack|null, "children": [node, ...] }
//   stack = { "status": "suspended"|"running"|"unavailable", "frames": [frame, ...] (innermost first),
//             "awaiting": awaiting|null, "note": string|null }
//   frame = { "method": string, "kind": "method"|"lambda"|"localFunction", "type": string|null, "file": string|null,
//             "line": int|null, "column": int|null }
//   awaiting = { "kind": string (TaskTreeAwaitKind, camelCase; unknown kinds read as "other"), "description": string,
//                "timeLeftMs": number|null, "targetId": int|null, "call": string|null }
// docs/concepts/introspection.md documents the same schema for users.
using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Corral.Diagnostics;

/// <summary>Writes and reads task-tree snapshots in the <see cref="TaskTreeSnapshot.SchemaVersion"/> JSON schema.</summary>
internal static class TaskTreeJson
{
    /// <summary>JSON nesting a snapshot needs at most: two levels per tree level (the node and its children array), plus
    /// the envelope and a stack. A writer that embeds a snapshot allows this much more than its own nesting.</summary>
    internal const int MaxDepth = (4 * TaskTree.MaxDepth) + 24;

    /// <summary>The previous schema, still read by <see cref="Read"/>: the same without stacks.</summary>
    private const string SchemaVersion1 = "corral.tasktree/1";

    /// <summary>Every await kind, for reading their JSON names.</summary>
    private static readonly TaskTreeAwaitKind[] s_awaitKinds =
    [
        TaskTreeAwaitKind.Other, TaskTreeAwaitKind.Sleep, TaskTreeAwaitKind.Delay, TaskTreeAwaitKind.Yield, TaskTreeAwaitKind.ChannelRead,
        TaskTreeAwaitKind.ChannelWrite, TaskTreeAwaitKind.CapacityLimiter, TaskTreeAwaitKind.Semaphore, TaskTreeAwaitKind.TaskCompletionSource,
        TaskTreeAwaitKind.WhenAll, TaskTreeAwaitKind.WhenAny, TaskTreeAwaitKind.ThreadPoolWork, TaskTreeAwaitKind.CorralTask,
        TaskTreeAwaitKind.TaskGroup, TaskTreeAwaitKind.Scope,
    ];

    /// <summary>The snapshot as JSON text (<see cref="TaskTreeSnapshot.ToJson"/>).</summary>
    /// <remarks>Written to a growing byte buffer and decoded from it: no stream, and no copy of the bytes in between.</remarks>
    public static string ToJsonString(TaskTreeSnapshot snapshot, bool indented)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, MaxDepth = MaxDepth, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            Write(writer, snapshot);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Writes the snapshot as one JSON value (an object) at the writer's position.</summary>
    /// <param name="writer">Where to write: its options decide indentation and escaping; its maximum depth must leave
    /// <see cref="MaxDepth"/> levels below the position.</param>
    /// <param name="snapshot">The snapshot.</param>
    public static void Write(Utf8JsonWriter writer, TaskTreeSnapshot snapshot)
    {
        writer.WriteStartObject();
        writer.WriteString("schema", TaskTreeSnapshot.SchemaVersion);
        writer.WriteString("takenAt", snapshot.TakenAt);
        writer.WriteNumber("processId", snapshot.ProcessId);
        writer.WriteStartArray("roots");
        foreach (var node in snapshot.Roots)
        {
            WriteNode(writer, node);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>Reads a snapshot (<see cref="TaskTreeSnapshot.FromJson"/>).</summary>
    /// <exception cref="FormatException">The text is not a task-tree snapshot of a known schema.</exception>
    public static TaskTreeSnapshot Read(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = MaxDepth });
            var root = doc.RootElement;
            var schema = root.GetProperty("schema").GetString();
            if (schema != TaskTreeSnapshot.SchemaVersion && schema != SchemaVersion1)
            {
                throw new FormatException($"Unknown task-tree schema '{schema}'; this version of Corral reads '{TaskTreeSnapshot.SchemaVersion}' and '{SchemaVersion1}'.");
            }

            var roots = new List<TaskTreeNode>();
            foreach (var node in root.GetProperty("roots").EnumerateArray())
            {
                roots.Add(ReadNode(node));
            }

            return new TaskTreeSnapshot(
                root.GetProperty("takenAt").GetDateTimeOffset(),
                root.GetProperty("processId").GetInt32(),
                roots);
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException("The text is not a Corral task-tree snapshot.", e);
        }
    }

    private static void WriteNode(Utf8JsonWriter writer, TaskTreeNode node)
    {
        writer.WriteStartObject();
        writer.WriteNumber("id", node.Id);
        writer.WriteString("kind", node.Kind switch
        {
            TaskTreeNodeKind.TaskGroup => "taskGroup",
            TaskTreeNodeKind.Task => "task",
            TaskTreeNodeKind.Shield => "shield",
            _ => "scope",
        });
        writer.WriteString("name", node.Name);
        writer.WriteString("site", node.Site);
        writer.WriteString("state", node.State switch
        {
            TaskTreeNodeState.Cancelling => "cancelling",
            TaskTreeNodeState.Finished => "finished",
            _ => "running",
        });
        writer.WriteNumber("ageMs", Math.Round(node.Age.TotalMilliseconds, 3));
        if (node.Deadline is { } d)
        {
            writer.WriteString("deadline", d);
        }
        else
        {
            writer.WriteNull("deadline");
        }

        writer.WriteBoolean("shield", node.Shield);
        writer.WriteBoolean("cancelCalled", node.CancelCalled);
        writer.WriteString("cancelReason", node.CancelReason);
        WriteMillisecondsOrNull(writer, "cancelledForMs", node.CancelledFor);

        if (node.Stack is { } stack)
        {
            WriteStack(writer, stack);
        }
        else
        {
            writer.WriteNull("stack");
        }

        writer.WriteStartArray("children");
        foreach (var child in node.Children)
        {
            WriteNode(writer, child);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteStack(Utf8JsonWriter writer, TaskTreeStackTrace stack)
    {
        writer.WriteStartObject("stack");
        writer.WriteString("status", stack.Status switch
        {
            TaskTreeStackStatus.Running => "running",
            TaskTreeStackStatus.Unavailable => "unavailable",
            _ => "suspended",
        });
        writer.WriteStartArray("frames");
        foreach (var frame in stack.Frames)
        {
            writer.WriteStartObject();
            writer.WriteString("method", frame.Method);
            writer.WriteString("kind", frame.Kind switch
            {
                TaskTreeFrameKind.Lambda => "lambda",
                TaskTreeFrameKind.LocalFunction => "localFunction",
                _ => "method",
            });
            writer.WriteString("type", frame.TypeFullName);
            writer.WriteString("file", frame.File);
            WriteNumberOrNull(writer, "line", frame.Line);
            WriteNumberOrNull(writer, "column", frame.Column);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        if (stack.Awaiting is { } awaiting)
        {
            writer.WriteStartObject("awaiting");
            writer.WriteString("kind", AwaitKindName(awaiting.Kind));
            writer.WriteString("description", awaiting.Description);
            WriteMillisecondsOrNull(writer, "timeLeftMs", awaiting.TimeLeft);
            WriteNumberOrNull(writer, "targetId", awaiting.TargetId);

            writer.WriteString("call", awaiting.Call);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteNull("awaiting");
        }

        writer.WriteString("note", stack.Note);
        writer.WriteEndObject();
    }

    /// <summary>The JSON name of an await kind: the enum member's name in camelCase.</summary>
    private static string AwaitKindName(TaskTreeAwaitKind kind) => kind switch
    {
        TaskTreeAwaitKind.Sleep => "sleep",
        TaskTreeAwaitKind.Delay => "delay",
        TaskTreeAwaitKind.Yield => "yield",
        TaskTreeAwaitKind.ChannelRead => "channelRead",
        TaskTreeAwaitKind.ChannelWrite => "channelWrite",
        TaskTreeAwaitKind.CapacityLimiter => "capacityLimiter",
        TaskTreeAwaitKind.Semaphore => "semaphore",
        TaskTreeAwaitKind.TaskCompletionSource => "taskCompletionSource",
        TaskTreeAwaitKind.WhenAll => "whenAll",
        TaskTreeAwaitKind.WhenAny => "whenAny",
        TaskTreeAwaitKind.ThreadPoolWork => "threadPoolWork",
        TaskTreeAwaitKind.CorralTask => "corralTask",
        TaskTreeAwaitKind.TaskGroup => "taskGroup",
        TaskTreeAwaitKind.Scope => "scope",
        _ => "other",
    };

    private static void WriteNumberOrNull(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>A duration as milliseconds rounded to the microsecond, or null.</summary>
    private static void WriteMillisecondsOrNull(Utf8JsonWriter writer, string name, TimeSpan? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, Math.Round(v.TotalMilliseconds, 3));
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static TaskTreeStackTrace? ReadStack(JsonElement node)
    {
        if (!node.TryGetProperty("stack", out var e) || e.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var frames = new List<TaskTreeFrame>();
        foreach (var f in e.GetProperty("frames").EnumerateArray())
        {
            frames.Add(new TaskTreeFrame(
                f.GetProperty("method").GetString() ?? throw new FormatException("A frame has no method."),
                f.GetProperty("kind").GetString() switch
                {
                    "lambda" => TaskTreeFrameKind.Lambda,
                    "localFunction" => TaskTreeFrameKind.LocalFunction,
                    _ => TaskTreeFrameKind.Method,
                },
                f.GetProperty("type").GetString(),
                f.GetProperty("file").GetString(),
                ValueOrNull(f, "line")?.GetInt32(),
                ValueOrNull(f, "column")?.GetInt32()));
        }

        TaskTreeAwait? awaiting = null;
        if (e.GetProperty("awaiting") is { ValueKind: JsonValueKind.Object } a)
        {
            // A kind this version does not know (a newer writer's) reads as Other: the description still says what it is.
            var kindName = a.GetProperty("kind").GetString();
            var kind = TaskTreeAwaitKind.Other;
            foreach (var candidate in s_awaitKinds)
            {
                if (AwaitKindName(candidate) == kindName)
                {
                    kind = candidate;
                }
            }

            awaiting = new TaskTreeAwait(
                kind,
                a.GetProperty("description").GetString() ?? string.Empty,
                MillisecondsOrNull(a, "timeLeftMs"),
                ValueOrNull(a, "targetId")?.GetInt64(),
                a.GetProperty("call").GetString());
        }

        return new TaskTreeStackTrace(
            e.GetProperty("status").GetString() switch
            {
                "running" => TaskTreeStackStatus.Running,
                "unavailable" => TaskTreeStackStatus.Unavailable,
                "suspended" => TaskTreeStackStatus.Suspended,
                var other => throw new FormatException($"Unknown stack status '{other}'."),
            },
            frames,
            awaiting,
            e.GetProperty("note").GetString());
    }

    private static TaskTreeNode ReadNode(JsonElement e)
    {
        var children = new List<TaskTreeNode>();
        foreach (var child in e.GetProperty("children").EnumerateArray())
        {
            children.Add(ReadNode(child));
        }

        return new TaskTreeNode(
            e.GetProperty("id").GetInt64(),
            e.GetProperty("kind").GetString() switch
            {
                "taskGroup" => TaskTreeNodeKind.TaskGroup,
                "task" => TaskTreeNodeKind.Task,
                "shield" => TaskTreeNodeKind.Shield,
                "scope" => TaskTreeNodeKind.Scope,
                var other => throw new FormatException($"Unknown node kind '{other}'."),
            },
            e.GetProperty("name").GetString(),
            e.GetProperty("site").GetString(),
            e.GetProperty("state").GetString() switch
            {
                "cancelling" => TaskTreeNodeState.Cancelling,
                "finished" => TaskTreeNodeState.Finished,
                "running" => TaskTreeNodeState.Running,
                var other => throw new FormatException($"Unknown node state '{other}'."),
            },
            TimeSpan.FromMilliseconds(e.GetProperty("ageMs").GetDouble()),
            ValueOrNull(e, "deadline")?.GetDateTimeOffset(),
            e.GetProperty("shield").GetBoolean(),
            e.GetProperty("cancelCalled").GetBoolean(),
            e.GetProperty("cancelReason").GetString(),
            MillisecondsOrNull(e, "cancelledForMs"),
            children,
            ReadStack(e));
    }

    /// <summary>A property that must be present: null when its value is JSON null.</summary>
    /// <exception cref="KeyNotFoundException">The property is missing.</exception>
    private static JsonElement? ValueOrNull(JsonElement obj, string name) =>
        obj.GetProperty(name) is { ValueKind: not JsonValueKind.Null } value ? value : null;

    /// <summary>A duration written in milliseconds, or null.</summary>
    private static TimeSpan? MillisecondsOrNull(JsonElement obj, string name) =>
        ValueOrNull(obj, name) is { } value ? TimeSpan.FromMilliseconds(value.GetDouble()) : null;
}
