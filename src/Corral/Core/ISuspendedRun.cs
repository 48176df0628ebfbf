using System.Threading.Tasks;

namespace Corral.Core;

/// <summary>
/// A scope's block whose body suspended: the task handed to the caller, and the body's own task. Read only by snapshots, to
/// walk a task's async call stack from the scope's task into its body (Diagnostics/Stacks).
/// </summary>
internal interface ISuspendedRun
{
    /// <summary>Gets the task the caller of the scope awaits.</summary>
    Task RunTask { get; }

    /// <summary>Gets the task of the body running in the scope.</summary>
    Task Body { get; }
}
