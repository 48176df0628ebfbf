// The task tree as text, like pstree (TaskTreeSnapshot.ToText): one line per node (TaskTreeNode.ToString), a task's
// stack under it, innermost frame first (TaskTreeFrame.ToString, TaskTreeAwait.ToString).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Corral.Diagnostics;

/// <summary>Renders snapshots, nodes and stacks as the text people read.</summary>
internal static class TaskTreeText
{
    /// <summary>The snapshot as a tree (<see cref="TaskTreeSnapshot.ToText"/>).</summary>
    public static string Render(TaskTreeSnapshot snapshot)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"process {snapshot.ProcessId} at {snapshot.TakenAt:O}\n");
        if (snapshot.Roots.Count == 0)
        {
            sb.Append("(no live scopes or tasks)\n");
        }

        for (var i = 0; i < snapshot.Roots.Count; i++)
        {
            Render(sb, snapshot.Roots[i], string.Empty, i == snapshot.Roots.Count - 1);
        }

        return sb.ToString();
    }

    /// <summary>One line describing a node (without tree drawing).</summary>
    public static string DescribeNode(TaskTreeNode node)
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
    public static IEnumerable<string> DescribeStack(TaskTreeStackTrace stack)
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
}
