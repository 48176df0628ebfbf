// A snapshot of the live task tree: the model, and its two renderings, a pstree-like text tree (TaskTreeText) and the
// documented, versioned JSON (TaskTreeJson, which also documents the schema).
using System;
using System.Collections.Generic;

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
        return TaskTreeJson.Read(json);
    }

    /// <summary>Renders the snapshot as JSON in the <see cref="SchemaVersion"/> schema.</summary>
    /// <param name="indented">Whether to indent for people.</param>
    /// <returns>The JSON text.</returns>
    public string ToJson(bool indented = false) => TaskTreeJson.ToJsonString(this, indented);

    /// <summary>Renders the snapshot as a text tree, one node per line, like <c>pstree</c>.</summary>
    /// <returns>The text, ending with a newline; <c>(no live scopes or tasks)</c> when the tree is empty.</returns>
    /// <remarks>A node's stack, when captured, is printed under it: what the innermost frame awaits, then each frame,
    /// innermost first (<c>at Exporter.FlushAsync (Exporter.cs:57)</c>).</remarks>
    public string ToText() => TaskTreeText.Render(this);

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
}
