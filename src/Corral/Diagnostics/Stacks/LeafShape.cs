using System.Collections.Concurrent;
using System.Reflection;

namespace Corral.Diagnostics.Stacks;

/// <summary>What an awaited leaf type is, with the one private field its description may need.</summary>
/// <param name="Kind">What it is.</param>
/// <param name="Field">For a delay, its timer; for <c>WaitAsync</c>, the task it wraps; for a plain task, <c>m_action</c>.</param>
internal sealed record LeafShape(LeafKind Kind, FieldInfo? Field)
{
    /// <summary>Gets the timer field of a delay.</summary>
    internal FieldInfo? Timer => Kind is LeafKind.Delay or LeafKind.DelayWithToken ? Field : null;

    /// <summary>Descriptions that depend only on the leaf's type and the awaited call, by call ("" for none): built once, shared.</summary>
    internal ConcurrentDictionary<string, TaskTreeAwait> Descriptions { get; } = new(System.StringComparer.Ordinal);
}
