namespace Corral.Diagnostics.Stacks;

/// <summary>One sequence point of a method: its IL offset and, unless hidden, where in the source it is.</summary>
/// <param name="Offset">The IL offset where it starts.</param>
/// <param name="Document">The document path, or null for a hidden sequence point.</param>
/// <param name="Line">The start line (0 when hidden).</param>
/// <param name="Column">The start column (0 when hidden).</param>
internal readonly record struct SequencePointInfo(int Offset, string? Document, int Line, int Column);
