// A snapshot of the live task tree, and its two renderings: a pstree-like text tree and versioned JSON.
//
// The JSON is for tools, not for HTML: quotes and apostrophes in names stay readable (relaxed escaping).
// JSON schema "corral.tasktree/1" (additive changes keep the version; removals or renames bump it):
//   { "schema": "corral.tasktree/1", "takenAt": ISO-8601, "processId": int, "roots": [node, ...] }
//   node = { "id": int, "kind": "scope"|"shield"|"taskGroup"|"task", "name": string|null, "site": string|null,
//            "state": "running"|"cancelling"|"finished", "ageMs": number, "deadline": ISO-8601|null,
//            "shield": bool, "cancelCalled": bool, "cancelReason": string|null, "cancelledForMs": number|null,
//            "children": [node, ...] }
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
    public const string SchemaVersion = "corral.tasktree/1";

    /// <summary>JSON nesting allowed: two levels per tree level (the node and its children array), plus the envelope.</summary>
    private const int JsonMaxDepth = (4 * TaskTree.MaxDepth) + 16;

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
    /// <exception cref="FormatException">The text is not a task-tree snapshot of a known schema.</exception>
    public static TaskTreeSnapshot FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = JsonMaxDepth });
            var root = doc.RootElement;
            var schema = root.GetProperty("schema").GetString();
            if (schema != SchemaVersion)
            {
                throw new FormatException($"Unknown task-tree schema '{schema}'; this version of Corral reads '{SchemaVersion}'.");
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

    private static string FormatDuration(TimeSpan t) =>
        t.TotalSeconds >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.0}s")
            : string.Create(CultureInfo.InvariantCulture, $"{t.TotalMilliseconds:0}ms");

    private static void Render(StringBuilder sb, TaskTreeNode node, string indent, bool last)
    {
        sb.Append(indent).Append(last ? "└── " : "├── ").Append(DescribeNode(node)).Append('\n');
        var childIndent = indent + (last ? "    " : "│   ");
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

        writer.WriteStartArray("children");
        foreach (var child in node.Children)
        {
            WriteNode(writer, child);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
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
            children);
    }
}
