using System;
using System.Diagnostics;
using System.Threading.Tasks;

namespace Corral.Core;

/// <summary>
/// One child of a <see cref="TaskGroup"/> (or a group's body): who it is, where it was started, and its bookkeeping for the
/// task tree and the watchdog. Also the ambient value while the child runs (see <see cref="Ambient"/>).
/// </summary>
[DebuggerDisplay("task '{Name,nq}' {Finished == 0 ? \"running\" : \"finished\",nq}")]
internal sealed class TaskRecord
{
    /// <summary>The given name, or null to derive one from <see cref="_expression"/> or <see cref="_number"/> when first read.</summary>
    private string? _name;

    /// <summary>The delegate's expression text, as the compiler passed it; only read to name an unnamed task.</summary>
    private readonly string? _expression;

    /// <summary>The task's number in its group, for <c>task #N</c>.</summary>
    private readonly int _number;

    /// <summary>Backing field of <see cref="Id"/>; 0 until first read.</summary>
    private long _id;

    /// <remarks>
    /// Start is the hot path: the record keeps the raw name inputs and derives <see cref="Name"/> only when a failure, a
    /// snapshot or a report reads it (trimming a multi-line lambda's text allocates).
    /// </remarks>
    internal TaskRecord(TaskGroup group, CancelScope scope, string? name, string? expression, int number, string? sourceFile, int sourceLine)
    {
        Group = group;
        Scope = scope;
        _name = name;
        _expression = expression;
        _number = number;
        SourceFile = sourceFile;
        SourceLine = sourceLine;
        StartedTimestamp = scope.TimeProvider.GetTimestamp();
    }

    /// <summary>The group the task belongs to.</summary>
    internal TaskGroup Group { get; }

    /// <summary>The scope the task runs in: the group's, or for a <c>StartAsync</c> child its own scope (moved into the group's).</summary>
    internal CancelScope Scope { get; }

    /// <summary>The given name, the delegate's expression, or <c>task #N</c> (derived on first read; a race derives it twice, alike).</summary>
    internal string Name => _name ??= ChooseName(null, _expression, _number);

    /// <summary>Where <c>Start</c> was called, when the compiler told us.</summary>
    internal string? SourceFile { get; }

    /// <summary>The line of <see cref="SourceFile"/>, or 0.</summary>
    internal int SourceLine { get; }

    /// <summary>When the task started, on the scope's clock (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    internal long StartedTimestamp { get; }

    /// <summary>A process-wide identifier for snapshots and reports, assigned on first read.</summary>
    internal long Id => Ids.GetOrAssign(ref _id);

    /// <summary>0 while running, 1 once finished. Written by the task, read by snapshots.</summary>
    internal int Finished;

    /// <summary>Previous task in the group's live list (guarded by the group's lock).</summary>
    internal TaskRecord? Prev;

    /// <summary>Next task in the group's live list (guarded by the group's lock).</summary>
    internal TaskRecord? Next;

    /// <summary>How many times the watchdog reported this task (guarded by the watchdog's lock).</summary>
    internal int ReportCount;

    /// <summary>Timestamp of the next watchdog report (guarded by the watchdog's lock).</summary>
    internal long NextReportTimestamp;

    /// <summary>The child's task while it runs on the inline fast path (see <c>TaskGroup.StartInline</c>).</summary>
    internal Task? Task;

    /// <summary>The completion callback registered on <see cref="Task"/>, created only when the child did not complete synchronously.</summary>
    private Action? _continuation;

    /// <summary>Gets the callback that reports the end of <see cref="Task"/> to the group.</summary>
    internal Action Continuation => _continuation ??= () => Group.CompleteChild(this, Task!);

    /// <summary>Gets the spawn site as <c>file:line</c>, or null.</summary>
    internal string? Site => SourceFile is null ? null : $"{System.IO.Path.GetFileName(SourceFile)}:{SourceLine}";

    /// <summary>Chooses a task's name: the given one, else a short form of the delegate's expression, else <c>task #N</c>.</summary>
    internal static string ChooseName(string? name, string? expression, int number)
    {
        if (name is not null)
        {
            return name;
        }

        if (!string.IsNullOrWhiteSpace(expression))
        {
            var text = expression.Trim();
            var newline = text.IndexOfAny(['\r', '\n']);
            if (newline >= 0)
            {
                text = text[..newline].TrimEnd() + " …";
            }

            return text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 79), "…");
        }

        return $"task #{number}";
    }
}
