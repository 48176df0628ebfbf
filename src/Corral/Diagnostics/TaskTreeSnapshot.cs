// A snapshot of the live task tree, and its two renderings: a pstree-like text tree and versioned JSON.
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
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Corral.Diagnostics;

/// <summary>
/// An immutable picture of every live scope, group and task in the process, taken by <see cref="TaskTree.Capture"/>.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="ToText"/> renders a tree like <c>pstree</c>; <see cref="ToJson"/> renders the documented, versioned JSON
/// (<see cref="SchemaVersion"/>), which <see cref="FromJson"/> reads back.</item>
/// <item>Taking a snapshot locks each node briefly, one at a time; it never blocks the tree as a whole.</item>
/// </list>
/// </remarks>
public sealed class TaskTreeSnapshot
{
    /// <summary>The JSON schema identifier written by <see cref="ToJson"/>.</summary>
    public const string SchemaVersion = "corral.tasktree/2";

    /// <summary>Every await kind, for reading their JSON names.</summary>
    private static readonly TaskTreeAwaitKind[] s_awaitKinds =
    [
        TaskTreeAwaitKind.Other, TaskTreeAwaitKind.Sleep, TaskTreeAwaitKind.Delay, TaskTreeAwaitKind.Yield, TaskTreeAwaitKind.ChannelRead,
        TaskTreeAwaitKind.ChannelWrite, TaskTreeAwaitKind.CapacityLimiter, TaskTreeAwaitKind.Semaphore, TaskTreeAwaitKind.TaskCompletionSource,
        TaskTreeAwaitKind.WhenAll, TaskTreeAwaitKind.WhenAny, TaskTreeAwaitKind.ThreadPoolWork, TaskTreeAwaitKind.CorralTask,
        TaskTreeAwaitKind.TaskGroup, TaskTreeAwaitKind.Scope,
    ];

    /// <summary>The previous schema, still read by <see cref="FromJson"/>: the same without stacks.</summary>
    private const string SchemaVersion1 = "corral.tasktree/1";

    /// <summary>JSON nesting allowed: two levels per tree level (the node and its children array), plus the envelope and a stack.</summary>
    private const int JsonMaxDepth = (4 * TaskTree.MaxDepth) + 24;

    /// <summary>Creates a snapshot.</summary>
    /// <param name="takenAt">When it was taken.</param>
    /// <param name="processId">The process it describes.</param>
    /// <param name="roots">The root nodes, oldest first.</param>
    /// <exception cref="ArgumentNullException"><paramref name="roots"/> is null.</exception>
    public TaskTreeSnapshot(DateTimeOffset takenAt, int processId, IReadOnlyList<TaskTreeNode> roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        TakenAt = takenAt;
        ProcessId = processId;
        Roots = roots;
    }

    /// <summary>Gets when the snapshot was taken.</summary>
    public DateTimeOffset TakenAt { get; }

    /// <summary>Gets the id of the process the snapshot describes.</summary>
    public int ProcessId { get; }

    /// <summary>Gets the root nodes (scopes and groups opened outside any scope), oldest first.</summary>
    public IReadOnlyList<TaskTreeNode> Roots { get; }

