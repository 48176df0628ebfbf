using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace Corral.Core;

/// <summary>
/// One child of a <see cref="TaskGroup"/> (or a group's body): who it is, where it was started, and its bookkeeping for the
/// task tree and the watchdog. Also the ambient value while the child runs (see <see cref="Ambient"/>).
/// </summary>
[DebuggerDisplay("task '{Name,nq}' {IsFinished ? \"finished\" : \"running\",nq}")]
internal class TaskRecord
{
    /// <summary>
    /// The given name; or, while <see cref="_nameIsDerived"/> is false, the delegate's expression text, from which
    /// <see cref="Name"/> is derived on first read. One field for both keeps the record small.
    /// </summary>
    private string? _name;

    /// <summary>True once <see cref="_name"/> holds the final name (given, or derived from the expression).</summary>
    private bool _nameIsDerived;

    /// <summary>Whether the task has finished. Written once (false to true) by the task, read by snapshots and the sweep.</summary>
    private bool _finished;

    /// <summary>Backing field of <see cref="Id"/>; 0 until first read.</summary>
    private long _id;

    /// <remarks>
    /// Start is the hot path: the record keeps the raw name inputs and derives <see cref="Name"/> only when a failure, a
    /// snapshot or a report reads it (trimming a multi-line lambda's text allocates). The number is needed only for a task
    /// with neither a name nor an expression (<c>task #N</c>): its name is chosen here, and the record does not keep it.
    /// </remarks>
    internal TaskRecord(CancelScope scope, string? name, string? expression, int number, string? sourceFile, int sourceLine)
    {
        Scope = scope;
        if (name is null && string.IsNullOrWhiteSpace(expression))
        {
            _name = ChooseName(null, null, number);
            _nameIsDerived = true;
        }
        else
        {
            _name = name ?? expression;
            _nameIsDerived = name is not null;
        }

        SourceFile = sourceFile;
        SourceLine = sourceLine;
        StartedTimestamp = DiagnosticClock.Now(scope.TimeProvider);
    }

    /// <summary>The group the task belongs to: the group whose scope it runs in (a <c>StartAsync</c> child's record says
    /// otherwise, see <see cref="StartingTaskRecord"/>).</summary>
    internal TaskGroup Group => this is StartingTaskRecord starting ? starting.OwnerGroup : Scope.Group!;

    /// <summary>The scope the task runs in: the group's, or for a <c>StartAsync</c> child its own scope (moved into the group's).</summary>
    internal CancelScope Scope { get; }

    /// <summary>The given name, the delegate's expression, or <c>task #N</c> (derived on first read; racing first reads agree).</summary>
    internal string Name
    {
        get
        {
            if (Volatile.Read(ref _nameIsDerived))
            {
                return _name!;
            }

            // Race: a second first read may find _name already holding the first one's result (the flag not yet set) and
            // derive from that. It still returns the same string, because ChooseName is idempotent on its own output
            // (trimmed, one line, at most 80 characters; tested by ChooseName_AppliedToItsOwnResult_ReturnsItUnchanged).
            var derived = ChooseName(null, _name, 0);
            _name = derived;
            Volatile.Write(ref _nameIsDerived, true);
            return derived;
        }
    }

    /// <summary>Where <c>Start</c> was called, when the compiler told us.</summary>
    internal string? SourceFile { get; }

    /// <summary>The line of <see cref="SourceFile"/>, or 0.</summary>
    internal int SourceLine { get; }

    /// <summary>When the task started: a <see cref="DiagnosticClock"/> stamp on the scope's clock.</summary>
    internal long StartedTimestamp { get; }

    /// <summary>A process-wide identifier for snapshots and reports, assigned on first read.</summary>
    internal long Id => Ids.GetOrAssign(ref _id);

    /// <summary>Set (under the group's lock, before the task can finish) when the record was linked into the group's task
    /// list. A tracked record is also the child's ambient value (see <see cref="Ambient.Enter(TaskRecord)"/>).</summary>
    internal bool Tracked;

    /// <summary>A slot the watchdog owns: set (under its lock) once it has reported this task, so that the task's end is
    /// reported too. The watchdog keeps the rest of its per-task state itself: most tasks are never reported.</summary>
    internal bool Reported;

    /// <summary>The next older task in the group's task list (guarded by the group's lock; see <c>TaskGroup.Track</c>).</summary>
    internal TaskRecord? Next;

    /// <summary>
    /// What the child is: a plain child's delegate while it waits for the thread pool, then its task while it runs; a
    /// <see cref="ChildWork"/> for the whole life of a <c>Start&lt;T&gt;</c> or <c>StartAsync</c> child (it holds the task);
    /// null once finished. One field for all: a child is never waiting and running at once (see TaskGroup.Children.cs).
    /// </summary>
    internal object? Work;

    /// <summary>Gets a value indicating whether the task has finished.</summary>
    internal bool IsFinished => Volatile.Read(ref _finished);

    /// <summary>Marks the task finished (once).</summary>
    internal void MarkFinished() => Volatile.Write(ref _finished, true);

    /// <summary>The task the child's delegate returned, while it runs.</summary>
    internal Task? RunningTask => Work is ChildWork child ? child.Task : (Task?)Work;

    /// <summary>
    /// The completion callback registered on the child's task when the record is not the child's ambient value (task
    /// tracking off): a delegate bound to the record, one per child that suspends. A tracked child's record is found from
    /// its context instead, with no delegate of its own (see <c>TaskGroup.ObserveChild</c>).
    /// </summary>
    internal void OnTaskCompleted() => Group.FinishChild(this, RunningTask, thrown: null);

    /// <summary>Gets the spawn site as <c>file:line</c>, or null.</summary>
    internal string? Site => FormatSite(SourceFile, SourceLine);

    /// <summary>A site as the task tree shows it: <c>File.cs:12</c>, or the name alone when there is no line (a hosted service's
    /// <c>OrderWorker.ExecuteAsync</c>).</summary>
    internal static string? FormatSite(string? sourceFile, int sourceLine) =>
        sourceFile is null ? null
        : sourceLine == 0 ? System.IO.Path.GetFileName(sourceFile)
        : $"{System.IO.Path.GetFileName(sourceFile)}:{sourceLine}";

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
