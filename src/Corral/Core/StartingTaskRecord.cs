namespace Corral.Core;

/// <summary>
/// The record of a <c>StartAsync</c> child: it runs in a scope of its own (<see cref="TaskRecord.Scope"/>), so the group it
/// belongs to is not its scope's, and is kept here. Plain children find their group through their scope, which keeps the
/// record of every other child one field smaller.
/// </summary>
internal sealed class StartingTaskRecord : TaskRecord
{
    internal StartingTaskRecord(TaskGroup group, CancelScope scope, string name, int number, string? sourceFile, int sourceLine)
        : base(scope, name, null, number, sourceFile, sourceLine)
    {
        OwnerGroup = group;
    }

    /// <summary>The group the child belongs to.</summary>
    internal TaskGroup OwnerGroup { get; }
}