    /// <summary>Reads a snapshot written by <see cref="ToJson"/>.</summary>
    /// <param name="json">The JSON text.</param>
    /// <returns>The snapshot.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="json"/> is null.</exception>
    /// <exception cref="FormatException">The text is not a task-tree snapshot of a known schema (<see cref="SchemaVersion"/>, or
    /// <c>corral.tasktree/1</c>, read with every <see cref="TaskTreeNode.Stack"/> null).</exception>
    public static TaskTreeSnapshot FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = JsonMaxDepth });
            var root = doc.RootElement;
            var schema = root.GetProperty("schema").GetString();
            if (schema != SchemaVersion && schema != SchemaVersion1)
            {
                throw new FormatException($"Unknown task-tree schema '{schema}'; this version of Corral reads '{SchemaVersion}' and '{SchemaVersion1}'.");
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

    /// <summary>Renders the snapshot as JSON in the <see cref="SchemaVersion"/> schema.</summary>
    /// <param name="indented">Whether to indent for people.</param>
    /// <returns>The JSON text.</returns>
    public string ToJson(bool indented = false)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = indented, MaxDepth = JsonMaxDepth, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("schema", SchemaVersion);
            writer.WriteString("takenAt", TakenAt);
            writer.WriteNumber("processId", ProcessId);
            writer.WriteStartArray("roots");
            foreach (var node in Roots)
            {
                WriteNode(writer, node);
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Renders the snapshot as a text tree, one node per line, like <c>pstree</c>.</summary>
    /// <returns>The text, ending with a newline; <c>(no live scopes or tasks)</c> when the tree is empty.</returns>
    /// <remarks>A node's stack, when captured, is printed under it: what the innermost frame awaits, then each frame,
    /// innermost first (<c>at Exporter.FlushAsync (Exporter.cs:57)</c>).</remarks>
    public string ToText()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"process {ProcessId} at {TakenAt:O}\n");
        if (Roots.Count == 0)
        {
            sb.Append("(no live scopes or tasks)\n");
        }

        for (var i = 0; i < Roots.Count; i++)
        {
            Render(sb, Roots[i], string.Empty, i == Roots.Count - 1);
        }

        return sb.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => ToText();

    /// <summary>Finds every node, depth first, for which <paramref name="predicate"/> holds.</summary>
    /// <param name="predicate">The condition.</param>
    /// <returns>The matching nodes in tree order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="predicate"/> is null.</exception>
    public IReadOnlyList<TaskTreeNode> FindAll(Func<TaskTreeNode, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        var found = new List<TaskTreeNode>();
        var stack = new Stack<TaskTreeNode>();
        for (var i = Roots.Count - 1; i >= 0; i--)
        {
            stack.Push(Roots[i]);
        }

        while (stack.TryPop(out var node))
        {
            if (predicate(node))
            {
                found.Add(node);
            }

            for (var i = node.Children.Count - 1; i >= 0; i--)
            {
                stack.Push(node.Children[i]);
            }
        }

        return found;
    }

    /// <summary>One line describing a node (without tree drawing).</summary>
    internal static string DescribeNode(TaskTreeNode node)
    {
        var sb = new StringBuilder();
        sb.Append(node.Kind switch
        {
            TaskTreeNodeKind.TaskGroup => "group",
            TaskTreeNodeKind.Task => "task",
            TaskTreeNodeKind.Shield => "shield",
            _ => "scope",
        });
        if (node.Name is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $" '{node.Name}'");
        }

        sb.Append(node.State switch
        {
            TaskTreeNodeState.Cancelling => " cancelling",
            TaskTreeNodeState.Finished => " finished",
            _ => " running",
        });
        sb.Append(CultureInfo.InvariantCulture, $" {FormatDuration(node.Age)}");
        if (node.CancelledFor is { } since)
        {
            sb.Append(CultureInfo.InvariantCulture, $", cancelled {FormatDuration(since)} ago");
        }

        if (node.CancelReason is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $" ({(node.CancelCalled ? string.Empty : "from above: ")}{node.CancelReason})");
        }

        if (node.Shield && node.Kind != TaskTreeNodeKind.Shield)
        {
            sb.Append(" [shielded]");
        }

        if (node.Deadline is { } deadline)
        {
            sb.Append(CultureInfo.InvariantCulture, $" deadline {deadline:O}");
        }

        if (node.Site is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $" at {node.Site}");
        }

        return sb.ToString();
    }

    /// <summary>The lines that describe a stack: what it awaits (or that it runs), its frames, and its note.</summary>
    internal static IEnumerable<string> DescribeStack(TaskTreeStackTrace stack)
    {
        if (stack.Status == TaskTreeStackStatus.Running)
        {
            yield return "running on a thread now";
        }
        else if (stack.Awaiting is { } awaiting)
        {
            yield return awaiting.ToString();
        }

        foreach (var frame in stack.Frames)
        {
            yield return "at " + frame;
        }

        if (stack.Note is { } note)
        {
            yield return $"({note})";
        }
    }

    private static string FormatDuration(TimeSpan t) =>
        t.TotalSeconds >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.0}s")
            : string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:0}ms");

    private static void Render(StringBuilder sb, TaskTreeNode node, string indent, bool last)
    {
        sb.Append(indent).Append(last ? "└── " : "├── ").Append(DescribeNode(node)).Append('\n');
        var childIndent = indent + (last ? "    " : "│   ");
        if (node.Stack is { } stack)
        {
            var stackIndent = childIndent + (node.Children.Count > 0 ? "│ " : "  ");
            foreach (var line in DescribeStack(stack))
            {
                sb.Append(stackIndent).Append(line).Append('\n');
            }
        }

        for (var i = 0; i < node.Children.Count; i++)
        {
            Render(sb, node.Children[i], childIndent, i == node.Children.Count - 1);
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
        if (node.CancelledFor is { } since)
        {
            writer.WriteNumber("cancelledForMs", Math.Round(since.TotalMilliseconds, 3));
        }
        else
        {
            writer.WriteNull("cancelledForMs");
        }

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
            if (awaiting.TimeLeft is { } left)
            {
                writer.WriteNumber("timeLeftMs", Math.Round(left.TotalMilliseconds, 3));
            }
            else
            {
                writer.WriteNull("timeLeftMs");
            }

            if (awaiting.TargetId is { } target)
            {
                writer.WriteNumber("targetId", target);
            }
            else
            {
                writer.WriteNull("targetId");
            }

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

    private static void WriteNumberOrNull(Utf8JsonWriter writer, string name, int? value)
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
                f.GetProperty("line").ValueKind == JsonValueKind.Null ? null : f.GetProperty("line").GetInt32(),
                f.GetProperty("column").ValueKind == JsonValueKind.Null ? null : f.GetProperty("column").GetInt32()));
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
                a.GetProperty("timeLeftMs").ValueKind == JsonValueKind.Null ? null : TimeSpan.FromMilliseconds(a.GetProperty("timeLeftMs").GetDouble()),
                a.GetProperty("targetId").ValueKind == JsonValueKind.Null ? null : a.GetProperty("targetId").GetInt64(),
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
            e.GetProperty("deadline").ValueKind == JsonValueKind.Null ? null : e.GetProperty("deadline").GetDateTimeOffset(),
            e.GetProperty("shield").GetBoolean(),
            e.GetProperty("cancelCalled").GetBoolean(),
            e.GetProperty("cancelReason").GetString(),
            e.GetProperty("cancelledForMs").ValueKind == JsonValueKind.Null ? null : TimeSpan.FromMilliseconds(e.GetProperty("cancelledForMs").GetDouble()),
            children,
            ReadStack(e));
    }
}
