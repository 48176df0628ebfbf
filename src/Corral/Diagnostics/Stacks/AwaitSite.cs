using System.Reflection;

namespace Corral.Diagnostics.Stacks;

/// <summary>One await of a state machine, as a snapshot needs it: where the awaiter is parked and where the await is written.</summary>
/// <param name="Awaiter">The field holding the awaiter while suspended here, or null when the IL did not say.</param>
/// <param name="File">The document the PDB names, or null.</param>
/// <param name="Line">The line of the awaiting statement, or null when unknown.</param>
/// <param name="Column">Its column, or null.</param>
/// <param name="Call">The awaited call as written (<c>Task.Delay</c>), or null.</param>
internal sealed record AwaitSite(FieldInfo? Awaiter, string? File, int? Line, int? Column, string? Call)
{
    /// <summary>The site of a state the scan did not find: nothing known but the state machine.</summary>
    internal static readonly AwaitSite Unknown = new(null, null, null, null, null);

    /// <summary>Gets or sets the frame a state machine suspended here shows (immutable, so built once and shared by every snapshot).</summary>
    internal TaskTreeFrame? Frame { get; set; }
}
